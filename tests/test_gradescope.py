"""The Gradescope zip, run by its own run_autograder, scores like gene46100 grade."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from helpers import REPO, minimal_complete

from gene46100 import cli, course
from gene46100.build import examples
from gene46100.grader import sandbox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sandbox.bwrap_path() is None, reason="no bubblewrap"),
]
ZIP = REPO / "autograder/week1/week1-autograder.zip"
SPEC = json.loads((REPO / "autograder/week1/assignment.json").read_text())
RELEASE = REPO / "assignments/week1/week1.ipynb"
HALF = course.HALF_GRADIENT


def submissions(folder: Path) -> dict[str, Path]:
    """A complete, a partly wrong and an untouched (the release) notebook."""
    folder.mkdir()
    honest = minimal_complete()
    half = examples.with_replaced(honest, "mse_gradient", "import numpy as np\n" + HALF)
    paths = {
        "honest": folder / "honest.ipynb",
        "half": folder / "half.ipynb",
        "untouched": folder / "untouched.ipynb",
    }
    nbformat.write(honest, paths["honest"])
    nbformat.write(half, paths["half"])
    paths["untouched"].write_bytes(RELEASE.read_bytes())
    return paths


def run_on_gradescope(tmp: Path, notebook: Path) -> dict:
    """Unzip into a simulated /autograder and run its run_autograder."""
    root = tmp / f"gs-{notebook.stem}"
    (root / "submission").mkdir(parents=True)
    with zipfile.ZipFile(ZIP) as zf:
        zf.extractall(root / "source")
    (root / "submission" / notebook.name).write_bytes(notebook.read_bytes())
    script = root / "source" / "run_autograder"
    script.chmod(0o755)
    env = {
        **os.environ,
        "AUTOGRADER_ROOT": str(root),
        "AUTOGRADER_PYTHON": sys.executable,
        # the zip's own copy of the package must be what runs, not this checkout
        "PYTHONPATH": str(root / "source" / "gene46100"),
    }
    run = subprocess.run(
        [str(script)], env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text())


def test_zip_holds_what_gradescope_needs():
    with zipfile.ZipFile(ZIP) as zf:
        names = set(zf.namelist())
        mode = zf.getinfo("run_autograder").external_attr >> 16
    assert {
        "setup.sh",
        "run_autograder",
        "gene46100/constraints.txt",
        "gene46100/autograder/week1/assignment.json",
        "gene46100/gene46100/checks/week1/q03_gradient.py",
    } <= names
    assert mode & 0o111, "run_autograder must be executable"


def test_gradescope_scores_equal_gene46100_grade(tmp_path):
    paths = submissions(tmp_path / "batch")
    out = tmp_path / "out"
    assert (
        cli.main(
            [
                "grade",
                "week1",
                str(tmp_path / "batch"),
                "--out",
                str(out),
                "--jobs",
                "2",
                "--quiet",
            ]
        )
        == 0
    )
    local = {
        Path(json.loads(x)["file"]).stem: json.loads(x)
        for x in (out / "records.jsonl").read_text().splitlines()
    }
    totals = set()
    for name, path in paths.items():
        results = run_on_gradescope(tmp_path, path)
        assert results["score"] == local[name]["total"]  # no manual grade yet
        # every question, autograded and written, in the spec's order, each worth
        # its points: the same tests and the same total for every student
        tests = results["tests"]
        assert [t["name"].split()[0] for t in tests] == [
            q["name"] for q in SPEC["questions"]
        ]
        assert [t["max_score"] for t in tests] == [
            q["points"] for q in SPEC["questions"]
        ]
        totals.add(sum(t["max_score"] for t in tests))
        per_test = {t["name"].split()[0]: t for t in tests}
        for q in local[name]["questions"]:
            test = per_test[q["name"]]
            if q["status"] == "manual":  # not graded yet: pending, never failed
                assert test["status"] == "passed" and test["score"] == 0
                assert "pending" in test["name"]
                assert test["output"].startswith("Pending: graded by a person.")
            else:
                assert test["score"] == q["score"], (name, q["name"])
        written = sum(q["points"] for q in SPEC["questions"] if q["manual"])
        assert f"{written:g} points still to be graded" in results["output"]
    assert totals == {sum(q["points"] for q in SPEC["questions"])}
    assert local["half"]["total"] == local["honest"]["total"] - 2
    assert local["untouched"]["total"] == 0
