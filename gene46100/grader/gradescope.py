"""Gradescope entry point: grade ``/autograder/submission`` with the same grader.

The autograder zip (built by ``gene46100 build``) carries this package, the pins and
the assignment spec; its ``run_autograder`` calls ``python3 -m
gene46100.grader.gradescope week1``. Scores are the ones ``gene46100 grade`` gives:
the same hidden inputs, the same sandboxed run, the same trusted scoring.

How student code is kept from the hidden checks there (Gradescope starts
``run_autograder`` as root, in a container of its own per submission):

- bubblewrap, where it can create namespaces in that container: the same sandbox as
  everywhere;
- else, as root: student code runs as the unprivileged user ``nobody`` (the uid
  bubblewrap gives it), and the autograder's own files are closed to that user
  first (``chmod go-rwx``: the unzipped source with the hidden checks, the reference
  and the manual grades, the results folder, the submission's metadata), as
  Gradescope's best practices advise ("Run your autograder as a non-root user").
  Before any student code runs, that user is made to try reading the hidden checks
  and the reference (as files and as importable modules): grading goes on only if
  it cannot. The results say how it ran;
- else (no bubblewrap and not root): nothing is graded and ``results.json`` says
  why: student code would run as the grader's own user, able to read the hidden
  checks and to write the results.

Manual grades reach Gradescope through the autograder: ``gene46100 gradescope WEEK
--out DIR`` adds the written answers' grades given in ``gene46100 review`` to a copy
of the zip (``manual_grades.json``); upload it (Configure Autograder), then "Regrade
All Submissions". Each run finds its student's grades by Gradescope's submission id
or by a submitter's email (``/autograder/submission_metadata.json``; emails are
stored hashed) and applies a grade only to the very answer that was graded (the same
hash of the answer as the review's); a changed answer stays pending.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from gene46100 import course
from gene46100.grader import answers, gradebook, reports, sandbox
from gene46100.grader.assignment import Settings, load_assignment, spec_only
from gene46100.grader.intake import Submission, find_submissions
from gene46100.grader.pipeline import empty_record, grade_submission
from gene46100.grader.records import Journal, Record, Status, write_atomic

MANUAL_FILE = "manual_grades.json"  # at the zip's root: /autograder/source/
MANUAL_FORMAT = "gene46100-manual-grades/1"
# nobody, the uid and gid bubblewrap runs student code as
UNPRIVILEGED = (sandbox.SANDBOX_ID, sandbox.SANDBOX_ID)
DROPPED_SANDBOX = (
    "none (bubblewrap cannot run here): your code ran as the unprivileged user "
    f"nobody (uid {sandbox.SANDBOX_ID}), with the autograder's files closed to it"
)
EMAIL = re.compile(r"<([^<>\s]+@[^<>\s]+)>|([^<>\s;]+@[^<>\s;]+)")


def autograder_root() -> Path:
    """``/autograder`` on Gradescope; overridable for local simulation and tests."""
    return Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))


def main(assignment_name: str) -> int:
    root = autograder_root()
    (root / "results").mkdir(parents=True, exist_ok=True)
    try:
        isolation = isolate(root)
        if isolation.refusal:
            results = refused(assignment_name, isolation.refusal)
        else:
            results = grade(root, assignment_name, isolation)
    finally:
        sandbox.run_unsafe_as(None)
    write_atomic(root / "results" / "results.json", json.dumps(results, indent=2))
    return 0


# ---------------------------------------------------------------- isolation
@dataclass
class Isolation:
    """How student code is kept apart here: ``unsafe`` (no bubblewrap) with
    ``user`` (the unprivileged uid and gid it runs as), or ``refusal`` (why
    nothing may run)."""

    unsafe: bool = False
    user: tuple[int, int] | None = None
    refusal: str = ""
    notes: list[str] = field(default_factory=list)


def isolate(root: Path) -> Isolation:
    """Choose how student code runs here and prepare it (see the module docstring):
    bubblewrap; else, as root, the unprivileged user with the autograder's files
    closed to it (checked); else a refusal."""
    if sandbox.bwrap_path() is not None:
        return Isolation()
    if os.geteuid() != 0:
        return Isolation(
            refusal="bubblewrap cannot create its sandbox here and the autograder "
            "does not run as root, so it cannot run your code as another user: "
            "your code would run as the grader itself, able to read the hidden "
            "tests. Nothing was run."
        )
    closed = close_to_others(secret_paths(root))
    problem = reach_interpreter(root, UNPRIVILEGED)
    if not problem:
        problem = readable_secrets(UNPRIVILEGED, root / "source" / MANUAL_FILE)
    if problem:
        return Isolation(refusal=f"{problem} Nothing was run.")
    sandbox.run_unsafe_as(UNPRIVILEGED)
    return Isolation(unsafe=True, user=UNPRIVILEGED, notes=closed)


def secret_paths(root: Path) -> list[Path]:
    """What the unprivileged user must not read: the unzipped autograder (the
    hidden checks, the reference, the manual grades), the results folder, the
    submission's metadata (its earlier results), installed copies of the packages."""
    found = [
        root / "source",
        root / "results",
        root / "submission_metadata.json",
        *map(Path, sandbox.hidden_package_dirs()),
    ]
    return [p for p in found if os.path.lexists(p)]


