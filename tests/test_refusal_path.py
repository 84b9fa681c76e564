"""Do only the work the input needs: refusals and reruns with nothing changed get
their answer from the built spec alone, without the checks, the reference or any
plan (issue 14's refusal speed-path; its behaviour here, its time in benchmarks/)."""

from __future__ import annotations

import contextlib
import csv
import shutil
import subprocess
import sys

import nbformat
import pytest

from gene46100 import course
from gene46100.grader import batch, intake
from gene46100.grader.assignment import Settings
from gene46100.grader.records import Status


@pytest.fixture
def no_planning(monkeypatch):
    """Fail the test if the batch loads the checks and plans the questions."""

    def refuse(*args, **kwargs):
        raise AssertionError("the batch planned its questions: nothing needed them")

    monkeypatch.setattr(batch, "load_assignment", refuse)


def unreadable_notebooks(folder):
    folder.mkdir()
    (folder / "garbled.ipynb").write_text("this is not JSON")
    (folder / "a_list.ipynb").write_text("[1, 2]")  # JSON, but not a notebook
    return intake.find_submissions([folder], assignment="week1")


def test_a_batch_of_refusals_is_recorded_without_planning(tmp_path, no_planning):
    submissions = unreadable_notebooks(tmp_path / "batch")
    out = tmp_path / "out"
    records = batch.grade_batch("week1", submissions, out, Settings())
    assert sorted(r.status for r in records) == [Status.INVALID] * 2
    messages = sorted(r.message for r in records)
    assert "not a Jupyter notebook" in messages[0]
    assert "not valid JSON" in messages[1]
    with open(out / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    students = [row for row in rows if row["file"] != "POINTS POSSIBLE"]
    assert len(students) == 2  # every refusal still gets its record and its row
    assert (out / "report.html").exists()
    assert all((out / "records" / f"{r.id}.json").exists() for r in records)


def test_refusals_and_runnable_submissions_in_one_batch_all_get_records(
    tmp_path, monkeypatch
):
    """The runnable ones still reach the runner, with a planned assignment."""
    submissions = unreadable_notebooks(tmp_path / "batch")
    good = tmp_path / "good.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), good)
    submissions += intake.find_submissions([good], assignment="week1")
    seen = {}

    class Recorder:
        def warm_up(self, settings, count):
            seen["warm_up"] = count
            return contextlib.nullcontext()

        def grade_each(self, assignment, todo, settings):
            seen["plans"] = sorted(assignment.plans)
            seen["ids"] = [s.id for s in todo]
            for submission in todo:
                yield batch.pipeline.empty_record(
                    assignment, submission, Status.GRADED, "stand-in"
                )

    monkeypatch.setattr(batch.runners, "runner_for", lambda settings: Recorder())
    records = batch.grade_batch("week1", submissions, tmp_path / "out", Settings())
    assert len(records) == 3
    assert seen["ids"] == [s.id for s in submissions if s.notebook == good]
    assert seen["warm_up"] == 1  # sandboxes for the runnable one only
    assert set(seen["plans"]) == set(course.week("week1").budgets)


def test_a_rerun_with_nothing_changed_plans_nothing(graded_week, tmp_path, monkeypatch):
    graded = graded_week("week1")
    out = tmp_path / "out"
    shutil.copytree(graded["out"], out)
    before = (out / "records.jsonl").read_text()
    submissions = intake.find_submissions(
        [course.REPO / "examples/submissions/week1"], assignment="week1"
    )
    said = []

    def refuse(*args, **kwargs):
        raise AssertionError("the rerun planned its questions")

    monkeypatch.setattr(batch, "load_assignment", refuse)
    records = batch.grade_batch("week1", submissions, out, Settings(), say=said.append)
    assert said == []  # nothing to grade, nothing said
    assert (out / "records.jsonl").read_text() == before  # nothing regraded
    assert {r.id: r.total for r in records} == {
        r["id"]: r["total"] for r in graded["journal"]
    }


def test_the_refusal_command_imports_neither_torch_nor_matplotlib(tmp_path):
    """The whole ``gene46100 grade`` of refusals, in a fresh interpreter: no torch
    (the checks, the reference), no matplotlib (the report's charts say nothing was
    run), no sandbox started; its pages and grades.csv are still written."""
    unreadable_notebooks(tmp_path / "batch")
    out = tmp_path / "out"
    script = (
        "import sys\n"
        "from gene46100 import cli\n"
        f"code = cli.main(['grade', 'week1', {str(tmp_path / 'batch')!r}, "
        f"'--out', {str(out)!r}, '--quiet'])\n"
        "heavy = sorted(m for m in ('torch', 'matplotlib') if m in sys.modules)\n"
        "print('heavy:', heavy, 'code:', code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert "heavy: [] code: 0" in done.stdout, done.stdout + done.stderr
    assert "nothing to chart" in (out / "report.html").read_text()
    assert (out / "grades.csv").exists()
