"""Hand the grades back to Canvas: ``DIR/canvas.csv`` in its gradebook import format.

Canvas's gradebook importer (Grades > Import) reads the layout of its own export:

- the header starts ``Student,ID``, then the SIS columns when the course has them
  (``SIS User ID``, ``SIS Login ID``, ``Integration ID``), then ``Section`` as the
  last student column; every further column is an assignment;
- an assignment column is titled ``Title (id)``, the id being Canvas's assignment
  id: a title Canvas does not know makes it create a new assignment;
- the second row is ``Points Possible`` (blank under the student columns);
- a score is a number; a blank cell means "no score" (Canvas changes nothing).

Students are matched by Canvas user id (``ID``): it comes from the bulk-download file
names (``name_12345_678_week1.ipynb``) or from the roster, the course's own gradebook
export, which also gives names, SIS ids and sections and lists the students with no
submission (their cell stays blank). No late penalty is applied: the records keep
Canvas's late flag, and Canvas applies the course's own late policy.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from gene46100.grader import gradebook
from gene46100.grader.records import Journal, totals, write_atomic

STUDENT = ["Student", "ID"]
SIS_COLUMNS = ["SIS User ID", "SIS Login ID", "Integration ID"]
SECTION = "Section"
POINTS_ROW = "Points Possible"
TITLED = re.compile(r".*\S \((\d+)\)")  # "Week 1 (12345)"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class CanvasError(ValueError):
    """The roster or the options cannot give Canvas a file it accepts."""


@dataclass
class Student:
    """One row of the export: who (as Canvas knows them) and the score cell."""

    name: str
    canvas_id: str
    sis: dict[str, str] = field(default_factory=dict)
    section: str = ""
    score: str = ""  # blank: no score (no submission, or not gradable yet)


@dataclass
class Roster:
    """The course's gradebook export: students by Canvas id, and its columns."""

    sis_columns: list[str]
    students: dict[str, Student]
    assignments: list[str]  # the roster's assignment column titles


def read_roster(path: Path) -> Roster:
    """Parse a Canvas gradebook export (``Student,ID,...,Section,...``).

    Raises:
        CanvasError: naming the row or column that is not Canvas's layout.
    """
    try:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CanvasError(f"{path}: cannot be read as CSV ({exc})") from exc
    if not rows or rows[0][:2] != STUDENT:
        raise CanvasError(
            f"{path}: row 1 must start with Student,ID (a Canvas gradebook export)"
        )
    header = rows[0]
    if SECTION not in header:
        raise CanvasError(f"{path}: row 1 has no Section column")
    last = header.index(SECTION)
    sis = [c for c in header[2:last] if c in SIS_COLUMNS]
    students = {}
    for number, row in enumerate(rows[1:], start=2):
        row = row + [""] * (len(header) - len(row))
        name, canvas_id = row[0].strip(), row[1].strip()
        if name == POINTS_ROW or name.startswith(("Points Possible", "Student, Test")):
            continue
        if not name and not canvas_id:
            continue
        if not canvas_id.isdigit():
            raise CanvasError(
                f"{path}: row {number}: ID {canvas_id!r} is not a Canvas user id"
            )
        students[canvas_id] = Student(
            name, canvas_id, {c: row[header.index(c)] for c in sis}, row[last]
        )
    return Roster(sis, students, header[last + 1 :])


def choose_column(week: str, given: str, roster: Roster | None) -> tuple[str, str]:
    """The assignment column's title, and a warning ("" when Canvas will match it).

    ``given`` wins; else the roster's one column whose title names the week.
    """
    if given:
        if TITLED.fullmatch(given):
            return given, ""
        return given, (
            f"{given!r} has no Canvas assignment id: Canvas will create a "
            'new assignment; pass --assignment "Title (id)" to fill the '
            "existing one"
        )
    if roster is not None:
        key = re.sub(r"\W", "", week.lower())
        matches = [
            c
            for c in roster.assignments
            if TITLED.fullmatch(c) and key in re.sub(r"\W", "", c.lower())
        ]
        if len(matches) == 1:
            return matches[0], ""
    return week, (
        f"no assignment column named for {week} (pass --assignment "
        '"Title (id)"): Canvas will create a new assignment'
    )


