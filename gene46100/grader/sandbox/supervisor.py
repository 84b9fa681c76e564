"""Run one submission's sandbox and enforce time limits from the outside.

Three levels of timeout, each with its own recorded status:
- per cell: a cell that runs too long (or kills its process) is recorded and the
  sandbox is restarted from scratch, skipping it, so later definitions still count;
- per question: the worker forks a child per question and kills it at its budget;
  the supervisor also stops a worker that overruns a question by a margin;
- per submission: a wall-clock limit for everything, after which the rest is lost.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gene46100.grader import sandbox
from gene46100.grader.sandbox import sealing, warm
from gene46100.untrusted import worker, zygote

WORKER_SOURCE = Path(worker.__file__)
QUESTION_MARGIN_S = 10.0
MAX_RESTARTS = 4
EVENT_LINE_CAP = 4096


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed per cell, per question (added to its budget) and in total."""

    cell_s: float = 60.0
    submission_s: float = 600.0
    startup_s: float = 60.0


@dataclass
class RunReport:
    """What the sandbox did: cell statuses, question statuses, time, restarts."""

    cells: dict[int, dict] = field(default_factory=dict)
    questions: dict[str, dict] = field(default_factory=dict)
    restarts: int = 0
    seconds: float = 0.0
    timed_out: bool = False
    worker_failed: str = ""
    process_cgroup: bool = False
    flags: list[str] = field(default_factory=list)  # forged events, rewritten results
    # Wall seconds per phase, summed over attempts: sandbox and interpreter start
    # (to the worker's first event), the notebook's cells, the questions' probes.
    phases: dict[str, float] = field(
        default_factory=lambda: {"startup": 0.0, "cells": 0.0, "questions": 0.0}
    )
    # "warm" (forked from a warm sandbox, warm.py), "cold", or "cold (why the warm
    # start was given up)"; and the forked worker's peak resident memory (warm only).
    start: str = "cold"
    peak_rss_mb: float = 0.0
    # What the sandbox did differently from Colab or Jupyter ("cell 3: %matplotlib
    # inline: plots are not drawn while grading", CUDA run on the CPU): the
    # worker's word, for the record; never a score.
    notes: list[str] = field(default_factory=list)


@dataclass
class Job:
    """Everything one sandbox run needs, prepared by the trusted side."""

    cells: list[dict]  # {"index": int, "source": str}
    questions: list[dict]  # {"name", "probes", "timeout_s", "seed"}
    arrays: dict[str, dict[str, np.ndarray]]  # question -> hidden inputs
    threads: int = 1
    files: dict[str, dict[str, bytes]] = field(
        default_factory=dict
    )  # question -> files
    # The notebook's working directory: the release's data files and the student's
    # companion files (e.g. predict.py), by relative path.
    work_files: dict[str, Path] = field(default_factory=dict)
    # "cuda": the sandbox has the GPU (``grade --gpu``) and questions may use it;
    # "cpu": every CUDA request runs on the CPU.
    device: str = "cpu"
    # Whether the student's own code mentions CUDA: only then does every torch call
    # pass through the worker's CUDA-on-CPU mode (it costs training questions time).
    cuda_in_code: bool = True


def prepare_job_dir(job: Job, root: Path | None = None) -> Path:
    """Write the job's files into a fresh private directory."""
    job_dir = Path(tempfile.mkdtemp(prefix="g46-", dir=root))
    for name in sandbox.WRITABLE:  # out, home, work, scratch
        (job_dir / name).mkdir()
    for path in sandbox.matplotlib_font_cache():  # MPLCONFIGDIR is home/.mpl
        (job_dir / "home/.mpl").mkdir(exist_ok=True)
        shutil.copyfile(path, job_dir / "home/.mpl" / path.name)
    shutil.copyfile(WORKER_SOURCE, job_dir / "worker.py")
    for name, arrays in job.arrays.items():
        np.savez(job_dir / f"inputs-{name}.npz", **arrays)
    for name, files in job.files.items():
        folder = job_dir / f"files-{name}"
        folder.mkdir()
        for file_name, data in files.items():
            (folder / Path(file_name).name).write_bytes(data)
    work = job_dir / "work"  # the notebook's working directory
    if job.work_files:
        for rel, source in job.work_files.items():
            target = work / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return job_dir


