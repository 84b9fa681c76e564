"""Every week's example submissions, graded end to end in the sandbox, score as the
course registry says (``course.Week.examples``).

The contract, once for every week: each example gets exactly one record and it is
graded; the untouched release scores 0 and every autograded question says "not
implemented yet" (a question that runs a companion script names the script's file
instead); a completed example loses points on exactly the questions in its
``loses`` (none: full marks); the companion files an example hands in are graded;
``grades.csv`` has Otter's layout, the points possible first, one row per example.
What is particular to one week lives in tests/test_grade_<week>.py, on the same
records (the ``graded_week`` fixture grades each week once per session).
"""

from __future__ import annotations

import csv

import pytest
from grading import autograded, needs_bwrap, runs_a_script

from gene46100 import course

pytestmark = [pytest.mark.slow, needs_bwrap]


def cases(answers: bool) -> list:
    return [
        pytest.param(w, e, id=f"{w}-{e.name}")
        for w in course.WEEKS
        for e in course.week(w).examples
        if e.answers is answers
    ]


@pytest.mark.parametrize("week", course.WEEKS)
def test_every_example_gets_exactly_one_graded_record(graded_week, week):
    graded = graded_week(week)
    examples = course.week(week).examples
    assert len(graded["journal"]) == len(examples), [
        r["file"] for r in graded["journal"]
    ]
    assert sorted(graded["records"]) == sorted(e.name for e in examples)
    for example in examples:
        record = graded["records"][example.name]
        assert record["status"] == "graded", (example.name, record["message"])
        # every graded question of the registry has a result, and only those
        assert set(autograded(record)) == set(course.week(week).budgets)
        # the companion files the example hands in are graded beside the notebook
        assert sorted(record["graded_files"]) == sorted(example.files), example.name


@pytest.mark.parametrize("week, example", cases(answers=False))
def test_untouched_release_scores_zero_and_says_not_implemented(
    graded_week, week, example
):
    record = graded_week(week)["records"][example.name]
    assert record["status"] == "graded" and record["total"] == 0, record["questions"]
    companions = course.week(week).companions
    for name, question in autograded(record).items():
        assert question["score"] == 0, question
        if runs_a_script(week, name):  # the template fails loudly: named, not silent
            assert any(f in question["feedback"] for f in companions), question
        else:
            assert "not implemented yet" in question["feedback"], question


@pytest.mark.parametrize("week, example", cases(answers=True))
def test_completed_example_loses_points_exactly_where_the_registry_says(
    graded_week, week, example
):
    record = graded_week(week)["records"][example.name]
    assert record["status"] == "graded", record["message"]
    questions = autograded(record)
    lost = {name for name, q in questions.items() if q["score"] < q["possible"]}
    assert lost == set(example.loses), record["questions"]
    if not example.loses:
        assert record["total"] == record["possible"], record["questions"]
    else:
        assert record["total"] < record["possible"]
    for name in example.loses:  # a lost question says why
        assert questions[name]["feedback"].strip(), questions[name]


@pytest.mark.parametrize("week", course.WEEKS)
def test_grades_csv_has_otter_layout_with_the_points_possible_first(graded_week, week):
    graded = graded_week(week)
    header, points, *rows = list(csv.reader((graded["out"] / "grades.csv").open()))
    otter = ["total_points_earned", "percent_correct", "grading_status"]
    extra = ["autograded_points", "manual_points", "manual_pending"]
    assert header[0] == "file" and header[-6:] == otter + extra
    record = next(iter(graded["records"].values()))
    assert set(header[1:-6]) == {q["name"] for q in record["questions"]}
    assert points[0] == "POINTS POSSIBLE"
    for question in record["questions"]:  # manual questions too
        assert float(points[header.index(question["name"])]) == question["possible"]
    every = sum(q["possible"] for q in record["questions"])
    assert float(points[header.index("total_points_earned")]) == every
    assert float(points[header.index("autograded_points")]) == record["possible"]
    assert float(points[header.index("percent_correct")]) == 100
    assert len(rows) == len(course.week(week).examples)
    column = {name: header.index(name) for name in header}
    autograded = {r["file"]: r["total"] for r in graded["records"].values()}
    assert {row[0]: float(row[column["autograded_points"]]) for row in rows} == (
        autograded
    )
    assert {row[column["grading_status"]] for row in rows} == {"graded"}
