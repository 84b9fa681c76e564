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
    MANUAL = "manual"  # graded by a person
    TIMEOUT = "timeout"
    OOM = "oom"
    CRASHED = "crashed"
    TAMPERED = "tampered"
    NOT_RUN = "not_run"

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
    not_graded_files: list[str] = field(default_factory=list)
    graded_files: list[str] = field(default_factory=list)
    ignored_cells: list[int] = field(default_factory=list)
    cells: dict[str, dict] = field(default_factory=dict)  # index -> how it ran
    restarts: int = 0
    run_seconds: float = 0.0
    phase_seconds: dict[str, float] = field(default_factory=dict)
    sandbox: str = "bubblewrap"
    limits: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0  # the whole grading of this submission
    traceback: str = ""  # internal errors only
    worker: str = ""  # the Dask worker that graded it (cluster runs only)

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


class Journal:
    """Append-only JSON-lines journal keyed by submission id."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / "records.jsonl"
        out_dir.mkdir(parents=True, exist_ok=True)

    def load(self) -> dict[str, Record]:
        """Records so far (a torn last line from a crash is ignored)."""
        records: dict[str, Record] = {}
        if not self.path.exists():
            return records
        for line in self.path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            try:
                loaded = Record.from_json(record)
            except (TypeError, KeyError, ValueError, AttributeError):
                continue  # not a record of this version: graded again
            records.setdefault(loaded.id, loaded)
        return records

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


def write_grades_csv(out_dir: Path, spec: dict, records: list[Record]) -> Path:
    """``grades.csv`` in the layout of Otter's ``final_grades.csv``.

    Columns come from the assignment (never from a submission): ``file``, one per
    question, ``total_points_earned``, ``percent_correct``, ``grading_status``; the
    first row holds the points possible.
    """
    names = [q["name"] for q in spec["questions"]]
    possible = {q["name"]: q["points"] for q in spec["questions"]}
    total = sum(q["points"] for q in spec["questions"] if not q["manual"])
    header = [
        "file",
        *names,
        "total_points_earned",
        "percent_correct",
        "grading_status",
    ]
    rows = [["POINTS POSSIBLE", *(possible[n] for n in names), total, 100, ""]]
    for record in sorted(records, key=lambda r: r.id):
        scores = record.scores()
        rows.append(
            [
                record.file,
                *(scores.get(n, 0) for n in names),
                record.total,
                record.percent,
                record.status.value,
            ]
        )
    path = out_dir / "grades.csv"
    tmp = path.with_name("grades.csv.tmp")
    with open(tmp, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    os.replace(tmp, path)
    return path
