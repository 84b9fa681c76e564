"""pytest plug-in for students: ``pytest week1`` (in the assignments folder) checks
your notebook.

It runs your notebook top to bottom in a fresh process (skipping the cells tagged
``otter_ignore``, demos and plots, as the grader does), then the PUBLIC tests of each
question: they check the contract (names, types, shapes, one small example), not
that your answer is right. Your grade comes from hidden tests on other inputs.
The messages are the ones ``grader.check`` prints in the notebook (_selfcheck/voice.py).
Exit status 0 only when every question passes its public tests.
"""

import json
import os
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "_selfcheck", "run_public.py")
PINS = os.path.join(HERE, "requirements.txt")  # the pins, for install lines
NOTEBOOK_TIMEOUT_S = 600
NOT_DONE = pytest.StashKey()
GPU_NOTES = pytest.StashKey()


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".ipynb" and ".ipynb_checkpoints" not in file_path.parts:
        return NotebookFile.from_parent(parent, path=file_path)
    return None


def pytest_report_header(config):
    return (
        "Self-check: PUBLIC tests only (contract, not correctness). Cells tagged "
        "otter_ignore (demos, plots) are skipped, as the grader skips them."
    )


def pytest_sessionfinish(session, exitstatus):
    """Not done is not a success: exit 1 while a question is not implemented."""
    if session.config.stash.get(NOT_DONE, []) and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    write = terminalreporter.write_line
    if not terminalreporter.stats.get("passed") and not any(
        terminalreporter.stats.get(k) for k in ("failed", "skipped", "error")
    ):
        args = " ".join(config.args) or "."
        write(
            f"Nothing to check in {args}: no notebook (.ipynb) there. From the "
            "assignments folder run `pytest week1` (the week's folder, with its "
            "notebook and tests/)."
        )
        return
    for line in config.stash.get(GPU_NOTES, []):
        write(line)
    not_done = config.stash.get(NOT_DONE, [])
    if not_done:
        write(
            f"{len(not_done)} question(s) not implemented yet: "
            f"{', '.join(not_done)} (the self-check exits 1 until every one is)."
        )
    write(
        "These are public tests: passing them does not mean full marks; "
        "hidden tests check values on inputs you have not seen."
    )


class NotebookFile(pytest.File):
    """One notebook; one test item per public test file (question)."""

    def collect(self):
        tests_dir = self.path.parent / "tests"
        tests = sorted(tests_dir.glob("q*.py"), key=question_order)
        if not tests:
            yield QuestionItem.from_parent(self, name="setup")
        for test_path in tests:
            yield QuestionItem.from_parent(self, name=test_path.stem)

    def results(self):
        if not hasattr(self, "_results"):
            tests = self.path.parent / "tests"
            if not tests.is_dir():
                self._results = {
                    "error": f"no tests/ folder beside {self.path.name}: run the "
                    "notebook's setup cell once (it writes tests/), or use the "
                    "whole assignments release"
                }
            else:
                self._results = execute(str(self.path), str(tests))
        return self._results


def question_order(path):
    """q1, q2, ..., q10 (not q1, q10, q2)."""
    digits = "".join(ch for ch in path.stem if ch.isdigit())
    return (path.stem.rstrip("0123456789"), int(digits or 0), path.stem)


def execute(notebook, tests_dir):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        command = [sys.executable, RUNNER, notebook, tests_dir, out, PINS]
        try:
            run = subprocess.run(
                command, capture_output=True, text=True, timeout=NOTEBOOK_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            return {"error": f"the notebook took more than {NOTEBOOK_TIMEOUT_S} s"}
        if not os.path.exists(out):
            tail = "\n".join(run.stderr.strip().splitlines()[-5:])
            return {"error": f"the notebook could not be run:\n{tail}"}
        with open(out) as f:
            return json.load(f)


class QuestionFailed(Exception):
    pass


class QuestionItem(pytest.Item):
    def runtest(self):
        results = self.parent.results()
        if "missing" in results:  # one line, once: nothing can be checked without it
            pytest.exit(results["message"], returncode=3)
        if "error" in results:
            raise QuestionFailed(results["error"])
        result = results["questions"].get(self.name, {"status": "missing"})
        if result.get("gpu_line"):
            self.config.stash.setdefault(GPU_NOTES, []).append(result["gpu_line"])
        if result["status"] == "not_implemented":
            self.config.stash.setdefault(NOT_DONE, []).append(self.name)
            pytest.skip("not implemented yet")
        if result["status"] == "failed":
            raise QuestionFailed(result.get("message", "a public test failed"))
        if result["status"] != "passed":
            raise QuestionFailed("no result: did the notebook run to the end?")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, QuestionFailed):
            return f"{self.name}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, self.name
