"""The offline round trip: export the grades to CSV, edit, import them back.

One row per submission and manual question. Columns:

- ``submission``, ``question``: which answer (required);
- ``<question>:<item id> (<points>)``: one per rubric item of every question; ``1``
  (or ``x``, ``yes``) applies it, ``0`` (or ``no``) removes it; only the row's own
  question's items may be filled;
- ``adjustment`` (points), ``comment`` (``-`` alone clears it), ``grader`` (who
  made the change; default ``--grader``);
- ``version``: the stored version when exported; a row that changes an answer
  changed in the store since then is refused (nothing is silently overwritten);
- ``state``, ``score``, ``possible``: for reading; ignored on import.

On import a blank cell means "no change", and a row whose cells are all blank is
skipped. Everything is checked first: each error names its row (as a spreadsheet
numbers it: the header is row 1) and column, and nothing is applied when any row is
wrong; otherwise all rows are applied in one transaction.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from gene46100.review.store import Grade, Store

FIXED = ("submission", "question")
TAIL = ("adjustment", "comment", "grader", "version")
READ_ONLY = ("state", "score", "possible")
YES = {"1", "x", "yes", "y", "true"}
NO = {"0", "no", "n", "false"}
CLEAR = "-"


class ImportRefused(ValueError):
    """The CSV has errors; ``errors`` lists them all (nothing was applied)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class Change:
    grade: Grade
    version: int
    items: dict[str, bool] = field(default_factory=dict)
    adjustment: float | None = None
    comment: str | None = None
    grader: str = ""


def item_columns(store: Store) -> dict[str, tuple[str, str]]:
    """Column header -> (question, item id)."""
    return {
        f"{q}:{item.id} ({item.points:+g})": (q, item.id)
        for q in store.question_names()
        for item in store.items(q)
    }


def export_csv(store: Store, path: Path) -> int:
    """Write the store's grades to ``path``; returns the number of rows."""
    columns = item_columns(store)
    header = [*FIXED, *columns, *TAIL, *READ_ONLY]
    rows = []
    for grade in store.grades():
        graded = grade.state == "graded"
        row = {"submission": grade.submission, "question": grade.question}
        for name, (q, item_id) in columns.items():
            own = q == grade.question and graded
            row[name] = ("1" if item_id in grade.items else "0") if own else ""
        row |= {
            "adjustment": f"{grade.adjustment:g}" if graded else "",
            "comment": grade.comment if graded else "",
            "grader": grade.grader if graded else "",
            "version": str(grade.version),
            "state": grade.state,
            "score": f"{store.score_of(grade):g}",
            "possible": f"{store.question(grade.question)['points']:g}",
        }
        rows.append(row)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def column_key(header: str) -> str:
    """An item column is known by what precedes its first space (``m1:2``)."""
    return header.split(" ", 1)[0].strip()


def check_header(header: list[str], store: Store) -> tuple[dict, list[str]]:
    """Item column index -> (question, item id); and the header's errors."""
    known = {column_key(c): v for c, v in item_columns(store).items()}
    items, errors, seen = {}, [], set()
    for index, name in enumerate(header):
        key = column_key(name) if ":" in name else name.strip()
        if key in seen:
            errors.append(f"row 1, column {name!r}: appears twice")
        seen.add(key)
        if key in known:
            items[index] = known[key]
        elif key not in (*FIXED, *TAIL, *READ_ONLY):
            errors.append(f"row 1, column {name!r}: not a column of this review")
    missing = [c for c in (*FIXED, "version") if c not in seen]
    errors += [f"row 1: the column {c!r} is missing" for c in missing]
    return items, errors


