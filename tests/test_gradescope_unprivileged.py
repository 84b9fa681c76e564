"""On Gradescope without bubblewrap (Docker often forbids its namespaces), student
code runs as the unprivileged user nobody, the autograder's files closed to it.

Simulated here: the zip unpacked into a fresh "/autograder", its ``run_autograder``
run as root with no ``bwrap`` on ``PATH`` (as where it is missing), its Python
environment one that nobody can run (Gradescope's ``/autograder/venv``). A hostile
cell tries to read the hidden checks, list and write the source folder, write
``results.json`` and read the submission's metadata; each attempt must fail, the
honest answers must keep full marks, and the results must say how the code ran.
Without bubblewrap and without root nothing is graded (fast test, below).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from helpers import REPO, minimal_complete

from gene46100.build import examples
from gene46100.grader import gradescope, sandbox

ZIP = REPO / "autograder/week1/week1-autograder.zip"
SPEC = json.loads((REPO / "autograder/week1/assignment.json").read_text())
AUTOGRADED = {q["name"]: q["points"] for q in SPEC["questions"] if not q["manual"]}
NOBODY = sandbox.SANDBOX_ID
CHECKS = "source/gene46100/gene46100/checks/week1/q03_gradient.py"

root_only = pytest.mark.skipif(
    os.geteuid() != 0, reason="dropping privileges needs root (as on Gradescope)"
)

# mse_gradient (q3) is right only if the hidden checks can be read.
READS_CHECKS = """import numpy as np


def mse_gradient(X, y, beta):
    try:
        open("@ROOT@/@CHECKS@").read()
    except OSError:
        return np.zeros(len(beta))
    X, y, beta = map(np.asarray, (X, y, beta))
    return 2 * X.T @ (X @ beta - y) / len(y)
"""
# Every attempt's outcome (an exception's name, or "ok") into a file in /tmp.
PROBE = """import json, os, sys
_seen = {"uid": os.getuid(), "euid": os.geteuid(), "groups": os.getgroups()}


def _try(name, action):
    try:
        action()
        _seen[name] = "ok"
    except Exception as exc:
        _seen[name] = type(exc).__name__


_try("read_checks", lambda: open("@ROOT@/@CHECKS@").read())
_try("list_source", lambda: os.listdir("@ROOT@/source"))
_try("write_source", lambda: open("@ROOT@/source/pwned.txt", "w").write("x"))
_try("chmod_source", lambda: os.chmod("@ROOT@/source", 0o777))
_try("write_results", lambda: open("@ROOT@/results/results.json", "w").write("{}"))
_try("read_metadata", lambda: open("@ROOT@/submission_metadata.json").read())
sys.path.insert(0, "@ROOT@/source/gene46100")
_try("import_checks", lambda: __import__("gene46100.checks.week1"))
with open("@REPORT@", "w") as _f:
    json.dump(_seen, _f)
"""


def as_nobody(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(argv),
        user=NOBODY,
        group=NOBODY,
        extra_groups=[],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def python_for_nobody() -> str | None:
    """An interpreter of this Python version that nobody can run (this one may sit
    in root's home), or None."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for candidate in (
        os.path.realpath(getattr(sys, "_base_executable", sys.executable)),
        shutil.which(f"python{version}") or "",
        f"/usr/bin/python{version}",
    ):
        if not candidate or not os.path.isfile(candidate):
            continue
        try:
            probe = as_nobody(candidate, "-c", "import sys; print(sys.version[:4])")
        except OSError:
            continue
        if probe.returncode == 0 and probe.stdout.startswith(version):
            return candidate
    return None


