"""Answers as submitted: each manual question's cells with the outputs the student
saved, and the code of each graded answer, extracted into the output folder."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from gene46100.grader import answers

REPO = Path(__file__).resolve().parent.parent
RELEASE = REPO / "assignments/week1/week1.ipynb"
SPEC = json.loads((REPO / "autograder/week1/assignment.json").read_text())
MANUAL = [q["name"] for q in SPEC["questions"] if q["manual"]]
GRADED = [q["name"] for q in SPEC["questions"] if not q["manual"]]
PNG = {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}


def answered() -> dict:
    """The release with m1 answered in words and m4 with a saved plot."""
    nb = json.loads(RELEASE.read_text())
    blocks = answers.manual_blocks(nb["cells"])
    blocks[0][0]["source"] = "Set the gradient $-2X^T y + 2X^T X\\beta$ to zero."
    code = next(c for c in blocks[3] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "display_data", "data": PNG, "metadata": {}}]
    return nb


def test_each_manual_question_gets_its_cells_and_saved_outputs(tmp_path):
    path = tmp_path / "week1.ipynb"
    path.write_text(json.dumps(answered()))
    found = answers.extract(path, MANUAL, RELEASE)
    assert list(found["manual"]) == MANUAL
    m1 = found["manual"]["m1"]
    assert not m1["placeholder"] and "X^T X" in m1["cells"][0]["source"]
    m4 = found["manual"]["m4"]
    assert m4["placeholder"]  # the words are still the released placeholder
    plots = [o for c in m4["cells"] for o in c.get("outputs", [])]
    assert plots and plots[0]["data"]["image/png"] == PNG["image/png"]
    assert all(found["manual"][m]["placeholder"] for m in MANUAL[1:])


def test_graded_answer_code_is_kept_per_question(tmp_path):
    nb = answered()
    path = tmp_path / "week1.ipynb"
    path.write_text(json.dumps(nb))
    code = answers.extract(path, MANUAL, RELEASE)["code"]
    assert set(code) == set(GRADED)
    assert code["q3"].startswith("def mse_gradient(")


def test_a_broken_notebook_has_no_answers_and_leaves_no_stale_file(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{ not json")
    assert answers.extract(bad, MANUAL, RELEASE) == {}
    good = tmp_path / "good.ipynb"
    good.write_text(json.dumps(answered()))
    written = answers.write_answers(
        tmp_path, "s1", "week1", answers.extract(good, MANUAL, RELEASE)
    )
    assert written is not None and written.exists()
    assert answers.write_answers(tmp_path, "s1", "week1", {}) is None
    assert not written.exists()


def test_markers_merged_into_one_cell_open_the_next_question():
    cell = {
        "cell_type": "markdown",
        "source": f"{answers.END}\n\n{answers.BEGIN}\n\nm4",
    }
    assert answers.markers(cell) == [answers.END, answers.BEGIN]
    nb = copy.deepcopy(json.loads(RELEASE.read_text()))
    assert len(answers.manual_blocks(nb["cells"])) == len(MANUAL)