def close_to_others(paths: list[Path]) -> list[str]:
    """``chmod go-rwx`` each path (a folder closed this way closes all it holds; a
    link's target is closed); returns what was closed."""
    closed = []
    for path in paths:
        try:
            os.chmod(path, stat.S_IMODE(path.stat().st_mode) & ~0o077)
        except OSError:  # a dangling link: nothing to read there
            continue
        closed.append(str(path))
    return closed


# Run as the unprivileged user: the modules student code could import or read.
PROBE = """\
import importlib.util, sys
for path in sys.argv[1:]:
    try:
        open(path, "rb").close()
    except OSError:
        pass
    else:
        print(path)
for name in ("gene46100.checks", "gene46100_ref"):
    try:
        spec = importlib.util.find_spec(name)
    except Exception:
        continue
    if spec is not None and spec.origin:
        try:
            open(spec.origin, "rb").close()
        except OSError:
            pass
        else:
            print(spec.origin)
import numpy
"""


def as_user(user: tuple[int, int], *args: str) -> subprocess.CompletedProcess:
    """``PROBE`` run by this interpreter as ``user`` (no other group, no inherited
    environment, from ``/``)."""
    return subprocess.run(
        [sys.executable, "-I", "-c", PROBE, *args],
        user=user[0],
        group=user[1],
        extra_groups=[],
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def reach_interpreter(root: Path, user: tuple[int, int]) -> str:
    """Make sure ``user`` can run this interpreter with its packages: folders of
    the autograder on the way to it may be made traversable (``o+x``, never
    readable); nothing outside it is changed. Returns "" or the problem."""
    if _probe_runs(user):
        return ""
    inside, closed = root.resolve(), [p.resolve() for p in secret_paths(root)]
    for target in (Path(sys.prefix).resolve(), Path(sys.executable).resolve()):
        for folder in [*reversed(target.parents), target]:
            mine = folder == inside or inside in folder.parents
            secret = any(c == folder or c in folder.parents for c in closed)
            if mine and not secret and folder.is_dir():
                info = folder.stat()
                if not info.st_mode & stat.S_IXOTH:
                    os.chmod(folder, stat.S_IMODE(info.st_mode) | stat.S_IXOTH)
    if _probe_runs(user):
        return ""
    print(f"uid {user[0]} cannot run {sys.executable} and import numpy")  # staff
    return (
        "the autograder's Python cannot be run by an unprivileged user (the "
        "course staff must install it where every user can read it)."
    )


def _probe_runs(user: tuple[int, int]) -> bool:
    try:
        return as_user(user).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def readable_secrets(user: tuple[int, int], *more: Path) -> str:
    """What of the hidden checks, the reference (as files, or as the modules its
    Python would import) and ``more`` ``user`` can read; "" for nothing."""
    import gene46100.checks
    import gene46100_ref

    paths = [gene46100.checks.__file__, gene46100_ref.__file__, *map(str, more)]
    probe = as_user(user, *[str(p) for p in paths if p])
    readable = probe.stdout.split()
    if probe.returncode == 0 and not readable:
        return ""
    # for the course staff only: results.json's "output" names no path
    print("readable by the unprivileged user:", readable or probe.stderr[-300:])
    return (
        "the autograder could not close its hidden tests to an unprivileged user "
        "(the course staff can read why in the autograder's output)."
    )


def refused(assignment_name: str, why: str) -> dict:
    """Results that grade nothing: every question listed, the reason first."""
    assignment = spec_only(assignment_name, Settings())
    placeholder = Submission("submission", "submission", None)
    record = empty_record(
        assignment, placeholder, Status.INTERNAL_ERROR, f"Not graded: {why}"
    )
    record.sandbox = "none (refused: see the note)"
    return reports.gradescope_results(record)


# ---------------------------------------------------------------- grading
def grade(root: Path, assignment_name: str, isolation: Isolation) -> dict:
    settings = Settings(unsafe=isolation.unsafe)
    assignment = load_assignment(assignment_name, settings)
    found = find_submissions([root / "submission"], assignment=assignment_name)
    if len(found) != 1:
        notebooks = ", ".join(s.source for s in found) or "none"
        record = empty_record(
            assignment,
            Submission("submission", "submission", None),
            Status.INVALID,
            f"Submit exactly one notebook (found: {notebooks}).",
        )
        notebook = None
    else:
        record = grade_submission(assignment, found[0], settings)
        notebook = found[0].notebook if not found[0].problem else None
    if isolation.user is not None:
        record.sandbox = DROPPED_SANDBOX
    grades, notes = manual_grades_for(
        read_manual_file(root / "source" / MANUAL_FILE),
        read_metadata(root / "submission_metadata.json"),
        written_answers(assignment_name, assignment.spec, notebook, settings),
    )
    results = reports.gradescope_results(gradebook.with_manual(record, grades))
    if notes:
        results["output"] += "\n" + "\n".join(notes)
    if isolation.notes:  # for the course staff (stdout is hidden from students)
        print("closed to the unprivileged user:", ", ".join(isolation.notes))
    return results


# ---------------------------------------------------------------- manual grades
def email_key(email: str) -> str:
    """How ``manual_grades.json`` knows a student: a hash of the email (the zip
    names nobody)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def emails_of(student: str) -> list[str]:
    """The emails in a record's ``student`` ("Name <email>; Other <email>")."""
    return [a or b for a, b in EMAIL.findall(student or "")]


def answer_sha(entry: dict | None) -> str:
    """The review's hash of a written answer (``review.store.entry_sha``), of the
    answer as JSON has it (what ``DIR/answers`` holds)."""
    from gene46100.review.store import entry_sha

    return entry_sha(json.loads(json.dumps(entry)) if entry is not None else None)


def written_answers(
    week: str, spec: dict, notebook: Path | None, settings: Settings
) -> dict[str, str]:
    """Each written question's answer hash in ``notebook``, extracted as ``gene46100
    grade`` extracts it for the review (``batch.save_answers``)."""
    manual = [q["name"] for q in spec["questions"] if q["manual"]]
    found: dict = {}
    if notebook is not None:
        release = settings.release_dir / week / f"{week}.ipynb"
        found = answers.extract(notebook, manual, release)
    entries = found.get("manual", {}) if isinstance(found, dict) else {}
    return {name: answer_sha(entries.get(name)) for name in manual}


def read_manual_file(path: Path) -> dict:
    """The zip's manual grades (``{}`` when it carries none or they are unusable:
    every written answer then stays pending)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        print(f"{path}: not read ({type(exc).__name__}); no manual grades applied")
        return {}
    if not isinstance(data, dict) or data.get("format") != MANUAL_FORMAT:
        print(f"{path}: not a {MANUAL_FORMAT} file; no manual grades applied")
        return {}
    return data


def read_metadata(path: Path) -> dict:
    """Gradescope's ``submission_metadata.json`` (``{}`` when absent or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def manual_grades_for(
    data: dict, metadata: dict, shas: dict[str, str]
) -> tuple[dict[str, dict], list[str]]:
    """This submission's manual grades (``gradebook.with_manual``'s input) and what
    the student should know about the ones not applied.

    Candidates: the exported submissions with this Gradescope submission id, then
    those of a submitter's email (newest grade first). A grade applies only to the
    answer it was given for (same ``answer_sha``)."""
    sub_id = str(metadata.get("id", "")).strip()
    users = metadata.get("users") if isinstance(metadata.get("users"), list) else []
    keys = {
        email_key(u["email"])
        for u in users
        if isinstance(u, dict) and isinstance(u.get("email"), str)
    }
    exported = data.get("submissions")
    exported = (
        [s for s in exported if isinstance(s, dict)]
        if isinstance(exported, list)
        else []
    )
    by_id = [s for s in exported if sub_id and str(s.get("gradescope_id")) == sub_id]
    by_email = [
        s
        for s in exported
        if s not in by_id
        and isinstance(s.get("emails"), list)
        and keys & {e for e in s["emails"] if isinstance(e, str)}
    ]
    grades, notes = {}, []
    for question, sha in shas.items():
        newest = sorted(
            _given(by_email, question),
            key=lambda g: str(g.get("graded_at", "")),
            reverse=True,
        )
        given = _given(by_id, question) + newest
        matching = [g for g in given if g.get("answer_sha") == sha]
        if matching:
            grades[question] = matching[0]
        elif given:
            notes.append(
                f"{question}: your written answer differs from the one a person "
                "graded; it is pending until this one is graded."
            )
    return grades, notes


