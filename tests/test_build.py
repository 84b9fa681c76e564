"""The build: generated files are fresh, the student release leaks nothing."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from gene46100 import build, checks, course
from gene46100.build.markup import strip_assign_markup

GENERATED = [
    "assignments",
    "autograder",
    "examples/submissions",
    *(f"gene46100_ref/{week}.py" for week in course.WEEKS),
]


def files_under(root: Path, rel: str) -> dict[str, bytes]:
    base = root / rel
    if base.is_file():
        return {rel: base.read_bytes()}
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def zip_members(data: bytes, tmp: Path) -> dict[str, bytes]:
    path = tmp / "z.zip"
    path.write_bytes(data)
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory, repo) -> Path:
    out = tmp_path_factory.mktemp("rebuild")
    build.build(repo=repo, out=out)
    return out


def test_committed_generated_files_are_not_stale(rebuilt, repo, tmp_path):
    for rel in GENERATED:
        committed, fresh = files_under(repo, rel), files_under(rebuilt, rel)
        assert sorted(committed) == sorted(fresh), (
            f"{rel}: files differ; run `make build`"
        )
        for name, data in fresh.items():
            if name.endswith(".zip"):
                assert zip_members(committed[name], tmp_path) == zip_members(
                    data, tmp_path
                )
            else:
                assert committed[name] == data, f"{name} is stale: run `make build`"


def test_build_is_deterministic(rebuilt, tmp_path, repo):
    again = tmp_path / "again"
    build.build(repo=repo, out=again)
    for rel in GENERATED:
        assert files_under(again, rel) == files_under(rebuilt, rel)


def test_every_zip_carries_the_reference_modules_of_this_build(tmp_path, repo):
    """A master edit needs one build, not two: each zip carries every week's module
    (later weeks import earlier ones), so none may be zipped before all are rebuilt."""
    source = tmp_path / "src"
    for rel in ("solutions", "gene46100_ref", "examples"):
        shutil.copytree(
            repo / rel, source / rel, ignore=shutil.ignore_patterns("__pycache__")
        )
    for rel in ("pyproject.toml", "constraints.txt"):
        shutil.copyfile(repo / rel, source / rel)
    for week in course.WEEKS:  # as if every master had changed since the last build
        (source / "gene46100_ref" / f"{week}.py").write_text("# stale\n")
    out = tmp_path / "out"
    build.build(repo=source, out=out)
    for week in course.WEEKS:
        members = zip_members(
            (out / "autograder" / week / f"{week}-autograder.zip").read_bytes(),
            tmp_path,
        )
        for module in course.WEEKS:
            fresh = (out / "gene46100_ref" / f"{module}.py").read_bytes()
            assert members[f"gene46100/gene46100_ref/{module}.py"] == fresh, (
                week,
                module,
            )


@pytest.mark.parametrize("week", course.WEEKS)
def test_student_release_has_stubs_and_no_solutions(repo, week):
    nb = nbformat.read(repo / f"assignments/{week}/{week}.ipynb", as_version=4)
    answers = [
        c.source for c in nb.cells if "otter_answer_cell" in c.metadata.get("tags", [])
    ]
    graded = [
        q["name"]
        for q in json.loads((repo / f"autograder/{week}/assignment.json").read_text())[
            "questions"
        ]
        if not q["manual"]
    ]
    # a question answered in a released file (week 3a's predict.py) has its stub there
    stubs = " ".join(
        answers + [p.read_text() for p in (repo / f"assignments/{week}").glob("*.py")]
    )
    for q in graded:
        assert f'NotImplementedError("{q}:' in stubs, f"{q} has no loud stub"
    code = {
        line.strip()
        for c in nb.cells
        if c.cell_type == "code"
        for line in c.source.splitlines()
    }
    for line in solution_lines(repo / f"solutions/{week}/{week}.ipynb"):
        assert line not in code, f"the student notebook leaks solution line {line!r}"
    text = (repo / f"assignments/{week}/{week}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "# HIDDEN", "run_check"):
        assert marker not in text, f"the student notebook leaks {marker!r}"
    public = " ".join(
        p.read_text() for p in (repo / f"assignments/{week}/tests").glob("*.py")
    )
    assert "gene46100_ref" not in public and "hidden=True" not in public


def solution_lines(master: Path) -> list[str]:
    """Substantial code lines inside the solution blocks of the graded answers.

    Lines that the master also shows as given code (e.g. a seeding idiom used by a
    helper) are not secrets and are left out.
    """
    lines = []
    cells = nbformat.read(master, as_version=4).cells
    given = {
        line.strip()
        for c in cells
        if c.cell_type == "code" and "export" not in c.metadata.get("tags", [])
        for line in c.source.splitlines()
    }
    for cell in cells:
        if "export" not in cell.metadata.get("tags", []):
            continue
        inside = False
        for line in cell.source.splitlines() if cell.cell_type == "code" else []:
            stripped = line.strip()
            if stripped.startswith("# BEGIN SOLUTION"):
                inside = True
            elif stripped.startswith("# END SOLUTION"):
                inside = False
            # signatures are the contract (students see them), not solutions
            elif (
                inside
                and len(stripped) >= 20
                and not stripped.startswith(("#", '"', "def ", "class "))
            ):
                lines.append(stripped)
    assert len(lines) > 10, "found too few solution lines: is the parser right?"
    return [line for line in lines if line not in given]


@pytest.mark.parametrize("week", course.WEEKS)
def test_assignment_spec_matches_hidden_tests(repo, week):
    spec = json.loads((repo / f"autograder/{week}/assignment.json").read_text())
    graded = [q["name"] for q in spec["questions"] if not q["manual"]]
    assert graded == list(checks.questions(week))
    assert all(q["points"] > 0 for q in spec["questions"])


@pytest.mark.parametrize("week", course.WEEKS)
def test_reference_module_is_generated_from_the_master(repo, week):
    text = (repo / f"gene46100_ref/{week}.py").read_text()
    assert f"GENERATED by `gene46100 build` from solutions/{week}/{week}.ipynb" in text
    assert not re.search(r"BEGIN (SOLUTION|PROMPT)", text)


def test_every_week_is_built_and_graded():
    assert set(course.WEEKS) == set(course.COURSE)


def ignore_tagged(source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["otter_ignore"]
    return cell


def test_a_graded_cell_may_not_need_a_name_from_an_ignored_cell():
    master = nbformat.v4.new_notebook(
        cells=[
            ignore_tagged("import matplotlib.pyplot as plt\ndevice = 'cpu'"),
            nbformat.v4.new_code_cell("def f(x, lr):\n    y = x * lr\n    return y"),
            nbformat.v4.new_code_cell("def g(x):\n    return x.to(device)"),
        ]
    )
    with pytest.raises(build.BuildError, match="code cell 2 uses device"):
        build.check_ignored_cells("weekX", master)
    master.cells[2].source = "device = 'cuda'\ndef g(x):\n    return x.to(device)"
    build.check_ignored_cells("weekX", master)  # defined again where it is used


@pytest.mark.parametrize("week", course.WEEKS)
def test_masters_tag_their_demo_cells_otter_ignore(repo, week):
    master = nbformat.read(repo / f"solutions/{week}/{week}.ipynb", as_version=4)
    build.check_ignored_cells(week, master)


def test_strip_assign_markup_keeps_solution_and_drops_prompt():
    source = (
        'def f(x):\n    """Doc."""\n    # BEGIN SOLUTION NO PROMPT\n    return 2 * x\n'
        '    # END SOLUTION\n    """ # BEGIN PROMPT\n'
        '    raise NotImplementedError("q1")\n'
        '    """ # END PROMPT\n'
    )
    assert (
        strip_assign_markup(source) == 'def f(x):\n    """Doc."""\n    return 2 * x\n'
    )
