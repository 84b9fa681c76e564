"""Reference implementation, build and grader for GENE 46100 Unit 00.

Layout (reads in the order data flows):
- ``device``, ``seeding``, ``data``: hand-written infrastructure the notebooks use.
- ``week1``: generated from ``solutions/week1/week1.ipynb`` (do not edit by hand).
- ``build``: master notebooks -> ``assignments/`` and ``autograder/``.
- ``checks``: the hidden tests (trusted side): inputs, reference outputs, diagnostics.
- ``grader``: intake -> sandboxed run -> trusted scoring -> records -> reports.
"""

__version__ = "0.1.0"
