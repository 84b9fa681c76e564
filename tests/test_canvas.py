"""Grades back to Canvas: ``gene46100 canvas`` writes a CSV that Canvas's gradebook
importer accepts and applies to exactly one assignment, matched by Canvas id or exact
title; it never removes a grade, never changes Canvas's points unasked, and never
exports partial totals unasked. Each export is applied to a course by
``canvas_importer`` (Canvas's rules, written apart from the exporter)."""

from __future__ import annotations

import csv
import io
import itertools
import json

import canvas_importer
import nbformat
import pytest
from helpers import minimal_complete

from gene46100 import cli
from gene46100.grader import canvas, gradebook, sandbox
from gene46100.grader.records import QuestionResult, QuestionStatus, Record, Status

ROSTER = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Week 1 (9001),Week 2 (9002),"
    "Current Points\n"
    "    Points Possible,,,,,29,27,(read only)\n"
    '"Doe, Jane",101,A001,jdoe,GENE 46100 1,,,\n'
    '"Roe, Rick",102,A002,rroe,GENE 46100 2,,,\n'
    '"Poe, Pat",103,A003,ppoe,GENE 46100 1,,,\n'
    '"Student, Test",999,,,GENE 46100 1,,,\n'
)
# The course ROSTER was exported from (what Canvas holds before an import).
COURSE = canvas_importer.Course({9001: ("Week 1", 29.0), 9002: ("Week 2", 27.0)})


def record(rid: str, canvas_user: str, auto: float, **extra) -> dict:
    questions = [
        QuestionResult("q1", auto, 19, QuestionStatus.FAILED),
        QuestionResult("m1", 0, 10, QuestionStatus.MANUAL),
    ]
    made = Record(
        rid,
        f"subs/{rid}.ipynb",
        "week1",
        Status.GRADED,
        questions,
        auto,
        19,
        round(100 * auto / 19, 2),
        canvas_user=canvas_user,
        **extra,
    )
    return made.to_json()


def batch(tmp_path, *records) -> None:
    lines = "".join(json.dumps(r) + "\n" for r in records)
    (tmp_path / "records.jsonl").write_text(lines)


def written_graded(monkeypatch, scores: dict[str, float]) -> None:
    """The review store's grades: m1 graded for each submission id given."""
    grades = {rid: {"m1": {"score": s, "possible": 10}} for rid, s in scores.items()}
    monkeypatch.setattr(gradebook, "manual_grades", lambda out, week=None: grades)


def rows(path) -> list[list[str]]:
    return list(csv.reader(path.open()))


def write_roster(tmp_path, text: str = ROSTER):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    return path


def two_students(tmp_path, monkeypatch) -> None:
    written_graded(monkeypatch, {"canvas-doe-101": 8, "canvas-roe-102": 6})
    batch(
        tmp_path,
        record("canvas-doe-101", "101", 17),
        record("canvas-roe-102", "102", 19, late=True),
    )


def test_the_export_follows_canvas_import_rules_with_a_roster(tmp_path, monkeypatch):
    two_students(tmp_path, monkeypatch)
    done = canvas.export("week1", tmp_path, write_roster(tmp_path))
    assert canvas.problems(done.path.read_text()) == []
    table = rows(done.path)
    assert table[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "Week 1 (9001)",
    ]
    assert table[1] == ["Points Possible", "", "", "", "", "29"]
    body = {r[1]: r for r in table[2:]}
    assert body["101"] == ["Doe, Jane", "101", "A001", "jdoe", "GENE 46100 1", "25"]
    assert body["102"][-1] == "25"  # late: no penalty here, Canvas applies its own
    assert "103" not in body  # no submission: no row, so Canvas changes nothing
    assert "999" not in body  # Canvas's own "Student, Test" (Student View)
    assert done.column == "Week 1 (9001)" and done.warnings == []
    after = canvas_importer.apply(COURSE, done.path.read_text())
    assert after.grades == {(101, 9001): "25", (102, 9001): "25"}
    assert after.assignments == COURSE.assignments and after.created == []


