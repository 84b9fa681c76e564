"""One gradebook: the manual grades given in the review join the autograded record
everywhere, in the same words, and an answer not graded yet is never a failure."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from gene46100 import cli
from gene46100.grader import gradebook, records, reports
from gene46100.grader.records import QuestionResult, QuestionStatus, Record, Status

REPO = Path(__file__).resolve().parent.parent
SPEC = {
    "assignment": "week1",
    "questions": [
        {"name": "m1", "points": 2, "manual": True},
        {"name": "q1", "points": 3, "manual": False},
        {"name": "m2", "points": 5, "manual": True},
    ],
}
GRADED = {
    "m1": {
        "score": 1.5,
        "possible": 2,
        "items": [{"id": "1", "text": "sets the gradient to zero", "points": 1.5}],
        "comment": "Say why X^T X must be invertible.",
        "grader": "ta1",
    }
}


def record(rid: str = "ann-1") -> Record:
    return Record(
        rid,
        f"/home/ta/subs/{rid}.ipynb",
        "week1",
        Status.GRADED,
        [
            QuestionResult("m1", 0, 2, QuestionStatus.MANUAL, "Graded by a person."),
            QuestionResult(
                "q1", 3, 3, QuestionStatus.PASSED, "All hidden tests passed."
            ),
            QuestionResult("m2", 0, 5, QuestionStatus.MANUAL, "Graded by a person."),
        ],
        3,
        3,
        100.0,
    )


def test_totals_say_what_they_include():
    merged = gradebook.with_manual(record(), GRADED)
    sums = records.totals(merged)
    assert (sums.auto, sums.manual, sums.pending) == (3, 1.5, 1)
    assert (
        sums.describe() == "autograded 3/3, overall 4.5/10, 1 question not yet graded"
    )
    assert merged.question("m1").status == QuestionStatus.REVIEWED
    assert "+1.5: sets the gradient to zero" in merged.question("m1").feedback


def test_grades_csv_counts_manual_grades_and_leaves_pending_ones_blank(tmp_path):
    merged = gradebook.merged([record()], {"ann-1": GRADED})
    records.write_grades_csv(tmp_path, SPEC, merged)
    header, points, row = list(csv.reader((tmp_path / "grades.csv").open()))
    cells = dict(zip(header, row))
    assert dict(zip(header, points))["total_points_earned"] == "10"
    assert cells["m1"] == "1.5" and cells["m2"] == "" and cells["q1"] == "3"
    assert cells["total_points_earned"] == "4.5" and cells["percent_correct"] == "45.0"
    assert (cells["autograded_points"], cells["manual_points"]) == ("3", "1.5")
    assert cells["manual_pending"] == "1"


def test_students_see_manual_grades_and_no_failed_test_for_pending_ones():
    merged = gradebook.with_manual(record(), GRADED)
    results = reports.gradescope_results(merged)
    assert results["score"] == 4.5
    names = [t["name"] for t in results["tests"]]
    assert names == [
        "m1 (graded by a person)",
        "q1",
        "m2 (written answer: pending, graded by a person)",
    ]  # every question, the same tests for every student
    # partial credit, and an answer not graded yet, are never a "failure"
    assert [t["status"] for t in results["tests"]] == ["passed"] * 3
    assert results["tests"][2]["score"] == 0
    assert "overall 4.5/10, 1 question not yet graded" in results["output"]
    page = reports.feedback_page(SPEC, merged)
    assert "autograded 3/3, overall 4.5/10, 1 question not yet graded" in page
    assert "Say why X^T X must be invertible." in page
    assert "Not graded yet: a person grades this answer." in page
    assert "/home/ta" not in page


def test_the_report_command_rewrites_the_gradebook(tmp_path, capsys, monkeypatch):
    line = json.dumps(record().to_json()) + "\n"
    (tmp_path / "records.jsonl").write_text(line)
    monkeypatch.setattr(
        gradebook, "manual_grades", lambda out, week=None: {"ann-1": GRADED}
    )
    assert cli.main(["report", "week1", "--out", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "overall 4.5/" in table and "not yet graded" in table
    rows = list(csv.reader((tmp_path / "grades.csv").open()))
    assert rows[2][rows[0].index("m1")] == "1.5"
    assert (tmp_path / "feedback" / "ann-1.html").exists()
    saved = json.loads((tmp_path / "records" / "ann-1.json").read_text())
    m1 = next(q for q in saved["questions"] if q["name"] == "m1")
    assert (m1["status"], m1["score"]) == ("reviewed", 1.5)
    assert (
        tmp_path / "records.jsonl"
    ).read_text() == line  # the journal is not touched


def test_the_report_command_refuses_a_folder_without_records(tmp_path, capsys):
    assert cli.main(["report", "week1", "--out", str(tmp_path)]) == 2
    assert "no records.jsonl" in capsys.readouterr().err


def test_an_untouched_notebook_reads_as_such_with_its_empty_answers_scored():
    """Placeholders scored "No response" by the review do not hide that nothing was
    attempted (one kind line, not a wall of "not implemented yet")."""
    stub = record("bob-2")
    stub.questions[1] = QuestionResult(
        "q1", 0, 3, QuestionStatus.FAILED, "q1: not implemented yet"
    )
    no_response = {"score": 0, "possible": 2, "items": [], "comment": "No response"}
    merged = gradebook.with_manual(stub, {"m1": no_response, "m2": no_response})
    page = reports.feedback_page(SPEC, merged)
    assert "Nothing answered yet" in page and "No response" in page
