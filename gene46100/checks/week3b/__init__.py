"""Hidden tests for week 3b (trusted side). See ``gene46100.checks`` for the API.

The hidden data are windows simulated with ``gene46100_ref.tfdata`` (planted CTCF
sites, the "easy" variant) at 100 bp, the length the notebook trains on, drawn fresh
from the grading RNG; only the one-hot inputs and score arrays enter the sandbox.
Every hidden window holds 1-3 whole sites, as every window of the course's files (and
every crop the notebook trains on) holds one: its score track is never constant, so
its Pearson r with any non-constant prediction is defined, and the course's own
summaries (a plain ``.mean()`` of the per-window r) are finite. A NaN metric is
therefore a clear loss, with a message that names it.

- q1 compares ``sweep_config()`` with the course's sweep (course-facts.md section 5).
- q2 hands ``train_sweep`` a grader-owned recording logger (``logger_arg``), reads
  back every call, and compares what was logged with an independent evaluation of
  the weights the logger saw at ``finish`` and with a replay of the configuration by
  the reference (equivalent loops agree to about 1e-7 relative; every wrong variant
  we know differs by 2e-3 or more, so curves must agree to ``CURVE_RTOL``).
- q3 hands ``run_sweep`` a recording ``make_logger`` (``logger_factory_arg``) and
  checks the runs it made, its argmax, its seeding, and that its winner beats the
  course's default configuration on the hidden data.

Each question is its own module, ``q<NN>_<topic>.py`` (found by ``checks.questions``);
what several share is in ``common.py``. A question's CPU budget and review topic
are in its config in the master (``budget:``, ``topic:``).
"""
