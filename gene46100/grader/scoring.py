"""Trusted scoring: a question's plain-data results -> its score, status, feedback.

Nothing here runs student code: it reads what the sandbox wrote (through the
contract's decoder) and compares it with the reference in the hidden checks.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gene46100.checks import Check, Plan, Question
from gene46100.contract.results import (
    QuestionRun,
    ResultFormatError,
    read_question_results,
)
from gene46100.grader.records import QuestionResult, QuestionStatus, Status
from gene46100.grader.sandbox.supervisor import RunReport


def score_question(
    question: Question, plan: Plan, status: dict, out_dir: Path, points: float
) -> QuestionResult:
    """Score one question from its results (trusted side)."""
    state = status.get("status", "not_run")
    if state != "ok":
        return lost(question.name, points, state, _status_message(state, question))
    try:
        run = QuestionRun("ok", read_question_results(out_dir, question.name))
    except FileNotFoundError:
        return lost(question.name, points, "crashed", "no result came back")
    if set(run.outcomes) != {p["id"] for p in plan.probes}:
        raise ResultFormatError(f"{question.name}: results for probes never asked for")
    if any(o.error_type == "MemoryError" for o in run.outcomes.values()):
        return lost(question.name, points, "oom", _status_message("oom", question))
    result = scored(question.name, points, question.score(run, plan))
    result.seconds = status.get("seconds")  # wall, in the sandbox
    result.cpu_seconds = status.get("cpu_seconds")
    return result


def _status_message(state: str, question: Question) -> str:
    return {
        "timeout": f"used more than its budget of {question.timeout_s:.0f} CPU seconds",
        "oom": "ran out of memory",
        "crashed": "the process crashed (e.g. os._exit or a segfault) while testing it",
    }.get(state, "was not tested (an earlier failure ended the run)")


def lost(name: str, points: float, status: str, message: str) -> QuestionResult:
    """A question that scored nothing because it did not run to the end."""
    return QuestionResult(name, 0, points, QuestionStatus(status), f"{name} {message}.")


def check_failed(name: str, points: float, exc: Exception) -> QuestionResult:
    """A question whose trusted scoring raised (the grader's bug, not the
    student's): 0 for now, ``internal_error`` so the TA sees it first and regrades
    it once the check is fixed; the other questions stand."""
    return QuestionResult(
        name,
        0,
        points,
        QuestionStatus.INTERNAL_ERROR,
        f"{name} could not be graded because of a problem in the grader, not in "
        "your work; it will be graded again and does not count against you.",
        [
            {
                "name": "internal error",
                "passed": False,
                "weight": 1.0,
                "message": f"{type(exc).__name__}: {str(exc)[:300]}",
            }
        ],
    )


def manual(name: str, points: float) -> QuestionResult:
    """A question a person grades (0 until they do)."""
    return QuestionResult(name, 0, points, QuestionStatus.MANUAL, "Graded by a person.")


def scored(name: str, points: float, results: list[Check]) -> QuestionResult:
    """The weighted share of passed checks, and the failed checks' messages."""
    weight = sum(c.weight for c in results) or 1.0
    earned = sum(c.weight for c in results if c.passed) / weight
    failed = list(dict.fromkeys(c.message for c in results if not c.passed))
    return QuestionResult(
        name,
        round(points * earned, 4),
        points,
        QuestionStatus.FAILED if failed else QuestionStatus.PASSED,
        "\n".join(failed) if failed else "All hidden tests passed.",
        [dataclasses.asdict(c) for c in results],
    )


def submission_status(
    report: RunReport, tampered: list[str], questions: list[QuestionResult]
) -> Status:
    """One status per submission, the most serious first (scores stand regardless)."""
    if any(q.status == QuestionStatus.INTERNAL_ERROR for q in questions):
        return Status.INTERNAL_ERROR  # first in the report: the TA regrades it
    if tampered:
        return Status.TAMPERED
    if report.timed_out:
        return Status.TIMEOUT
    if report.worker_failed and not report.cells:
        return Status.KERNEL_DIED
    cell_states = {c.get("status") for c in report.cells.values()}
    if "oom" in cell_states or any(q.status == QuestionStatus.OOM for q in questions):
        return Status.OOM
    return Status.GRADED
