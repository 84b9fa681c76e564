"""The README's one install command gives a working grader in a brand-new venv.

What a user would notice if this broke: a Dask worker or a Gradescope image set up with
``scripts/install.sh`` fails to install (janggu's ancient pins), or installs but cannot
grade week 3a (janggu's ChIP-seq peaks or a package file missing outside the dev venv).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gene46100.grader import sandbox

ROOT = Path(__file__).resolve().parent.parent


def run(cmd: list[str], **extra_env: str) -> subprocess.CompletedProcess:
    """``cmd`` from the repo root, outside the project venv; output's tail on error."""
    outside = ("VIRTUAL_ENV", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k not in outside}
    result = subprocess.run(
        cmd, cwd=ROOT, env=env | extra_env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result


@pytest.mark.slow
@pytest.mark.skipif(sandbox.bwrap_path() is None, reason="bubblewrap is not available")
def test_the_readme_install_grades_week3a_in_a_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", None) or sys.executable
    run([base, "-m", "venv", str(venv)])  # no access to the project venv's packages
    # The README's command: PYTHON=<venv>/bin/python bash scripts/install.sh cluster
    run(["bash", "scripts/install.sh", "cluster"], PYTHON=str(venv / "bin/python"))

    out = tmp_path / "out"
    examples = "examples/submissions/week3a"
    grade = [str(venv / "bin/gene46100"), "grade", "week3a", examples]
    run(grade + ["--out", str(out), "--jobs", "2", "--cell-timeout", "60", "--quiet"])
    records = {}
    for line in (out / "records.jsonl").read_text().splitlines():
        record = json.loads(line)
        records[record["id"].split("-")[0]] = record
    alice, bob = records["alice_complete"], records["bob_untouched"]
    assert alice["status"] == "graded", alice
    assert alice["total"] == alice["possible"] == 14, alice
    assert bob["total"] == 0, bob


def test_the_gradescope_zip_installs_with_the_same_script():
    with zipfile.ZipFile(ROOT / "autograder/week3a/week3a-autograder.zip") as zf:
        names = set(zf.namelist())
        setup = zf.read("setup.sh").decode()
    assert "scripts/install.sh" in setup
    for path in ("scripts/install.sh", "gene46100/cli.py", "gene46100_ref/tfdata.py"):
        assert f"gene46100/{path}" in names
