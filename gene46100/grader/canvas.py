"""Hand the grades back to Canvas: ``DIR/canvas.csv`` in its gradebook import format.

Canvas's gradebook importer (Grades > Import; ``GradebookImporter`` in canvas-lms)
reads the layout of its own export, and these are its rules as it applies them:

- **Header.** Cell 1 contains ``Student``, cell 2 ``ID``, and the student columns end
  with ``Section``. Which columns are student columns is decided by cells 3-5 alone:
  ``SIS Login ID`` in cell 3, or ``SIS User ID`` then ``SIS Login ID`` (then
  optionally ``Root Account``), or neither. Any other column between ``ID`` and
  ``Section`` (``SIS User ID`` alone, ``Integration ID``, ``Email``) makes the header
  invalid ("Invalid header row"). Every column after ``Section`` is an assignment,
  but for trailing ``Current/Final Score/Points/Grade`` columns, which it drops.
- **Assignments.** A column titled ``Title (id)`` is matched by Canvas's assignment
  id; any other title by exact title, else Canvas creates a new assignment.
- **Points Possible.** The row starting ``Points Possible`` *sets* each assignment's
  points to its cell: a number that differs from Canvas's changes the assignment.
- **Scores.** A cell that differs from the stored grade replaces it, and a blank cell
  (or ``-``) for a student who has a grade **removes** that grade. A student who is
  not in the file is left alone.

So the export writes exactly one assignment column, chosen by Canvas id or exact
title (never a guess), keeps Canvas's points unless told to change or scale them,
writes a row only for students it has a score for (``zero_missing`` adds 0 for
students with no submission *and* no grade in Canvas), and refuses partial totals
while written answers are still ungraded unless asked. Students are matched by
Canvas user id (``ID``), from the bulk download's file names or the roster (the
course's own gradebook export). No late penalty is applied: Canvas applies its own.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from gene46100 import course
from gene46100.grader import gradebook
from gene46100.grader.records import Journal, totals, write_atomic

STUDENT = ["Student", "ID"]
SIS_USER, SIS_LOGIN, ROOT_ACCOUNT = "SIS User ID", "SIS Login ID", "Root Account"
SECTION = "Section"
POINTS_ROW = "Points Possible"
TITLED = re.compile(r"(?P<title>.*\S) \((?P<id>\d+)\)")  # "Week 1 (12345)"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# The columns the importer drops from the end of the header (read-only totals).
TOTALS = re.compile(
    r"Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade"
)
TEST_STUDENT = "Student, Test"  # Canvas's Student View user, in every export


class CanvasError(ValueError):
    """The roster, the records or the options cannot give Canvas a safe file."""


class Points(Enum):
    """What to do when Canvas's points possible differ from the week's."""

    CHECK = "check"  # refuse (the default)
    SCALE = "scale"  # scale every score to Canvas's points
    SET = "set"  # write the week's points: Canvas's assignment changes


@dataclass
class Student:
    """One row of the export: who (as Canvas knows them) and the score cell."""

    name: str
    canvas_id: str
    sis: dict[str, str] = field(default_factory=dict)
    section: str = ""
    grades: dict[str, str] = field(default_factory=dict)  # column -> roster cell
    score: str = ""


@dataclass
class Column:
    """An assignment column of the roster."""

    title: str  # as in the header: "Week 1 (9001)"
    points: str = ""  # the Points Possible cell ("" when the roster has none)

    @property
    def name(self) -> str:
        found = TITLED.fullmatch(self.title)
        return found["title"] if found else self.title.strip()

    @property
    def canvas_id(self) -> str:
        found = TITLED.fullmatch(self.title)
        return found["id"] if found else ""


@dataclass
class Roster:
    """The course's gradebook export: students by Canvas id, and its columns."""

    sis_columns: list[str]
    students: dict[str, Student]
    columns: list[Column]


# ------------------------------------------------------------------ the header rule
def student_column_count(header: list[str]) -> int:
    """How many leading columns Canvas's importer takes as student columns.

    Cells 3-5 decide it, as the importer's ``update_column_count`` does.
    """
    cells = [*header, "", "", ""]
    if re.search(r"SIS\s+Login\s+ID", cells[2]):
        return 4
    if re.search(r"SIS\s+User\s+ID", cells[2]) and re.search(
        r"SIS\s+Login\s+ID", cells[3]
    ):
        return 6 if re.search(r"Root\s+Account", cells[4]) else 5
    return 3