def _given(submissions: list[dict], question: str) -> list[dict]:
    """The usable grades of ``question`` among exported submissions."""
    found = []
    for submission in submissions:
        grades = submission.get("grades")
        grade = grades.get(question) if isinstance(grades, dict) else None
        if isinstance(grade, dict) and isinstance(grade.get("score"), (int, float)):
            found.append(grade)
    return found


# ---------------------------------------------------------------- export
@dataclass
class Export:
    """What ``export_manual_grades`` wrote and counted."""

    path: Path
    submissions: int = 0
    grades: int = 0
    pending: int = 0
    unreachable: list[str] = field(default_factory=list)


class ExportError(ValueError):
    """The output folder or the zip cannot give Gradescope its manual grades."""


def default_zip(week: str) -> Path:
    return course.REPO / "autograder" / week / f"{week}-autograder.zip"


def export_manual_grades(
    week: str, out_dir: Path, zip_in: Path | None = None
) -> Export:
    """``out_dir/gradescope/<week>-autograder.zip``: the built zip plus the manual
    grades given so far in ``gene46100 review`` (``manual_grades.json``).

    A submission reaches Gradescope by its Gradescope id (graded from a Gradescope
    export: ``gradescope-<id>``) or its student's email (from the export's
    metadata); others are counted in ``unreachable``."""
    zip_in = zip_in or default_zip(week)
    if not zip_in.is_file():
        raise ExportError(f"{zip_in} is missing: run `gene46100 build {week}` first")
    journal = Journal(out_dir)
    if not journal.path.exists():
        raise ExportError(f"{out_dir} has no records.jsonl: grade {week} there first")
    from gene46100.review.store import read_answers

    records = {r.id: r for r in journal.load().values() if r.assignment == week}
    grades = gradebook.manual_grades(out_dir, week)
    done = Export(out_dir / "gradescope" / f"{week}-autograder.zip")
    entries = []
    for sid, record in sorted(records.items()):
        written = [q.name for q in record.questions if q.status == "manual"]
        given = grades.get(sid, {})
        done.pending += sum(1 for q in written if q not in given)
        if not given:
            continue
        entry = _export_entry(sid, record, given, read_answers(out_dir, sid))
        if not entry["gradescope_id"] and not entry["emails"]:
            done.unreachable.append(sid)
            continue
        entries.append(entry)
        done.submissions += 1
        done.grades += len(entry["grades"])
    data = {"format": MANUAL_FORMAT, "assignment": week, "submissions": entries}
    write_zip_with(zip_in, done.path, MANUAL_FILE, json.dumps(data, indent=1))
    return done


