"""Durable records: a journal appended per submission, and the class CSV from it.

The journal (``records.jsonl``) is the source of truth: one line per submission,
flushed and fsynced as each finishes, so a crash loses at most the submission in
flight and a re-run skips what is done. ``grades.csv`` and the per-submission JSON
files are regenerated from it.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

STATUSES = (
    "graded",
    "timeout",
    "oom",
    "kernel_died",
    "invalid_submission",
    "tampered",
    "internal_error",
)


class Journal:
    """Append-only JSON-lines journal keyed by submission id."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / "records.jsonl"
        out_dir.mkdir(parents=True, exist_ok=True)

    def load(self) -> dict[str, dict]:
        """Records so far (a torn last line from a crash is ignored)."""
        records: dict[str, dict] = {}
        if not self.path.exists():
            return records
        for line in self.path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "id" in record:
                records.setdefault(record["id"], record)
        return records

    def append(self, record: dict) -> None:
        line = json.dumps(record, sort_keys=True) + "\n"
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


def write_record_file(out_dir: Path, record: dict) -> None:
    folder = out_dir / "records"
    folder.mkdir(exist_ok=True)
    write_atomic(folder / f"{record['id']}.json", json.dumps(record, indent=2) + "\n")


def write_grades_csv(out_dir: Path, spec: dict, records: list[dict]) -> Path:
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
    for record in sorted(records, key=lambda r: r["id"]):
        scores = {q["name"]: q["score"] for q in record["questions"]}
        rows.append(
            [
                record["file"],
                *(scores.get(n, 0) for n in names),
                record["total"],
                record["percent"],
                record["status"],
            ]
        )
    path = out_dir / "grades.csv"
    tmp = path.with_name("grades.csv.tmp")
    with open(tmp, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    os.replace(tmp, path)
    return path
