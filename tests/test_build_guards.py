"""The build checks the whole, and grading refuses a stale build.

- Every autograded question of a master has a hidden check, every check a question,
  and every autograded question a CPU budget and a review topic; each refusal names
  the question and the file to create or edit.
- ``gene46100 grade`` refuses in one line (exit 2) when ``autograder/<week>`` was
  built from other sources than the master and the checks as they are now.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from helpers import REPO, minimal_complete

from gene46100 import build, buildstamp, checks, cli, course


def spec_of(week: str) -> dict:
    return build.assignment_spec(week, nbformat.read(build.master_path(week), 4))


@pytest.mark.parametrize("week", course.WEEKS)
def test_every_week_is_whole_and_built_from_its_sources(week):
    master = nbformat.read(build.master_path(week), 4)
    assert build.question_problems(week, spec_of(week), master) == []
    assert buildstamp.stale_build(week, REPO / "autograder") == ""


# A number no week-1 question has (an instructor may have added q11 for real).
N = max(int(name[1:]) for name in checks.questions("week1")) + 1


def test_an_autograded_question_without_a_check_is_named_with_its_files():
    spec = spec_of("week1")
    spec["questions"].append({"name": f"q{N}", "points": 2, "manual": False})
    problems = build.question_problems("week1", spec)
    assert len(problems) == 3  # the check, the budget, the review topic
    assert f"q{N} is autograded in solutions/week1/week1.ipynb" in problems[0]
    assert (
        f"add gene46100/checks/week1/q{N:02d}_<topic>.py defining one Question"
        in problems[0]
    )
    assert f'with name = "q{N}" (see docs/authoring.md)' in problems[0]
    assert f"q{N} has no CPU budget: add `budget: SECONDS`" in problems[1]
    assert f"q{N} has no review topic: add `topic: ...`" in problems[2]
    assert all("config in solutions/week1/week1.ipynb" in p for p in problems[1:])


def test_two_questions_of_one_name_are_refused():
    spec = spec_of("week1")
    spec["questions"].append(dict(spec["questions"][0]))
    name = spec["questions"][0]["name"]
    assert f"week1: 2 questions are named {name} in solutions/week1/week1.ipynb" in (
        "\n".join(build.question_problems("week1", spec))
    )


def test_a_check_without_its_question_is_named():
    spec = spec_of("week1")
    spec["questions"] = [q for q in spec["questions"] if q["name"] != "q3"]
    problems = build.question_problems("week1", spec)
    assert any(
        "the hidden check gene46100/checks/week1/q03_gradient.py checks q3, which "
        "has no question in solutions/week1/week1.ipynb" in p
        for p in problems
    )
    spec = spec_of("week1")
    next(q for q in spec["questions"] if q["name"] == "q3")["manual"] = True
    assert any(
        "q03_gradient.py checks q3, which is a manual question" in p
        for p in build.question_problems("week1", spec)
    )


def test_the_build_refuses_a_master_whose_question_has_no_check(tmp_path):
    master = nbformat.read(build.master_path("week1"), 4)
    config = f"# BEGIN QUESTION\nname: q{N}\npoints: 2\n"
    master.cells.append(nbformat.v4.new_raw_cell(config))
    repo = tmp_path / "repo"
    (repo / "solutions/week1").mkdir(parents=True)
    nbformat.write(master, repo / "solutions/week1/week1.ipynb")
    with pytest.raises(build.BuildError, match=f"q{N} is autograded"):
        build.build(("week1",), repo=repo, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before any work


def copy_sources(repo: Path) -> None:
    """The week-1 files a build is made from, and its built spec, in a new tree."""
    shutil.copytree(REPO / "solutions/week1", repo / "solutions/week1")
    shutil.copytree(
        REPO / "gene46100/checks/week1",
        repo / "gene46100/checks/week1",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (repo / "autograder/week1").mkdir(parents=True)
    shutil.copy(REPO / "autograder/week1/assignment.json", repo / "autograder/week1")


def test_an_edit_to_the_master_or_the_checks_makes_the_build_stale(tmp_path):
    repo = tmp_path / "repo"
    copy_sources(repo)
    assert buildstamp.stale_build("week1", repo / "autograder", repo) == ""
    master = repo / "solutions/week1/week1.ipynb"
    master.write_bytes(master.read_bytes().replace(b"points: 1", b"points: 2", 1))
    line = buildstamp.stale_build("week1", repo / "autograder", repo)
    assert "edited since the last build" in line and "gene46100 build week1" in line
    shutil.copy(REPO / "solutions/week1/week1.ipynb", master)
    assert buildstamp.stale_build("week1", repo / "autograder", repo) == ""
    checks = repo / "gene46100/checks/week1/q03_gradient.py"
    checks.write_text(checks.read_text() + "\n# a new wrong variant\n")
    assert buildstamp.stale_build("week1", repo / "autograder", repo) != ""
    shutil.copy(REPO / "gene46100/checks/week1/q03_gradient.py", checks)
    assert buildstamp.stale_build("week1", repo / "autograder", repo) == ""
    (checks.parent / f"q{N:02d}_relu.py").write_text("# a new question's check\n")
    assert buildstamp.stale_build("week1", repo / "autograder", repo) != ""
    (repo / "solutions/week1/week1.ipynb").unlink()  # no checkout: nothing to say
    assert buildstamp.stale_build("week1", repo / "autograder", repo) == ""


def test_grading_refuses_a_stale_build_in_one_line(tmp_path, capsys, monkeypatch):
    notebook = tmp_path / "ann.ipynb"
    nbformat.write(minimal_complete(), notebook)
    built = json.loads((REPO / "autograder/week1/assignment.json").read_text())
    assert len(built[buildstamp.KEY]) == 64
    monkeypatch.setattr(buildstamp, "sources_sha256", lambda week, repo=REPO: "0")
    out = tmp_path / "out"
    assert cli.main(["grade", "week1", str(notebook), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "run `make build` (or `gene46100 build week1`)" in err
    assert not out.exists()


def test_a_prompt_edit_does_not_make_every_record_stale_but_points_do():
    from gene46100.grader import provenance

    spec = json.loads((REPO / "autograder/week1/assignment.json").read_text())
    digest = provenance.spec_digest(json.dumps(spec).encode())
    spec[buildstamp.KEY] = "f" * 64  # a master edit somewhere: a new source hash
    assert provenance.spec_digest(json.dumps(spec).encode()) == digest
    spec["questions"][0]["points"] += 1
    assert provenance.spec_digest(json.dumps(spec).encode()) != digest


def test_budget_and_topic_come_from_the_masters_config():
    """One source: the build carries each question's config to assignment.json,
    which the registry, the grader's budgets and the review hints read."""
    master = nbformat.read(build.master_path("week2"), 4)
    configs = {c["name"]: c for c in build.question_configs(master)}
    assert course.week("week2").budgets == {
        name: float(c["budget"]) for name, c in configs.items() if not c.get("manual")
    }
    assert course.week("week2").topic("q3") == configs["q3"]["topic"]
    assert checks.questions("week2")["q7"].timeout_s == configs["q7"]["budget"]


