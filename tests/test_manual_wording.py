"""Counts and labels that say what happened: an answer a person graded, an empty
answer scored 0 by rule ("no response"), and one still to grade are kept apart on
the class report and the student's page, and headline numbers say what they count."""

from __future__ import annotations

import csv
import re

from gene46100.grader import gradebook, records, reports
from gene46100.grader.records import QuestionResult, QuestionStatus, Record, Status

SPEC = {
    "assignment": "week1",
    "questions": [
        {"name": "m1", "points": 2, "manual": True},
        {"name": "q1", "points": 3, "manual": False},
        {"name": "m2", "points": 5, "manual": True},
    ],
}
BY_A_PERSON = {"score": 1.5, "possible": 2, "items": [], "comment": "Good start."}
# What the review store returns for an answer left as released (store.grade_result).
LEFT_EMPTY = {
    "score": 0.0,
    "possible": 5,
    "items": [],
    "comment": "No response",
    "grader": "auto",
    "auto": True,
}


def record(rid: str, auto: float) -> Record:
    return Record(
        rid,
        f"subs/{rid}.ipynb",
        "week1",
        Status.GRADED,
        [
            QuestionResult("m1", 0, 2, QuestionStatus.MANUAL, "Graded by a person."),
            QuestionResult("q1", auto, 3, QuestionStatus.PASSED, "passed"),
            QuestionResult("m2", 0, 5, QuestionStatus.MANUAL, "Graded by a person."),
        ],
        auto,
        3,
        round(100 * auto / 3, 2),
    )


def class_of_two() -> list[Record]:
    """ann: m1 graded by a person, m2 left empty; bob: nothing graded yet."""
    grades = {"ann-1": {"m1": BY_A_PERSON, "m2": LEFT_EMPTY}}
    return gradebook.merged([record("ann-1", 3), record("bob-2", 0)], grades)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_an_empty_answer_is_no_response_not_graded_by_a_person():
    ann = class_of_two()[0]
    m2 = ann.question("m2")
    assert m2.status == QuestionStatus.NO_RESPONSE and m2.score == 0
    assert ann.question("m1").status == QuestionStatus.REVIEWED
    sums = records.totals(ann)
    assert (sums.manual, sums.pending) == (1.5, 0)  # 0 by rule: final, not pending


def test_the_students_page_labels_each_kind_truthfully():
    page = text_of(reports.feedback_page(SPEC, class_of_two()[0]))
    m1 = page[page.index("m1 1.5 / 2") :][:80]
    m2 = page[page.index("m2 0 / 5") :][:160]
    assert "graded by a person" in m1
    assert "no response (0)" in m2 and "graded by a person" not in m2
    assert "left as released" in m2 and "reviewed" not in page


def test_the_class_report_counts_people_apart_from_rules():
    page = text_of(reports.class_report(SPEC, class_of_two()))
    assert (
        "Written answers: 1 of 4 graded by a person, 1 no response (0), 2 to grade"
        in page
    )
    assert "median, autograded 50 %" in page and "mean, autograded 50 %" in page
    assert "22/28 graded" not in page


def test_grades_csv_scores_no_response_and_leaves_pending_blank(tmp_path):
    records.write_grades_csv(tmp_path, SPEC, class_of_two())
    header, _, ann, bob = list(csv.reader((tmp_path / "grades.csv").open()))
    ann, bob = dict(zip(header, ann)), dict(zip(header, bob))
    assert (ann["m1"], float(ann["m2"]), ann["manual_pending"]) == ("1.5", 0, "0")
    assert (bob["m1"], bob["m2"], bob["manual_pending"]) == ("", "", "2")
