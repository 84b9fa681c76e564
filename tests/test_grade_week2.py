"""``gene46100 grade week2`` end to end: what is particular to week 2 (sandboxed).

The contract every week shares is in tests/test_examples.py; both read the records
the ``graded_week`` fixture grades once per session.
"""

from __future__ import annotations

import pytest
from grading import autograded, needs_bwrap

from gene46100.checks import questions

pytestmark = [pytest.mark.slow, needs_bwrap]


def test_complete_example_is_worth_16_points(graded_week):
    record = graded_week("week2")["records"]["alice_complete"]
    assert record["total"] == record["possible"] == 16, record["questions"]


def test_training_question_stays_well_inside_its_cpu_budget(graded_week):
    """q7 trains a DNA_CNN in the sandbox: about 5-6 CPU s of its 60 (measured)."""
    q7 = autograded(graded_week("week2")["records"]["alice_complete"])["q7"]
    assert q7["cpu_seconds"] < questions("week2")["q7"].timeout_s / 4, q7


def test_flipped_kernel_is_told_why_it_loses_q1(graded_week):
    q1 = autograded(graded_week("week2")["records"]["carol_flipped_kernel"])["q1"]
    assert "flipped" in q1["feedback"] and "cross-correlation" in q1["feedback"], q1
