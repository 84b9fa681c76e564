"""``pytest assignments/week1`` from a copy of assignments/ outside the repository.

The copy runs with a poisoned ``gene46100_ref`` first on the path, so any use of the
reference (or of hidden tests) by the self-check fails loudly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

POISON = 'raise ImportError("the self-check must not need gene46100_ref")\n'


@pytest.fixture()
def release(tmp_path, repo) -> Path:
    """A student's view: only assignments/, plus a poisoned reference package."""
    shutil.copytree(repo / "assignments", tmp_path / "assignments")
    (tmp_path / "poison" / "gene46100_ref").mkdir(parents=True)
    (tmp_path / "poison" / "gene46100_ref" / "__init__.py").write_text(POISON)
    return tmp_path


def self_check(
    release: Path, notebook_source: Path | None = None
) -> subprocess.CompletedProcess:
    if notebook_source is not None:
        shutil.copyfile(notebook_source, release / "assignments/week1/week1.ipynb")
    env = {**os.environ, "PYTHONPATH": str(release / "poison")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "assignments/week1"],
        cwd=release,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def question_lines(output: str) -> dict[str, str]:
    lines = {}
    for line in output.splitlines():
        if "week1.ipynb::q" in line and line.split("::")[0].endswith("week1.ipynb"):
            name = line.split("::")[1].split()[0]
            lines[name] = line
    return lines


def test_untouched_notebook_says_not_implemented_for_every_question(release):
    run = self_check(release)
    lines = question_lines(run.stdout)
    assert len(lines) == 10, run.stdout[-3000:]
    assert all(
        "SKIPPED" in line and "not implemented yet" in line for line in lines.values()
    ), run.stdout[-3000:]
    assert "Traceback" not in run.stdout
    assert "PUBLIC tests only" in run.stdout and "hidden tests" in run.stdout


def test_complete_notebook_passes_every_public_test(release, repo):
    run = self_check(release, repo / "examples/submissions/week1/alice_complete.ipynb")
    lines = question_lines(run.stdout)
    assert len(lines) == 10 and all("PASSED" in line for line in lines.values()), (
        run.stdout[-3000:]
    )
    assert run.returncode == 0


def test_wrong_gradient_fails_q3_only_with_a_message(release, repo):
    run = self_check(
        release, repo / "examples/submissions/week1/carol_half_gradient.ipynb"
    )
    lines = question_lines(run.stdout)
    assert "FAILED" in lines["q3"], run.stdout[-3000:]
    assert "half" in run.stdout and "Traceback" not in run.stdout
    # q4 and q6 call the student's own gradient in the self-check, and say so.
    for name in ("q4", "q6"):
        assert "FAILED" in lines[name] and "fix it first" in run.stdout
    independent = set(lines) - {"q3", "q4", "q6"}
    assert all("PASSED" in lines[name] for name in independent), run.stdout[-3000:]


def test_cells_tagged_otter_ignore_are_skipped_as_the_grader_skips_them(release, repo):
    """A demo cell that would break q2 (and one that would hang) is not run."""
    import nbformat

    nb = nbformat.read(repo / "examples/submissions/week1/alice_complete.ipynb", 4)
    for source in ("mse_loss = None  # would fail q2", "while True:\n    pass"):
        nb.cells.append(
            nbformat.v4.new_code_cell(source, metadata={"tags": ["otter_ignore"]})
        )
    path = release / "tagged.ipynb"
    nbformat.write(nb, path)
    run = self_check(release, path)
    lines = question_lines(run.stdout)
    assert len(lines) == 10 and all("PASSED" in line for line in lines.values()), (
        run.stdout[-3000:]
    )
    assert "otter_ignore" in run.stdout
