"""Where our grader's time goes on one complete week-1 submission, phase by phase.

Measured from outside the grader, without changing it: the benchmark calls the same
functions ``grade_submission`` calls (``load_assignment``, ``make_job``,
``run_sandbox``, ``score_question``) and timestamps the worker's progress events as
the supervisor receives them (by wrapping ``supervisor.apply_event`` in this process
only). Bare sandbox starts (``python -c pass`` and single imports under bubblewrap)
split the start-up into process start and imports.

The floor is the student's own compute: the notebook's cells other than imports and
self-checks, plus the hidden tests' calls into student code.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from benchmarks import submissions
from benchmarks.common import Context, CpuAccount, Row, Stat, run_quiet, skipped

NAME = "breakdown"
DESCRIPTION = "our grader's time per phase on one complete week-1 submission"
ANSWER_TAG = "otter_answer_cell"
CHECK_CALL = re.compile(r"^\s*grader\.\w+\(.*\)\s*$")
BARE_COMMANDS = {
    "python -c pass": "pass",
    "+ worker imports (numpy, IPython shell)": (
        "import numpy; from IPython.core.interactiveshell import InteractiveShell; "
        "InteractiveShell()"
    ),
    "+ import torch": "import torch",
    "+ import matplotlib.pyplot": "import matplotlib; matplotlib.use('Agg'); "
    "import matplotlib.pyplot",
}


@dataclass
class Timeline:
    """Monotonic timestamps of one sandbox run, as the supervisor saw its events."""

    begin: float = 0.0
    prepared: float = 0.0
    events: list[tuple[str, object, float]] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # question -> CPU seconds
    end: float = 0.0

    def first(self, kind: str) -> float | None:
        return next((t for k, _, t in self.events if k == kind), None)

    def spans(self, start: str, stop: str) -> dict[object, float]:
        """Seconds between paired events (``cell_start``/``cell_end`` by index)."""
        opened: dict = {}
        out: dict = {}
        for kind, key, t in self.events:
            if kind == start:
                opened[key] = t
            elif kind == stop and key in opened:
                out[key] = out.get(key, 0.0) + t - opened.pop(key)
        return out


def cell_kind(source: str, tags: list[str], before_answers: bool) -> str:
    """``answer`` (graded definitions), ``import`` (imports only), ``setup`` (other
    cells before the first answer: helpers, data), ``check`` or ``demo`` (the rest)."""
    if ANSWER_TAG in tags:
        return "answer"
    if CHECK_CALL.match(source):
        return "check"
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return "demo"
    if body and all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in body):
        return "import"
    return "setup" if before_answers else "demo"


def describe_cell(source: str) -> str:
    """The first line of code that says what a cell does (for naming slow cells)."""
    for line in source.splitlines():
        text = line.strip()
        if text and not text.startswith(("#", "with needs", "from ", "import ")):
            return text[:48]
    return source.strip().splitlines()[0][:48] if source.strip() else "(empty)"


def run_once(notebook: Path) -> dict:
    """One instrumented grading of ``notebook``: seconds per phase and per cell."""
    from gene46100.grader import assignment as grade
    from gene46100.grader import intake, scoring, tamper

    settings = grade.Settings()
    started = time.perf_counter()
    assignment = grade.load_assignment("week1", settings)
    plan_s = time.perf_counter() - started
    line = Timeline(begin=time.monotonic())
    cells = intake.read_code_cells(notebook)
    tamper.scan(cells, assignment.released_lines)
    job = grade.make_job(assignment, cells)
    report, job_dir, sandbox_cpu = watched_sandbox(job, settings, line)
    cpu_before = time.process_time()
    try:
        scoring = score_all(grade, assignment, report, job_dir / "out")
    finally:
        shutil.rmtree(job_dir, ignore_errors=True)
    summary = summarise(notebook, line, report, scoring, plan_s)
    summary["_cpu"] = {
        "sandbox": sandbox_cpu,
        "scoring": time.process_time() - cpu_before,
    }
    return summary


def watched_sandbox(job, settings, line: Timeline):
    """``supervisor.run_sandbox`` with its events timestamped into ``line`` and its
    CPU seconds counted (all sandbox processes, plus this one's light polling)."""
    from gene46100.grader.sandbox import supervisor

    real_apply, real_prepare = supervisor.apply_event, supervisor.prepare_job_dir

    def prepare(*args, **kwargs):
        job_dir = real_prepare(*args, **kwargs)
        line.prepared = time.monotonic()
        return job_dir

    def apply(attempt, report, event):
        kind, now = str(event.get("ev")), time.monotonic()
        line.events.append((kind, event.get("i", event.get("q")), now))
        if kind == "q_end" and isinstance(event.get("cpu_seconds"), float):
            line.cpu[str(event.get("q"))] = event["cpu_seconds"]
        return real_apply(attempt, report, event)

    account = CpuAccount("breakdown")
    account.add(os.getpid())
    supervisor.apply_event, supervisor.prepare_job_dir = apply, prepare
    try:
        report, job_dir = supervisor.run_sandbox(
            job, settings.limits, settings.timeouts, settings.unsafe
        )
    finally:
        supervisor.apply_event, supervisor.prepare_job_dir = real_apply, real_prepare
        line.end = time.monotonic()
        cpu = account.seconds()
        account.close()
    return report, job_dir, cpu


def score_all(grade, assignment, report, out_dir: Path) -> dict[str, float]:
    """Seconds of the trusted scoring of each question (reference runs included)."""
    from gene46100.grader import scoring

    seconds = {}
    for spec in assignment.spec["questions"]:
        if spec["manual"]:
            continue
        name = spec["name"]
        start = time.perf_counter()
        scoring.score_question(
            assignment.questions[name],
            assignment.plans[name],
            report.questions.get(name, {}),
            out_dir,
            spec["points"],
        )
        seconds[name] = time.perf_counter() - start
    return seconds


def summarise(
    notebook: Path, line: Timeline, report, scoring: dict[str, float], plan_s: float
) -> dict:
    nb = nbformat.read(notebook, as_version=4)
    cells = {i: c for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    cell_s = line.spans("cell_start", "cell_end")
    question_s = line.spans("q_start", "q_end")
    first_answer = min(
        (i for i, c in cells.items() if ANSWER_TAG in c.metadata.get("tags", [])),
        default=0,
    )
    by_kind: dict[str, float] = {}
    for index, seconds in cell_s.items():
        cell = cells.get(index)
        kind = (
            cell_kind(cell.source, cell.metadata.get("tags", []), index < first_answer)
            if cell
            else "demo"
        )
        by_kind[kind] = by_kind.get(kind, 0.0) + seconds
    started = line.first("started") or line.prepared
    done = line.first("done") or line.end
    cells_done = line.first("cells_done") or started
    slow = sorted(cell_s.items(), key=lambda kv: -kv[1])[:6]
    return {
        "plans (once per batch)": plan_s,
        "trusted prep (read, tamper scan, job files)": line.prepared - line.begin,
        "sandbox start + worker imports": started - line.prepared,
        "cells: imports only": by_kind.get("import", 0.0),
        "cells: setup before the answers (helpers, data)": by_kind.get("setup", 0.0),
        "cells: answers (definitions)": by_kind.get("answer", 0.0),
        "cells: demos/plots (ungraded)": by_kind.get("demo", 0.0),
        "cells: self-check calls": by_kind.get("check", 0.0),
        "between cells (events, reaping)": (cells_done - started)
        - sum(cell_s.values()),
        "hidden-test probes (forked, student code)": sum(question_s.values()),
        "between questions (fork, files)": (done - cells_done)
        - sum(question_s.values()),
        "sandbox shutdown (kill, cgroup)": line.end - done,
        "scoring (trusted, vs reference)": sum(scoring.values()),
        "_total": (line.end - line.begin) + sum(scoring.values()),
        "_slow_cells": [
            (i, round(s, 3), describe_cell(cells[i].source) if i in cells else "?")
            for i, s in slow
        ],
        "_questions": {k: round(v, 3) for k, v in question_s.items()},
        "_questions_cpu": dict(line.cpu),
        "_scoring": {k: round(v, 3) for k, v in scoring.items()},
        "_restarts": report.restarts,
        "_not_run": sorted(set(cells) - set(cell_s)),
    }


def bare_starts(ctx: Context, repeats: int) -> dict[str, tuple[Stat, Stat]]:
    """Wall and CPU seconds to start python (and import things), sandboxed or not."""
    from gene46100.grader import sandbox

    out: dict[str, tuple[Stat, Stat]] = {}
    with tempfile.TemporaryDirectory(dir=ctx.scratch) as tmp:
        job = Path(tmp)
        (job / "home").mkdir()
        commands = {"python -c pass, no sandbox": [sys.executable, "-I", "-c", "pass"]}
        for label, code in BARE_COMMANDS.items():
            commands[f"bubblewrap: {label}"] = sandbox.bwrap_argv(
                job, [sys.executable, "-I", "-c", code], threads=1
            )
        for label, argv in commands.items():
            run_quiet(argv, env=sandbox.sandbox_env(1))  # warm the file cache
            wall, cpu = [], []
            for i in range(repeats):
                with CpuAccount(f"bare-{i}") as account:
                    start = time.perf_counter()
                    run_quiet(argv, env=sandbox.sandbox_env(1), account=account)
                    wall.append(time.perf_counter() - start)
                    cpu.append(account.seconds())
            out[label] = (Stat(wall), Stat(cpu))
    return out


def phase_note(phase: str, share: float, last: dict) -> str:
    """What a phase row says beyond its time: its share and what dominates it."""
    if phase.startswith("plans"):
        return "paid once per batch, not per submission"
    note = f"{share:.0%} of the submission"
    if phase.startswith("cells: demos"):
        not_run = last["_not_run"]
        note += (
            f"; {len(not_run)} cells not run (tagged otter_ignore)" if not_run else ""
        )
    if phase.startswith("cells: imports"):
        note += "; slowest cells overall: " + "; ".join(
            f"#{i} {s:.2f} s `{what}`" for i, s, what in last["_slow_cells"][:4]
        )
    if phase.startswith("hidden-test"):
        top = sorted(last["_questions"].items(), key=lambda kv: -kv[1])[:3]
        cpu = last["_questions_cpu"]
        note += "; slowest: " + ", ".join(
            f"{q} {s:.2f} s ({cpu.get(q, float('nan')):.2f} CPU s)" for q, s in top
        )
    if phase.startswith("scoring"):
        top = sorted(last["_scoring"].items(), key=lambda kv: -kv[1])[:3]
        note += "; slowest: " + ", ".join(f"{q} {s:.2f} s" for q, s in top)
    return note


def summary_rows(runs: list[dict]) -> list[Row]:
    """One row per phase, the total against the floor, and the CPU it all took."""
    total = Stat([r["_total"] for r in runs])
    rows = []
    for phase in [k for k in runs[0] if not k.startswith("_")]:
        stat = Stat([r[phase] for r in runs])
        share = stat.median / total.median if total.median else 0.0
        rows.append(
            Row(NAME, phase, "s", stat, note=phase_note(phase, share, runs[-1]))
        )
    # The floor: what the student's code itself computes (the cells it runs beyond
    # imports and set-up, and the hidden tests' calls into it).
    floor = Stat(
        [
            r["cells: answers (definitions)"]
            + r["cells: demos/plots (ungraded)"]
            + r["hidden-test probes (forked, student code)"]
            for r in runs
        ]
    )
    rows.append(
        Row(
            NAME,
            "total per submission (1 at a time)",
            "s",
            total,
            floor,
            "floor: student's own compute",
            note="ratio = floor / total: the share spent in student code",
        )
    )
    probes_cpu = Stat([sum(r["_questions_cpu"].values()) for r in runs])
    rows.append(
        Row(
            NAME,
            "CPU seconds per submission (sandbox + scoring)",
            "s",
            Stat([r["_cpu"]["sandbox"] + r["_cpu"]["scoring"] for r in runs]),
            probes_cpu,
            "CPU floor: hidden-test probes",
            note="sandbox CPU from a cpuacct cgroup; scoring = this process; "
            "ratio = probes' share",
        )
    )
    return rows


def run(ctx: Context) -> list[Row]:
    from gene46100.grader import sandbox

    if sandbox.bwrap_path() is None:
        return [skipped(NAME, "phases", "bubblewrap is not available here")]
    notebook = submissions.write_batch(ctx.scratch / "breakdown-batch", 1)[
        0
    ]  # complete
    runs = []
    for i in range(ctx.repeats):
        ctx.log(f"  breakdown: instrumented grading {i + 1}/{ctx.repeats}")
        runs.append(run_once(notebook))
    rows = summary_rows(runs)
    for label, (wall, cpu) in bare_starts(ctx, max(2, ctx.repeats)).items():
        rows.append(
            Row(
                NAME,
                f"bare start: {label}",
                "s",
                wall,
                note=f"CPU {cpu.median:.3g} s; process start vs imports",
            )
        )
    return rows
