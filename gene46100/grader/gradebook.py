"""One gradebook: the autograded records and the manual grades, read together.

The journal holds what the autograder found; the written answers are graded by a
person in the review app, whose store (``DIR/review.db``) the grader never writes.
Every page, ``grades.csv``, Gradescope's results and the console table read both
through here, so each says the same thing in the same words ("autograded 17/19,
overall 24/29, 2 questions not yet graded"), an ungraded written answer is never
shown as a failed test, and re-running ``gene46100 grade`` never touches a manual
grade (a changed answer simply returns to the review queue).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gene46100.grader.records import QuestionResult, QuestionStatus, Record

Manual = dict[str, dict[str, dict]]  # submission id -> question -> grade
NO_RESPONSE = (
    "No response: the answer was left as released, so it scores 0 (no person "
    "has graded it). If you did answer it, ask for a regrade."
)


def manual_grades(out_dir: Path, week: str | None = None) -> Manual:
    """The review store's grades (``{}`` without the review app or a store)."""
    try:
        from gene46100.review.store import manual_grades as read
    except ImportError:
        return {}
    try:
        return read(out_dir, week)
    except Exception:  # noqa: BLE001 - an unreadable store: no manual grades yet
        return {}


def with_manual(record: Record, grades: dict[str, dict]) -> Record:
    """A copy of ``record`` whose graded manual questions carry their grade."""
    questions = [reviewed(q, grades.get(q.name)) for q in record.questions]
    return dataclasses.replace(record, questions=questions)


def reviewed(question: QuestionResult, grade: dict | None) -> QuestionResult:
    if question.status != QuestionStatus.MANUAL or grade is None:
        return question
    if grade.get("auto"):  # left as released: 0 by rule, not by a person
        return dataclasses.replace(
            question,
            score=0.0,
            status=QuestionStatus.NO_RESPONSE,
            feedback=NO_RESPONSE,
            checks=[],
        )
    return dataclasses.replace(
        question,
        score=round(float(grade.get("score", 0)), 4),
        status=QuestionStatus.REVIEWED,
        feedback=grade_feedback(grade),
        checks=[],
    )


def grade_feedback(grade: dict) -> str:
    """The rubric items and the comment, as the student should read them."""
    lines = []
    for item in grade.get("items", []):
        points = float(item.get("points", 0))
        lines.append(f"{points:+g}: {item.get('text', '')}")
    if grade.get("comment"):
        lines.append(str(grade["comment"]))
    return "\n".join(lines) or "Graded by a person."


def merged(records: list[Record], grades: Manual) -> list[Record]:
    return [with_manual(r, grades.get(r.id, {})) for r in records]
