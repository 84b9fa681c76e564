"""docs/authoring.md, followed as an instructor would, on a copy of week 1's master.

The snippets are read from the guide by their labels, so a guide that no longer
matches the build fails here."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import sys

import nbformat
import numpy as np
import pytest
import yaml
from helpers import REPO

from gene46100 import build, checks
from gene46100.checks import inprocess

GUIDE = REPO / "docs/authoring.md"


def snippet(label: str) -> str:
    """The fenced block of the guide whose info string ends with ``label``."""
    found = re.search(rf"```\w+ {label}\n(.*?)\n```", GUIDE.read_text(), re.S)
    assert found, f"docs/authoring.md has no snippet labelled {label}"
    return found.group(1)


def copy_of_week1(tmp_path):
    """A tree with week 1's master (and the pins its release states)."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "solutions/week1", repo / "solutions/week1")
    shutil.copy(REPO / "constraints.txt", repo / "constraints.txt")
    path = repo / "solutions/week1/week1.ipynb"
    return repo, path, nbformat.read(path, 4)


def config_cell(master, name: str):
    return next(
        c
        for c in master.cells
        if c.cell_type == "raw" and re.search(rf"^name: {name}$", c.source, re.M)
    )


def end_of(master, name: str) -> int:
    """The index of question ``name``'s ``# END QUESTION`` cell."""
    index = master.cells.index(config_cell(master, name))
    while master.cells[index].source.strip() != "# END QUESTION":
        index += 1
    return index


def question_cells(config: str, prompt: str, answer_cell) -> list:
    raw, md = nbformat.v4.new_raw_cell, nbformat.v4.new_markdown_cell
    return [
        raw(config),
        md(prompt),
        raw("# BEGIN SOLUTION"),
        answer_cell,
        raw("# END SOLUTION"),
        raw("# END QUESTION"),
    ]


NEW_FILES = {"gene46100/checks/<week>/q11_relu.py"}  # the guide has you create it


def free_number(prefix: str, guide: int) -> int:
    """The guide adds q11 and m8 to week 1; once an instructor has really added
    them, these tests add the next free numbers instead (never a duplicate name)."""
    configs = build.question_configs(nbformat.read(build.master_path("week1"), 4))
    pattern = rf"{prefix}\d+"
    taken = [int(c["name"][1:]) for c in configs if re.fullmatch(pattern, c["name"])]
    return max([guide - 1, *taken]) + 1


N, M = free_number("q", 11), free_number("m", 8)


def as_free(text: str) -> str:
    """The guide's text with questions ``q{N}`` and ``m{M}`` for q11 and m8."""
    text = text.replace("q11_", f"q{N:02d}_").replace("Q11", f"Q{N}")
    return re.sub(r"\bm8\b", f"m{M}", re.sub(r"\bq11\b", f"q{N}", text))


def test_every_file_the_guide_names_exists():
    names = set(
        re.findall(r"`((?:solutions|gene46100|tests|docs)/[^`\s]+)`", GUIDE.read_text())
    )
    assert names and NEW_FILES <= names
    for name in names - NEW_FILES:
        pattern = re.sub(r"<(?!week>)\w+>", "*", name.replace("<week>", "week1"))
        assert list(REPO.glob(pattern)), name


@pytest.fixture
def week1_checks_with(tmp_path, monkeypatch):
    """Week 1's checks package with modules added from a folder of the test's own
    (appended to the package's path: the checkout is never touched)."""
    package = importlib.import_module("gene46100.checks.week1")
    folder = tmp_path / "new-checks"
    folder.mkdir()
    monkeypatch.setattr(package, "__path__", [*package.__path__, str(folder)])
    yield folder
    for name, module in list(sys.modules.items()):
        if str(folder) in (getattr(module, "__file__", None) or ""):
            del sys.modules[name]


def relu_question_cells():
    """The guide's new q11 (as ``q{N}``): config, prompt, solution, tests."""
    solution = nbformat.v4.new_code_cell(as_free(snippet("solution-cell")))
    solution.metadata["tags"] = ["export"]
    cells = question_cells(
        as_free(snippet("autograded-question")),
        as_free(snippet("autograded-prompt")),
        solution,
    )
    raw, code = nbformat.v4.new_raw_cell, nbformat.v4.new_code_cell
    tests = [raw("# BEGIN TESTS"), code(as_free(snippet("public-test-cell")))]
    tests += [code(as_free(snippet("hidden-test-cell"))), raw("# END TESTS")]
    cells[-1:-1] = tests  # before its END QUESTION
    return cells


