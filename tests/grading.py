"""Grading the example submissions, for the example tests (importable from tests/).

``gene46100 grade <week> examples/submissions/<week>`` is run once per week and test
session (the ``graded_week`` fixture in conftest.py caches it): tests/test_examples.py
checks the contract every week's examples share, tests/test_grade_<week>.py what is
particular to one week, both on the same records.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gene46100 import checks, course
from gene46100.grader import sandbox

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "submissions"

needs_bwrap = pytest.mark.skipif(
    sandbox.bwrap_path() is None, reason="bubblewrap is not available"
)

# Week 1's dave_infinite_loop must be cut off at its cell timeout.
WEEK1_CELL_TIMEOUT_S = 15
# ``gene46100 grade`` options per week (else DEFAULT_OPTIONS).
GRADE_OPTIONS = {
    "week1": ["--jobs", "2", "--cell-timeout", str(WEEK1_CELL_TIMEOUT_S)],
    # One at a time: q7's CPU time (test_grade_week2.py) is measured undisturbed.
    "week2": ["--jobs", "1"],
}
DEFAULT_OPTIONS = ["--jobs", "2"]


def grade_command(week: str, out: Path) -> list[str]:
    """The ``gene46100`` argument list that grades ``week``'s examples into ``out``."""
    options = GRADE_OPTIONS.get(week, DEFAULT_OPTIONS)
    folder = EXAMPLES / week
    return ["grade", week, str(folder), "--out", str(out), *options, "--quiet"]


def example_of(record: dict, week: str) -> str:
    """The example a record is about: the notebook's stem or the folder's name
    (``record["file"]`` itself when it names no example of the week)."""
    names = {e.name for e in course.week(week).examples}
    parts = [p.removesuffix(".ipynb") for p in Path(record["file"]).parts]
    return next((p for p in reversed(parts) if p in names), record["file"])


def grade_examples(week: str, out: Path) -> dict:
    """Grade ``week``'s examples into ``out``; ``{"out": the folder, "argv": the
    command, "journal": every record in order, "records": {example: record}}``."""
    from gene46100 import cli

    argv = grade_command(week, out)
    code = cli.main(argv)
    assert code == 0, f"gene46100 {' '.join(argv)} exited with {code}"
    journal = [
        json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()
    ]
    records: dict[str, dict] = {}
    for record in journal:
        records.setdefault(example_of(record, week), record)
    return {"out": out, "argv": argv, "journal": journal, "records": records}


def autograded(record: dict) -> dict[str, dict]:
    """The record's autograded questions by name (manual ones left out)."""
    return {q["name"]: q for q in record["questions"] if q["status"] != "manual"}


def runs_a_script(week: str, question: str) -> bool:
    """Whether ``question`` calls no notebook function: it grades a companion script
    (week 3a's q5 runs ``predict.py``), so an untouched template fails it loudly
    instead of saying "not implemented yet"."""
    return not checks.questions(week)[question].names
