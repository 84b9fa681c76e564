"""``gene46100 grade week2`` end to end on the example submissions (sandboxed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gene46100 import cli
from gene46100.checks import questions
from gene46100.grader import sandbox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        sandbox.bwrap_path() is None, reason="bubblewrap is not available"
    ),
]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples/submissions/week2"


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("grades")
    code = cli.main(
        ["grade", "week2", str(EXAMPLES), "--out", str(out), "--jobs", "1", "--quiet"]
    )
    assert code == 0
    found = {}
    for line in (out / "records.jsonl").read_text().splitlines():
        record = json.loads(line)
        found[record["file"].split("/")[-1].split(".")[0]] = record
    return found


def graded(record: dict) -> dict[str, dict]:
    return {q["name"]: q for q in record["questions"] if q["status"] != "manual"}


def test_independent_completion_gets_full_marks(records):
    record = records["alice_complete"]
    assert record["status"] == "graded"
    assert record["total"] == record["possible"] == 16, record["questions"]


def test_training_question_stays_well_inside_its_cpu_budget(records):
    """q7 trains a DNA_CNN in the sandbox: about 5-6 CPU s of its 60 (measured)."""
    q7 = graded(records["alice_complete"])["q7"]
    assert q7["cpu_seconds"] < questions("week2")["q7"].timeout_s / 4, q7


def test_untouched_stub_gets_zero(records):
    record = records["bob_untouched"]
    assert record["status"] == "graded" and record["total"] == 0
    assert all("not implemented yet" in q["feedback"] for q in graded(record).values())


def test_flipped_kernel_loses_q1_only_and_is_told_why(records):
    record = records["carol_flipped_kernel"]
    lost = [name for name, q in graded(record).items() if q["score"] < q["possible"]]
    assert lost == ["q1"], record["questions"]
    feedback = graded(record)["q1"]["feedback"]
    assert "flipped" in feedback and "cross-correlation" in feedback