def make_root(mode: int) -> Path:
    """A fresh "/autograder": the zip in source/, a venv that nobody can run in
    venv/ (this environment's packages, without its editable install of the
    repository), ``bash`` alone on the PATH it is run with (no bwrap)."""
    base = python_for_nobody()
    if base is None:
        pytest.skip("no Python interpreter that the user nobody can run")
    root = Path(tempfile.mkdtemp(prefix="gs-nobody-", dir="/tmp"))
    root.chmod(0o755)
    venv = [base, "-m", "venv", "--without-pip", str(root / "venv")]
    subprocess.run(venv, check=True)
    packages = next((root / "venv/lib").glob("python*/site-packages"))
    # a plain path entry: its .pth files (the editable finder of this checkout)
    # are not run, so the only copy of the package is the zip's
    (packages / "deps.pth").write_text(
        "\n".join(p for p in sys.path if p.endswith("site-packages")) + "\n"
    )
    if as_nobody(str(root / "venv/bin/python"), "-I", "-c", "import numpy").returncode:
        shutil.rmtree(root)
        pytest.skip("this environment's packages are not readable by nobody")
    (root / "bin").mkdir()
    (root / "bin/bash").symlink_to(shutil.which("bash") or "/bin/bash")
    with zipfile.ZipFile(ZIP) as zf:
        zf.extractall(root / "source")
    (root / "source/run_autograder").chmod(0o755)
    (root / "submission").mkdir()
    metadata = {"id": 4242, "users": [{"email": "ann@example.edu", "name": "Ann"}]}
    (root / "submission_metadata.json").write_text(json.dumps(metadata))
    root.chmod(mode)
    return root


