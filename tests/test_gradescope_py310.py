"""The Gradescope zip on Gradescope's own Python: Ubuntu 22.04's python3 is 3.10.

Its real ``setup.sh`` makes the venv with Python 3.10 (pyenv's, first on PATH, in a
simulated ``/autograder``) and installs constraints.txt's 3.10 pins; its
``run_autograder`` then grades with that venv, and every score must equal what
``gene46100 grade`` gives with this venv's Python and pins. What a user would notice
if this broke: Gradescope fails to build the autograder image (a pin with no 3.10
wheel, code that needs 3.11), or a student's score there differs from the TA's.

The install (torch's CUDA build from PyPI and its nvidia libraries: some 5.5 GB) runs
once for the module, and the venv is removed after it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from helpers import REPO, minimal_complete
from packaging.markers import Marker

from gene46100 import cli, course
from gene46100.build import examples
from gene46100.grader import sandbox

ZIP = REPO / "autograder/week1/week1-autograder.zip"
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def python310() -> Path | None:
    """The bin folder of pyenv's newest Python 3.10, or None."""
    found = []
    for folder in PYENV.glob("3.10.*"):
        match = re.fullmatch(r"3\.10\.(\d+)", folder.name)
        if match and (folder / "bin" / "python3").exists():
            found.append((int(match.group(1)), folder / "bin"))
    return max(found)[1] if found else None


PY310 = python310()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sandbox.bwrap_path() is None, reason="no bubblewrap"),
    pytest.mark.skipif(
        PY310 is None, reason=f"no Python 3.10 (pyenv's, in {PYENV}/3.10.*)"
    ),
]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without this venv's traces, Python 3.10 first on PATH."""
    outside = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "AUTOGRADER_PYTHON")
    env = {k: v for k, v in os.environ.items() if k not in outside}
    env["PATH"] = f"{PY310}:{env.get('PATH', '/usr/bin:/bin')}"
    return env | extra


def pins_for_310() -> dict[str, str]:
    """constraints.txt's pins as Python 3.10 reads them (its markers evaluated)."""
    env = {"python_version": "3.10", "python_full_version": "3.10.0"}
    found = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        spec, _, marker = line.split("#")[0].partition(";")
        if "==" in spec and (not marker.strip() or Marker(marker).evaluate(env)):
            name, version = spec.split("==", 1)
            found[name.strip().lower()] = version.strip()
    return found


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    """A simulated ``/autograder`` set up by the zip's own ``setup.sh``."""
    root = tmp_path_factory.mktemp("autograder-py310")
    with zipfile.ZipFile(ZIP) as zf:
        zf.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)
    start = time.monotonic()
    setup = subprocess.run(
        [str(root / "source" / "setup.sh")],
        cwd=root / "source",
        env=clean_env(AUTOGRADER_ROOT=str(root)),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    took = time.monotonic() - start
    print(f"\nsetup.sh with Python 3.10: {took:.0f} s", file=sys.stderr)
    try:
        assert setup.returncode == 0, (setup.stdout + setup.stderr)[-4000:]
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)  # gigabytes: not kept for pytest


def venv_python(root: Path) -> Path:
    return root / "venv" / "bin" / "python"


def run_on_gradescope(root: Path, notebook: Path) -> dict:
    """``run_autograder`` on ``notebook`` alone, with the venv setup.sh made."""
    submission = root / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    submission.mkdir()
    (submission / notebook.name).write_bytes(notebook.read_bytes())
    run = subprocess.run(
        [str(root / "source" / "run_autograder")],
        env=clean_env(AUTOGRADER_ROOT=str(root)),  # its default python: the venv's
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    return json.loads((root / "results" / "results.json").read_text())


def test_setup_sh_installs_the_310_pins_with_python_310(autograder):
    probe = (
        "import json, sys\n"
        "from importlib import metadata\n"
        "names = sys.argv[1:]\n"
        "found = {}\n"
        "for n in names:\n"
        "    try:\n"
        "        found[n] = metadata.version(n)\n"
        "    except metadata.PackageNotFoundError:\n"
        "        pass\n"
        "print(json.dumps({'python': sys.version_info[:2], 'found': found}))\n"
    )
    pins = pins_for_310()
    out = subprocess.run(
        [str(venv_python(autograder)), "-c", probe, *pins],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(out.stdout)
    assert seen["python"] == [3, 10]
    found = {n.lower(): v.split("+")[0] for n, v in seen["found"].items()}
    assert found, "nothing pinned is installed"
    for name, version in found.items():
        assert version == pins[name], name


def test_gradescope_on_310_scores_equal_gene46100_grade(autograder, tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    honest = minimal_complete()
    half = examples.with_replaced(
        honest, "mse_gradient", "import numpy as np\n" + course.HALF_GRADIENT
    )
    paths = {"honest": batch / "honest.ipynb", "half": batch / "half.ipynb"}
    nbformat.write(honest, paths["honest"])
    nbformat.write(half, paths["half"])

    out = tmp_path / "out"
    argv = ["grade", "week1", str(batch), "--out", str(out), "--jobs", "2", "--quiet"]
    assert cli.main(argv) == 0
    local = {
        Path(json.loads(x)["file"]).stem: json.loads(x)
        for x in (out / "records.jsonl").read_text().splitlines()
    }
    for name, path in paths.items():
        results = run_on_gradescope(autograder, path)
        assert results["score"] == local[name]["total"], name  # no manual grade yet
        # (a test is named by its question, then maybe words: tests/test_gradescope.py
        # holds the results format; here only the scores matter)
        per_test = {t["name"].split()[0]: t["score"] for t in results["tests"]}
        for q in local[name]["questions"]:
            if q["status"] == "manual":  # a written answer not graded yet: 0 points
                assert per_test.get(q["name"], 0) == 0, (name, q["name"])
            else:
                assert per_test[q["name"]] == q["score"], (name, q["name"])
    assert local["half"]["total"] == local["honest"]["total"] - 2
