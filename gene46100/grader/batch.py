"""Grade a batch: intake -> sandboxed run -> trusted scoring -> records.

Hidden inputs are drawn once per batch (the same for every submission, so grading is
deterministic); reference outputs and comparisons stay in this trusted process.
"""

from __future__ import annotations

import json
import shutil
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from gene46100 import checks
from gene46100.checks import Check, Plan, Question
from gene46100.contract.results import (
    QuestionRun,
    ResultFormatError,
    read_question_results,
)
from gene46100.grader import records, reports, sandbox, tamper
from gene46100.grader.intake import InvalidSubmission, Submission, read_code_cells
from gene46100.grader.sandbox.supervisor import Job, RunReport, Timeouts, run_sandbox

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Settings:
    """How a batch is graded (the same for every submission in it)."""

    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    timeouts: Timeouts = field(default_factory=Timeouts)
    jobs: int = 1
    unsafe: bool = False
    scheduler: str = ""  # a Dask scheduler (see cluster.py); "": this machine
    seed: int = checks.GRADING_SEED
    autograder_dir: Path = REPO / "autograder"
    release_dir: Path = REPO / "assignments"  # lines found here are never flagged


@dataclass
class Assignment:
    """The assignment's spec (from the build) and its questions' plans."""

    name: str
    spec: dict
    questions: dict[str, Question]
    plans: dict[str, Plan]
    released_lines: set[str] = field(default_factory=set)


def load_assignment(name: str, settings: Settings) -> Assignment:
    path = settings.autograder_dir / name / "assignment.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `gene46100 build` first")
    spec = json.loads(path.read_text())
    graded = checks.questions(name)
    in_spec = {q["name"] for q in spec["questions"] if not q["manual"]}
    if in_spec != set(graded):
        raise RuntimeError(f"{name}: questions in assignment.json {sorted(in_spec)} differ "
                           f"from the hidden tests {sorted(graded)}; rebuild")
    check_provides_order(graded)
    plans = {n: q.plan(checks.question_rng(name, n, settings.seed)) for n, q in graded.items()}
    released = tamper.released_lines(settings.release_dir / name / f"{name}.ipynb")
    return Assignment(name, spec, graded, plans, released)


def check_provides_order(graded: dict[str, Question]) -> None:
    """A question's reference stand-ins (``provides``) reach the sandbox only after
    every earlier question is sealed, so the question grading a provided name must
    come earlier; otherwise student code could answer it with the reference."""
    order = list(graded)
    for name, question in graded.items():
        for other in order[order.index(name):]:
            shared = set(question.provides) & set(graded[other].names)
            if shared:
                raise RuntimeError(f"{name} provides {sorted(shared)}, graded by "
                                   f"{other}, which comes later: reorder the questions")


def make_job(assignment: Assignment, cells: list[dict],
             work_files: dict[str, Path] | None = None) -> Job:
    questions = [{"name": n, "probes": p.probes, "seed": assignment_seed(n),
                  "timeout_s": assignment.questions[n].timeout_s,
                  "provide": checks.provided_source(assignment.name,
                                                    assignment.questions[n])}
                 for n, p in assignment.plans.items()]
    return Job(cells=cells, questions=questions,
               arrays={n: p.arrays for n, p in assignment.plans.items()},
               files={n: p.files for n, p in assignment.plans.items() if p.files},
               work_files=work_files or {})


def release_files(release_dir: Path, name: str) -> dict[str, Path]:
    """The files a student gets beside the notebook (data, templates), by relative
    path: the notebook's working directory starts with them, as the student's did.
    Public tests are left out (grading never runs them)."""
    folder = release_dir / name
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != f"{name}.ipynb"
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)
            and p.relative_to(folder).parts[0] not in ("tests", "__pycache__")}


def work_files_for(assignment: Assignment, submission: Submission,
                   settings: Settings) -> dict[str, Path]:
    """Release files first; the student's companion files (predict.py...) win."""
    files = release_files(settings.release_dir, assignment.name)
    files.update(dict(submission.companions))
    return files


def assignment_seed(question: str) -> int:
    """The seed student code sees before a question (fixed: grades are repeatable)."""
    return sum(map(ord, question)) * 7919 % 2**31