def header_problem(header: list[str]) -> str:
    """Why Canvas answers "Invalid header row" to ``header`` ("" when it accepts)."""
    if len(header) <= 3:
        return "the header has fewer than 4 cells (Student, ID, Section, a column)"
    if not (re.search("Student", header[0]) and re.search("ID", header[1])):
        return "the header does not start with Student,ID"
    count = student_column_count(header)
    if not re.search(SECTION, header[count - 1]):
        return (
            f"column {count} is {header[count - 1]!r}, not Section: Canvas reads "
            "Student, ID, then SIS Login ID, or SIS User ID and SIS Login ID, or "
            "neither, then Section"
        )
    return ""


def accepted_sis(columns: list[str]) -> list[str]:
    """The roster's SIS columns that Canvas's header rule lets the file carry.

    ``SIS User ID`` needs ``SIS Login ID`` beside it; ``Integration ID`` and others
    cannot be imported at all. Canvas matches by ``ID`` first, so a dropped SIS
    column loses nothing.
    """
    if SIS_LOGIN not in columns:
        return []
    return [SIS_USER, SIS_LOGIN] if SIS_USER in columns else [SIS_LOGIN]


# ------------------------------------------------------------------ the roster
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
    columns = [Column(title) for title in header[last + 1 :]]
    students = {}
    for number, row in enumerate(rows[1:], start=2):
        row = row + [""] * (len(header) - len(row))
        name, canvas_id = row[0].strip(), row[1].strip()
        if name == POINTS_ROW:
            for column, cell in zip(columns, row[last + 1 :]):
                column.points = cell.strip()
            continue
        if name.startswith(TEST_STUDENT) or (not name and not canvas_id):
            continue  # Canvas's test student; "Manual Posting"-style note rows
        if not canvas_id.isdigit():
            raise CanvasError(
                f"{path}: row {number}: ID {canvas_id!r} is not a Canvas user id"
            )
        sis = {c: row[i].strip() for i, c in enumerate(header[2:last], start=2)}
        grades = {c.title: row[last + 1 + i].strip() for i, c in enumerate(columns)}
        students[canvas_id] = Student(name, canvas_id, sis, row[last], grades)
    return Roster(header[2:last], students, columns)


def assignment_columns(roster: Roster) -> list[Column]:
    """The roster's columns that are assignments (not Canvas's read-only totals)."""
    return [c for c in roster.columns if not TOTALS.search(c.title)]


# ------------------------------------------------------------------ the column
def choose_column(week: str, given: str, roster: Roster | None) -> Column:
    """The one assignment column to fill: by Canvas id, else by exact title.

    ``given`` (``--assignment``) is ``"Title (id)"``, a bare id or an exact title;
    without it, the course registry's Canvas name for the week. Never a substring:
    ``Week 1`` does not match ``Week 10 (9010)``.

    Raises:
        CanvasError: no column or several, listing the roster's columns.
    """
    wanted = given.strip() or course.week(week).canvas_name()
    found = TITLED.fullmatch(wanted)
    canvas_id = found["id"] if found else (wanted if wanted.isdigit() else "")
    title = found["title"] if found else ("" if canvas_id else wanted)
    if roster is None:
        if not canvas_id:
            raise CanvasError(
                f"no Canvas assignment id for {week}: pass --roster (the course's "
                'gradebook export) or --assignment "Title (id)" (Canvas would '
                f"otherwise create a new assignment named {wanted!r})"
            )
        return Column(
            wanted if found else f"{course.week(week).canvas_name()} ({canvas_id})"
        )
    columns = assignment_columns(roster)
    if canvas_id:
        matches = [c for c in columns if c.canvas_id == canvas_id]
        what = f"Canvas assignment id {canvas_id}"
    else:
        matches = [c for c in columns if c.name == title]
        what = f"the title {title!r}"
        if not given.strip():
            what += f" (the course registry's name for {week})"
    if len(matches) == 1:
        return matches[0]
    listed = "; ".join(c.title for c in columns) or "none"
    if not matches:
        raise CanvasError(
            f"the roster has no assignment column with {what} (its columns: "
            f'{listed}); pass --assignment "Title (id)" naming one of them'
        )
    raise CanvasError(
        f"the roster has {len(matches)} columns with {what} ("
        + "; ".join(c.title for c in matches)
        + '): pass --assignment "Title (id)" to say which'
    )