def write_job_file(
    job_dir: Path, job: Job, skip: set[int], questions: list[dict], unsafe: bool
) -> None:
    # Reaping strays is only safe inside the sandbox's own pid namespace.
    spec = {
        "cells": job.cells,
        "skip": sorted(skip),
        "questions": sealing.public_questions(questions),
        "threads": job.threads,
        "reap_strays": not unsafe,
        "device": job.device,
        "cuda_in_code": job.cuda_in_code,
    }
    (job_dir / "job.json").write_text(json.dumps(spec))


class EventReader:
    """Non-blocking reader of the worker's JSON-lines events."""

    def __init__(self, fd: int) -> None:
        self.fd, self.buffer, self.closed = fd, b"", False

    def read(self, wait_s: float) -> list[dict]:
        if self.closed:  # a cell may close the pipe and go on running
            time.sleep(max(wait_s, 0.0))
            return []
        ready, _, _ = select.select([self.fd], [], [], max(wait_s, 0.0))
        if not ready:
            return []
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.closed = True
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        self.buffer = self.buffer[-EVENT_LINE_CAP:]
        return [event for event in map(parse_event, lines) if event is not None]


def parse_event(line: bytes) -> dict | None:
    try:
        event = json.loads(line[:EVENT_LINE_CAP])
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


class Attempt:
    """One launch of the sandbox, from start to exit or kill: a cold bubblewrap
    sandbox, or a worker forked in the warm sandbox ``slot``."""

    def __init__(
        self,
        job_dir: Path,
        limits: sandbox.Limits,
        threads: int,
        unsafe: bool,
        question_limits: dict[str, float],
        provides: dict[str, str] | None = None,
        disk_base: int = 0,
        slot: warm.Slot | None = None,
    ) -> None:
        read_fd, write_fd = os.pipe()
        command = [
            sys.executable,
            "-I",
            f"{sandbox.JOB_MOUNT}/worker.py",
            sandbox.JOB_MOUNT,
            str(write_fd),
        ]
        self.question_limits = question_limits
        self.guard = sealing.Guard(
            job_dir, list(question_limits), provides or {}, limits.disk_mb, disk_base
        )
        self.warm = slot is not None
        try:
            self.process = (
                slot.launch(job_dir, write_fd)
                if slot is not None
                else sandbox.start(job_dir, command, limits, write_fd, threads, unsafe)
            )
        except BaseException:
            os.close(read_fd)
            self.guard.close()
            raise
        finally:
            os.close(write_fd)
        self.events = EventReader(read_fd)
        self.read_fd = read_fd
        self.cell: tuple[int, float] | None = None
        self.question: tuple[str, float, float] | None = None
        self.started = time.monotonic()
        self.mark = self.started  # the start of the current phase
        self.seen_start = False
        self.warm_refused = ""  # the forked worker's reason, before it started

    def close(self) -> None:
        if self.warm:
            self.process.stop()
        else:
            sandbox.kill(self.process)
        os.close(self.read_fd)
        self.guard.close()

    def warm_failure(self, outcome: str) -> str:
        """Why this warm attempt cannot stand (the submission is graded cold), or "".
        A zygote lost after the worker said done costs nothing: the results are
        sealed and the slot is restarted for the next submission."""
        if not self.warm:
            return ""
        if self.process.returncode == zygote.UNSAFE_EXIT and not self.seen_start:
            why = f": {self.warm_refused}" if self.warm_refused else ""
            return f"the forked worker could not make its private sandbox{why}"
        if not self.seen_start and not self.process.failure:
            # No student code runs before "started": this is the warm path's fault.
            code = self.process.returncode
            return f"the forked worker could not start (exit code {code})"
        return "" if outcome == "done" else self.process.failure


def run_sandbox(
    job: Job,
    limits: sandbox.Limits,
    timeouts: Timeouts,
    unsafe: bool = False,
    scratch_root: Path | None = None,
    slot: warm.Slot | None = None,
) -> tuple[RunReport, Path]:
    """Run the job with restarts; return the report and job dir (results in out/).

    With a warm ``slot`` every attempt is a worker forked there; if the warm start
    cannot keep a guarantee, the whole submission is graded again cold and the
    report's ``start`` says why."""
    if slot is None or unsafe or job.threads != slot.threads:
        return _run(job, limits, timeouts, unsafe, scratch_root, None)
    try:
        return _run(job, limits, timeouts, unsafe, None, slot)
    except warm.WarmUnavailable as exc:
        why = str(exc)
    report, job_dir = _run(job, limits, timeouts, unsafe, scratch_root, None)
    report.start = f"cold ({why})"
    return report, job_dir


