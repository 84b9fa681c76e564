"""``pytest assignments/<week>`` from a copy of assignments/ outside the repository.

The copy runs with a poisoned ``gene46100_ref`` first on the path, so any use of the
reference (or of hidden tests) by the self-check fails loudly.

The contract, once for every week of the course registry: in the untouched release
every question says "not implemented yet" (a question that runs a companion script,
week 3a's q5, fails naming the missing file instead); with the week's complete
example every public test passes. Then what is particular to a week: the typical
mistakes of week 1 and week 2, and week 1's ``otter_ignore`` cells.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from grading import runs_a_script
from notebooks import completed_example, place_example

from gene46100 import course

POISON = 'raise ImportError("the self-check must not need gene46100_ref")\n'
# Weeks whose self-check takes 20 s or more (measured: week 2's complete notebook
# ~19 s on 2 cores; weeks 1, 3a and 3b: 5-11 s each).
SLOW = {"week2"}


def weeks() -> list:
    return [
        pytest.param(w, marks=pytest.mark.slow) if w in SLOW else w
        for w in course.WEEKS
    ]


@pytest.fixture()
def release(tmp_path, repo) -> Path:
    """A student's view: only assignments/, plus a poisoned reference package."""
    shutil.copytree(repo / "assignments", tmp_path / "assignments")
    (tmp_path / "poison" / "gene46100_ref").mkdir(parents=True)
    (tmp_path / "poison" / "gene46100_ref" / "__init__.py").write_text(POISON)
    return tmp_path


def self_check(
    release: Path, week: str, example: str | None = None
) -> subprocess.CompletedProcess:
    """Run the week's self-check, on the untouched release or with ``example`` (an
    example submission's name, or a notebook's path) in place."""
    folder = release / "assignments" / week
    if isinstance(example, Path):
        shutil.copyfile(example, folder / f"{week}.ipynb")
    elif example is not None:
        place_example(week, example, folder)
    env = {**os.environ, "PYTHONPATH": str(release / "poison")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", f"assignments/{week}"],
        cwd=release,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def question_lines(output: str, week: str) -> dict[str, str]:
    lines = {}
    notebook = f"{week}.ipynb"
    for line in output.splitlines():
        if f"{notebook}::q" in line and line.split("::")[0].endswith(notebook):
            lines[line.split("::")[1].split()[0]] = line
    return lines


# ------------------------------------------------------------------ every week


@pytest.mark.parametrize("week", weeks())
def test_untouched_notebook_says_not_implemented_for_every_question(release, week):
    run = self_check(release, week)
    lines = question_lines(run.stdout, week)
    assert sorted(lines) == sorted(course.week(week).budgets), run.stdout[-3000:]
    for name, line in lines.items():
        if runs_a_script(week, name):  # fails, naming the file that is missing
            message = next(
                (s for s in run.stdout.splitlines() if s.startswith(f"{name}: ")), ""
            )
            assert "FAILED" in line, run.stdout[-3000:]
            assert any(f in message for f in course.week(week).companions), message
        else:
            assert "SKIPPED" in line and "not implemented yet" in line, run.stdout[
                -3000:
            ]
    assert "Traceback" not in run.stdout
    assert "PUBLIC tests only" in run.stdout and "hidden tests" in run.stdout


@pytest.mark.parametrize("week", weeks())
def test_complete_notebook_passes_every_public_test(release, week):
    run = self_check(release, week, completed_example(week).name)
    lines = question_lines(run.stdout, week)
    assert sorted(lines) == sorted(course.week(week).budgets), run.stdout[-3000:]
    assert all("PASSED" in line for line in lines.values()), run.stdout[-3000:]
    assert run.returncode == 0


# ------------------------------------------------------------------ week 1


def test_wrong_gradient_fails_q3_only_with_a_message(release):
    run = self_check(release, "week1", "carol_half_gradient")
    lines = question_lines(run.stdout, "week1")
    assert "FAILED" in lines["q3"], run.stdout[-3000:]
    assert "half" in run.stdout and "Traceback" not in run.stdout
    # q4 and q6 call the student's own gradient in the self-check, and say so.
    for name in ("q4", "q6"):
        assert "FAILED" in lines[name] and "fix it first" in run.stdout
    independent = set(lines) - {"q3", "q4", "q6"}
    assert all("PASSED" in lines[name] for name in independent), run.stdout[-3000:]


def test_cells_tagged_otter_ignore_are_skipped_as_the_grader_skips_them(release, repo):
    """A demo cell that would break q2 (and one that would hang) is not run."""
    nb = nbformat.read(repo / "examples/submissions/week1/alice_complete.ipynb", 4)
    for source in ("mse_loss = None  # would fail q2", "while True:\n    pass"):
        nb.cells.append(
            nbformat.v4.new_code_cell(source, metadata={"tags": ["otter_ignore"]})
        )
    path = release / "tagged.ipynb"
    nbformat.write(nb, path)
    run = self_check(release, "week1", path)
    lines = question_lines(run.stdout, "week1")
    assert sorted(lines) == sorted(course.week("week1").budgets), run.stdout[-3000:]
    assert all("PASSED" in line for line in lines.values()), run.stdout[-3000:]
    assert "otter_ignore" in run.stdout


# ------------------------------------------------------------------ week 2


@pytest.mark.slow
def test_flipped_kernel_fails_q1_only_with_a_message(release):
    run = self_check(release, "week2", "carol_flipped_kernel")
    lines = question_lines(run.stdout, "week2")
    assert "FAILED" in lines["q1"], run.stdout[-3000:]
    assert "flipped kernel" in run.stdout and "Traceback" not in run.stdout
    assert all("PASSED" in lines[q] for q in set(lines) - {"q1"}), run.stdout[-3000:]
