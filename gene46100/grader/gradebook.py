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
from dataclasses import dataclass
from pathlib import Path

from gene46100.grader.records import QuestionResult, QuestionStatus, Record

Manual = dict[str, dict[str, dict]]  # submission id -> question -> grade


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


@dataclass(frozen=True)
class Totals:
    """What a score includes, so every place says it the same way."""

    auto: float
    auto_possible: float
    manual: float
    manual_possible: float
    pending: int  # manual questions not graded yet

    @property
    def overall(self) -> float:
        return round(self.auto + self.manual, 4)

    @property
    def overall_possible(self) -> float:
        return self.auto_possible + self.manual_possible

    def describe(self) -> str:
        """``autograded 17/19, overall 24/29, 2 questions not yet graded``."""
        text = f"autograded {self.auto:g}/{self.auto_possible:g}"
        if self.manual_possible:
            text += f", overall {self.overall:g}/{self.overall_possible:g}"
        if self.pending:
            text += (
                f", {self.pending} question{'s' if self.pending > 1 else ''} "
                "not yet graded"
            )
        return text


def totals(record: Record) -> Totals:
    """The totals of a record (merged with ``with_manual`` or not)."""
    auto = [q for q in record.questions if q.status not in MANUAL_STATUSES]
    manual = [q for q in record.questions if q.status in MANUAL_STATUSES]
    return Totals(
        auto=round(sum(q.score for q in auto), 4),
        auto_possible=sum(q.possible for q in auto),
        manual=round(
            sum(q.score for q in manual if q.status == QuestionStatus.REVIEWED), 4
        ),
        manual_possible=sum(q.possible for q in manual),
        pending=sum(1 for q in manual if q.status == QuestionStatus.MANUAL),
    )


MANUAL_STATUSES = (QuestionStatus.MANUAL, QuestionStatus.REVIEWED)


def merged(records: list[Record], grades: Manual) -> list[Record]:
    return [with_manual(r, grades.get(r.id, {})) for r in records]