def _run(
    job: Job,
    limits: sandbox.Limits,
    timeouts: Timeouts,
    unsafe: bool,
    scratch_root: Path | None,
    slot: warm.Slot | None,
) -> tuple[RunReport, Path]:
    if slot is not None:
        slot.ready()  # raises WarmUnavailable before any work
        scratch_root = slot.jobs_dir
    job_dir = prepare_job_dir(job, scratch_root)
    try:
        return _attempts(job, job_dir, limits, timeouts, unsafe, slot)
    except warm.WarmUnavailable:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise


def _attempts(
    job: Job,
    job_dir: Path,
    limits: sandbox.Limits,
    timeouts: Timeouts,
    unsafe: bool,
    slot: warm.Slot | None,
) -> tuple[RunReport, Path]:
    report, skip = RunReport(start="warm" if slot else "cold"), set()
    disk_base = sandbox.disk_usage(job_dir, 2**62)  # the quota counts what runs add
    pending = list(job.questions)
    deadline = time.monotonic() + timeouts.submission_s
    started = time.monotonic()
    while pending and not report.timed_out:
        write_job_file(job_dir, job, skip, pending, unsafe)
        attempt = Attempt(
            job_dir,
            limits,
            job.threads,
            unsafe,
            {q["name"]: float(q["timeout_s"]) for q in pending},
            {q["name"]: q["provide"] for q in pending if q.get("provide")},
            disk_base,
            slot,
        )
        report.process_cgroup = getattr(attempt.process, "cgroup", None) is not None
        try:
            outcome = watch(attempt, report, timeouts, deadline)
        finally:
            attempt.close()
        failure = attempt.warm_failure(outcome)
        if failure:
            if slot is not None and failure.startswith("the forked worker could not"):
                slot.disabled = failure  # it would fail the same way every time
            raise warm.WarmUnavailable(failure)
        report.peak_rss_mb = max(
            report.peak_rss_mb, getattr(attempt.process, "maxrss_mb", 0.0)
        )
        if attempt.guard.over_quota:
            sealing.reset_writable(job_dir, job.work_files)
        pending = [q for q in pending if q["name"] not in report.questions]
        if outcome == "done" or not pending:
            break
        if outcome.startswith("cell:"):
            skip.add(int(outcome.split(":")[1]))
        if report.restarts >= MAX_RESTARTS or outcome == "startup":
            break
        report.restarts += 1
    for q in pending:
        status = "timeout" if report.timed_out else "not_run"
        report.questions.setdefault(q["name"], {"status": status})
    report.seconds = round(time.monotonic() - started, 3)
    sealing.unseal(job_dir, report.flags)
    return report, job_dir


def watch(
    attempt: Attempt, report: RunReport, timeouts: Timeouts, deadline: float
) -> str:
    """Follow one attempt until it finishes, hangs or dies; return why it stopped."""
    while True:
        now = time.monotonic()
        if now > deadline:
            report.timed_out = True
            _close_running(attempt, report, "timeout")
            return "deadline"
        stop = _check_stuck(attempt, report, timeouts, now)
        if stop:
            return stop
        for event in attempt.events.read(0.05):
            stop = apply_event(attempt, report, event)
            if stop:
                return stop  # "done", or "cell:<i>" to restart without a cell
        if attempt.events.closed and attempt.process.poll() is not None:
            return _died(attempt, report)


def _check_stuck(
    attempt: Attempt, report: RunReport, timeouts: Timeouts, now: float
) -> str:
    if not attempt.seen_start and now - attempt.started > timeouts.startup_s:
        report.worker_failed = "the grading process did not start"
        return "startup"
    if attempt.cell and now - attempt.cell[1] > timeouts.cell_s:
        index = attempt.cell[0]
        report.cells[index] = {
            "status": "timeout",
            "seconds": round(timeouts.cell_s, 1),
        }
        return f"cell:{index}"
    if attempt.question and now - attempt.question[1] > attempt.question[2]:
        report.questions[attempt.question[0]] = {"status": "timeout"}
        return "question"
    if attempt.guard.disk_full(now):
        return _over_disk_quota(attempt, report)
    return ""


def _over_disk_quota(attempt: Attempt, report: RunReport) -> str:
    """Stop a sandbox that wrote more than its disk quota (recorded like memory)."""
    error = {
        "type": "DiskQuota",
        "message": "wrote more than the disk quota of "
        f"{attempt.guard.disk_bytes // 2**20} MB",
    }
    if attempt.cell is not None:
        report.cells[attempt.cell[0]] = {"status": "oom", "error": error}
        return f"cell:{attempt.cell[0]}"
    if attempt.question is not None:
        report.questions[attempt.question[0]] = {"status": "oom", "error": error}
        return "question"
    report.worker_failed = error["message"]
    return "died"


