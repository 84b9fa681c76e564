"""Rubrics from the masters, the review store, the read API and the CSV round trip."""

from __future__ import annotations

import copy
import csv
import json
import math
import re
import sqlite3

import nbformat
import pytest
from review_helpers import RELEASE, REPO, batch, notebook, plot_output

from gene46100 import build, course
from gene46100.build import rubrics
from gene46100.grader import answers
from gene46100.review import csvio
from gene46100.review.store import DB_NAME, Conflict, Store, manual_grades


# ---------------------------------------------------------------- rubrics
def manual_in_master(week: str) -> list[str]:
    """The names in the master's manual question configs."""
    return [
        re.search(r"^name: (\w+)$", c.source, re.M).group(1)
        for c in master(week).cells
        if c.cell_type == "raw"
        and c.source.startswith("# BEGIN QUESTION")
        and re.search(r"^manual: true$", c.source, re.M)
    ]


def test_every_manual_question_has_a_rubric_in_the_grading_material():
    count = 0
    for week in course.WEEKS:
        spec = json.loads((REPO / f"autograder/{week}/assignment.json").read_text())
        manual = {q["name"]: q["points"] for q in spec["questions"] if q["manual"]}
        found = json.loads((REPO / f"autograder/{week}/rubrics.json").read_text())
        assert {q["name"]: q["points"] for q in found["questions"]} == manual
        for q in found["questions"]:
            earned = sum(i["points"] for i in q["items"] if i["points"] > 0)
            assert math.isclose(earned, q["points"]), (week, q["name"])
            assert q["prompt"].startswith(f"**{q['name']} (manual"), q["prompt"][:40]
            assert all(i["text"] and i["id"] for i in q["items"])
        count += len(manual)
        # The build kept every manual question of the master (its config cells).
        assert sorted(manual) == sorted(manual_in_master(week)), week
    assert count > 0


def master(week: str = "week1") -> nbformat.NotebookNode:
    return nbformat.read(course.week(week).master(), as_version=4)