def score_question(question: Question, plan: Plan, status: dict, out_dir: Path,
                   points: float) -> dict:
    """Score one question from its results (trusted side)."""
    state = status.get("status", "not_run")
    if state != "ok":
        return _lost(question.name, points, state, _status_message(state, question))
    try:
        run = QuestionRun("ok", read_question_results(out_dir, question.name))
    except FileNotFoundError:
        return _lost(question.name, points, "crashed", "no result came back")
    if set(run.outcomes) != {p["id"] for p in plan.probes}:
        raise ResultFormatError(f"{question.name}: results for probes never asked for")
    if any(o.error_type == "MemoryError" for o in run.outcomes.values()):
        return _lost(question.name, points, "oom", _status_message("oom", question))
    checks_ = question.score(run, plan)
    scored = _scored(question.name, points, checks_)
    scored["seconds"] = status.get("seconds")  # wall, in the sandbox
    scored["cpu_seconds"] = status.get("cpu_seconds")
    return scored


def _status_message(state: str, question: Question) -> str:
    return {
        "timeout": f"used more than its budget of {question.timeout_s:.0f} CPU seconds",
        "oom": "ran out of memory",
        "crashed": "the process crashed (e.g. os._exit or a segfault) while testing it",
    }.get(state, "was not tested (an earlier failure ended the run)")


def _lost(name: str, points: float, status: str, message: str) -> dict:
    return {"name": name, "score": 0, "possible": points, "status": status,
            "checks": [], "feedback": f"{name} {message}."}


def _scored(name: str, points: float, results: list[Check]) -> dict:
    weight = sum(c.weight for c in results) or 1.0
    earned = sum(c.weight for c in results if c.passed) / weight
    score = round(points * earned, 4)
    failed = list(dict.fromkeys(c.message for c in results if not c.passed))
    return {"name": name, "score": score, "possible": points,
            "status": "passed" if not failed else "failed",
            "checks": [{"name": c.name, "passed": c.passed, "weight": c.weight,
                        "message": c.message} for c in results],
            "feedback": "All hidden tests passed." if not failed else "\n".join(failed)}


def grade_submission(assignment: Assignment, submission: Submission,
                     settings: Settings) -> dict:
    """Grade one submission; always returns a record (never raises)."""
    started = time.monotonic()
    try:
        record = _grade(assignment, submission, settings)
    except Exception as exc:  # noqa: BLE001 - a grader bug must not lose the record
        record = _empty_record(assignment, submission, "internal_error",
                               f"internal error: {type(exc).__name__}: {exc}")
        record["traceback"] = traceback.format_exc()[-4000:]
    record["seconds"] = round(time.monotonic() - started, 3)
    return record


def _grade(assignment: Assignment, submission: Submission, settings: Settings) -> dict:
    if submission.problem or submission.notebook is None:
        return _empty_record(assignment, submission, "invalid_submission",
                             submission.problem)
    try:
        cells = read_code_cells(submission.notebook)
    except InvalidSubmission as exc:
        return _empty_record(assignment, submission, "invalid_submission", str(exc))
    flags = tamper.scan(cells, assignment.released_lines)
    job = make_job(assignment, cells, work_files_for(assignment, submission, settings))
    report, job_dir = run_sandbox(job, settings.limits,
                                  settings.timeouts, settings.unsafe)
    try:
        record = _record(assignment, submission, report, job_dir / "out", settings, flags)
        # Demo cells tagged otter_ignore are not run (Otter's convention).
        record["ignored_cells"] = [c["index"] for c in cells if c.get("ignored")]
        return record
    finally:
        shutil.rmtree(job_dir, ignore_errors=True)