# ------------------------------------------------------------------ the export
@dataclass
class Export:
    path: Path
    column: str
    rows: int
    warnings: list[str]
    notes: list[str] = field(default_factory=list)


@dataclass
class Options:
    """What the TA asked for beyond the defaults (each is a deliberate choice)."""

    assignment: str = ""
    zero_missing: bool = False  # 0 for roster students with no submission
    partial: bool = False  # export totals while written answers are ungraded
    points: Points = Points.CHECK


def export(
    week: str,
    out_dir: Path,
    roster_path: Path | None = None,
    options: Options | None = None,
) -> Export:
    """Write ``out_dir/canvas.csv`` from the batch's current records.

    Raises:
        CanvasError: before anything is written, when the file could put a grade
            in the wrong place, remove one, or change Canvas's points unasked.
    """
    options = options or Options()
    records = [r for r in Journal(out_dir).load().values() if r.assignment == week]
    if not records:
        raise CanvasError(
            f"{out_dir} has no {week} records: run `gene46100 grade "
            f"{week} ... --out {out_dir}` first"
        )
    roster = read_roster(roster_path) if roster_path else None
    column = choose_column(week, options.assignment, roster)
    merged = gradebook.merged(records, gradebook.manual_grades(out_dir, week))
    sums = {r.id: totals(r) for r in merged}
    possible = max(s.overall_possible for s in sums.values())
    refuse_partial(week, out_dir, [s.pending for s in sums.values()], options)
    points, scale, notes = agreed_points(column, possible, options.points)
    warnings: list[str] = []
    students: dict[str, Student] = {}
    known = roster.students if roster else {}
    unmatched, strangers, replaced = [], [], 0
    for record in sorted(merged, key=lambda r: r.id):
        canvas_id = record.canvas_user
        if not canvas_id:
            unmatched.append(record.file)
            continue
        student = known.get(canvas_id)
        if student is None:
            strangers.append(record.file)
            student = Student(record.student or record.id, canvas_id)
        total = sums[record.id].overall
        score = format_score(round(total * scale, 2) if scale != 1 else total)
        if changes(student.grades.get(column.title, ""), score):
            replaced += 1
        students[canvas_id] = Student(
            student.name, canvas_id, student.sis, student.section, score=score
        )
    if options.zero_missing:
        notes.append(zero_missing(roster, column, students))
    warnings += left_out_warnings(unmatched, strangers, roster)
    if replaced:
        notes.append(
            f"{replaced} student(s) already have a different grade in "
            f"{column.title!r}: this file replaces it (Canvas's import shows each "
            "change before it saves)"
        )
    if options.partial:
        pending = sum(1 for s in sums.values() if s.pending)
        if pending:
            warnings.append(
                f"--partial: {pending} total(s) count written answers not graded "
                "yet as 0"
            )
    sis = accepted_sis(roster.sis_columns) if roster else []
    text = render(sis, column.title, points, list(students.values()))
    found = problems(text)
    if found:  # a bug of ours: never hand Canvas a file it would misread
        raise CanvasError("the export breaks Canvas's rules: " + "; ".join(found))
    path = out_dir / "canvas.csv"
    write_atomic(path, text)
    return Export(path, column.title, len(students), warnings, notes)


def refuse_partial(
    week: str, out_dir: Path, pending: list[int], options: Options
) -> None:
    """Refuse totals that leave out ungraded written answers, unless asked."""
    answers = sum(pending)
    if answers and not options.partial:
        students = sum(1 for p in pending if p)
        raise CanvasError(
            f"{answers} written answer(s) of {students} submission(s) are not graded "
            f"yet, so their totals are not final: grade them with `gene46100 review "
            f"{week} --out {out_dir}`, or pass --partial to export the totals so far "
            "(ungraded answers counted as 0)"
        )


