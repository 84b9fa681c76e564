"""Grades back to Canvas: ``gene46100 canvas`` writes a CSV that Canvas's gradebook
importer accepts, matched by Canvas user id, with the roster's names, SIS ids and
sections, and blank cells for students with no submission."""

from __future__ import annotations

import csv
import io
import json

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


def rows(path) -> list[list[str]]:
    return list(csv.reader(path.open()))


def test_the_export_follows_canvas_import_rules_with_a_roster(tmp_path, monkeypatch):
    monkeypatch.setattr(
        gradebook, "manual_grades", lambda out, week=None: {}
    )  # none graded yet
    batch(
        tmp_path,
        record("canvas-doe-101", "101", 17),
        record("canvas-roe-102", "102", 19, late=True),
    )
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    done = canvas.export("week1", tmp_path, roster)
    text = done.path.read_text()
    assert canvas.problems(text) == []
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
    assert body["101"] == ["Doe, Jane", "101", "A001", "jdoe", "GENE 46100 1", "17"]
    assert body["102"][-1] == "19"  # late: no penalty here, Canvas applies its own
    assert body["103"][-1] == ""  # no submission: blank, Canvas changes nothing
    assert "999" not in body  # Canvas's own "Student, Test" (Student View) is left out
    assert done.column == "Week 1 (9001)"
    assert any("not graded yet" in w for w in done.warnings)


def test_manual_grades_count_in_the_total(tmp_path, monkeypatch):
    graded = {"canvas-doe-101": {"m1": {"score": 8, "possible": 10}}}
    monkeypatch.setattr(gradebook, "manual_grades", lambda out, week=None: graded)
    batch(tmp_path, record("canvas-doe-101", "101", 17))
    done = canvas.export("week1", tmp_path, None, "Week 1 (9001)")
    assert rows(done.path)[2][-1] == "25" and rows(done.path)[1][-1] == "29"
    assert not any("not graded yet" in w for w in done.warnings)


def test_without_a_roster_ids_come_from_the_canvas_download(tmp_path):
    batch(
        tmp_path,
        record("canvas-doe-101", "101", 17, student="Jane Doe"),
        record("plain-1", "", 5),
    )
    done = canvas.export("week1", tmp_path, None, "Week 1 (9001)")
    table = rows(done.path)
    assert table[0] == ["Student", "ID", "Section", "Week 1 (9001)"]
    assert table[2] == ["Jane Doe", "101", "", "17"]
    assert len(table) == 3
    assert any("no Canvas user id" in w and "plain-1" in w for w in done.warnings)
    assert canvas.problems(done.path.read_text()) == []


def test_a_title_without_an_id_is_flagged_and_the_checker_sees_it(tmp_path):
    batch(tmp_path, record("canvas-doe-101", "101", 17))
    done = canvas.export("week1", tmp_path, None, "Week 1")
    assert any("create a new assignment" in w for w in done.warnings)
    assert canvas.problems(done.path.read_text()) == [
        "assignment column 'Week 1' is not 'Title (id)'"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Name,ID,Section,A (1)\nPoints Possible,,,1\n", "does not start with"),
        ("Student,ID,A (1)\nPoints Possible,,1\n", "no Section column"),
        ("Student,ID,Section,A (1)\nx,1,s,2\n", "row 2 is not Points Possible"),
        ("Student,ID,Section,A (1)\nPoints Possible,,,1\nx,1,s,ten\n", "not a number"),
        ("Student,ID,Section,A (1)\nPoints Possible,,,1\nx,1,s\n", "has 3 cells"),
        ("Student,ID,Email,Section,A (1)\nPoints Possible,,,,1\n", "unknown student"),
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
    assert (
        cli.main(["canvas", "week1", "--out", str(out), "--roster", str(roster)]) == 0
    )
    text = (out / "canvas.csv").read_text()
    assert canvas.problems(text) == []
    body = {r[1]: r for r in list(csv.reader(io.StringIO(text)))[2:]}
    assert body["101"][-1] == body["102"][-1] == "19"  # full autograded marks
    records = [json.loads(line) for line in (out / "records.jsonl").open()]
    assert {r["canvas_user"]: r["late"] for r in records} == {"101": False, "102": True}