@dataclass
class Export:
    path: Path
    column: str
    rows: int
    warnings: list[str]


def export(
    week: str, out_dir: Path, roster_path: Path | None = None, assignment: str = ""
) -> Export:
    """Write ``out_dir/canvas.csv`` from the batch's current records.

    Raises:
        CanvasError: no records, a bad roster.
    """
    records = [r for r in Journal(out_dir).load().values() if r.assignment == week]
    if not records:
        raise CanvasError(
            f"{out_dir} has no {week} records: run `gene46100 grade "
            f"{week} ... --out {out_dir}` first"
        )
    roster = read_roster(roster_path) if roster_path else None
    column, warning = choose_column(week, assignment, roster)
    warnings = [warning] if warning else []
    merged = gradebook.merged(records, gradebook.manual_grades(out_dir, week))
    students: dict[str, Student] = dict(roster.students) if roster else {}
    unmatched, pending, possible = [], 0, 0.0
    for record in sorted(merged, key=lambda r: r.id):
        sums = totals(record)
        score, possible = sums.overall, sums.overall_possible
        pending += bool(sums.pending)
        canvas_id = record.canvas_user
        if not canvas_id:
            unmatched.append(record.file)
            continue
        student = students.get(canvas_id) or Student(
            record.student or record.id, canvas_id
        )
        student.score = format_score(score)
        students[canvas_id] = student
    if unmatched:
        warnings.append(
            f"{len(unmatched)} submission(s) carry no Canvas user id (not "
            "from a Canvas download) and are left out: " + ", ".join(unmatched[:5])
        )
    if pending:
        warnings.append(
            f"{pending} submission(s) have manual questions not graded "
            "yet: their totals count those as 0 (gene46100 review)"
        )
    sis = roster.sis_columns if roster else []
    text = render(sis, column, possible, list(students.values()))
    path = out_dir / "canvas.csv"
    write_atomic(path, text)
    return Export(path, column, len(students), warnings)


def format_score(score: float) -> str:
    return f"{score:g}"


def render(
    sis: list[str], column: str, possible: float, students: list[Student]
) -> str:
    """The CSV text, in Canvas's import layout (see the module docstring)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*STUDENT, *sis, SECTION, column])
    writer.writerow([POINTS_ROW, "", *([""] * len(sis)), "", format_score(possible)])
    for s in sorted(students, key=lambda s: (s.name.lower(), s.canvas_id)):
        writer.writerow(
            [s.name, s.canvas_id, *(s.sis.get(c, "") for c in sis), s.section, s.score]
        )
    return out.getvalue()


def problems(text: str) -> list[str]:
    """What Canvas's importer would refuse or misread in ``text`` (empty: fine).

    The rules of the module docstring, checked as the importer reads them; the
    tests hold every export to them.
    """
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2:
        return ["fewer than two rows (header and Points Possible)"]
    header, found = rows[0], []
    if header[:2] != STUDENT:
        found.append("the header does not start with Student,ID")
    if SECTION not in header:
        return found + ["no Section column"]
    last = header.index(SECTION)
    extra = [c for c in header[2:last] if c not in SIS_COLUMNS]
    if extra:
        found.append(f"unknown student columns before Section: {extra}")
    for title in header[last + 1 :]:
        if not TITLED.fullmatch(title):
            found.append(f"assignment column {title!r} is not 'Title (id)'")
    if rows[1][0].strip() != POINTS_ROW:
        found.append("row 2 is not Points Possible")
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            found.append(f"row {number} has {len(row)} cells, not {len(header)}")
            continue
        if number > 2 and not row[1].isdigit():
            found.append(f"row {number}: ID {row[1]!r} is not a Canvas user id")
        for cell in row[last + 1 :]:
            if cell and not NUMBER.fullmatch(cell):
                found.append(f"row {number}: {cell!r} is not a number")
    return found
