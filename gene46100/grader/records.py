"""Durable records: a journal appended per submission, and the class CSV from it.

The journal (``records.jsonl``) is the source of truth: one line per submission,
flushed and fsynced as each finishes, so a crash loses at most the submission in
flight and a re-run skips what is done. ``grades.csv`` and the per-submission JSON
files are regenerated from it.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class Status(str, Enum):
    """A submission's status (scores stand regardless of it).

    A ``str`` enum: it is its value in JSON and compares equal to it.
    """

    GRADED = "graded"
    TIMEOUT = "timeout"
    OOM = "oom"
    KERNEL_DIED = "kernel_died"
    INVALID = "invalid_submission"
    TAMPERED = "tampered"
    INTERNAL_ERROR = "internal_error"

    def __str__(self) -> str:
        return self.value


class QuestionStatus(str, Enum):
    """How one question ended."""

    PASSED = "passed"
    FAILED = "failed"
    MANUAL = "manual"  # graded by a person, not yet graded
    REVIEWED = "reviewed"  # graded by a person (see gradebook.py)
    # A written answer left as released: 0, "no response", until a person grades it.
    NO_RESPONSE = "no_response"
    TIMEOUT = "timeout"
    OOM = "oom"
    CRASHED = "crashed"
    TAMPERED = "tampered"
    NOT_RUN = "not_run"
    # The grader's own check failed (a bug of ours): the TA regrades it; it is
    # never the student's loss (see ``Record.regrade_owed``).
    INTERNAL_ERROR = "internal_error"

    def __str__(self) -> str:
        return self.value


STATUSES = tuple(s.value for s in Status)
# Question statuses that lost points when the question ran (worth a hint).
LOST = (
    QuestionStatus.FAILED,
    QuestionStatus.TIMEOUT,
    QuestionStatus.CRASHED,
    QuestionStatus.OOM,
)


@dataclass
class QuestionResult:
    """One question's score, status and feedback (``checks``: each hidden check's
    name, passed, weight and message)."""

    name: str
    score: float
    possible: float
    status: QuestionStatus
    feedback: str = ""
    checks: list[dict] = field(default_factory=list)
    seconds: float | None = None  # wall, in the sandbox
    cpu_seconds: float | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QuestionResult:
        known = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in data.items() if k in known}
        return cls(**{**fields, "status": QuestionStatus(data["status"])})


@dataclass
class Record:
    """Everything known about one graded submission: the journal's line, the
    per-submission JSON file, and what the reports and ``grades.csv`` read."""

    id: str
    file: str
    assignment: str
    status: Status
    questions: list[QuestionResult]
    total: float
    possible: float
    percent: float
    student: str = ""
    message: str = ""
    intake_notes: list[str] = field(default_factory=list)
    # What grading did differently from Colab or Jupyter (CUDA run on the CPU, a
    # magic skipped), by cell or question: the sandbox's word, never a score.
    grading_notes: list[str] = field(default_factory=list)
    not_graded_files: list[str] = field(default_factory=list)
    graded_files: list[str] = field(default_factory=list)
    ignored_cells: list[int] = field(default_factory=list)
    cells: dict[str, dict] = field(default_factory=dict)  # index -> how it ran
    restarts: int = 0
    run_seconds: float = 0.0
    phase_seconds: dict[str, float] = field(default_factory=dict)
    sandbox: str = "bubblewrap"
    # "warm" (forked from a warm sandbox), "cold", or "cold (why not warm)"; and
    # the forked worker's peak resident memory in MB (warm starts only).
    sandbox_start: str = ""
    peak_rss_mb: float = 0.0
    limits: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0  # the whole grading of this submission
    traceback: str = ""  # internal errors only
    worker: str = ""  # the Dask worker that graded it (cluster runs only)
    # What produced this grade (see provenance.py): a resume regrades on a change.
    provenance: dict[str, Any] = field(default_factory=dict)
    graded_at: str = ""  # UTC, ISO 8601
    # From an LMS download, when it says: Canvas's user id, its late flag, the time
    # the LMS recorded (no late penalty is applied here: the LMS applies its own).
    canvas_user: str = ""
    late: bool = False
    submitted_at: str = ""

    def question(self, name: str) -> QuestionResult:
        """The result of question ``name`` (every record has every question)."""
        return next(q for q in self.questions if q.name == name)

    def scores(self) -> dict[str, float]:
        return {q.name: q.score for q in self.questions}

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (enums as their values)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        """A record from its JSON form (unknown keys from other versions ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in data.items() if k in known}
        fields["status"] = Status(data["status"])
        fields["questions"] = [QuestionResult.from_json(q) for q in data["questions"]]
        return cls(**fields)


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
            sum(q.score for q in manual if q.status != QuestionStatus.MANUAL), 4
        ),
        manual_possible=sum(q.possible for q in manual),
        pending=sum(1 for q in manual if q.status == QuestionStatus.MANUAL),
    )


MANUAL_STATUSES = (
    QuestionStatus.MANUAL,
    QuestionStatus.REVIEWED,
    QuestionStatus.NO_RESPONSE,
)