def test_manual_grades_count_in_the_total(tmp_path, monkeypatch):
    written_graded(monkeypatch, {"canvas-doe-101": 8})
    batch(tmp_path, record("canvas-doe-101", "101", 17))
    done = canvas.export(
        "week1", tmp_path, None, canvas.Options(assignment="Week 1 (9001)")
    )
    assert rows(done.path)[2][-1] == "25" and rows(done.path)[1][-1] == "29"


# ------------------------------------------------------------------ the column
WEEKS_1_AND_10 = "Week 1 (9001),Week 10 (9010)"
LINEAR_AND_12 = "Linear models (9001),Week 12 (9012)"


def roster_with(columns: str, points: str = "29,29", grades: str = ",") -> str:
    return (
        f"Student,ID,Section,{columns}\n"
        f"Points Possible,,,{points}\n"
        f'"Doe, Jane",101,S1,{grades}\n'
    )


@pytest.mark.parametrize(
    ("columns", "given", "chosen"),
    [
        (WEEKS_1_AND_10, "", "Week 1 (9001)"),  # the registry's exact title
        ("Week 10 (9010),Week 1 (9001)", "", "Week 1 (9001)"),  # order is no matter
        (WEEKS_1_AND_10, "9010", "Week 10 (9010)"),  # a bare Canvas id
        (LINEAR_AND_12, "9001", "Linear models (9001)"),
        (LINEAR_AND_12, "Linear models (9001)", "Linear models (9001)"),
        (LINEAR_AND_12, "Linear models", "Linear models (9001)"),  # exact title
        (LINEAR_AND_12, "Renamed since (9001)", "Linear models (9001)"),  # id wins
    ],
)
def test_the_column_is_chosen_by_id_or_exact_title(tmp_path, columns, given, chosen):
    roster = canvas.read_roster(write_roster(tmp_path, roster_with(columns)))
    assert canvas.choose_column("week1", given, roster).title == chosen


@pytest.mark.parametrize(
    ("columns", "given", "message"),
    [
        (LINEAR_AND_12, "", "no assignment column with the title 'Week 1'"),
        ("Week 10 (9010),Week 12 (9012)", "", "the title 'Week 1'"),
        (WEEKS_1_AND_10, "Week", "the title 'Week'"),  # never a substring
        (WEEKS_1_AND_10, "9002", "Canvas assignment id 9002"),
        ("Week 1 (9001),Week 1 (9101)", "", "2 columns with the title 'Week 1'"),
        ("Week 1 (9001),Current Points", "Current Points", "the title"),
    ],
)
def test_anything_but_one_exact_column_is_refused_listing_them(
    tmp_path, monkeypatch, capsys, columns, given, message
):
    written_graded(monkeypatch, {"canvas-doe-101": 8})
    batch(tmp_path, record("canvas-doe-101", "101", 17))
    roster = write_roster(tmp_path, roster_with(columns))
    argv = ["canvas", "week1", "--out", str(tmp_path), "--roster", str(roster)]
    assert cli.main(argv + (["--assignment", given] if given else [])) == 2
    err = capsys.readouterr().err
    assert message in err
    listed = [c for c in columns.split(",") if c != "Current Points"]
    assert all(c in err for c in listed), err  # the candidates, to pick from
    assert not (tmp_path / "canvas.csv").exists()


