"""One submission through the pipeline: intake result -> sandbox -> scoring -> record.

``grade_submission`` always returns a record, whatever the submission does: a
crash, a hang, a hostile trick or a grader bug ends as a status, never as a lost
submission.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import traceback
from pathlib import Path

from gene46100.contract.results import ResultFormatError
from gene46100.grader import sandbox, tamper
from gene46100.grader.assignment import Assignment, Settings, make_job, work_files_for
from gene46100.grader.intake import InvalidSubmission, Submission, read_code_cells
from gene46100.grader.records import QuestionResult, QuestionStatus, Record, Status
from gene46100.grader.sandbox.supervisor import RunReport, run_sandbox
from gene46100.grader.sandbox.warm import WarmPool
from gene46100.grader.scoring import (
    check_failed,
    lost,
    manual,
    score_question,
    submission_status,
)
from gene46100.grader.scrub import scrub_record


def grade_submission(
    assignment: Assignment,
    submission: Submission,
    settings: Settings,
    pool: WarmPool | None = None,
) -> Record:
    """Grade one submission (forked from a warm sandbox of ``pool`` if given);
    always returns a record (never raises)."""
    started = time.monotonic()
    try:
        record = _grade(assignment, submission, settings, pool)
    except Exception as exc:  # noqa: BLE001 - a grader bug must not lose the record
        record = empty_record(
            assignment,
            submission,
            Status.INTERNAL_ERROR,
            f"internal error: {type(exc).__name__}: {exc}",
        )
        record.traceback = traceback.format_exc()[-4000:]
    record.seconds = round(time.monotonic() - started, 3)
    return record


def _grade(
    assignment: Assignment,
    submission: Submission,
    settings: Settings,
    pool: WarmPool | None = None,
) -> Record:
    if submission.problem or submission.notebook is None:
        return empty_record(assignment, submission, Status.INVALID, submission.problem)
    try:
        cells = read_code_cells(submission.notebook)
    except InvalidSubmission as exc:
        return empty_record(assignment, submission, Status.INVALID, str(exc))
    flags = tamper.scan(cells, assignment.released_lines)
    job = make_job(
        assignment,
        cells,
        work_files_for(assignment, submission, settings),
        device="cuda" if settings.limits.gpu else "cpu",
    )
    with pool.slot() if pool else contextlib.nullcontext() as slot:
        report, job_dir = run_sandbox(
            job, settings.limits, settings.timeouts, settings.unsafe, slot=slot
        )
    try:
        record = _record(
            assignment, submission, report, job_dir / "out", settings, flags
        )
        # Demo cells tagged otter_ignore are not run (Otter's convention).
        record.ignored_cells = [c["index"] for c in cells if c.get("ignored")]
        name_cells(record, cells)
        return record
    finally:
        shutil.rmtree(job_dir, ignore_errors=True)


def _record(
    assignment: Assignment,
    submission: Submission,
    report: RunReport,
    out_dir: Path,
    settings: Settings,
    flags: list[str],
) -> Record:
    questions, tampered = [], list(flags) + list(report.flags)
    for spec_q in assignment.spec["questions"]:
        name, points = spec_q["name"], spec_q["points"]
        if spec_q["manual"]:
            questions.append(manual(name, points))
            continue
        try:
            questions.append(
                score_question(
                    assignment.questions[name],
                    assignment.plans[name],
                    report.questions.get(name, {}),
                    out_dir,
                    points,
                )
            )
        except ResultFormatError as exc:
            tampered.append(f"{name}: {exc}")
            questions.append(
                lost(name, points, "tampered", "returned malformed results")
            )
        except Exception as exc:  # noqa: BLE001 - our check's bug costs one question
            questions.append(check_failed(name, points, exc))
    status = submission_status(report, tampered, questions)
    return _finish(
        assignment, submission, status, questions, report, settings, flags=tampered
    )


def name_cells(record: Record, cells: list[dict]) -> None:
    """Give each reported cell, and each note about a cell, its first line: how a
    student finds it (cell numbers are not shown in Colab; student text: the
    pages escape it)."""
    firsts = {}
    for cell in cells:
        lines = [line for line in cell.get("source", "").splitlines() if line.strip()]
        if lines:
            firsts[str(cell["index"])] = lines[0].strip()[:80]
    for index, cell in record.cells.items():
        if isinstance(cell, dict) and index in firsts:
            cell["first_line"] = firsts[index]
    record.grading_notes = [_named(note, firsts) for note in record.grading_notes]


def _named(note: str, firsts: dict[str, str]) -> str:
    """``cell 14: ...`` -> ``the cell `!nvidia-smi`: ...``."""
    where, _, text = note.partition(": ")
    index = where.removeprefix("cell ")
    if where.startswith("cell ") and index in firsts:
        return f"the cell `{firsts[index][:60]}`: {text}"
    return note


def empty_record(
    assignment: Assignment, submission: Submission, status: Status, message: str
) -> Record:
    """The record of a submission that was not run (every autograded question 0,
    not_run; the written answers stay a person's to grade)."""
    questions = [
        manual(q["name"], q["points"])
        if q["manual"]
        else lost(q["name"], q["points"], "not_run", "was not graded")
        for q in assignment.spec["questions"]
    ]
    return _finish(
        assignment, submission, status, questions, None, None, message=message
    )


UNSAFE_SANDBOX = "none (UNSAFE: student code could read hidden tests)"


def _finish(
    assignment: Assignment,
    submission: Submission,
    status: Status,
    questions: list[QuestionResult],
    report: RunReport | None,
    settings: Settings | None,
    message: str = "",
    flags: list[str] | None = None,
) -> Record:
    auto = [q for q in questions if q.status != QuestionStatus.MANUAL]
    total = round(sum(q.score for q in auto), 4)
    possible = sum(q.possible for q in auto) or 1
    record = Record(
        id=submission.id,
        file=submission.source,
        assignment=assignment.name,
        status=status,
        questions=questions,
        total=total,
        possible=possible,
        percent=round(100 * total / possible, 2),
        student=submission.student,
        message=message,
        intake_notes=list(submission.notes),
        not_graded_files=list(submission.ignored),
        graded_files=[name for name, _ in submission.companions],
        sandbox=UNSAFE_SANDBOX if settings and settings.unsafe else "bubblewrap",
        flags=flags or [],
        canvas_user=submission.canvas_user,
        late=submission.late,
        submitted_at=submission.submitted_at,
    )
    if report is not None:
        record.cells = {str(k): v for k, v in sorted(report.cells.items())}
        record.restarts = report.restarts
        record.run_seconds = report.seconds
        record.phase_seconds = dict(report.phases)
        record.sandbox_start = report.start
        record.peak_rss_mb = report.peak_rss_mb
        record.grading_notes = list(report.notes)
        if settings is not None:
            record.limits = sandbox.describe_limits(
                settings.limits, report.process_cgroup
            )
    scrub_record(record)
    return record
