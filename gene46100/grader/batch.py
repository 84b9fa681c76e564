"""Grade a batch: resume from the journal, grade what is left, write the reports.

The journal (``records.jsonl``) is appended as each record arrives, wherever it was
graded (see ``runners``); ``grades.csv`` and the reports are written from it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from gene46100.grader import (
    answers,
    gradebook,
    pipeline,
    provenance,
    records,
    reports,
    runners,
)
from gene46100.grader.assignment import (
    Assignment,
    Settings,
    load_assignment,
    prepare_scoring,
    spec_only,
)
from gene46100.grader.intake import InvalidSubmission, Submission, read_code_cells
from gene46100.grader.records import Record, Status

# ``--regrade failed``: grading did not run to its end (a crash, a hang, an OOM or a
# grader bug), as opposed to a student's wrong answers.
FAILED = frozenset(
    {Status.TIMEOUT, Status.OOM, Status.KERNEL_DIED, Status.INTERNAL_ERROR}
)


def grade_batch(
    assignment_name: str,
    submissions: list[Submission],
    out_dir: Path,
    settings: Settings,
    progress: Callable[[Record], None] | None = None,
    regrade: tuple[str, ...] = (),
    say: Callable[[str], None] | None = None,
) -> list[Record]:
    """Grade every submission whose current record is missing or stale (its
    fingerprint differs), plus those ``regrade`` asks for (``"all"``, ``"failed"``
    or submission ids); return the current record of each submission.

    ``say`` hears one line per kind of work done ("3 changed since the last run:
    regraded (submission)"). Grading twice with nothing changed changes nothing.
    """
    light = spec_only(assignment_name, settings)
    journal = records.Journal(out_dir)
    done = journal.load()
    batch_print = provenance.batch_fingerprint(
        light.name, light.spec_bytes, settings.seed
    )
    prints = {s.id: provenance.fingerprint(batch_print, s) for s in submissions}
    plan = plan_work(submissions, done, prints, regrade)
    for line in plan.summary():
        if say is not None:
            say(line)
    by_id = {s.id: s for s in plan.todo}
    manual = gradebook.manual_grades(out_dir, light.name)  # the review's grades
    diffs: list[list[str]] = []
    for record in grade_todo(light, plan.todo, settings):  # on arrival
        record.provenance = prints[record.id]
        record.graded_at = now()
        before = done.get(record.id)
        journal.append(record)
        records.write_record_file(out_dir, record)
        save_answers(out_dir, light, by_id.get(record.id), settings)
        if before is not None:
            diffs += records.regrade_rows(before, record, plan.reasons[record.id])
        done[record.id] = record
        records.write_grades_csv(
            out_dir, light.spec, gradebook.merged(list(done.values()), manual)
        )
        if progress is not None:
            progress(record)
    if diffs:
        records.append_regrade_diff(out_dir, diffs)
    wanted = {s.id for s in submissions}
    final = [r for r in done.values() if r.id in wanted]
    return write_gradebook(out_dir, light.spec, final)


def grade_todo(
    light: Assignment, todo: list[Submission], settings: Settings
) -> Iterator[Record]:
    """Records of ``todo`` as they finish. Submissions refused at intake get theirs
    at once from the spec alone; the checks, the reference (torch) and every
    question's plan are loaded only if some submission is actually run, so a rerun
    with nothing changed, or a batch of refusals, costs about 2 s, not 6."""
    # On a cluster every record comes from a worker (and names it), refusals too.
    local = not settings.scheduler
    refused = [s for s in todo if local and refused_at_intake(s)]
    for submission in refused:
        yield pipeline.grade_submission(light, submission, settings)
    refused_ids = {s.id for s in refused}
    runnable = [s for s in todo if s.id not in refused_ids]
    if runnable:
        runner = runners.runner_for(settings)
        with runner.warm_up(settings, len(runnable)):  # imports while we plan
            assignment = load_assignment(light.name, settings)
            if not settings.scheduler:  # a cluster's workers score: not this host
                prepare_scoring(assignment)
            yield from runner.grade_each(assignment, runnable, settings)


def intake_summary(
    submissions: list[Submission],
    current: list[Record],
    left_alone: tuple[str, ...] = (),
    shown: int = 5,
) -> str:
    """The grade command's count of what it was given and what it recorded, e.g.
    ``12 inputs -> 12 records (1 invalid: not a notebook)``: every input found has
    its record (the counts agree), and the files that are nobody's submission are
    named, so that nothing given vanishes unsaid."""
    refusals = {s.id: s.refusal for s in submissions}
    invalid = Counter(
        refusals.get(r.id) or "other" for r in current if r.status == Status.INVALID
    )
    line = f"{_count(len(submissions), 'input')} -> {_count(len(current), 'record')}"
    if invalid:
        line += f" ({sum(invalid.values())} invalid: {_kinds(invalid)})"
    if left_alone:
        names = "; ".join(left_alone[:shown])
        more = (
            f"; and {len(left_alone) - shown} more" if len(left_alone) > shown else ""
        )
        verb = "it is" if len(left_alone) == 1 else "they are"
        line += f"\n{_count(len(left_alone), 'file')} not a submission, left as "
        line += f"{verb}: {names}{more}"
    return line


def _kinds(invalid: Counter[str]) -> str:
    """``not a notebook``, or ``2 not a notebook, 1 other`` (the records say why)."""
    kinds = sorted(invalid.items(), key=lambda kv: (kv[0] == "other", kv[0]))
    if len(kinds) > 1:
        return ", ".join(f"{n} {kind}" for kind, n in kinds)
    kind = kinds[0][0]
    return kind if kind != "other" else "each record says why"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def refused_at_intake(submission: Submission) -> bool:
    """Whether the submission is not run at all: intake refused it, or its notebook
    cannot be read (not JSON, not a notebook...); its record needs no plan."""
    if submission.problem or submission.notebook is None:
        return True
    try:
        read_code_cells(submission.notebook)
    except InvalidSubmission:
        return True
    return False


def write_gradebook(out_dir: Path, spec: dict, current: list[Record]) -> list[Record]:
    """``grades.csv`` and every report from the current records merged with the
    manual grades as they are now; returns the merged records."""
    manual = gradebook.manual_grades(out_dir, spec.get("assignment"))
    final = gradebook.merged(current, manual)
    for record in final:  # records/<id>.json: the journal's record with its grades
        records.write_record_file(out_dir, record)
    records.write_grades_csv(out_dir, spec, final)
    reports.write_all(out_dir, spec, final)
    return final


def rewrite_reports(week: str, out_dir: Path, settings: Settings) -> list[Record]:
    """After manual grading: the gradebook again from the journal, nothing graded
    (``gene46100 report``)."""
    spec = spec_only(week, settings).spec
    current = [
        r for r in records.Journal(out_dir).load().values() if r.assignment == week
    ]
    return write_gradebook(out_dir, spec, current)


@dataclass
class Work:
    """What a run grades, and why each one."""

    todo: list[Submission] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # id -> why

    def summary(self) -> list[str]:
        """One line per reason: "3 changed since the last run: regraded (...)"."""
        new = [i for i, why in self.reasons.items() if why == NEW]
        asked = [i for i, why in self.reasons.items() if why.startswith(ASKED)]
        changed: dict[str, int] = {}
        for why in self.reasons.values():
            if why not in (NEW,) and not why.startswith(ASKED):
                changed[why] = changed.get(why, 0) + 1
        lines = []
        if new:
            lines.append(f"{len(new)} to grade")
        for why, count in sorted(changed.items()):
            lines.append(f"{count} changed since the last run: regraded ({why})")
        if asked:
            lines.append(f"{len(asked)} regraded on request")
        return lines


NEW = "new"
ASKED = "asked"


def plan_work(
    submissions: list[Submission],
    done: dict[str, Record],
    prints: dict[str, dict],
    regrade: tuple[str, ...],
) -> Work:
    """Which submissions to grade: new ones, stale ones, and those asked for."""
    work = Work()
    for submission in submissions:
        old = done.get(submission.id)
        if old is None:
            why = NEW
        elif wanted(old, regrade):
            why = f"{ASKED}: --regrade {' '.join(regrade)}"
        else:
            changed = provenance.changes(old.provenance, prints[submission.id])
            if not changed:
                continue
            why = ", ".join(changed)
        work.todo.append(submission)
        work.reasons[submission.id] = why
    return work


def wanted(record: Record, regrade: tuple[str, ...]) -> bool:
    """Does ``--regrade`` ask for this record?"""
    if "all" in regrade or record.id in regrade:
        return True
    return "failed" in regrade and record.status in FAILED


def check_regrade(regrade: tuple[str, ...], known_ids: set[str]) -> str:
    """Why ``--regrade`` cannot be honoured ("" when it can): an id not in the
    batch is a typo the TA must hear about before any work."""
    unknown = [r for r in regrade if r not in ("all", "failed") and r not in known_ids]
    if not unknown:
        return ""
    return (
        f"--regrade: no submission with id {', '.join(unknown)} in this batch "
        "(ids are in the first column of the score table and in records.jsonl)"
    )


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def save_answers(
    out_dir: Path,
    assignment: Assignment,
    submission: Submission | None,
    settings: Settings,
) -> None:
    """The submission's written answers and answer code, as submitted, into
    ``out_dir/answers/`` (read by the review and the similarity screen)."""
    if submission is None:
        return
    found = {}
    if submission.notebook is not None and not submission.problem:
        manual = [q["name"] for q in assignment.spec["questions"] if q["manual"]]
        release = settings.release_dir / assignment.name / f"{assignment.name}.ipynb"
        found = answers.extract(submission.notebook, manual, release)
    answers.write_answers(out_dir, submission.id, assignment.name, found)