def test_without_a_roster_an_id_is_required(tmp_path, monkeypatch, capsys):
    written_graded(monkeypatch, {"canvas-doe-101": 8, "plain-1": 3})
    batch(
        tmp_path,
        record("canvas-doe-101", "101", 17, student="Jane Doe"),
        record("plain-1", "", 5),
    )
    assert cli.main(["canvas", "week1", "--out", str(tmp_path)]) == 2
    assert "no Canvas assignment id" in capsys.readouterr().err
    done = canvas.export("week1", tmp_path, None, canvas.Options(assignment="9001"))
    table = rows(done.path)
    assert table[0] == ["Student", "ID", "Section", "Week 1 (9001)"]
    assert table[2] == ["Jane Doe", "101", "", "25"]
    assert len(table) == 3
    assert any("no Canvas user id" in w and "plain-1" in w for w in done.warnings)
    assert canvas.problems(done.path.read_text()) == []


# ------------------------------------------------------------------ grades kept
def test_students_without_a_submission_keep_their_canvas_grade(tmp_path, monkeypatch):
    written_graded(monkeypatch, {"canvas-doe-101": 8})
    batch(tmp_path, record("canvas-doe-101", "101", 17))
    text = (
        "Student,ID,Section,Week 1 (9001),Week 2 (9002)\n"
        "Points Possible,,,29,27\n"
        '"Doe, Jane",101,S1,,20\n'
        '"Roe, Rick",102,S1,27,21\n'  # graded on paper (an extension)
        '"Poe, Pat",103,S1,,\n'
    )
    before = canvas_importer.Course(
        dict(COURSE.assignments), {(102, 9001): "27", (101, 9002): "20"}
    )
    done = canvas.export("week1", tmp_path, write_roster(tmp_path, text))
    after = canvas_importer.apply(before, done.path.read_text())
    assert after.grades == {**before.grades, (101, 9001): "25"}
    # --zero-missing: 0 for Pat (no submission, no grade); Rick's paper grade kept
    zeroed = canvas.export(
        "week1",
        tmp_path,
        write_roster(tmp_path, text),
        canvas.Options(zero_missing=True),
    )
    after = canvas_importer.apply(before, zeroed.path.read_text())
    assert after.grades == {**before.grades, (101, 9001): "25", (103, 9001): "0"}
    assert any(
        "0 for 1 student(s)" in n and "1 with no submission but a grade" in n
        for n in zeroed.notes
    )


def test_a_changed_grade_is_said(tmp_path, monkeypatch):
    written_graded(monkeypatch, {"canvas-doe-101": 8})
    batch(tmp_path, record("canvas-doe-101", "101", 17))
    roster = write_roster(tmp_path, roster_with(WEEKS_1_AND_10, grades="20,"))
    done = canvas.export("week1", tmp_path, roster)
    assert any("1 student(s) already have a different grade" in n for n in done.notes)