def with_budget(master, name: str, old: str, new: str):
    """``master`` with question ``name``'s config line ``old`` made ``new``."""
    for cell in master.cells:
        if cell.cell_type == "raw" and f"name: {name}\n" in cell.source:
            assert old in cell.source
            cell.source = cell.source.replace(old, new)
    return master


def test_a_budget_changed_in_the_config_alone_is_refused_naming_the_prompt():
    master = nbformat.read(build.master_path("week1"), 4)
    with_budget(master, "q6", "budget: 10", "budget: 20")
    spec = build.assignment_spec("week1", master)
    problems = build.question_problems("week1", spec, master)
    assert problems == [
        "week1: q6's prompt in solutions/week1/week1.ipynb states 10 s as its CPU "
        'budget, its config says `budget: 20`: make the prompt say "CPU budget: N '
        "s\" once, with the config's N"
    ]
    with_budget(master, "q6", "budget: 20", "points: 1")  # no budget at all
    problems = build.question_problems("week1", build.assignment_spec("week1", master))
    assert problems == [
        "week1: q6 has no CPU budget: add `budget: SECONDS` (the CPU time its "
        "hidden tests may take) to its BEGIN QUESTION config in "
        "solutions/week1/week1.ipynb"
    ]


def test_a_demo_cell_the_grader_would_run_is_refused():
    """Week 2's demos once ran for every submission (70% of a class's grading CPU):
    a ``with needs(...)`` cell must be tagged otter_ignore."""
    master = nbformat.read(build.master_path("week2"), 4)
    build.check_ignored_cells("week2", master)  # every demo is tagged
    demo = next(c for c in master.cells if "with needs(" in c.source)
    demo.metadata["tags"].remove(build.IGNORE_TAG)
    with pytest.raises(build.BuildError, match="runs a demo .* not tagged otter_"):
        build.check_ignored_cells("week2", master)


def test_the_build_command_refuses_in_words_and_says_what_a_partial_build_leaves(
    monkeypatch, capsys
):
    def refuse(weeks):
        raise build.BuildError("week1: q12 is autograded ... (see docs/authoring.md)")

    monkeypatch.setattr(build, "build", refuse)
    assert cli.main(["build", "week1"]) == 2
    err = capsys.readouterr().err
    assert err == "error: week1: q12 is autograded ... (see docs/authoring.md)\n"

    monkeypatch.setattr(build, "build", lambda weeks: None)
    assert cli.main(["build", "week1"]) == 0
    err = capsys.readouterr().err
    assert "week2, week3a, week3b autograder zips carry the tool as it was" in err
    assert "run `gene46100 build` (every week) before you commit" in err
    assert cli.main(["build"]) == 0
    assert capsys.readouterr().err == ""
