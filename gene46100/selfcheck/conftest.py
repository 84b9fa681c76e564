"""pytest plug-in for students: ``pytest assignments/week1`` checks your notebook.

It runs your notebook top to bottom in a fresh process (skipping the cells tagged
``otter_ignore``, demos and plots, as the grader does), then the PUBLIC tests of each
question: they check the contract (names, types, shapes, one small example), not
that your answer is right. Your grade comes from hidden tests on other inputs.
"""

import json
import os
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "_selfcheck", "run_public.py")
NOTEBOOK_TIMEOUT_S = 600


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".ipynb" and (file_path.parent / "tests").is_dir():
        if ".ipynb_checkpoints" not in file_path.parts:
            return NotebookFile.from_parent(parent, path=file_path)
    return None


def pytest_report_header(config):
    return (
        "Self-check: PUBLIC tests only (contract, not correctness). Cells tagged "
        "otter_ignore (demos, plots) are skipped, as the grader skips them."
    )


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(
        "These are public tests: passing them does not mean full marks; "
        "hidden tests check values on inputs you have not seen."
    )


class NotebookFile(pytest.File):
    """One notebook; one test item per public test file (question)."""

    def collect(self):
        tests_dir = self.path.parent / "tests"
        for test_path in sorted(tests_dir.glob("*.py"), key=question_order):
            yield QuestionItem.from_parent(self, name=test_path.stem)

    def results(self):
        if not hasattr(self, "_results"):
            self._results = execute(str(self.path), str(self.path.parent / "tests"))
        return self._results


def question_order(path):
    """q1, q2, ..., q10 (not q1, q10, q2)."""
    digits = "".join(ch for ch in path.stem if ch.isdigit())
    return (path.stem.rstrip("0123456789"), int(digits or 0), path.stem)


def execute(notebook, tests_dir):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        command = [sys.executable, RUNNER, notebook, tests_dir, out]
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
        if "error" in results:
            raise QuestionFailed(results["error"])
        result = results["questions"].get(self.name, {"status": "missing"})
        if result["status"] == "not_implemented":
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