# ------------------------------------------------------------------ totals, points
def test_partial_totals_are_refused_unless_asked(tmp_path, monkeypatch, capsys):
    written_graded(monkeypatch, {"canvas-doe-101": 8})
    batch(
        tmp_path,
        record("canvas-doe-101", "101", 17),
        record("canvas-roe-102", "102", 19),
    )
    roster = write_roster(tmp_path)
    argv = ["canvas", "week1", "--out", str(tmp_path), "--roster", str(roster)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "1 written answer(s) of 1 submission(s) are not graded yet" in err
    assert f"gene46100 review week1 --out {tmp_path}" in err
    assert not (tmp_path / "canvas.csv").exists()
    assert cli.main(argv + ["--partial"]) == 0
    out = capsys.readouterr()
    assert "--partial: 1 total(s) count written answers not graded yet" in out.err
    body = {r[1]: r[-1] for r in rows(tmp_path / "canvas.csv")[2:]}
    assert body == {"101": "25", "102": "19"}


def test_canvas_points_are_kept_unless_the_ta_says_otherwise(
    tmp_path, monkeypatch, capsys
):
    written_graded(monkeypatch, {"canvas-doe-101": 8})
    batch(tmp_path, record("canvas-doe-101", "101", 17))
    roster = write_roster(tmp_path, roster_with(WEEKS_1_AND_10, points="100,100"))
    argv = ["canvas", "week1", "--out", str(tmp_path), "--roster", str(roster)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "at 100 points" in err and "worth 29" in err
    assert not (tmp_path / "canvas.csv").exists()
    course = canvas_importer.Course({9001: ("Week 1", 100.0), 9010: ("Week 10", 100)})
    assert cli.main(argv + ["--scale-to-canvas"]) == 0
    scaled = canvas_importer.apply(course, (tmp_path / "canvas.csv").read_text())
    assert scaled.assignments[9001] == ("Week 1", 100.0)
    assert scaled.grades == {(101, 9001): "86.21"}  # 25/29 of 100
    assert cli.main(argv + ["--set-points"]) == 0
    assert "changes from 100 to 29 points" in capsys.readouterr().out
    changed = canvas_importer.apply(course, (tmp_path / "canvas.csv").read_text())
    assert changed.assignments[9001] == ("Week 1", 29.0)
    assert changed.grades == {(101, 9001): "25"}
    assert cli.main(argv + ["--set-points", "--scale-to-canvas"]) == 2


# ------------------------------------------------------------------ the header rule
@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("Student,ID,Section,A (1)", True),
        ("Student,ID,SIS Login ID,Section,A (1)", True),
        ("Student,ID,SIS User ID,SIS Login ID,Section,A (1)", True),
        ("Student,ID,SIS User ID,SIS Login ID,Root Account,Section,A (1)", True),
        ("Student,ID,SIS User ID,Section,A (1)", False),  # the auditor's case
        ("Student,ID,SIS Login ID,SIS User ID,Section,A (1)", False),
        ("Student,ID,SIS User ID,SIS Login ID,Integration ID,Section,A (1)", False),
        ("Student,ID,Integration ID,Section,A (1)", False),
        ("Student,ID,Email,Section,A (1)", False),
        ("Name,ID,Section,A (1)", False),
        ("Student,ID,Section", False),
    ],
)
def test_the_header_rule_is_canvas_importers(header, accepted):
    row = header.split(",")
    assert (canvas.header_problem(row) == "") is accepted
    try:
        canvas_importer.parse_header(row)
        assert accepted
    except canvas_importer.InvalidHeaderRow:
        assert not accepted


EXTRA_STUDENT_COLUMNS = ["SIS User ID", "SIS Login ID", "Integration ID", "Email"]


def roster_variants():
    """Every order of every subset of the student columns a gradebook export can
    carry between ID and Section, with and without trailing total columns."""
    for size in range(len(EXTRA_STUDENT_COLUMNS) + 1):
        for columns in itertools.permutations(EXTRA_STUDENT_COLUMNS, size):
            for totals in ([], ["Current Points", "Final Score"]):
                yield list(columns), totals


@pytest.mark.parametrize(("extra", "totals"), list(roster_variants()))
def test_every_roster_variant_gives_a_file_canvas_accepts(
    tmp_path, monkeypatch, extra, totals
):
    written_graded(monkeypatch, {"canvas-doe-101": 8})
    batch(tmp_path, record("canvas-doe-101", "101", 17))
    header = ["Student", "ID", *extra, "Section", "Week 1 (9001)", *totals]
    values = {"SIS User ID": "A001", "SIS Login ID": "jdoe", "Integration ID": "i1"}
    cells = [values.get(c, "x@uchicago.edu") for c in extra]
    text = "\n".join(
        [
            ",".join(header),
            ",".join(["Points Possible", "", *[""] * len(extra), "", "29"] + totals),
            ",".join(["Jane Doe", "101", *cells, "S1", "", *["1"] * len(totals)]),
        ]
    )
    done = canvas.export("week1", tmp_path, write_roster(tmp_path, text + "\n"))
    written = done.path.read_text()
    assert canvas.problems(written) == []
    after = canvas_importer.apply(COURSE, written)  # raises on an invalid header
    assert after.grades == {(101, 9001): "25"}
    row = dict(zip(*rows(done.path)[0::2]))
    if "SIS Login ID" in extra:  # a SIS column is kept whenever Canvas allows it
        assert row["SIS Login ID"] == "jdoe"
        assert ("SIS User ID" in row) == ("SIS User ID" in extra)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Name,ID,Section,A (1)\nPoints Possible,,,1\n", "does not start with"),
        ("Student,ID,A (1),B (2)\nPoints Possible,,1,2\n", "not Section"),
        ("Student,ID,Section,A (1)\nx,1,s,2\n", "row 2 is not Points Possible"),
        ("Student,ID,Section,A (1)\nPoints Possible,,,1\nx,1,s,ten\n", "not a number"),
        (
            "Student,ID,Section,A (1)\nPoints Possible,,,1\nx,1,s,\n",
            "removes the grade",
        ),
        ("Student,ID,Section,A (1)\nPoints Possible,,,1\nx,1,s\n", "has 3 cells"),
        ("Student,ID,Email,Section,A (1)\nPoints Possible,,,,1\n", "Invalid header"),
        ("Student,ID,Section,Week 1\nPoints Possible,,,1\n", "not 'Title (id)'"),
    ],
)
def test_the_checker_refuses_what_canvas_refuses(text, problem):
    assert any(problem in p for p in canvas.problems(text))


