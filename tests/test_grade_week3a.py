"""``gene46100 grade week3a`` end to end on the example submissions (sandboxed).

A submission is a folder: the notebook, ``predict.py`` and ``model_weights.pt``. The
grader runs the notebook and, for q5, the submitted ``predict.py`` on a held-out file
inside the sandbox; the scores stay on the trusted side.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gene46100 import cli
from gene46100.grader import sandbox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        sandbox.bwrap_path() is None, reason="bubblewrap is not available"
    ),
]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples/submissions/week3a"


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("grades3a")
    code = cli.main(
        [
            "grade",
            "week3a",
            str(EXAMPLES),
            "--out",
            str(out),
            "--jobs",
            "2",
            "--cell-timeout",
            "60",
            "--quiet",
        ]
    )
    assert code == 0
    records = {}
    for line in (out / "records.jsonl").read_text().splitlines():
        record = json.loads(line)
        name = next(
            p
            for p in Path(record["file"]).parts
            if p.endswith(("_complete", "_untouched"))
        )
        records[name] = record
    return records


def test_complete_folder_with_predict_script_and_weights_gets_full_marks(graded):
    record = graded["alice_complete"]
    assert record["status"] == "graded", record
    assert record["total"] == record["possible"], record["questions"]
    assert sorted(record["graded_files"]) == ["model_weights.pt", "predict.py"]


def test_untouched_release_gets_zero_and_is_told_what_is_missing(graded):
    record = graded["bob_untouched"]
    assert record["status"] == "graded" and record["total"] == 0
    feedback = {
        q["name"]: q["feedback"] for q in record["questions"] if q["status"] != "manual"
    }
    assert all(
        "not implemented yet" in feedback[q] for q in ("q1", "q2", "q3", "q4", "q6")
    ), feedback
    assert "predict.py" in feedback["q5"], feedback["q5"]
