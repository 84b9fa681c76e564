"""``gene46100``: build the assignments, grade submissions."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gene46100 import course
from gene46100.grader import sandbox
from gene46100.grader.records import QuestionResult, Record
from gene46100.review.cli import add_parser as review_parser
from gene46100.similarity.command import add_parser as similarity_parser

if TYPE_CHECKING:
    from gene46100.grader.intake import Submission


def build_command(args: argparse.Namespace) -> int:
    from gene46100 import build, course

    try:
        weeks = tuple(course.week(w).name for w in args.weeks) or course.WEEKS
    except course.UnknownWeek as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        from gene46100.build import stale

        problems = stale.stale_files()
        for line in problems:
            print(line)
        if problems:
            print(
                f"{len(problems)} generated file(s) out of date: run `gene46100 "
                "build` (or `make build`) and commit",
                file=sys.stderr,
            )
            return 1
        print("generated files are up to date")
        return 0
    try:
        build.build(weeks)
    except build.BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        "built: assignments/, autograder/, examples/submissions/, "
        "gene46100_ref/<week>.py"
    )
    others = [w for w in course.WEEKS if w not in weeks]
    if others:
        # Each week's Gradescope zip carries the whole tool, checks and references.
        print(
            f"note: the {', '.join(others)} autograder zips carry the tool as it "
            "was: run `gene46100 build` (every week) before you commit",
            file=sys.stderr,
        )
    return 0


def refusal(args: argparse.Namespace) -> str:
    """Why ``grade`` must not start (unknown week, a path that is not there), or "".

    Checked before anything heavy is imported: a typo is answered at once.
    """
    from gene46100 import course

    try:
        args.assignment = course.week(args.assignment).name
    except course.UnknownWeek as exc:
        return str(exc)
    missing = [p for p in args.submissions if not Path(p).exists()]
    if missing:
        return f"no such file or folder: {', '.join(missing)}"
    from gene46100.buildstamp import stale_build

    return stale_build(args.assignment, course.REPO / "autograder")


def grade_command(args: argparse.Namespace) -> int:
    problem = refusal(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    # On a cluster, each worker checks its own bubblewrap (cluster.check_workers).
    local = not args.scheduler
    if local and not args.unsafe_no_sandbox and sandbox.bwrap_path() is None:
        print(
            "error: bubblewrap (bwrap) is missing or cannot create namespaces, so "
            "student code cannot be isolated.\nInstall it (Debian/Ubuntu: apt-get "
            "install bubblewrap) or, on a machine you do not mind exposing, pass "
            "--unsafe-no-sandbox (every record will say so).",
            file=sys.stderr,
        )
        return 2
    if args.gpu and (args.unsafe_no_sandbox or not sandbox.gpu_devices()):
        print(
            "error: --gpu lends the sandbox this machine's NVIDIA GPU, and "
            + (
                "needs the sandbox (drop --unsafe-no-sandbox)"
                if args.unsafe_no_sandbox
                else "there is none here (no /dev/nvidia* device nodes); without "
                "--gpu, CUDA requests in student code run on the CPU, with the "
                "same grades"
            ),
            file=sys.stderr,
        )
        return 2
    from gene46100.grader import intake

    found = intake.survey(
        [Path(p) for p in args.submissions], assignment=args.assignment
    )
    submissions = found.submissions
    if not submissions:
        print(
            f"error: no submission found in {', '.join(args.submissions)} (looked "
            "for notebooks, folders of them, zips and LMS downloads); nothing written",
            file=sys.stderr,
        )
        return 2
    from gene46100.grader.batch import check_regrade

    problem = check_regrade(tuple(args.regrade or ()), {s.id for s in submissions})
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        intake.cleanup()
        return 2
    try:
        return grade_found(args, submissions, found.left_alone)
    finally:
        intake.cleanup()  # notebooks extracted from archives


def grade_found(
    args: argparse.Namespace,
    submissions: list[Submission],
    left_alone: tuple[str, ...] = (),
) -> int:
    """Grade what intake found (the heavy imports start here)."""
    from tqdm import tqdm

    from gene46100.grader.assignment import Settings
    from gene46100.grader.batch import grade_batch, intake_summary
    from gene46100.grader.cluster import ClusterRefused
    from gene46100.grader.sandbox.supervisor import Timeouts

    settings = Settings(
        timeouts=Timeouts(cell_s=args.cell_timeout, submission_s=args.timeout),
        jobs=args.jobs,
        unsafe=args.unsafe_no_sandbox,
        # A GPU sandbox is cold: the warm parent's forks cannot share a CUDA device.
        warm=not args.cold and not args.gpu,
        scheduler=args.scheduler or "",
    )
    if args.gpu:
        settings.limits = dataclasses.replace(settings.limits, gpu=True)
    if args.no_reference_cache:
        settings.reference_cache = None
    out = Path(args.out)
    try:
        with tqdm(
            total=len(submissions),
            unit="sub",
            desc=f"grading {args.assignment}",
            disable=args.quiet,
            file=sys.stderr,
        ) as bar:
            results = grade_batch(
                args.assignment,
                submissions,
                out,
                settings,
                progress=lambda record: bar.update(1),
                regrade=tuple(args.regrade or ()),
                say=lambda line: bar.write(line, file=sys.stderr),
            )
    except ClusterRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print_table(results)
    print(intake_summary(submissions, results, left_alone))
    missing = len({s.id for s in submissions}) - len(results)
    if missing:  # only on a cluster: a worker unfit to grade them (logged above)
        print(
            f"error: {missing} submission(s) were not graded; run the same command "
            "again to grade them",
            file=sys.stderr,
        )
        return 1
    print(
        f"\nwrote {out / 'grades.csv'}, {out / 'records.jsonl'}, {out / 'records'}/,"
        f" {out / 'report.html'}, {out / 'feedback'}/ and {out / 'gradescope'}/"
    )
    return 0


def canvas_command(args: argparse.Namespace) -> int:
    from gene46100.grader import canvas

    points = canvas.Points.CHECK
    if args.scale_to_canvas and args.set_points:
        print(
            "error: --scale-to-canvas and --set-points exclude each other",
            file=sys.stderr,
        )
        return 2
    if args.scale_to_canvas:
        points = canvas.Points.SCALE
    elif args.set_points:
        points = canvas.Points.SET
    options = canvas.Options(
        assignment=args.assignment or "",
        zero_missing=args.zero_missing,
        partial=args.partial,
        points=points,
    )
    try:
        week = course.week(args.assignment_week).name
        done = canvas.export(
            week, Path(args.out), Path(args.roster) if args.roster else None, options
        )
    except (course.UnknownWeek, canvas.CanvasError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for warning in done.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for note in done.notes:
        print(f"note: {note}")
    print(
        f"wrote {done.path}: {done.rows} student(s) in column {done.column!r} "
        "(students not in the file keep their Canvas grade); import it in Canvas: "
        "Grades > Import"
    )
    return 0


def print_table(results: list[Record]) -> None:
    """A per-submission score table, one row each (M: a written answer not graded
    yet; the totals say what they include, as every page does)."""
    from gene46100.grader.records import totals

    if not results:
        print("no submissions found")
        return
    names = [q.name for q in results[0].questions]
    width = max(len(r.id) for r in results)
    print(
        f"{'submission':<{width}}  "
        + " ".join(f"{n:>4}" for n in names)
        + "  total    status"
    )
    for r in sorted(results, key=lambda r: r.id):
        scores = {q.name: q for q in r.questions}
        cells = " ".join(_cell(scores[n]) for n in names)
        sums = totals(r)
        print(
            f"{r.id:<{width}}  {cells}  {sums.overall:>5g}/{sums.overall_possible:<3g}"
            f" {r.status}  ({sums.describe()})"
        )


def _cell(question: QuestionResult) -> str:
    if question.status == "manual":
        return f"{'M':>4}"
    return f"{question.score:>4g}"


def report_command(args: argparse.Namespace) -> int:
    """Rewrite grades.csv and the reports (after grading written answers)."""
    from gene46100.grader.assignment import Settings
    from gene46100.grader.batch import rewrite_reports

    try:
        week = course.week(args.assignment_week).name
    except course.UnknownWeek as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if not (out / "records.jsonl").exists():
        print(
            f"error: {out} has no records.jsonl: run `gene46100 grade {week} ... "
            f"--out {out}` first",
            file=sys.stderr,
        )
        return 2
    results = rewrite_reports(week, out, Settings())
    print_table(results)
    print(
        f"\nwrote {out / 'grades.csv'}, {out / 'report.html'}, {out / 'feedback'}/ "
        f"and {out / 'gradescope'}/"
    )
    return 0


def gradescope_command(args: argparse.Namespace) -> int:
    """Write a copy of the week's Gradescope zip carrying the manual grades."""
    from gene46100.grader import gradescope

    try:
        week = course.week(args.assignment_week).name
        done = gradescope.export_manual_grades(
            week, Path(args.out), Path(args.zip) if args.zip else None
        )
    except (course.UnknownWeek, gradescope.ExportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for sid in done.unreachable:
        print(
            f"warning: {sid}: no Gradescope submission id or email says who it is "
            "on Gradescope, so its written answers' grades cannot reach it (grade "
            "Gradescope's own export of the submissions)",
            file=sys.stderr,
        )
    print(
        f"wrote {done.path}: {done.grades} manual grade(s) of {done.submissions} "
        f"submission(s); {done.pending} written answer(s) not graded yet (pending "
        "on Gradescope). Upload it on Gradescope (Configure Autograder), then "
        "Manage Submissions > Regrade All Submissions."
    )
    return 0


GRADE_INPUTS = f"""\
weeks: {", ".join(course.WEEKS)}

accepted inputs (any mix):
  a notebook               week1.ipynb (any name; renamed copies are fine)
  a student's folder       the notebook and its companion files (week3a:
                           predict.py, model_weights.pt)
  a folder of the above    one submission per notebook or per student folder
  a zip                    one student's files, or Otter's export zip
  a Canvas bulk download   the folder or zip "Download Submissions" gives
                           (student_12345_67890_week1.ipynb): Canvas user ids,
                           late flags and the newest version are kept
  a Gradescope export      the folder or zip with submission_metadata.yml

several notebooks in one submission: the one named <week>.ipynb, else the one whose
metadata names the assignment; the others are listed in its record.
"""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="gene46100", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    b = sub.add_parser(
        "build",
        help="regenerate assignments/ and autograder/ from the master notebooks",
    )
    b.add_argument("weeks", nargs="*", help="weeks to build (default: all)")
    b.add_argument(
        "--check",
        action="store_true",
        help="rebuild into a temporary folder and list the generated files that "
        "are out of date (exit 1 if any); writes nothing",
    )
    b.set_defaults(func=build_command)
    g = sub.add_parser(
        "grade",
        help="grade submissions in sandboxes",
        description="Grade submissions, each in its own sandbox; resumable.",
        epilog=GRADE_INPUTS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument("assignment", help=f"the week: {', '.join(course.WEEKS)}")
    g.add_argument(
        "submissions", nargs="+", help="notebooks, folders or zips (see below)"
    )
    g.add_argument("--out", required=True, help="output folder (resumable)")
    g.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    g.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds per submission (default 600)",
    )
    g.add_argument(
        "--cell-timeout",
        type=float,
        default=60.0,
        help="seconds per notebook cell (default 60)",
    )
    g.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="run without bubblewrap (student code can read hidden tests)",
    )
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on a Dask cluster: tcp://HOST:8786 (or tls://...), a "
        "scheduler file (scheduler.json), or local:N for N local worker "
        "processes; --jobs is then ignored (see README)",
    )
    g.add_argument(
        "--regrade",
        nargs="+",
        metavar="WHAT",
        help="regrade on purpose: 'all', 'failed' (grading did not finish: timeout, "
        "oom, kernel_died, internal_error) or submission ids; earlier records are "
        "kept (records.jsonl) and the changes go to regrade-diff.csv. Without it, a "
        "re-run regrades exactly the submissions whose inputs changed",
    )
    g.add_argument(
        "--cold",
        action="store_true",
        help="start a fresh sandbox for every submission instead of forking it from "
        "a warm one (slower; same isolation and grades)",
    )
    g.add_argument(
        "--gpu",
        action="store_true",
        help="grade on this machine's NVIDIA GPU: its device nodes are bound into "
        "each (cold) sandbox and the questions run CUDA requests on it; without it, "
        "CUDA requests in student code run on the CPU (same grades, noted in the "
        "record)",
    )
    g.add_argument(
        "--no-reference-cache",
        action="store_true",
        help="compute the reference outputs this run instead of reusing those an "
        "earlier run computed from the same hidden inputs and code (kept in "
        "~/.cache/gene46100, or $GENE46100_CACHE; GENE46100_CACHE=off turns it off)",
    )
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=grade_command)
    c = sub.add_parser(
        "canvas",
        help="write DIR/canvas.csv for Canvas's gradebook import",
        description="Write DIR/canvas.csv (Canvas's gradebook import format) from a "
        "graded output folder: one assignment column, chosen by Canvas id or exact "
        "title, with the week's total (autograded plus the manual grades). Only "
        "students with a submission get a row: Canvas leaves the others' grades "
        "alone. It refuses (exit 2, nothing written) while written answers are "
        "ungraded, when the column is not found exactly, or when Canvas's points "
        "differ from the week's. No late penalty is applied: Canvas applies the "
        "course's own policy.",
    )
    c.add_argument("assignment_week", metavar="week", help="the week, e.g. week1")
    c.add_argument("--out", required=True, help="the folder `grade` wrote")
    c.add_argument(
        "--roster",
        metavar="GRADEBOOK.csv",
        help="the course's gradebook export (Grades > Export): names, SIS ids, "
        "sections, the assignment columns, their points and the grades already given",
    )
    c.add_argument(
        "--assignment",
        metavar='"Title (id)"',
        help='the Canvas assignment column to fill: "Title (id)", a bare Canvas '
        "assignment id, or an exact title (default: the course registry's name for "
        'the week, e.g. "Week 1")',
    )
    c.add_argument(
        "--zero-missing",
        action="store_true",
        help="write 0 for roster students with no submission (those with a grade in "
        "Canvas already are left alone); the count is printed",
    )
    c.add_argument(
        "--partial",
        action="store_true",
        help="export totals while written answers are still ungraded (they count 0)",
    )
    c.add_argument(
        "--scale-to-canvas",
        action="store_true",
        help="when Canvas's points possible differ from the week's, scale every "
        "score to Canvas's points",
    )
    c.add_argument(
        "--set-points",
        action="store_true",
        help="when Canvas's points possible differ from the week's, write the "
        "week's points (Canvas's assignment changes to them)",
    )
    c.set_defaults(func=canvas_command)
    r = sub.add_parser(
        "report",
        help="rewrite grades.csv and the reports with the manual grades given so far",
    )
    r.add_argument("assignment_week", metavar="week", help="the week, e.g. week1")
    r.add_argument("--out", required=True, help="the folder `grade` wrote")
    r.set_defaults(func=report_command)
    gs = sub.add_parser(
        "gradescope",
        help="write DIR/gradescope/WEEK-autograder.zip carrying the manual grades",
        description="Copy the week's Gradescope zip with the written answers' "
        "grades given so far in `gene46100 review` (manual_grades.json; emails "
        "hashed). Upload it on Gradescope and regrade all submissions: each "
        "student's results then count the grades of the answers graded (matched "
        "by Gradescope submission id or email, and by the answer itself: a changed "
        "answer stays pending).",
    )
    gs.add_argument("assignment_week", metavar="week", help="the week, e.g. week1")
    gs.add_argument("--out", required=True, help="the folder `grade` wrote")
    gs.add_argument(
        "--zip",
        help="the autograder zip to copy (default: the built one, "
        "autograder/WEEK/WEEK-autograder.zip)",
    )
    gs.set_defaults(func=gradescope_command)
    similarity_parser(sub)  # gene46100 similarity (gene46100/similarity/)
    review_parser(sub)  # gene46100 review (gene46100/review/)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


def entry() -> None:
    """The ``gene46100`` command: ``main``, then exit without the interpreter's
    teardown. Freeing torch's modules at exit takes about 2 s on 2 cores, longer
    than grading an untouched submission; by then every file is written and closed
    (records are journaled as they finish), so only the buffers are flushed."""
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
