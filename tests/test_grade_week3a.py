"""``gene46100 grade week3a`` end to end: what is particular to week 3a (sandboxed).

A submission is a folder: the notebook, ``predict.py`` and ``model_weights.pt``. The
grader runs the notebook and, for q5, the submitted ``predict.py`` on a held-out file
inside the sandbox; the scores stay on the trusted side. The contract every week
shares (including "the companion files are graded" and "the untouched release scores
0") is in tests/test_examples.py; both read the records the ``graded_week`` fixture
grades once per session.
"""

from __future__ import annotations

import pytest
from grading import autograded, needs_bwrap

pytestmark = [pytest.mark.slow, needs_bwrap]


def test_untouched_predict_template_is_named_as_what_q5_is_missing(graded_week):
    q5 = autograded(graded_week("week3a")["records"]["bob_untouched"])["q5"]
    assert q5["score"] == 0 and "predict.py" in q5["feedback"], q5