# What a grade carries to Gradescope (``review.store.manual_grades``'s keys).
GRADE_KEYS = ("score", "possible", "items", "comment", "grader", "graded_at", "auto")


def _export_entry(sid: str, record: Record, given: dict, found: dict) -> dict:
    from gene46100.review.store import answer_entry

    match = re.fullmatch(r"gradescope-(\d{1,18})", sid)
    return {
        "gradescope_id": match[1] if match else "",
        "emails": sorted({email_key(e) for e in emails_of(record.student)}),
        "grades": {
            question: {
                **{k: grade[k] for k in GRADE_KEYS if k in grade},
                "answer_sha": answer_sha(answer_entry(found, question)),
            }
            for question, grade in sorted(given.items())
        },
    }


def write_zip_with(zip_in: Path, zip_out: Path, name: str, text: str) -> None:
    """A copy of ``zip_in`` with ``name`` (at its root) holding ``text``."""
    zip_out.parent.mkdir(parents=True, exist_ok=True)
    partial = zip_out.with_name(zip_out.name + ".partial")
    with zipfile.ZipFile(zip_in) as source, zipfile.ZipFile(partial, "w") as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info, source.read(info), zipfile.ZIP_DEFLATED)
        added = zipfile.ZipInfo(name, date_time=source.infolist()[0].date_time)
        added.external_attr = 0o600 << 16
        target.writestr(added, text, zipfile.ZIP_DEFLATED)
    os.replace(partial, zip_out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
