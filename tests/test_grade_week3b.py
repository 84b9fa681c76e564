"""``gene46100 grade week3b`` end to end on the example submissions (sandboxed).

Checks what only the real boundary can show: the grader's recording loggers
(the ``_grader_logger`` adapters) work inside bubblewrap and their records come back
as plain data, q3's reference definitions are swapped into the notebook's namespace,
and the release's data files sit next to the notebook. Budget: about 1 minute of CPU
(q3's 40-run sweep dominates).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gene46100 import cli
from gene46100.grader import sandbox

pytestmark = pytest.mark.skipif(
    sandbox.bwrap_path() is None, reason="bubblewrap is not available"
)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples/submissions/week3b"


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("grades")
    code = cli.main(
        ["grade", "week3b", str(EXAMPLES), "--out", str(out), "--jobs", "2", "--quiet"]
    )
    assert code == 0
    records = {}
    for line in (out / "records.jsonl").read_text().splitlines():
        record = json.loads(line)
        records[record["file"].split("/")[-1].split(".")[0]] = record
    return records


def test_independent_completion_gets_full_marks_in_the_sandbox(graded):
    record = graded["alice_complete"]
    assert record["status"] == "graded", record
    assert record["total"] == record["possible"] == 10, record["questions"]
    data_cell = [c for c in record["cells"].values() if c.get("status") != "ok"]
    assert not data_cell, record["cells"]  # the data files were found and loaded


def test_untouched_notebook_gets_zero_with_not_implemented(graded):
    record = graded["bob_untouched"]
    assert record["status"] == "graded" and record["total"] == 0
    for q in record["questions"]:
        if q["status"] != "manual":
            assert "not implemented yet" in q["feedback"], q
