"""``gene46100 grade week3b`` end to end: what is particular to week 3b (sandboxed).

Checks what only the real boundary can show: the grader's recording loggers
(the ``_grader_logger`` adapters) work inside bubblewrap and their records come back
as plain data, q3's reference definitions are swapped into the notebook's namespace,
and the release's data files sit next to the notebook. Budget: about 1 minute of CPU
(q3's 40-run sweep dominates). Full marks for the complete example and 0 for the
untouched one are the contract every week shares (tests/test_examples.py); both read
the records the ``graded_week`` fixture grades once per session.
"""

from __future__ import annotations

import pytest
from grading import needs_bwrap

from gene46100 import course

pytestmark = [pytest.mark.slow, needs_bwrap]


def test_complete_example_is_worth_every_autograded_point(graded_week):
    record = graded_week("week3b")["records"]["alice_complete"]
    possible = sum(q["points"] for q in course.autograded("week3b"))
    assert record["total"] == record["possible"] == possible, record["questions"]


def test_every_cell_of_the_complete_example_ran_with_the_release_data(graded_week):
    record = graded_week("week3b")["records"]["alice_complete"]
    not_ok = [c for c in record["cells"].values() if c.get("status") != "ok"]
    assert not not_ok, record["cells"]  # the data files were found and loaded
