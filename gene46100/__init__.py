"""gene46100: the tool that builds and grades GENE 46100 Unit 00.

Read in the order data flows (see the README's layout section):

- ``course``: the course registry, one record per week; every other part reads it.
- ``build``: master notebooks (``solutions/``) -> ``assignments/``, ``autograder/``,
  ``gene46100_ref/<week>.py`` and the example submissions.
- ``contract``: the sandbox contract (plans, argument forms, the result schema and its
  decoding); imports neither ``checks`` nor ``grader``.
- ``checks``: the hidden checks (trusted): plan inputs, score plain-data results.
- ``untrusted``: the code that runs inside the sandbox, beside student code; it is
  course-agnostic and imports nothing from this package.
- ``grader``: intake -> sandbox -> scoring -> records -> reports, run by a runner
  (this machine's threads, or a Dask cluster).
- ``selfcheck``: the students' pytest plug-in, copied into ``assignments/``.

The reference implementation is the separate package ``gene46100_ref``; it imports
nothing from here.
"""

__version__ = "0.2.0"