def parse_row(
    number: int, row: list[str], header: list[str], items: dict, store: Store
) -> tuple[Change | None, list[str]]:
    """One data row: its change (``None`` for an all-blank row) or its errors."""
    cells = dict(zip(header, row + [""] * (len(header) - len(row))))
    where = f"row {number}"
    sid, question = cells["submission"].strip(), cells["question"].strip()
    try:
        grade = store.grade_of(sid, question)
    except KeyError:
        return None, [
            f"{where}, columns submission/question: no answer "
            f"({sid!r}, {question!r}) in this review"
        ]
    change, errors = Change(grade=grade, version=grade.version), []
    for index, (q, item_id) in items.items():
        value = (row[index] if index < len(row) else "").strip().lower()
        if not value:
            continue
        if q != question:
            errors.append(
                f"{where}, column {header[index]!r}: an item of {q}, in a "
                f"row of {question}; leave it blank"
            )
        elif value in YES or value in NO:
            change.items[item_id] = value in YES
        else:
            errors.append(
                f"{where}, column {header[index]!r}: expected 1 or 0 "
                f"(x/yes, no) or blank, got {value!r}"
            )
    errors += parse_tail(where, cells, change)
    blank = not (change.items or change.adjustment is not None or change.comment)
    return (None if blank else change), errors


def parse_tail(where: str, cells: dict[str, str], change: Change) -> list[str]:
    errors = []
    adjustment = cells.get("adjustment", "").strip()
    if adjustment:
        try:
            change.adjustment = float(adjustment)
            if not math.isfinite(change.adjustment):
                raise ValueError
        except ValueError:
            errors.append(
                f"{where}, column 'adjustment': expected a number, got {adjustment!r}"
            )
    comment = cells.get("comment", "").strip()
    if comment:
        change.comment = "" if comment == CLEAR else comment
    change.grader = " ".join(cells.get("grader", "").split())[:60]
    version = cells.get("version", "").strip()
    if not version.isdigit():
        errors.append(
            f"{where}, column 'version': expected the exported version, got {version!r}"
        )
    else:
        change.version = int(version)
    return errors


def differs(change: Change) -> bool:
    """Would the change alter what is stored (or grade an ungraded answer)?"""
    g = change.grade
    items = {i: i in g.items for i in change.items}
    return (
        g.state != "graded"
        or items != change.items
        or (change.adjustment is not None and change.adjustment != g.adjustment)
        or (change.comment is not None and change.comment != g.comment)
    )


def read_changes(store: Store, path: Path) -> list[Change]:
    """Every change in the CSV; ``ImportRefused`` with all errors if any."""
    text = Path(path).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ImportRefused(["row 1: the file is empty (no header)"])
    header = [h.strip() for h in rows[0]]
    items, errors = check_header(header, store)
    if errors:
        raise ImportRefused(errors)
    changes, seen = [], {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        change, row_errors = parse_row(number, row, header, items, store)
        errors += row_errors
        key = (row[0].strip(), row[1].strip() if len(row) > 1 else "")
        if key in seen:
            errors.append(f"row {number}: the same answer as row {seen[key]}")
        seen.setdefault(key, number)
        if change is not None and not row_errors and differs(change):
            if change.version != change.grade.version:
                errors.append(
                    f"row {number}, column 'version': {key[0]} {key[1]} was changed "
                    f"in the store since the export (version {change.version}, now "
                    f"{change.grade.version}, by {change.grade.grader or 'someone'})"
                )
            changes.append(change)
    if errors:
        raise ImportRefused(errors)
    return changes


def import_csv(store: Store, path: Path, grader: str = "import") -> int:
    """Validate all of ``path``, then apply it in one transaction; returns the
    number of answers changed. ``ImportRefused``: nothing was applied."""
    changes = read_changes(store, path)
    with store.transaction() as conn:
        for change in changes:
            grade = change.grade
            for item_id, on in change.items.items():
                grade.items = [i for i in grade.items if i != item_id]
                grade.items += [item_id] if on else []
            if change.adjustment is not None:
                grade.adjustment = change.adjustment
            if change.comment is not None:
                grade.comment = change.comment
            detail = {
                "items": change.items,
                "adjustment": change.adjustment,
                "comment": change.comment,
            }
            name = change.grader or grader
            store.write_grade(conn, grade, change.version, name, "import", detail)
    return len(changes)