class Journal:
    """Append-only JSON-lines journal keyed by submission id.

    A regrade appends a new line for the same id: the last line of an id is its
    current record, the earlier ones its history (never rewritten).
    """

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / "records.jsonl"
        out_dir.mkdir(parents=True, exist_ok=True)

    def load(self) -> dict[str, Record]:
        """The current record of each id (a torn last line from a crash, or a line
        this version cannot read, is ignored: that submission is graded again)."""
        return {record.id: record for record in self.lines()}

    def history(self, record_id: str) -> list[Record]:
        """Every record of ``record_id``, oldest first (the last is current)."""
        return [record for record in self.lines() if record.id == record_id]

    def lines(self) -> list[Record]:
        if not self.path.exists():
            return []
        found = []
        for line in self.path.read_text().splitlines():
            try:
                found.append(Record.from_json(json.loads(line)))
            except (TypeError, KeyError, ValueError, AttributeError):
                continue
        return found

    def append(self, record: Record) -> None:
        line = json.dumps(record.to_json(), sort_keys=True) + "\n"
        with open(self.path, "a") as f:
            if f.tell() and not self._ends_with_newline():
                f.write("\n")  # seal a line torn by an earlier crash
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_record_file(out_dir: Path, record: Record) -> None:
    folder = out_dir / "records"
    folder.mkdir(exist_ok=True)
    text = json.dumps(record.to_json(), indent=2) + "\n"
    write_atomic(folder / f"{record.id}.json", text)


GRADES_EXTRA = ["autograded_points", "manual_points", "manual_pending"]


def write_grades_csv(out_dir: Path, spec: dict, records: list[Record]) -> Path:
    """``grades.csv`` in the layout of Otter's ``final_grades.csv``, plus what the
    totals include.

    Columns come from the assignment (never from a submission): ``file``, one per
    question, ``total_points_earned`` (autograded plus the manual grades given so
    far), ``percent_correct`` (of every question's points), ``grading_status``, then
    ``autograded_points``, ``manual_points`` and ``manual_pending`` (written answers
    not graded yet: their cells are blank). The first row holds the points possible.
    Pass records merged with the manual grades (``gradebook.merged``).
    """
    names = [q["name"] for q in spec["questions"]]
    possible = {q["name"]: q["points"] for q in spec["questions"]}
    total = sum(q["points"] for q in spec["questions"])
    auto = sum(q["points"] for q in spec["questions"] if not q["manual"])
    header = [
        "file",
        *names,
        "total_points_earned",
        "percent_correct",
        "grading_status",
        *GRADES_EXTRA,
    ]
    rows = [
        [
            "POINTS POSSIBLE",
            *(possible[n] for n in names),
            total,
            100,
            "",
            auto,
            total - auto,
            "",
        ]
    ]
    for record in sorted(records, key=lambda r: r.id):
        pending = {
            q.name for q in record.questions if q.status == QuestionStatus.MANUAL
        }
        scores = record.scores()
        sums = totals(record)
        rows.append(
            [
                record.file,
                *("" if n in pending else scores.get(n, 0) for n in names),
                sums.overall,
                round(100 * sums.overall / total, 2) if total else 0,
                record.status.value,
                sums.auto,
                sums.manual,
                sums.pending,
            ]
        )
    path = out_dir / "grades.csv"
    tmp = path.with_name("grades.csv.tmp")
    with open(tmp, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    os.replace(tmp, path)
    return path


REGRADE_HEADER = [
    "graded_at",
    "submission",
    "file",
    "question",
    "before",
    "after",
    "change",
    "message_before",
    "message_after",
    "why",
]


def regrade_rows(before: Record, after: Record, why: str) -> list[list[str]]:
    """One row per question whose score or message changed (and one for a status
    change), for ``regrade-diff.csv``: who changed, where, by how much, and why."""
    rows = []
    old = {q.name: q for q in before.questions}
    for question in after.questions:
        prior = old.get(question.name)
        if prior is None:
            continue
        if prior.score == question.score and prior.feedback == question.feedback:
            continue
        rows.append(
            [
                after.graded_at,
                after.id,
                after.file,
                question.name,
                f"{prior.score:g}",
                f"{question.score:g}",
                f"{question.score - prior.score:+g}",
                prior.feedback,
                question.feedback,
                why,
            ]
        )
    if before.status != after.status:
        rows.append(
            [
                after.graded_at,
                after.id,
                after.file,
                "(status)",
                before.status.value,
                after.status.value,
                "",
                before.message,
                after.message,
                why,
            ]
        )
    return rows


def append_regrade_diff(out_dir: Path, rows: list[list[str]]) -> Path:
    """Append a run's regrade rows to ``regrade-diff.csv`` (its history is kept)."""
    path = out_dir / "regrade-diff.csv"
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(REGRADE_HEADER)
        writer.writerows(rows)
        f.flush()
        os.fsync(f.fileno())
    return path


def read_regrade_diff(out_dir: Path) -> list[dict[str, str]]:
    path = out_dir / "regrade-diff.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