def _record(assignment: Assignment, submission: Submission, report: RunReport,
            out_dir: Path, settings: Settings, flags: list[str]) -> dict:
    questions, tampered = [], list(flags) + list(report.flags)
    for spec_q in assignment.spec["questions"]:
        name, points = spec_q["name"], spec_q["points"]
        if spec_q["manual"]:
            questions.append({"name": name, "score": 0, "possible": points,
                              "status": "manual", "checks": [],
                              "feedback": "Graded by a person."})
            continue
        try:
            questions.append(score_question(assignment.questions[name],
                                            assignment.plans[name],
                                            report.questions.get(name, {}), out_dir,
                                            points))
        except ResultFormatError as exc:
            tampered.append(f"{name}: {exc}")
            questions.append(_lost(name, points, "tampered", "returned malformed results"))
    status = _submission_status(report, tampered, questions)
    return _finish(assignment, submission, status, questions, report, settings,
                   flags=tampered)


def _submission_status(report: RunReport, tampered: list[str],
                       questions: list[dict]) -> str:
    """One status per submission, the most serious first (scores stand regardless)."""
    if tampered:
        return "tampered"
    if report.timed_out:
        return "timeout"
    if report.worker_failed and not report.cells:
        return "kernel_died"
    cell_states = {c.get("status") for c in report.cells.values()}
    if "oom" in cell_states or any(q["status"] == "oom" for q in questions):
        return "oom"
    return "graded"


def _empty_record(assignment: Assignment, submission: Submission, status: str,
                  message: str) -> dict:
    questions = [_lost(q["name"], q["points"], "not_run", "was not graded")
                 for q in assignment.spec["questions"]]
    return _finish(assignment, submission, status, questions, None, None,
                   message=message)


def _finish(assignment: Assignment, submission: Submission, status: str,
            questions: list[dict], report: RunReport | None, settings: Settings | None,
            message: str = "", flags: list[str] | None = None) -> dict:
    auto = [q for q in questions if q["status"] != "manual"]
    total = round(sum(q["score"] for q in auto), 4)
    possible = sum(q["possible"] for q in auto) or 1
    return {
        "id": submission.id, "file": submission.source, "assignment": assignment.name,
        "student": submission.student, "intake_notes": list(submission.notes),
        "not_graded_files": list(submission.ignored),
        "graded_files": [name for name, _ in submission.companions],
        "status": status, "message": message, "questions": questions,
        "total": total, "possible": possible,
        "percent": round(100 * total / possible, 2),
        "cells": {str(k): v for k, v in sorted(report.cells.items())} if report else {},
        "restarts": report.restarts if report else 0,
        "run_seconds": report.seconds if report else 0.0,
        "phase_seconds": dict(report.phases) if report else {},
        "sandbox": "none (UNSAFE: student code could read hidden tests)"
                   if settings and settings.unsafe else "bubblewrap",
        "limits": sandbox.describe_limits(settings.limits, report.process_cgroup)
                  if settings and report else {},
        "flags": flags or [],
    }


def grade_batch(assignment_name: str, submissions: list[Submission], out_dir: Path,
                settings: Settings, progress=None) -> list[dict]:
    """Grade every submission not already in the journal; return all records."""
    assignment = load_assignment(assignment_name, settings)
    journal = records.Journal(out_dir)
    done = journal.load()
    todo = [s for s in submissions if s.id not in done]
    for record in grade_each(assignment, todo, settings):  # journaled as they arrive
        journal.append(record)
        records.write_record_file(out_dir, record)
        done[record["id"]] = record
        records.write_grades_csv(out_dir, assignment.spec, list(done.values()))
        if progress is not None:
            progress(record)
    wanted = {s.id for s in submissions}
    final = [r for r in done.values() if r["id"] in wanted]
    records.write_grades_csv(out_dir, assignment.spec, final)
    reports.write_all(out_dir, assignment.spec, final)
    return final


def grade_each(assignment: Assignment, submissions: list[Submission],
               settings: Settings) -> Iterator[dict]:
    """Grade each submission, yielding its record as soon as it is done: on this
    machine (``settings.jobs`` threads, each driving one sandbox) or, when
    ``settings.scheduler`` names one, on a Dask cluster (see cluster.py)."""
    if settings.scheduler:
        from gene46100.grader import cluster  # needs dask: only when asked for

        yield from cluster.grade_on_cluster(assignment, submissions, settings)
        return
    with ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
        futures = [pool.submit(grade_submission, assignment, s, settings)
                   for s in submissions]
        for future in as_completed(futures):
            yield future.result()
