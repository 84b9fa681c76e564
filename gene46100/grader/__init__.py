"""Grade a batch of submissions. The modules, in the order data flows:

1. ``intake``: paths, zips and LMS bulk downloads -> ``Submission`` (one per student).
2. ``sandbox``: bubblewrap and its limits; ``sandbox.supervisor`` drives the untrusted
   worker (timeouts, restarts); ``sandbox.sealing`` freezes each question's results.
3. ``scoring``: the plain-data results -> per-question scores (trusted side);
   ``tamper`` flags code that reaches for grader state.
4. ``records``: the ``Record`` of each submission, its journal and ``grades.csv``.
5. ``reports``: feedback pages, the class report, Gradescope results.

``assignment`` loads what a batch grades against (spec, plans), ``pipeline`` grades one
submission through steps 2-4, ``runners`` decide where (this machine's threads, or a
Dask cluster: ``cluster``), and ``batch`` ties a whole run together (resume, journal,
reports). ``gradescope`` is the entry point inside Gradescope's autograder.
"""
