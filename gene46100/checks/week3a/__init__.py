"""Hidden tests for week 3a, the TF-binding project (trusted side).

See ``gene46100.checks`` for the API. The student's functions take and return
pandas DataFrames, Datasets and DataLoaders, which cannot cross the sandbox boundary,
so each question sends small grader-written *adapters* (``Question.adapters``, names
starting ``_grader_``) that build those objects in the sandbox from hidden arrays or
files and return plain arrays. The adapters below are defined as ordinary functions
so that their source is the one thing both sides agree on; they are never called on
the trusted side.

Each question is its own module, ``q<NN>_<topic>.py`` (found by ``checks.questions``);
what several share is in ``common.py``. A question's CPU budget and review topic
are in its config in the master (``budget:``, ``topic:``).

Thresholds (re-measured by tests/test_checks_week3a.py; "seeds" = the grading seed
46100 and 1-5 of ``question_rng``):
- q4 behaviour: the model trained by the student's ``train_model`` from the grader's
  initial weights must reach a held-out mean per-sequence r of ``Q4_MIN_R`` = 0.35.
  The reference reaches 0.674-0.708 over the 6 seeds from the same starting point
  (about 2x the bar); the untrained model -0.014-0.012.
- q5: held-out mean per-sequence r (constant predictions count as 0) of at least
  ``Q5_MIN_R`` = 0.30. The notebook's baseline recipe (``TFBindingCNN``, SGD lr 0.05,
  8 epochs on the 2,560 training windows of the release data) reaches 0.47-0.48 on the
  held-out files of 3 seeds (4 training seeds), the reference ``predict.py``
  (``TFBindingFCN``) about 0.95, a randomly initialised ``TFBindingCNN`` about 0.00.
- q6: held-out AUROC of at least ``Q6_MIN_AUROC`` = 0.90 and above the POU5F1 scan.
  The reference reaches 0.989-0.995 over the 6 seeds (its errors would have to grow
  tenfold to fail); the scan 0.61-0.69, GC content alone about 0.77.
"""