def test_an_autograded_question_with_the_guides_check_module_builds_and_grades(
    tmp_path, week1_checks_with
):
    repo, path, master = copy_of_week1(tmp_path)
    at = end_of(master, "q10") + 1
    master.cells[at:at] = relu_question_cells()
    nbformat.write(master, path)
    module_file = week1_checks_with / as_free("q11_relu.py")
    module_file.write_text(as_free(snippet("check-module")) + "\n")

    out = tmp_path / "out"
    build.build_week("week1", repo, out)  # refused without the module (below)
    spec = json.loads((out / "autograder/week1/assignment.json").read_text())
    new = next(q for q in spec["questions"] if q["name"] == f"q{N}")
    assert (new["points"], new["budget"]) == (2, 10)
    released = (out / "assignments/week1/week1.ipynb").read_text()
    assert f'raise NotImplementedError(\\"q{N}: implement relu\\")' in released
    assert "np.maximum(z, 0.0)" not in released

    module = checks.question_modules("week1")[f"q{N}"]
    question = checks.question_class(module)()

    def grade(relu) -> list[checks.Check]:
        plan = question.plan(checks.question_rng("week1", f"q{N}"))
        return question.score(inprocess.execute(plan, {"relu": relu}), plan)

    assert all(c.passed for c in grade(lambda z: np.maximum(z, 0.0)))

    def stub(z):
        raise NotImplementedError(f"q{N}")

    assert all("not implemented yet" in c.message for c in grade(stub))
    wrong = module.known_wrong()
    assert len(wrong) >= 3  # the generic suite's minimum
    for entry in wrong:
        (answer,) = entry.overrides.values()
        text = " ".join(c.message for c in grade(answer) if not c.passed)
        assert entry.phrase in text, (entry.id, text)


def test_a_written_question_and_new_points_and_budget_as_the_guide_says(tmp_path):
    repo, path, master = copy_of_week1(tmp_path)
    model = nbformat.v4.new_markdown_cell(
        "It scales the gradient step; above it, GD diverges."
    )
    at = end_of(master, "m7") + 1
    master.cells[at:at] = question_cells(
        as_free(snippet("written-question")), as_free(snippet("written-prompt")), model
    )
    q5 = config_cell(master, "q5")
    q5.source = q5.source.replace("points: [0, 1]", "points: [0, 2]")
    q6 = config_cell(master, "q6")
    q6.source = re.sub(r"^budget: .*$", snippet("budget-change"), q6.source, flags=re.M)
    prompt = master.cells[master.cells.index(q6) + 1]
    prompt.source = prompt.source.replace("CPU budget: 10 s.", "CPU budget: 20 s.")
    nbformat.write(master, path)

    out = tmp_path / "out"
    build.build_week("week1", repo, out)
    spec = json.loads((out / "autograder/week1/assignment.json").read_text())
    questions = {q["name"]: q for q in spec["questions"]}
    assert questions[f"m{M}"] == {"name": f"m{M}", "points": 1, "manual": True}
    assert questions["q5"]["points"] == 2
    assert questions["q6"]["budget"] == 20
    rubrics = json.loads((out / "autograder/week1/rubrics.json").read_text())
    m8 = next(q for q in rubrics["questions"] if q["name"] == f"m{M}")
    expected = yaml.safe_load(snippet("written-question").split("\n", 1)[1])["rubric"]
    assert [i["text"] for i in m8["items"]] == [i["text"] for i in expected]
    released = (out / "assignments/week1/week1.ipynb").read_text()
    assert as_free("**m8 (manual).**") in released and "CPU budget: 20 s." in released
    assert "It scales the gradient step" not in released  # the model answer stays here


def test_a_budget_changed_in_the_config_alone_is_refused(tmp_path):
    repo, path, master = copy_of_week1(tmp_path)
    q6 = config_cell(master, "q6")
    stated = re.search(r"^budget: (\d+)", q6.source, re.M).group(1)
    changed = re.sub(r"^budget: .*$", snippet("budget-change"), q6.source, flags=re.M)
    if changed == q6.source:  # the master already says 20: change it to 30 instead
        changed = re.sub(r"^budget: \d+", "budget: 30", q6.source, flags=re.M)
    q6.source = changed
    nbformat.write(master, path)
    with pytest.raises(build.BuildError, match=f"q6's prompt .* states {stated} s"):
        build.build_week("week1", repo, tmp_path / "out")


def test_an_autograded_question_without_its_check_is_refused_as_the_guide_quotes(
    tmp_path,
):
    repo, path, master = copy_of_week1(tmp_path)
    at = end_of(master, "q10") + 1
    master.cells[at:at] = relu_question_cells()
    nbformat.write(master, path)
    with pytest.raises(build.BuildError) as refused:
        build.build_week("week1", repo, tmp_path / "out")
    quoted = re.search(r"\n(week1: q11 is autograded.*)\n", GUIDE.read_text()).group(1)
    assert str(refused.value) == as_free(quoted)
    assert not (tmp_path / "out").exists()
