"""Self-check latency: ``pytest assignments/week1`` and one ``grader.check`` call.

The pytest run uses a copy of ``assignments/`` whose notebook is a complete
submission (the student's view: no reference package needed). ``grader.check`` is
timed in a separate Python process that defines the answers, as a notebook kernel
would, and calls Otter's ``Notebook.check`` for every question.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from benchmarks import submissions
from benchmarks.common import REPO, Context, Row, Stat, fmt_value, run_quiet

NAME = "selfcheck"
DESCRIPTION = "pytest assignments/week1 on a complete notebook; one grader.check call"
CHECK_CALLS = 20  # warm calls per question

# Runs in a fresh process: define the answers, then time grader.check per question.
CHECK_SCRIPT = r"""
import json, os, sys, time
os.chdir(sys.argv[1])
namespace = {"__name__": "__main__"}
exec(compile(open(sys.argv[2]).read(), "answers", "exec"), namespace)
start = time.perf_counter()
import otter
grader = otter.Notebook(tests_dir="tests")
setup = time.perf_counter() - start
questions = sorted((p[:-3] for p in os.listdir("tests") if p.endswith(".py")),
                   key=lambda q: int(q[1:]))
cold, warm = {}, {}
for q in questions:
    t = time.perf_counter()
    result = grader.check(q, global_env=namespace)
    cold[q] = time.perf_counter() - t
    assert "passed" in repr(result).lower() or "All test cases passed" in str(result), (
        q, str(result)[:300])
    times = []
    for _ in range(int(sys.argv[3])):
        t = time.perf_counter()
        grader.check(q, global_env=namespace)
        times.append(time.perf_counter() - t)
    warm[q] = sorted(times)[len(times) // 2]
print(json.dumps({"setup": setup, "cold": cold, "warm": warm}))
"""


def release_copy(ctx: Context, notebook: nbformat.NotebookNode, name: str) -> Path:
    """A student's folder: ``assignments/`` with ``notebook`` as week1.ipynb."""
    root = ctx.scratch / name
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(REPO / "assignments", root / "assignments")
    nbformat.write(notebook, root / "assignments/week1/week1.ipynb")
    return root


def answers_only(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Imports, the setup cell and the answer cells: no demos or plots."""
    keep = [
        c
        for c in nb.cells
        if c.cell_type == "code"
        and (
            submissions.examples.ANSWER_TAG in c.metadata.get("tags", [])
            or "import otter" in c.source
            or c.source.startswith("from __future__")
        )
    ]
    return nbformat.v4.new_notebook(cells=keep, metadata=nb.metadata)


def time_pytest(root: Path, repeats: int) -> Stat:
    values = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run_quiet(
            [sys.executable, "-m", "pytest", "-q", "assignments/week1"],
            cwd=root,
            timeout=1200,
        )
        values.append(time.perf_counter() - start)
        if "10 passed" not in result.stdout:
            raise RuntimeError(
                f"self-check did not pass 10 questions:\n{result.stdout[-1500:]}"
            )
    return Stat(values)


def time_checks(ctx: Context, root: Path, repeats: int) -> list[dict]:
    folder = root / "assignments/week1"
    answers = REPO / "examples/answers/week1_independent.py"
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                CHECK_SCRIPT,
                str(folder),
                str(answers),
                str(CHECK_CALLS),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"grader.check timing failed:\n{out.stderr[-2000:]}")
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return runs


def run(ctx: Context) -> list[Row]:
    release = nbformat.read(submissions.RELEASE, as_version=4)
    complete = submissions.examples.complete(release, submissions.ANSWERS.read_text())
    rows = []
    root = release_copy(ctx, complete, "selfcheck-complete")
    ctx.log("  selfcheck: pytest on the complete notebook")
    full = time_pytest(root, ctx.repeats)
    rows.append(
        Row(
            NAME,
            "pytest assignments/week1, complete notebook",
            "s",
            full,
            goal_max=5.0,
            note="runs the cells the grader runs (demos tagged otter_ignore "
            "skipped), then the public tests",
        )
    )
    short = release_copy(ctx, answers_only(complete), "selfcheck-answers")
    ctx.log("  selfcheck: pytest on the answer cells only")
    rows.append(
        Row(
            NAME,
            "pytest, answer cells only (no demos)",
            "s",
            time_pytest(short, ctx.repeats),
            goal_max=5.0,
            note=(
                "imports, setup and answer cells alone: the least a self-check can run"
            ),
        )
    )
    ctx.log("  selfcheck: grader.check calls")
    runs = time_checks(ctx, root, ctx.repeats)
    last = runs[-1]["warm"]
    ranked = sorted(last, key=last.get, reverse=True)
    rows.append(
        Row(
            NAME,
            "grader.check, typical question (warm)",
            "s",
            Stat([statistics.median(r["warm"].values()) for r in runs]),
            goal_max=0.05,
            note=f"median over the {len(last)} questions of the "
            f"median of {CHECK_CALLS} calls each",
        )
    )
    rows.append(
        Row(
            NAME,
            "grader.check, slowest question (warm)",
            "s",
            Stat([max(r["warm"].values()) for r in runs]),
            goal_max=0.05,
            note="slowest: "
            + ", ".join(f"{q} {fmt_value(last[q], 's')}" for q in ranked[:3])
            + " (their public tests call the student's training code)",
        )
    )
    rows.append(
        Row(
            NAME,
            "grader.check, first call per question (cold)",
            "s",
            Stat([max(r["cold"].values()) for r in runs]),
            goal_max=0.05,
            note="includes Otter reading the test file the first time",
        )
    )
    rows.append(
        Row(
            NAME,
            "import otter + otter.Notebook()",
            "s",
            Stat([r["setup"] for r in runs]),
            note="once per notebook session",
        )
    )
    return rows
