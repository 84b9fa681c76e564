"""``gene46100 grade`` end to end on the example submissions (sandboxed)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from gene46100 import cli
from gene46100.grader import sandbox

pytestmark = pytest.mark.skipif(
    sandbox.bwrap_path() is None, reason="bubblewrap is not available"
)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples/submissions/week1"


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("grades")
    code = cli.main(
        [
            "grade",
            "week1",
            str(EXAMPLES),
            "--out",
            str(out),
            "--jobs",
            "2",
            "--cell-timeout",
            "15",
            "--quiet",
        ]
    )
    assert code == 0
    records = {}
    for line in (out / "records.jsonl").read_text().splitlines():
        record = json.loads(line)
        records[record["file"].split("/")[-1].split(".")[0]] = record
    return {"out": out, "records": records}


def scores(record: dict) -> dict[str, float]:
    return {
        q["name"]: q["score"] for q in record["questions"] if q["status"] != "manual"
    }


def test_independent_completion_gets_full_marks(graded):
    record = graded["records"]["alice_complete"]
    assert record["status"] == "graded"
    assert record["total"] == record["possible"], record["questions"]


def test_untouched_stub_gets_zero(graded):
    record = graded["records"]["bob_untouched"]
    assert record["status"] == "graded" and record["total"] == 0
    assert all(
        "not implemented yet" in q["feedback"]
        for q in record["questions"]
        if q["status"] != "manual"
    )


def test_half_gradient_loses_q3_only_and_is_told_why(graded):
    record = graded["records"]["carol_half_gradient"]
    lost = {
        q: s
        for q, s in scores(record).items()
        if s < next(x["possible"] for x in record["questions"] if x["name"] == q)
    }
    assert list(lost) == ["q3"], record["questions"]
    q3 = next(q for q in record["questions"] if q["name"] == "q3")
    assert "half" in q3["feedback"] and "1/2" in q3["feedback"]


def test_infinite_loop_in_ungraded_cell_is_bounded_and_rest_graded(graded):
    record = graded["records"]["dave_infinite_loop"]
    assert record["total"] == record["possible"]
    assert any(cell["status"] == "timeout" for cell in record["cells"].values())
    assert record["seconds"] < 15 + 120


def test_grades_csv_has_otter_layout_and_one_row_each(graded):
    rows = list(csv.reader((graded["out"] / "grades.csv").open()))
    header = rows[0]
    assert header[0] == "file" and header[-3:] == [
        "total_points_earned",
        "percent_correct",
        "grading_status",
    ]
    assert rows[1][0] == "POINTS POSSIBLE"
    assert len(rows) == 2 + 4


def test_rerun_resumes_without_duplicates(graded):
    out = graded["out"]
    before = (out / "records.jsonl").read_text()
    assert (
        cli.main(["grade", "week1", str(EXAMPLES), "--out", str(out), "--quiet"]) == 0
    )
    assert (out / "records.jsonl").read_text() == before


def test_refuses_without_bubblewrap_unless_asked(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    code = cli.main(
        [
            "grade",
            "week1",
            str(EXAMPLES / "alice_complete.ipynb"),
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 2 and "--unsafe-no-sandbox" in capsys.readouterr().err


def test_invalid_notebooks_get_a_record_with_a_reason(tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    good = (EXAMPLES / "alice_complete.ipynb").read_text()
    (batch / "truncated.ipynb").write_text(good[: len(good) // 2])
    (batch / "binary.ipynb").write_bytes(b"\xff\xfe\x00garbage")
    (batch / "old.ipynb").write_text(json.dumps({"nbformat": 3, "cells": []}))
    two = batch / "erin"
    two.mkdir()
    shutil.copyfile(EXAMPLES / "bob_untouched.ipynb", two / "a.ipynb")
    shutil.copyfile(EXAMPLES / "bob_untouched.ipynb", two / "b.ipynb")
    out = tmp_path / "out"
    assert cli.main(["grade", "week1", str(batch), "--out", str(out), "--quiet"]) == 0
    records = [
        json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()
    ]
    assert len(records) == 4
    assert all(r["status"] == "invalid_submission" and r["message"] for r in records)
    messages = " ".join(r["message"] for r in records)
    for phrase in ("not valid JSON", "not UTF-8", "nbformat 3", "2 notebooks"):
        assert phrase in messages
