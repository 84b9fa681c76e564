"""One voice for both self-checks: each message of issue 13, as a student meets it.

``pytest <week>`` from a copy of the release (cases that need a notebook) and the
voice itself in-process (the words ``grader.check`` prints are the same functions).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from gene46100.selfcheck import voice

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "submissions"
ANSWER = "otter_answer_cell"


@pytest.fixture()
def release(tmp_path, repo) -> Path:
    shutil.copytree(repo / "assignments", tmp_path / "assignments")
    return tmp_path / "assignments"


def pytest_week(folder: Path, *args: str, env: dict | None = None):
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=folder,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def week1_with(release: Path, answers: dict[str, str]) -> None:
    """The complete week-1 example with some answer cells replaced."""
    nb = nbformat.read(EXAMPLES / "week1" / "alice_complete.ipynb", 4)
    for cell in nb.cells:
        if ANSWER not in cell.metadata.get("tags", []):
            continue
        for name, source in answers.items():
            if f"def {name}(" in cell.source:
                cell.source = source
    nbformat.write(nb, release / "week1" / "week1.ipynb")


@pytest.mark.slow
def test_a_cell_that_did_not_run_and_a_crash_are_named(release):
    week1_with(
        release,
        {
            "mse_loss": "def mse_loss(y_hat, y):\n    return float(\n"
            "        ((y_hat - y) ** 2).mean()\n\nprint('done')\n",
            "mse_gradient": "def mse_gradient(X, y, beta):\n    lookup = {}\n"
            "    return lookup[5]\n",
        },
    )
    run = pytest_week(release, "week1")
    out = run.stdout
    assert (
        "q2: `mse_loss` is not defined: the cell `def mse_loss(y_hat, y):` (q2) did "
        "not run: SyntaxError: '(' was never closed, line 2"
    ) in out, out[-3000:]
    assert (
        "q3: your `mse_gradient` raised KeyError: 5 at line 3 of its cell: "
        "`return lookup[5]`" in out
    )
    assert "NoneType" not in out and "Traceback" not in out
    assert run.returncode == 1


@pytest.mark.slow
def test_a_failure_prints_the_teaching_message_only(release):
    shutil.copyfile(
        EXAMPLES / "week1" / "carol_half_gradient.ipynb", release / "week1/week1.ipynb"
    )
    out = pytest_week(release, "week1").stdout
    line = next(
        s
        for s in out.splitlines()
        if s.startswith("q3: FAILED: ") or (s.startswith("q3: ") and "half" in s)
    )
    assert "half" in line
    assert (
        "assert " not in out and "def test_" not in out and "Error at line" not in out
    )


@pytest.mark.slow
def test_an_untouched_notebook_exits_non_zero_reading_not_implemented(release):
    shutil.copyfile(
        EXAMPLES / "week1" / "bob_untouched.ipynb", release / "week1/week1.ipynb"
    )
    run = pytest_week(release, "week1")
    assert run.returncode == 1, run.stdout[-2000:]
    assert run.stdout.count("SKIPPED") >= 10 and "FAILED" not in run.stdout
    assert "10 question(s) not implemented yet" in run.stdout


def test_a_missing_package_is_one_line_with_the_install_command(release, tmp_path):
    shutil.copyfile(
        EXAMPLES / "week1" / "alice_complete.ipynb", release / "week1/week1.ipynb"
    )
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "otter.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'otter'\", name='otter')\n"
    )
    run = pytest_week(release, "week1", env={"PYTHONPATH": str(hide)})
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert out.count("package otter is missing: pip install otter-grader==") == 1, out
    assert "Traceback" not in out


def test_a_folder_that_cannot_be_checked_says_why(release, tmp_path):
    empty = release / "week1" / "tests"  # a folder with no notebook
    run = pytest_week(release, str(empty))
    assert run.returncode != 0 and "no notebook (.ipynb) there" in run.stdout
    alone = release / "lone"
    alone.mkdir()
    shutil.copyfile(release / "week1/week1.ipynb", alone / "week1.ipynb")
    run = pytest_week(release, "lone")
    assert run.returncode != 0 and "no tests/ folder beside week1.ipynb" in run.stdout


# ------------------------------------------------------------------ the voice itself


def raised(function, *args) -> Exception:
    try:
        function(*args)
    except Exception as exc:
        return exc
    raise AssertionError("no exception")


def test_syntax_errors_read_as_python_says_them():
    exc = raised(compile, "def f(x):\n    return (x\n\ny = 1\n", "<cell>", "exec")
    assert voice.error_text(exc) == "SyntaxError: '(' was never closed, line 2"


def test_negative_strides_are_explained_in_course_terms():
    exc = ValueError("At least one stride in the given numpy array is negative")
    message = voice.crash_message(exc, {})
    assert "negative strides" in message and "np.ascontiguousarray" in message


def test_not_implemented_reads_the_same_in_both_self_checks():
    result = {"status": "not_implemented", "message": voice.NOT_IMPLEMENTED}
    assert voice.verdict("q4", result) == "q4: not implemented yet"
    exc = RuntimeError("wrapped")
    exc.__context__ = NotImplementedError("q4: implement it")
    assert voice.judge(exc, "tests/q4.py", {})[0] == "not_implemented"


def test_install_lines_come_from_the_release_pins(repo):
    pins = voice.pins_from_requirements(
        (repo / "assignments/requirements.txt").read_text()
    )
    assert voice.install_line("otter.test_files", pins).startswith(
        "pip install otter-grader=="
    )
    assert voice.install_line("janggu", {}) == "pip install --no-deps janggu"
