"""The sandbox contract: what crosses the trust boundary, in both directions.

- ``plan``: what the trusted side sends in: probes (which notebook name to call on
  which arguments) and the argument forms (``{"$array": key}``, ``{"$new": Name}``...).
- ``results``: what comes back: the result schema (``Value``, ``Outcome``,
  ``QuestionRun``) and its decoding from JSON + ``.npz`` without pickle.

Both ``checks`` (which writes plans and reads results) and ``grader`` (which carries
them) import this package; it imports neither. The untrusted worker implements the
other side of the same contract without importing it (it cannot: it runs sandboxed).
"""