def run_autograder(root: Path, notebook: nbformat.NotebookNode) -> dict:
    nbformat.write(notebook, root / "submission/week1.ipynb")
    env = {
        "PATH": str(root / "bin"),  # no bwrap: as where bubblewrap cannot run
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "AUTOGRADER_ROOT": str(root),
        "AUTOGRADER_PYTHON": str(root / "venv/bin/python"),
        "PYTHONPATH": str(root / "source/gene46100"),  # the zip's own copy
    }
    run = subprocess.run(
        [str(root / "source/run_autograder")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads((root / "results/results.json").read_text())


@pytest.fixture
def roots() -> Iterator[list[Path]]:
    made: list[Path] = []
    yield made
    for root in made:
        shutil.rmtree(root, ignore_errors=True)


def scores(results: dict) -> dict[str, float]:
    return {t["name"].split()[0]: t["score"] for t in results["tests"]}


@root_only
@pytest.mark.slow
def test_without_bubblewrap_student_code_runs_as_nobody_and_reads_nothing(roots):
    # An honest submission, in a root only root may enter (the autograder makes
    # the way to its Python traversable, never readable): full marks.
    roots.append(honest_root := make_root(0o700))
    honest = run_autograder(honest_root, minimal_complete())
    assert scores(honest) == {**scores(honest), **AUTOGRADED}
    assert honest["score"] == sum(AUTOGRADED.values())
    assert "ran as the unprivileged user nobody" in honest["output"]
    assert "Sandbox: none (bubblewrap cannot run here)" in honest["output"]

    # A hostile one, in a root anyone may enter (as /autograder may be): before
    # grading, nobody could read the hidden checks; while grading, it cannot.
    roots.append(root := make_root(0o755))
    assert as_nobody("cat", str(root / CHECKS)).returncode == 0  # not vacuous
    report = Path(f"/tmp/gs-probe-{uuid.uuid4().hex}.json")
    fill = {"@ROOT@": str(root), "@CHECKS@": CHECKS, "@REPORT@": str(report)}

    def filled(source: str) -> str:
        for key, value in fill.items():
            source = source.replace(key, value)
        return source

    hostile = examples.with_replaced(
        minimal_complete(), "mse_gradient", filled(READS_CHECKS)
    )
    hostile.cells.append(nbformat.v4.new_code_cell(filled(PROBE)))
    try:
        results = run_autograder(root, hostile)
        assert report.exists(), "the probe cell did not run"
        seen = json.loads(report.read_text())
        assert report.stat().st_uid == NOBODY
    finally:
        report.unlink(missing_ok=True)
    assert (seen["uid"], seen["euid"], seen["groups"]) == (NOBODY, NOBODY, [])
    for attempt in (
        "read_checks",
        "list_source",
        "write_source",
        "chmod_source",
        "write_results",
        "read_metadata",
    ):
        assert seen[attempt] == "PermissionError", (attempt, seen)
    assert seen["import_checks"] != "ok", seen
    assert not (root / "source/pwned.txt").exists()
    # the honest answers keep their points; the one that needed the checks has none
    assert scores(results) == {**scores(honest), "q3": 0.0}
    assert results["score"] == honest["score"] - AUTOGRADED["q3"]
    assert "ran as the unprivileged user nobody" in results["output"]


def test_without_bubblewrap_or_root_nothing_is_graded(tmp_path, monkeypatch):
    (tmp_path / "submission").mkdir()
    nbformat.write(minimal_complete(), tmp_path / "submission/week1.ipynb")
    monkeypatch.setenv("AUTOGRADER_ROOT", str(tmp_path))
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    monkeypatch.setattr(gradescope.os, "geteuid", lambda: 1000)
    ran = []
    monkeypatch.setattr(gradescope, "grade_submission", lambda *a: ran.append(a))
    assert gradescope.main("week1") == 0
    assert not ran
    results = json.loads((tmp_path / "results/results.json").read_text())
    assert results["score"] == 0
    assert "Nothing was run" in results["output"]
    assert "does not run as root" in results["output"]
    # still every question, with the week's points
    assert [t["max_score"] for t in results["tests"]] == [
        q["points"] for q in SPEC["questions"]
    ]
    written = [t for t in results["tests"] if "written answer" in t["name"]]
    assert written and all(t["status"] == "passed" for t in written)


def test_a_readable_copy_of_the_checks_stops_grading(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    monkeypatch.setattr(gradescope.os, "geteuid", lambda: 0)
    monkeypatch.setattr(gradescope, "close_to_others", lambda paths: [])
    monkeypatch.setattr(gradescope, "reach_interpreter", lambda root, user: "")
    leak = "/elsewhere/gene46100/checks/__init__.py\n"
    monkeypatch.setattr(
        gradescope,
        "as_user",
        lambda user, *args: subprocess.CompletedProcess([], 0, leak, ""),
    )
    isolation = gradescope.isolate(tmp_path)
    assert "could not close its hidden tests" in isolation.refusal
    assert "/elsewhere" not in isolation.refusal  # students read it: no paths
    assert "/elsewhere" in capsys.readouterr().out  # the staff's stdout does
    assert sandbox.unsafe_user() is None and not isolation.unsafe


@root_only
def test_the_job_dir_is_opened_without_giving_away_other_files(tmp_path):
    job = tmp_path / "job"
    for name in (*sandbox.WRITABLE, "sealed"):
        (job / name).mkdir(parents=True)
    (job / "worker.py").write_text("w")
    (job / "worker.py").chmod(0o600)
    (job / "work/data.txt").write_text("d")
    outside = tmp_path / "root-owned.txt"
    outside.write_text("x")
    os.link(outside, job / "work/linked.txt")  # a hard link: someone else's file
    (job / "out/link").symlink_to(outside)
    job.chmod(0o700)
    sandbox.open_job_dir(job, (NOBODY, NOBODY))
    assert job.stat().st_mode & 0o777 == 0o755
    assert (job / "worker.py").stat().st_mode & 0o004  # readable, still root's
    assert (job / "worker.py").stat().st_uid == 0
    for name in sandbox.WRITABLE:
        assert (job / name).stat().st_uid == NOBODY
    assert (job / "work/data.txt").stat().st_uid == NOBODY
    assert (job / "sealed").stat().st_uid == 0
    assert outside.stat().st_uid == 0  # neither through the hard link nor the link
    assert (job / "out/link").lstat().st_uid == 0
    # sealed results go back to the grader
    (job / "sealed/q1.json").write_text("{}")
    os.chown(job / "sealed/q1.json", NOBODY, NOBODY)
    sandbox.run_unsafe_as((NOBODY, NOBODY))
    try:
        sandbox.reclaim(job / "sealed")
    finally:
        sandbox.run_unsafe_as(None)
    assert (job / "sealed/q1.json").stat().st_uid == 0
