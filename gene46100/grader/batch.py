"""Grade a batch: resume from the journal, grade what is left, write the reports.

The journal (``records.jsonl``) is appended as each record arrives, wherever it was
graded (see ``runners``); ``grades.csv`` and the reports are written from it.
"""

from __future__ import annotations

from pathlib import Path

from gene46100.grader import answers, records, reports, runners
from gene46100.grader.assignment import Assignment, Settings, load_assignment
from gene46100.grader.intake import Submission
from gene46100.grader.records import Record


def grade_batch(
    assignment_name: str,
    submissions: list[Submission],
    out_dir: Path,
    settings: Settings,
    progress=None,
) -> list[Record]:
    """Grade every submission not already in the journal; return all records."""
    assignment = load_assignment(assignment_name, settings)
    journal = records.Journal(out_dir)
    done = journal.load()
    todo = [s for s in submissions if s.id not in done]
    runner = runners.runner_for(settings)
    by_id = {s.id: s for s in todo}
    for record in runner.grade_each(assignment, todo, settings):  # journaled on arrival
        journal.append(record)
        records.write_record_file(out_dir, record)
        save_answers(out_dir, assignment, by_id.get(record.id), settings)
        done[record.id] = record
        records.write_grades_csv(out_dir, assignment.spec, list(done.values()))
        if progress is not None:
            progress(record)
    wanted = {s.id for s in submissions}
    final = [r for r in done.values() if r.id in wanted]
    records.write_grades_csv(out_dir, assignment.spec, final)
    reports.write_all(out_dir, assignment.spec, final)
    return final


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
