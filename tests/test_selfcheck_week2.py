"""``pytest assignments/week2`` from a copy of assignments/ outside the repository.

As for week 1 (tests/test_selfcheck.py): the copy runs with a poisoned
``gene46100_ref`` first on the path, so any use of the reference (or of hidden tests)
by the self-check fails loudly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

POISON = 'raise ImportError("the self-check must not need gene46100_ref")\n'
EXAMPLES = "examples/submissions/week2"


@pytest.fixture()
def release(tmp_path, repo) -> Path:
    """A student's view: only assignments/, plus a poisoned reference package."""
    shutil.copytree(repo / "assignments", tmp_path / "assignments")
    (tmp_path / "poison" / "gene46100_ref").mkdir(parents=True)
    (tmp_path / "poison" / "gene46100_ref" / "__init__.py").write_text(POISON)
    return tmp_path


def self_check(
    release: Path, notebook: Path | None = None
) -> subprocess.CompletedProcess:
    if notebook is not None:
        shutil.copyfile(notebook, release / "assignments/week2/week2.ipynb")
    env = {**os.environ, "PYTHONPATH": str(release / "poison")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "assignments/week2"],
        cwd=release,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def question_lines(output: str) -> dict[str, str]:
    lines = {}
    for line in output.splitlines():
        if "week2.ipynb::q" in line and line.split("::")[0].endswith("week2.ipynb"):
            lines[line.split("::")[1].split()[0]] = line
    return lines


@pytest.mark.slow
def test_untouched_notebook_says_not_implemented_for_every_question(release):
    run = self_check(release)
    lines = question_lines(run.stdout)
    assert len(lines) == 8, run.stdout[-3000:]
    assert all(
        "SKIPPED" in line and "not implemented yet" in line for line in lines.values()
    ), run.stdout[-3000:]
    assert "Traceback" not in run.stdout
    assert "PUBLIC tests only" in run.stdout


@pytest.mark.slow
def test_complete_notebook_passes_every_public_test(release, repo):
    run = self_check(release, repo / EXAMPLES / "alice_complete.ipynb")
    lines = question_lines(run.stdout)
    assert len(lines) == 8 and all("PASSED" in line for line in lines.values()), (
        run.stdout[-3000:]
    )
    assert run.returncode == 0


@pytest.mark.slow
def test_flipped_kernel_fails_q1_only_with_a_message(release, repo):
    run = self_check(release, repo / EXAMPLES / "carol_flipped_kernel.ipynb")
    lines = question_lines(run.stdout)
    assert "FAILED" in lines["q1"], run.stdout[-3000:]
    assert "flipped kernel" in run.stdout and "Traceback" not in run.stdout
    assert all("PASSED" in lines[q] for q in set(lines) - {"q1"}), run.stdout[-3000:]
