"""Canvas's gradebook import, as Canvas applies it to a course (for the tests).

Written from canvas-lms's ``GradebookImporter`` (app/models/gradebook_importer.rb)
and its upload page, independently of ``gene46100.grader.canvas`` so that the
export is checked against the importer's behaviour, not against itself:

- the header: ``Student`` and ``ID`` in cells 1-2; student columns decided by cells
  3-5 (``SIS Login ID``; or ``SIS User ID``, ``SIS Login ID`` and an optional
  ``Root Account``; or neither), the last of them ``Section``; trailing
  Current/Final Score/Points/Grade columns dropped;
- each assignment column matched by the id in ``Title (id)``, else by exact title,
  else a new assignment;
- the ``Points Possible`` row sets each assignment's points to its cell;
- a student matched by ``ID``; a cell that differs from the stored grade replaces
  it, and a blank or ``-`` removes it; students absent from the file keep theirs.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

TOTALS = re.compile(
    r"Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade"
)


class InvalidHeaderRow(ValueError):
    """What Canvas shows as "Invalid header row"."""


@dataclass
class Course:
    """A course as Canvas holds it: assignments (id -> title, points) and grades."""

    assignments: dict[int, tuple[str, float]]
    grades: dict[tuple[int, int], str] = field(default_factory=dict)  # (user, a)
    created: list[str] = field(default_factory=list)  # assignments the file made


def student_columns(row: list[str]) -> int:
    count = 3
    if re.search(r"SIS\s+Login\s+ID", row[2]):
        count += 1
    elif re.search(r"SIS\s+User\s+ID", row[2]) and re.search(
        r"SIS\s+Login\s+ID", row[3]
    ):
        count += 2
        if len(row) > 4 and re.search(r"Root\s+Account", row[4]):
            count += 1
    return count


def parse_header(row: list[str]) -> int:
    if not (len(row) > 3 and re.search("Student", row[0]) and re.search("ID", row[1])):
        raise InvalidHeaderRow(row)
    count = student_columns(row)
    if not re.search("Section", row[count - 1]):
        raise InvalidHeaderRow(row)
    return count


def match_assignment(course: Course, title: str) -> int | None:
    found = re.fullmatch(r"(.*) \((\d+)\)", title)
    if found and int(found[2]) in course.assignments:
        return int(found[2])
    for aid, (name, _) in course.assignments.items():
        if name == title:
            return aid
    return None


def apply(course: Course, text: str) -> Course:
    """``course`` after importing ``text`` (a new Course; the old one unchanged).

    Raises:
        InvalidHeaderRow: as Canvas refuses the file.
    """
    rows = list(csv.reader(io.StringIO(text)))
    count = parse_header(rows[0])
    titles = rows[0][count:]
    while titles and TOTALS.search(titles[-1]):
        titles.pop()
    after = Course(dict(course.assignments), dict(course.grades), list(course.created))
    ids = []
    for title in titles:
        aid = match_assignment(after, title)
        if aid is None:
            aid = -len(after.created) - 1
            after.created.append(title)
            after.assignments[aid] = (title, 0.0)
        ids.append(aid)
    for row in rows[1:]:
        cells = row[count : count + len(ids)]
        if row[0].strip() == "Points Possible":
            for aid, cell in zip(ids, cells):
                if cell:
                    after.assignments[aid] = (after.assignments[aid][0], float(cell))
            continue
        if not row[1].strip().isdigit():
            continue  # the importer would ask who this is; never our case
        user = int(row[1])
        for aid, cell in zip(ids, cells):
            old = after.grades.get((user, aid), "")
            new = "" if cell.strip() in ("", "-") else cell.strip()
            if new == old or (new and old and float(new) == float(old)):
                continue
            if new:
                after.grades[(user, aid)] = new
            else:
                after.grades.pop((user, aid), None)
    return after