def apply_event(attempt: Attempt, report: RunReport, event: dict) -> str:
    """Update the report from one event. Events steer timing, sealing and when
    reference stand-ins are written; one out of the worker's order (forged by a cell)
    is ignored and flagged."""
    kind = event.get("ev")
    now = time.monotonic()
    breach = attempt.guard.accept(event, set(report.questions))
    if breach:
        sealing.flag(report.flags, breach)
        return ""
    if kind == "q_end":  # sealed: not the unprivileged user's files any more
        sandbox.reclaim(attempt.guard.job_dir / "sealed")
    if kind in ("started", "cells_done", "done"):
        phase = {"started": "startup", "cells_done": "cells", "done": "questions"}[kind]
        report.phases[phase] = round(report.phases[phase] + now - attempt.mark, 3)
        attempt.mark = now
    if kind == "started":
        attempt.seen_start = True
    elif kind == "warm_refused" and not attempt.seen_start:
        attempt.warm_refused = str(event.get("why"))[:200]
    elif kind == "cell_start" and isinstance(event.get("i"), int):
        attempt.cell = (event["i"], now)
    elif kind == "cell_end" and attempt.cell is not None:
        index = attempt.cell[0]
        record = {
            "status": "ok" if event.get("status") == "ok" else "error",
            "seconds": round(now - attempt.cell[1], 3),
        }
        if isinstance(event.get("error"), dict):
            record["error"] = {k: str(v)[:300] for k, v in event["error"].items()}
            if record["error"].get("type") == "MemoryError":
                record["status"] = "oom"
        if isinstance(event.get("killed_processes"), int):
            record["killed_processes"] = event["killed_processes"]
        report.cells[index] = record
        attempt.cell = None
        if isinstance(event.get("threads_left"), int):
            # Leftover threads count against the process limit: restart without it.
            record.update(
                status="crashed",
                error={
                    "type": "TooManyThreads",
                    "message": f"left {event['threads_left']} threads running",
                },
            )
            return f"cell:{index}"
    elif kind == "q_start" and isinstance(event.get("q"), str):
        limit = _question_limit(attempt, event["q"])
        attempt.question = (event["q"], now, limit)
    elif kind == "q_end" and attempt.question is not None:
        name = attempt.question[0]
        status = (
            event.get("status")
            if event.get("status") in ("ok", "timeout", "crashed", "oom")
            else "crashed"
        )
        report.questions[name] = {
            "status": status,
            "seconds": round(now - attempt.question[1], 3),
        }
        if isinstance(event.get("cpu_seconds"), (int, float)):
            report.questions[name]["cpu_seconds"] = float(event["cpu_seconds"])
        attempt.question = None
    elif kind == "note":
        add_note(report, event)
    elif kind == "done":
        return "done"
    return ""


MAX_NOTES = 20


def add_note(report: RunReport, event: dict) -> None:
    """Keep a worker's note (bounded: a cell could send thousands)."""
    where, text = str(event.get("where", ""))[:20], str(event.get("text", ""))[:200]
    note = f"{where}: {text}" if where else text
    if text and note not in report.notes and len(report.notes) < MAX_NOTES:
        report.notes.append(note)


def _question_limit(attempt: Attempt, name: str) -> float:
    """The worker enforces a question's CPU budget; we step in only well after."""
    return (
        attempt.question_limits.get(name, 60.0) * worker.WALL_FACTOR + QUESTION_MARGIN_S
    )


def _died(attempt: Attempt, report: RunReport) -> str:
    """The sandbox exited without saying done: blame the running cell or question."""
    code = attempt.process.returncode
    if attempt.cell is not None:
        index = attempt.cell[0]
        report.cells[index] = {"status": "crashed", "exit_code": code}
        return f"cell:{index}"
    if attempt.question is not None:
        report.questions[attempt.question[0]] = {"status": "crashed", "exit_code": code}
        return "question"
    if not attempt.seen_start:
        report.worker_failed = f"the grading process exited at start (code {code})"
        return "startup"
    report.worker_failed = f"the grading process exited early (code {code})"
    return "died"


def _close_running(attempt: Attempt, report: RunReport, status: str) -> None:
    if attempt.cell is not None:
        report.cells[attempt.cell[0]] = {"status": status}
    if attempt.question is not None:
        report.questions[attempt.question[0]] = {"status": status}
