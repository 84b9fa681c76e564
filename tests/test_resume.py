"""Kill the grader mid-batch, run it again: nothing lost, nothing duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest
from helpers import minimal_complete

from gene46100.grader import sandbox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sandbox.bwrap_path() is None, reason="no bubblewrap"),
]


def grade_command(batch, out) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gene46100.cli",
        "grade",
        "week1",
        str(batch),
        "--out",
        str(out),
        "--jobs",
        "1",
        "--quiet",
    ]


def journal_ids(out) -> list[str]:
    path = out / "records.jsonl"
    if not path.exists():
        return []
    return [
        json.loads(line)["id"]
        for line in path.read_text().splitlines()
        if line.strip().endswith("}")
    ]


def test_killed_batch_resumes_without_losses_or_duplicates(tmp_path):
    batch, out = tmp_path / "batch", tmp_path / "out"
    batch.mkdir()
    for name in ("ann", "ben", "cat", "dan"):
        nbformat.write(minimal_complete(), batch / f"{name}.ipynb")
    first = subprocess.Popen(
        grade_command(batch, out),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while len(journal_ids(out)) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the grader and its sandboxes, mid-batch
    first.wait()
    done_before = journal_ids(out)
    assert 1 <= len(done_before) < 4
    rerun = subprocess.run(
        grade_command(batch, out), capture_output=True, text=True, timeout=600
    )
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    ids = journal_ids(out)
    assert len(ids) == len(set(ids)) == 4
    assert ids[: len(done_before)] == done_before  # finished work is kept, not redone
    records = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert all(r["total"] == 19 and r["status"] == "graded" for r in records)
    rows = (out / "grades.csv").read_text().splitlines()
    assert len(rows) == 2 + 4