def test_a_bad_roster_is_refused_naming_the_row(tmp_path):
    batch(tmp_path, record("canvas-doe-101", "101", 17))
    roster = tmp_path / "roster.csv"
    roster.write_text("Student,ID,Section\n    Points Possible,,\nJane,jane,s\n")
    with pytest.raises(canvas.CanvasError, match="row 3: ID 'jane'"):
        canvas.export("week1", tmp_path, roster)
    roster.write_text("Name,Email\n")
    with pytest.raises(canvas.CanvasError, match="must start with Student,ID"):
        canvas.export("week1", tmp_path, roster)


def test_the_command_refuses_an_empty_folder(tmp_path, capsys):
    assert cli.main(["canvas", "week1", "--out", str(tmp_path)]) == 2
    assert "no week1 records" in capsys.readouterr().err
    assert not (tmp_path / "canvas.csv").exists()


@pytest.mark.slow
@pytest.mark.skipif(sandbox.bwrap_path() is None, reason="no bubblewrap")
def test_a_canvas_download_graded_then_exported(tmp_path, capsys):
    download = tmp_path / "submissions"
    download.mkdir()
    nbformat.write(minimal_complete(), download / "doejane_101_5551_week1.ipynb")
    nbformat.write(minimal_complete(), download / "roerick_late_102_5552_week1.ipynb")
    out = tmp_path / "out"
    assert (
        cli.main(["grade", "week1", str(download), "--out", str(out), "--quiet"]) == 0
    )
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    capsys.readouterr()
    argv = ["canvas", "week1", "--out", str(out), "--roster", str(roster)]
    assert cli.main(argv) == 0  # the minimal answers leave the written ones empty
    text = (out / "canvas.csv").read_text()
    assert canvas.problems(text) == []
    body = {r[1]: r for r in list(csv.reader(io.StringIO(text)))[2:]}
    assert body["101"][-1] == body["102"][-1] == "19"  # full autograded, 0 written
    assert set(body) == {"101", "102"}
    records = [json.loads(line) for line in (out / "records.jsonl").open()]
    assert {r["canvas_user"]: r["late"] for r in records} == {"101": False, "102": True}


def test_a_grade_canvas_holds_as_25_00_is_the_same_grade(tmp_path, monkeypatch):
    written_graded(monkeypatch, {"canvas-doe-101": 8})
    batch(tmp_path, record("canvas-doe-101", "101", 17))
    roster = write_roster(tmp_path, roster_with(WEEKS_1_AND_10, grades="25.00,"))
    done = canvas.export("week1", tmp_path, roster)
    assert not any("different grade" in n for n in done.notes)
    assert rows(done.path)[2][-1] == "25"
