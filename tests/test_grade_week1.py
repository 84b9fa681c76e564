"""``gene46100 grade week1`` end to end: what is particular to week 1 (sandboxed).

The contract every week shares (one graded record per example, 0 for the untouched
release, points lost exactly where the registry says, ``grades.csv``) is in
tests/test_examples.py; both read the records the ``graded_week`` fixture grades once
per session.
"""

from __future__ import annotations

import json
import shutil

import pytest
from grading import EXAMPLES, WEEK1_CELL_TIMEOUT_S, autograded, needs_bwrap

from gene46100 import cli
from gene46100.grader import sandbox

pytestmark = needs_bwrap
WEEK1 = EXAMPLES / "week1"


@pytest.mark.slow
def test_half_gradient_is_told_why_it_loses_q3(graded_week):
    q3 = autograded(graded_week("week1")["records"]["carol_half_gradient"])["q3"]
    assert "half" in q3["feedback"] and "1/2" in q3["feedback"], q3


@pytest.mark.slow
def test_infinite_loop_in_ungraded_cell_is_cut_off_at_the_cell_timeout(graded_week):
    record = graded_week("week1")["records"]["dave_infinite_loop"]
    assert any(cell["status"] == "timeout" for cell in record["cells"].values())
    assert record["seconds"] < WEEK1_CELL_TIMEOUT_S + 120


@pytest.mark.slow
def test_rerun_resumes_without_duplicates(graded_week):
    graded = graded_week("week1")
    out = graded["out"]
    before = [(out / name).read_text() for name in ("records.jsonl", "grades.csv")]
    assert cli.main(graded["argv"]) == 0  # the same command again
    assert [(out / name).read_text() for name in ("records.jsonl", "grades.csv")] == (
        before
    )


def test_refuses_without_bubblewrap_unless_asked(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    code = cli.main(
        [
            "grade",
            "week1",
            str(WEEK1 / "alice_complete.ipynb"),
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 2 and "--unsafe-no-sandbox" in capsys.readouterr().err


def test_invalid_notebooks_get_a_record_with_a_reason(tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    good = (WEEK1 / "alice_complete.ipynb").read_text()
    (batch / "truncated.ipynb").write_text(good[: len(good) // 2])
    (batch / "binary.ipynb").write_bytes(b"\xff\xfe\x00garbage")
    (batch / "old.ipynb").write_text(json.dumps({"nbformat": 3, "cells": []}))
    two = batch / "erin"
    two.mkdir()
    shutil.copyfile(WEEK1 / "bob_untouched.ipynb", two / "a.ipynb")
    shutil.copyfile(WEEK1 / "bob_untouched.ipynb", two / "b.ipynb")
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