def config_cell(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    return next(
        c
        for c in nb.cells
        if c.cell_type == "raw"
        and c.source.startswith("# BEGIN QUESTION")
        and f"name: {name}\n" in c.source
    )


def test_the_build_refuses_a_manual_question_without_a_rubric(tmp_path):
    nb = master()
    cell = config_cell(nb, "m3")
    cell.source = cell.source.split("rubric:")[0].rstrip()
    with pytest.raises(rubrics.RubricError, match="week1 m3: a manual question needs"):
        rubrics.rubrics_spec("week1", nb)
    with pytest.raises(build.BuildError, match="m3"):
        build.write_autograder("week1", nb, tmp_path)
    assert not (tmp_path / "rubrics.json").exists()


@pytest.mark.parametrize(
    "bad, message",
    [
        ("points: 0.5\n  text: ''", "text"),
        ("points: many\n  text: x", "non-zero number"),
        ("points: 0.5\n  text: x\n  colour: red", "unknown key"),
    ],
)
def test_a_malformed_rubric_item_is_refused(bad, message):
    nb = master()
    cell = config_cell(nb, "m1")
    head = cell.source.split("rubric:")[0]
    cell.source = f"{head}rubric:\n- {bad}\n- points: 0.5\n  text: y"
    with pytest.raises(rubrics.RubricError, match=message):
        rubrics.rubrics_spec("week1", nb)


def test_rubric_points_must_add_up_to_the_question_points():
    nb = master()
    cell = config_cell(nb, "m1")
    cell.source = cell.source.split("rubric:")[0] + "rubric:\n- points: 0.5\n  text: x"
    with pytest.raises(rubrics.RubricError, match="add up to 0.5"):
        rubrics.rubrics_spec("week1", nb)


# ---------------------------------------------------------------- answers
def test_evidence_saved_just_before_a_prompt_comes_with_the_answer(tmp_path):
    nb = json.loads(RELEASE.read_text())
    cells = nb["cells"]
    m3 = answers.prompt_indices(cells)[2]
    plots = [c for c in cells[:m3] if c["cell_type"] == "code"][-2:]
    for cell in plots:  # the three panels and the lr 0.5 / 1.0 comparison
        cell["outputs"] = plot_output()
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    found = answers.extract(path, [f"m{i}" for i in range(1, 8)], RELEASE)["manual"]
    before = found["m3"]["before"]
    assert [c["source"] for c in before] == [answers.cell_text(c) for c in plots]
    assert all(c["outputs"] == plot_output() for c in before)
    assert found["m1"]["before"] == []  # a heading ends the walk
    assert found["m4"]["before"] == []  # the previous question's END ends it


def test_example_submissions_carry_written_answers():
    release = REPO / "assignments/week1/week1.ipynb"
    names = [f"m{i}" for i in range(1, 8)]
    folder = REPO / "examples/submissions/week1"
    alice = answers.extract(folder / "alice_complete.ipynb", names, release)["manual"]
    assert not alice["m1"]["placeholder"] and "$" in alice["m1"]["cells"][0]["source"]
    outputs = [o for c in alice["m4"]["cells"] for o in c.get("outputs", [])]
    assert outputs and "image/png" in outputs[0]["data"]
    assert alice["m2"]["placeholder"]  # an empty one
    bob = answers.extract(folder / "bob_untouched.ipynb", names, release)["manual"]
    assert all(bob[n]["placeholder"] for n in names)


# ---------------------------------------------------------------- store
@pytest.fixture
def out(tmp_path):
    return batch(tmp_path / "out")


def handle_of(store: Store, sid: str, question: str = "m1") -> str:
    return store.grade_of(sid, question).handle


def test_placeholders_score_no_response_and_stay_out_of_the_queue(out):
    store = Store(out, "week1")
    queue = {g.submission for g in store.queue("m1")}
    assert "eve_empty" not in queue and "zoe_plot" in queue
    assert "eve_empty" in {g.submission for g in store.queue("m1", include_empty=True)}
    auto = manual_grades(out)["eve_empty"]["m1"]
    assert auto == {
        "score": 0.0,
        "possible": 1.0,
        "items": [],
        "comment": "No response",
        "grader": "auto",
        "graded_at": "",
        "auto": True,
    }
    assert "m1" not in manual_grades(out).get("zoe_plot", {})  # not graded yet


def test_every_change_is_in_the_database_before_the_call_returns(out):
    store = Store(out, "week1")
    h = handle_of(store, "zoe_plot")
    store.set_item("m1", h, "1", True, 0, "ann")
    store.save("m1", h, 0.1, "Good start.", 1, "ann")
    conn = sqlite3.connect(out / DB_NAME)  # another reader, the store untouched
    row = conn.execute(
        "SELECT items, adjustment, comment, grader, version FROM grades "
        "WHERE submission='zoe_plot' AND question='m1'"
    ).fetchone()
    assert row == ('["1"]', 0.1, "Good start.", "ann", 2)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again = Store(out, "week1").grade_of("zoe_plot", "m1")
    assert again.items == ["1"] and again.comment == "Good start."


def test_editing_an_item_rescores_every_answer_that_uses_it(out):
    store = Store(out, "week1")
    users = ["zoe_plot", "student_00_a", "student_01_b"]
    for sid in users:
        store.set_item("m1", handle_of(store, sid), "1", True, 0, "ann")
    store.set_item("m1", handle_of(store, "student_02_c"), "2", True, 0, "ann")
    assert {s: manual_grades(out)[s]["m1"]["score"] for s in users} == dict.fromkeys(
        users, 0.25
    )
    item = store.item("m1", "1")
    store.edit_item("m1", "1", 0.5, item.text, item.note, item.version, "ann")
    grades = manual_grades(out)
    assert {s: grades[s]["m1"]["score"] for s in users} == dict.fromkeys(users, 0.5)
    assert grades["student_02_c"]["m1"]["score"] == 0.25  # not using it
    with pytest.raises(Conflict):  # a second editor with the old version
        store.edit_item("m1", "1", 0.1, item.text, "", item.version, "bob")
    assert store.item("m1", "1").points == 0.5


def test_scores_stay_within_zero_and_the_points_possible(out):
    store = Store(out, "week1")
    h = handle_of(store, "zoe_plot")
    store.set_item("m1", h, "5", True, 0, "ann")  # the -0.25 deduction alone
    assert manual_grades(out)["zoe_plot"]["m1"]["score"] == 0.0
    store.save("m1", h, 5.0, "", 1, "ann")
    assert manual_grades(out)["zoe_plot"]["m1"]["score"] == 1.0


def test_a_stale_version_gets_a_conflict_not_an_overwrite(out):
    store = Store(out, "week1")
    h = handle_of(store, "zoe_plot")
    opened = store.grade("m1", h).version  # both TAs open the answer
    store.set_item("m1", h, "1", True, opened, "ann")
    with pytest.raises(Conflict) as caught:
        store.set_item("m1", h, "2", True, opened, "bob")
    assert caught.value.current.grader == "ann"
    with pytest.raises(Conflict):
        store.save("m1", h, 0.0, "bob's comment", opened, "bob")
    now = store.grade("m1", h)
    assert (now.items, now.comment, now.grader) == (["1"], "", "ann")


def test_a_changed_answer_returns_to_the_queue(out):
    store = Store(out, "week1")
    h = handle_of(store, "zoe_plot")
    store.save("m1", h, 0.0, "ok", 0, "ann")
    assert "zoe_plot" not in {g.submission for g in store.queue("m1")}
    path = out / "answers" / "zoe_plot.json"
    data = json.loads(path.read_text())
    data["manual"]["m1"]["cells"][0]["source"] = "A new answer after a regrade."
    path.write_text(json.dumps(data))
    assert "m1" not in manual_grades(out)["zoe_plot"]  # not the graded answer
    assert Store(out, "week1").grade("m1", h).state == "changed"
    assert "zoe_plot" in {g.submission for g in Store(out, "week1").queue("m1")}


def test_the_order_is_shuffled_stably_and_blind(out):
    order = [g.submission for g in Store(out, "week1").grades("m1")]
    assert order == [g.submission for g in Store(out, "week1").grades("m1")]
    assert order != sorted(order)
    m5 = [g.submission for g in Store(out, "week1").grades("m5")]
    assert m5 != order  # each question has its own order
    for g in Store(out, "week1").grades():
        assert g.submission not in g.handle


def test_manual_grades_without_a_database_or_answers(tmp_path, out):
    assert manual_grades(tmp_path / "nothing") == {}
    grades = manual_grades(out)
    assert set(grades["eve_empty"]) == {f"m{i}" for i in range(1, 8)}
    assert not (out / DB_NAME).exists()  # reading created nothing


# ---------------------------------------------------------------- CSV
def exported(store: Store, path) -> list[dict]:
    csvio.export_csv(store, path)
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_rows(path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def column(rows: list[dict], key: str) -> str:
    return next(c for c in rows[0] if c.split(" ")[0] == key)


def test_csv_round_trip_merges_edits_and_blank_means_no_change(out, tmp_path):
    store = Store(out, "week1")
    store.save("m1", handle_of(store, "student_00_a"), 0.0, "keep me", 0, "ann")
    path = tmp_path / "grades.csv"
    rows = exported(store, path)
    assert len(rows) == 8 * 7  # submission x manual question
    row = next(
        r for r in rows if (r["submission"], r["question"]) == ("zoe_plot", "m1")
    )
    row[column(rows, "m1:1")], row[column(rows, "m1:3")] = "1", "x"
    row["comment"], row["adjustment"], row["grader"] = "Offline.", "0.1", "carl"
    write_rows(path, rows)
    assert csvio.import_csv(store, path) == 1
    got = manual_grades(out)
    assert got["zoe_plot"]["m1"]["score"] == pytest.approx(0.6)
    assert got["zoe_plot"]["m1"]["grader"] == "carl"
    assert got["student_00_a"]["m1"]["comment"] == "keep me"  # unchanged row
    assert csvio.import_csv(store, path) == 0  # importing again changes nothing


def test_csv_errors_name_row_and_column_and_nothing_is_applied(out, tmp_path):
    store = Store(out, "week1")
    path = tmp_path / "grades.csv"
    rows = exported(store, path)
    rows[0][column(rows, "m1:1")] = "1"  # a good row (row 2 of the file) ...
    rows[0]["question"] = "m1"
    rows[3][column(rows, "m1:2")] = "maybe"  # row 5: not 1/0
    rows[4]["adjustment"] = "lots"  # row 6
    wrong = next(i for i, r in enumerate(rows) if r["question"] == "m2")
    rows[wrong][column(rows, "m1:1")] = "1"  # an item of another question
    write_rows(path, rows)
    before = copy.deepcopy(manual_grades(out))
    with pytest.raises(csvio.ImportRefused) as caught:
        csvio.import_csv(store, path)
    text = str(caught.value)
    assert "row 5, column 'm1:2 (+0.25)': expected 1 or 0" in text
    assert "row 6, column 'adjustment': expected a number, got 'lots'" in text
    assert f"row {wrong + 2}, column 'm1:1 (+0.25)': an item of m1" in text
    assert manual_grades(out) == before  # nothing applied, not even row 2


def test_csv_import_refuses_rows_changed_in_the_store_since_export(out, tmp_path):
    store = Store(out, "week1")
    path = tmp_path / "grades.csv"
    rows = exported(store, path)
    row = next(
        r for r in rows if (r["submission"], r["question"]) == ("zoe_plot", "m1")
    )
    row[column(rows, "m1:2")] = "1"
    write_rows(path, rows)
    store.set_item("m1", handle_of(store, "zoe_plot"), "1", True, 0, "ann")  # later
    with pytest.raises(csvio.ImportRefused, match="changed in the store since"):
        csvio.import_csv(store, path)
    assert store.grade_of("zoe_plot", "m1").items == ["1"]


def test_csv_unknown_columns_and_answers_are_named(out, tmp_path):
    store = Store(out, "week1")
    path = tmp_path / "bad.csv"
    path.write_text("submission,question,version,m9:1\nnobody,m1,0,\n")
    with pytest.raises(csvio.ImportRefused, match="row 1, column 'm9:1'"):
        csvio.import_csv(store, path)
    path.write_text("submission,question,version\nnobody,m1,0\n")
    with pytest.raises(csvio.ImportRefused, match="row 2, columns submission/question"):
        csvio.import_csv(store, path)


def test_the_notebook_helper_writes_answers():
    nb = notebook({"m1": "x"})
    assert answers.manual_blocks(nb["cells"])[0][0]["source"] == "x"