def agreed_points(
    column: Column, ours: float, mode: Points
) -> tuple[float, float, list[str]]:
    """The Points Possible to write, the factor for every score, and a note.

    Raises:
        CanvasError: Canvas's points differ from the week's and ``mode`` is CHECK.
    """
    canvas = float(column.points) if NUMBER.fullmatch(column.points) else None
    if canvas is None:
        note = (
            f"Points Possible is {ours:g}: Canvas sets {column.title!r} to "
            f"{ours:g} points (the roster gave none to compare with)"
        )
        return ours, 1.0, [note]
    if canvas == ours:
        return ours, 1.0, []
    if mode is Points.SCALE:
        if canvas <= 0:
            raise CanvasError(f"Canvas holds {column.title!r} at {canvas:g} points")
        note = f"scores scaled from {ours:g} to Canvas's {canvas:g} points"
        return canvas, canvas / ours, [note]
    if mode is Points.SET:
        note = f"Canvas's {column.title!r} changes from {canvas:g} to {ours:g} points"
        return ours, 1.0, [note]
    raise CanvasError(
        f"Canvas holds {column.title!r} at {canvas:g} points; the week is worth "
        f"{ours:g} here: pass --scale-to-canvas (scores x {canvas:g}/"
        f"{ours:g}) or --set-points (Canvas's assignment becomes {ours:g} points)"
    )


def zero_missing(
    roster: Roster | None, column: Column, students: dict[str, Student]
) -> str:
    """Add a 0 for each roster student with no submission and no grade in Canvas."""
    if roster is None:
        return "--zero-missing: no roster, so nobody without a submission is known"
    zeros, kept = 0, 0
    for canvas_id, student in roster.students.items():
        if canvas_id in students:
            continue
        if student.grades.get(column.title, ""):
            kept += 1  # graded by other means (paper, an extension): left alone
            continue
        students[canvas_id] = Student(
            student.name, canvas_id, student.sis, student.section, score="0"
        )
        zeros += 1
    note = f"--zero-missing: 0 for {zeros} student(s) with no submission"
    if kept:
        note += f"; {kept} with no submission but a grade in Canvas left alone"
    return note


def left_out_warnings(
    unmatched: list[str], strangers: list[str], roster: Roster | None
) -> list[str]:
    found = []
    if unmatched:
        found.append(
            f"{len(unmatched)} submission(s) carry no Canvas user id (not "
            "from a Canvas download) and are left out: " + ", ".join(unmatched[:5])
        )
    if strangers and roster is not None:
        found.append(
            f"{len(strangers)} submission(s) have a Canvas user id the roster "
            "lacks (a dropped student, or an old roster): " + ", ".join(strangers[:5])
        )
    return found


def format_score(score: float) -> str:
    return f"{score:g}"


def changes(held: str, score: str) -> bool:
    """Whether Canvas's cell ``held`` ("" when empty) differs from ``score`` as a
    number, as the importer compares them ("25.00" and "25" are the same)."""
    if not held:
        return False
    if NUMBER.fullmatch(held):
        return float(held) != float(score)
    return True  # "EX", a letter grade: the number replaces it


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


# ------------------------------------------------------------------ the check
def problems(text: str) -> list[str]:
    """What Canvas's importer would refuse or misread in ``text`` (empty: fine).

    The header as the importer decides it (``header_problem``), then what this
    tool promises on top: every assignment column ``Title (id)`` (matched by id,
    never creating an assignment), a ``Points Possible`` row with a number, and
    every row a Canvas user id and a number (never a blank that removes a grade).
    """
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2:
        return ["fewer than two rows (header and Points Possible)"]
    header = rows[0]
    invalid = header_problem(header)
    if invalid:
        return [f"Invalid header row: {invalid}"]
    last = student_column_count(header) - 1
    found = []
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
            if not NUMBER.fullmatch(cell):
                what = (
                    "a blank (Canvas removes the grade)" if not cell else "not a number"
                )
                found.append(f"row {number}: {cell!r} is {what}")
    return found
