"""Intake: find submissions, give each a stable id, parse notebooks strictly.

Layouts: notebooks; folders of notebooks or of per-student folders; zip archives
(Otter's export zips included); Canvas bulk downloads (``submissions.zip`` or its
folder); Gradescope exports (folder or zip, with ``submission_metadata.yml``).

Only the code cells' text leaves intake. Nothing a submission contains is executed or
unpickled here (Otter's ``.OTTER_LOG`` pickle is never even extracted), archives are
checked from their central directory before anything is written and again while
writing, only the chosen notebook is extracted, and no shell ever sees a file name.

Fair to what students hand in:

- Saved outputs never cost points. The notebook's first cell asks students to keep
  their outputs, and a few Colab plots weigh megabytes, so the file itself may be
  large (``MAX_NOTEBOOK_BYTES``, read bounded); the size limit that protects the
  grader (``MAX_STRIPPED_BYTES``) applies to what remains once the code cells'
  outputs and the widget state are set aside: code and written answers.
- Every input gets a record. A notebook's other downloads (Colab's ``.py``, an
  ``.html`` or ``.pdf`` export) given to ``grade``, or lying in a folder of many
  students' notebooks, are an ``invalid_submission`` that says what to hand in; one
  beside its own notebook (same name) is listed in that notebook's record. Files
  that are no hand-in at all (a TA's ``grades.csv``, a week's companion files beside
  several notebooks) are left as they are and named in :func:`survey`'s
  ``left_alone``; macOS and Jupyter junk is skipped silently.
  Colab's ``.py`` export is never graded from its code: it drops the markdown cells
  (the written answers), the cell boundaries (per-cell timeouts and restarts, the
  ``otter_ignore`` tags) and the saved outputs, so grading it would grade something
  the student did not hand in as written.
- Companions (week 3a's ``predict.py`` and ``model_weights.pt``) come from the
  student's folder or zip, and from a notebook's own folder when it is graded by its
  path. A browser's name for a second download (``model_weights (1).pt``) stands for
  the plain name when that is absent; a weights file under another name is used when
  it is the only one. Either way the student is told by name (a note starting with
  ``STUDENT_NOTE``: the feedback page shows those).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import lzma
import os
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from gene46100 import course

MiB = 1024 * 1024
# The notebook file, saved outputs included: read bounded, never trusted further.
MAX_NOTEBOOK_BYTES = 200 * MiB
# What remains without the code cells' saved outputs: code and written answers.
MAX_STRIPPED_BYTES = 20 * MiB
MAX_CELLS = 2000
MAX_CELL_CHARS = 200_000
MAX_METADATA_BYTES = 5 * 1024 * 1024
MAX_SUBMITTERS = 20
SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")
CHUNK = 64 * 1024
MAX_COMPANION_BYTES = 50 * MiB  # e.g. a small CNN's state_dict
IGNORE_TAG = "otter_ignore"
CLEAR_OUTPUTS = (
    "Colab: Edit > Clear all outputs; Jupyter: Kernel > Restart & Clear Output"
)
HAND_IN_NOTEBOOK = "hand in the .ipynb (File > Download > Download .ipynb)"
# A notebook's other downloads and exports, by ending: never graded (see above).
EXPORT_KINDS = {
    ".py": "a Python file",
    ".html": "a web page (HTML export)",
    ".htm": "a web page (HTML export)",
    ".pdf": "a PDF",
    ".tex": "a LaTeX export",
}
# A browser's name for a second download of the same file: "predict (1).py".
BROWSER_COPY = re.compile(
    r"(?P<stem>.+?) ?\((?P<n>\d{1,4})\)(?P<ext>\.[^.]*)?", re.DOTALL
)
WEIGHTS_ENDINGS = (".pt", ".pth")
# A file name the sandbox may also be given under (a weights file's own name).
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# Notes that speak to the student about the files they handed in (shown on their
# feedback page); every other intake note is for the TA.
STUDENT_NOTE = "files: "
NOT_A_NOTEBOOK = "not a notebook"  # Submission.refusal of an export


@dataclass(frozen=True)
class ZipCaps:
    """Limits checked on an archive's central directory and again while extracting."""

    archive_bytes: int  # the .zip file itself
    members: int  # entries in the central directory (folders included)
    total_bytes: int  # sum of the declared uncompressed sizes
    member_bytes: int  # one member, uncompressed
    ratio: float  # uncompressed / compressed, checked on members over ratio_floor
    ratio_floor: int = 1 * MiB  # small files may compress well without being bombs


# One student's archive (an Otter export holds a notebook, a PDF, a log: a handful):
# room for a notebook with its saved outputs and the week's companion files.
ZIP_CAPS = ZipCaps(
    archive_bytes=300 * MiB,
    members=200,
    total_bytes=MAX_NOTEBOOK_BYTES + 2 * MAX_COMPANION_BYTES,
    member_bytes=MAX_NOTEBOOK_BYTES,
    ratio=200,
)
# A whole class (Canvas submissions.zip, a Gradescope export): only the chosen files
# are extracted, each under the member cap.
BULK_CAPS = ZipCaps(
    archive_bytes=8 * 1024 * MiB,
    members=20_000,
    total_bytes=8 * 1024 * MiB,
    member_bytes=MAX_NOTEBOOK_BYTES,
    ratio=200,
)
WORK_PARENT: Path | None = None  # where extraction dirs go (None: the system temp)

# Canvas: <login>_[LATE_]<user id>_<file id>_<the student's file name>.
CANVAS_NAME = re.compile(
    r"(?P<who>(?:[^\W_]|-)+)_(?:(?P<late>late)_)?"
    r"(?P<user>\d{1,18})_(?P<file>\d{1,18})_(?P<original>.+)",
    re.IGNORECASE | re.DOTALL,
)
CANVAS_VERSION = re.compile(r"(?P<stem>.+?)-(?P<n>\d{1,9})(?P<ext>\.[^.]*)?", re.DOTALL)
OTTER_STAMP = re.compile(
    r"_\d{4}_\d{2}_\d{2}T\d{2}_\d{2}_\d{2}_\d{6}(?=\.zip$)", re.IGNORECASE
)
GRADESCOPE_METADATA = "submission_metadata.yml"
GRADESCOPE_FOLDER = re.compile(r"submission_(\d{1,18})")
JUNK_PARTS = {"__MACOSX", ".ipynb_checkpoints", ".DS_Store"}
# Anything that reading a hostile or damaged archive can raise.
ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    UnicodeError,
)


class InvalidSubmission(Exception):
    """The submission cannot be graded; the message says what is wrong and where."""


@dataclass(frozen=True)
class Submission:
    """One student's submission: a stable id, where it came from, its notebook."""

    id: str
    source: str  # where it came from (for people to read; control characters escaped)
    notebook: Path | None
    problem: str = ""  # set when intake already knows it is invalid
    student: str = ""  # "Name <email>" from an LMS export, when it says
    notes: tuple[str, ...] = ()  # what a TA may want to know (late, files not graded)
    ignored: tuple[str, ...] = ()  # the student's other files, not graded
    workdir: Path | None = None  # intake's private extraction dir (see cleanup())
    # Files the assignment asks for beside the notebook (week3a: predict.py and
    # model_weights.pt), as (name the grader gives it, readable path on disk).
    companions: tuple[tuple[str, Path], ...] = ()
    canvas_user: str = ""  # Canvas's user id, from a Canvas bulk download
    late: bool = False  # the LMS marked it late
    submitted_at: str = ""  # when the LMS says it was submitted (ISO 8601)
    refusal: str = ""  # why intake refused it, in a few words (NOT_A_NOTEBOOK)


@dataclass(frozen=True)
class Survey:
    """What intake made of the paths it was given."""

    submissions: list[Submission]
    # Files in the given folders that are nobody's submission, as "path (why)":
    # the grade command names them, so that nothing given vanishes unsaid.
    left_alone: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Companions:
    """A student's other files split into the companions the week grades and the
    rest, with what the student should know about the names (``STUDENT_NOTE``)."""

    chosen: tuple[tuple[str, Path], ...]  # (name the grader gives it, path on disk)
    rest: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedNotebook:
    """What grading needs from a notebook: its code cells (and its kernel, a note)."""

    cells: list[dict]
    kernel: str  # the kernelspec the student's notebook names ("" if none); never used


@dataclass(frozen=True)
class _Listing:
    """A bulk download's files, from a folder or a zip: names, and how to get one."""

    names: list[str]
    fetch: Callable[[str], Path]  # a readable file on disk for a name
    source: Callable[[str], str]  # how people see where that name came from


@dataclass(frozen=True)
class _CanvasFile:
    """One file of a Canvas bulk download, its name taken apart."""

    name: str  # as Canvas named it in the download
    who: str  # Canvas's login / sortable name
    user: str  # Canvas user id: with ``who``, the student's stable id
    file_id: int  # Canvas's second number; a later upload has a larger one
    late: bool
    original: str  # the student's own file name, with any -N Canvas added
    base: str  # original without -N and Otter's timestamp: versions share it
    version: int  # the -N Canvas adds to a re-uploaded file name (0: none)


# --------------------------------------------------------------------------- ids


def _slug(text: str, limit: int = 60) -> str:
    """Filesystem-safe, readable text: ASCII letters, digits, ``._-``, starting with a
    letter or digit (never a hidden file, never read as a command-line option)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return SAFE_ID.sub("_", ascii_text).lstrip("._-")[:limit] or "submission"


def _digest(text: str, length: int = 8) -> str:
    # fsencode: a file name that is not valid UTF-8 still hashes (surrogateescape)
    return hashlib.sha256(os.fsencode(text)).hexdigest()[:length]


def stable_id(path: Path, root: Path) -> str:
    """A readable id, stable across runs: the name plus a hash of the relative path."""
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        relative = path.resolve()
    return f"{_slug(path.stem)}-{_digest(str(relative))}"


def _unique_ids(found: list[Submission]) -> list[Submission]:
    """Ids that never collide, whatever the order the inputs came in.

    The same file reached twice (a folder and a notebook in it) is kept once;
    different inputs that share an id (two folders each holding ``week1.ipynb``)
    each get a hash of where they came from appended.
    """
    groups: dict[str, dict[str, Submission]] = {}
    for sub in found:
        groups.setdefault(sub.id, {}).setdefault(os.path.abspath(sub.source), sub)
    unique = []
    for sid, by_origin in groups.items():
        if len(by_origin) == 1:
            unique.extend(by_origin.values())
        else:
            unique.extend(
                replace(sub, id=f"{sid}-{_digest(origin, 6)}")
                for origin, sub in by_origin.items()
            )
    return unique


# ----------------------------------------------------------------- names shown


def _show(text: str, limit: int = 120) -> str:
    """A file name as a TA should read it: control characters escaped, length capped."""
    shown = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _show_path(path: Path) -> str:
    return _show(str(path), 400)


def _list_names(names: list[str], most: int = 5) -> str:
    shown = ", ".join(_show(n) for n in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _parts(name: str) -> list[str]:
    """A member name's path parts; backslashes count as separators (Windows zips)."""
    return [p for p in re.split(r"[/\\]", name) if p not in ("", ".")]


def _basename(name: str) -> str:
    parts = _parts(name)
    return parts[-1] if parts else ""


def _is_junk(name: str) -> bool:
    """macOS resource forks and Jupyter checkpoints: never a student's submission."""
    parts = _parts(name)
    return any(p in JUNK_PARTS for p in parts) or bool(
        parts and parts[-1].startswith("._")
    )


def _is_notebook_name(name: str) -> bool:
    return name.lower().endswith(".ipynb")


def _is_zip_name(name: str) -> bool:
    return name.lower().endswith(".zip")


def _logical(name: str) -> str:
    """The name a file is matched on: its base name without Otter's export timestamp."""
    return OTTER_STAMP.sub("", _basename(name)).lower()


def _export_kind(name: str) -> str:
    """What a notebook's other download is ("a Python file"...), "" when the name is
    no such export. A name with ``.ipynb`` inside but another ending is a notebook a
    browser or system saved with an extra ending (``week1.ipynb.txt``)."""
    lower = _basename(name).lower()
    if ".ipynb." in lower:
        return "a notebook saved under a name that does not end in .ipynb"
    return next((k for end, k in EXPORT_KINDS.items() if lower.endswith(end)), "")


def _uncopied(name: str) -> tuple[str, int]:
    """A base name without a browser's " (N)" (and N; 0 when there was none)."""
    base = _basename(name)
    copy = BROWSER_COPY.fullmatch(base)
    if copy is None:
        return base, 0
    return copy["stem"] + (copy["ext"] or ""), int(copy["n"])


def _stem_key(name: str) -> str:
    """What a notebook and its own exports share: ``week1 (1).ipynb``, ``week1.py``
    and ``week1.ipynb.txt`` all give ``week1``."""
    plain = _uncopied(OTTER_STAMP.sub("", _basename(name)))[0].lower()
    if ".ipynb" in plain:
        return plain.split(".ipynb", 1)[0]
    return plain.rsplit(".", 1)[0]


def _is_weights_name(name: str) -> bool:
    return _basename(name).lower().endswith(WEIGHTS_ENDINGS)


# ------------------------------------------------------------------- entry point


def find_submissions(
    paths: Iterable[Path | str], assignment: str | None = None
) -> list[Submission]:
    """Expand notebooks, zips and folders into submissions, in a stable order.

    ``assignment`` (e.g. ``"week1"``) settles which notebook counts when a student
    handed in several: the one named ``<assignment>.ipynb``, if exactly one is.
    Extracted files live in private temp dirs until :func:`cleanup` (or exit).
    """
    return survey(paths, assignment).submissions


def survey(paths: Iterable[Path | str], assignment: str | None = None) -> Survey:
    """:func:`find_submissions`, plus the files given that are nobody's submission
    (so that the grade command can name them: nothing given vanishes unsaid)."""
    found: list[Submission] = []
    left: list[str] = []
    for path in map(Path, paths):
        found.extend(_from_path(path, assignment, left))
    return Survey(
        sorted(_unique_ids(found), key=lambda s: s.id), tuple(dict.fromkeys(left))
    )


def _from_path(path: Path, assignment: str | None, left: list[str]) -> list[Submission]:
    if path.is_dir() and _is_notebook_name(path.name):
        return [_not_a_file(path, stable_id(path, path.parent))]
    if path.is_dir():
        return _from_folder(path, assignment, left)
    if path.is_file() and _is_zip_name(path.name):
        return _from_top_zip(path, path.parent, assignment)
    if path.is_file() and _export_kind(path.name):
        return [_not_a_notebook(path, stable_id(path, path.parent))]
    if path.is_file():
        return [_notebook_by_path(path, assignment)]
    return [
        Submission(
            stable_id(path, path.parent),
            _show_path(path),
            None,
            f"{_show_path(path)} does not exist",
        )
    ]


def _not_a_file(path: Path, sid: str) -> Submission:
    """A directory named like a notebook (``x.ipynb/``): a record saying so."""
    return Submission(
        sid,
        _show_path(path),
        None,
        f"{_show(path.name)} is a directory, not a notebook file",
    )


def _not_a_notebook(path: Path, sid: str) -> Submission:
    """A notebook's export handed in instead of it: a record saying what to hand in."""
    return Submission(
        sid,
        _show_path(path),
        None,
        _export_problem(path.name, _head(path)),
        refusal=NOT_A_NOTEBOOK,
    )


def _head(path: Path, size: int = 2048) -> bytes:
    """The first bytes of a file (to tell Colab's export from another script)."""
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError:
        return b""


def _export_problem(name: str, head: bytes = b"") -> str:
    """What a TA and the student read about an export: what it is, what to do."""
    kind = _export_kind(name)
    if head and kind == EXPORT_KINDS[".py"]:
        if b"Automatically generated by Colab" in head:
            kind = "Colab's Python export"
        elif b"# In[" in head:
            kind = "Jupyter's Python export"
    if ".ipynb." in _basename(name).lower():
        todo = "rename it to end in .ipynb and hand it in again"
    else:
        todo = HAND_IN_NOTEBOOK
    return f"{_show(_basename(name))} is {kind}, not the notebook: {todo}"


def _notebook_by_path(path: Path, assignment: str | None) -> Submission:
    """A notebook given by its path, with the week's companion files from its
    folder when that folder is the student's own (it holds no other student's
    notebook: only this one and its browser copies)."""
    sub = Submission(stable_id(path, path.parent), _show_path(path), path)
    wanted = companion_names(assignment)
    if not wanted:
        return sub
    try:
        siblings = sorted(
            p.name
            for p in path.parent.iterdir()
            if p.name != path.name and not _is_junk(p.name) and p.is_file()
        )
    except OSError:
        return replace(sub, notes=_missing_notes(wanted))
    others = [n for n in siblings if _is_notebook_name(n)]
    if any(_stem_key(n) != _stem_key(path.name) for n in others):
        return replace(sub, notes=_not_taken(path, siblings, others, assignment))
    try:
        found = _companions(tuple(siblings), lambda n: path.parent / n, assignment)
    except InvalidSubmission as exc:
        return replace(sub, notebook=None, problem=str(exc))
    return replace(sub, companions=found.chosen, notes=found.notes)


def _not_taken(
    path: Path, siblings: list[str], others: list[Path | str], assignment: str | None
) -> tuple[str, ...]:
    """Why a notebook in a folder of several students' notebooks took none of the
    week's companion files beside it (they may be anyone's): a note for the TA,
    or the student's note that none were handed in when there were none."""
    near = [n for n in siblings if _is_companion_like(n, assignment)]
    if not near:
        return _missing_notes(companion_names(assignment))
    shown = [Path(n).name for n in others if Path(n).name != path.name]
    return (
        f"{_list_names(near)} beside {_show(path.name)} were not graded with it: "
        f"that folder holds other notebooks too ({_list_names(shown)}), so they "
        "may be another student's. Grade the student's own folder (or zip) to "
        "include them.",
    )


# ------------------------------------------------------------- extraction dirs

_workdirs: list[Path] = []


def _new_workdir() -> Path:
    """A fresh private (mode 0700) directory owned by intake for extracted files."""
    path = Path(tempfile.mkdtemp(prefix="gene46100-intake-", dir=WORK_PARENT))
    _workdirs.append(path)
    return path


def cleanup() -> None:
    """Remove every directory intake extracted into (also done at interpreter exit)."""
    while _workdirs:
        shutil.rmtree(_workdirs.pop(), ignore_errors=True)


atexit.register(cleanup)


# ---------------------------------------------------------------------- folders


def _from_folder(
    folder: Path, assignment: str | None, left: list[str]
) -> list[Submission]:
    """A folder: Canvas-named files grouped per student, other notebooks and zips one
    submission each, exports one invalid submission each, sub-folders one per
    student (Gradescope's when it says so). Files that are nobody's submission go
    to ``left``."""
    entries = sorted(
        (p for p in folder.iterdir() if not _is_junk(p.name)), key=lambda p: p.name
    )
    files = [p for p in entries if p.is_file()]
    dirs = [p for p in entries if p.is_dir() and not p.name.startswith(".")]
    listing = _is_canvas_listing([p.name for p in files])
    if not listing and (
        _is_one_students_folder(files, assignment, bool(dirs))
        or _is_autograder_upload(folder)
    ):
        return [
            _from_student_files(
                stable_id(folder, folder.parent),
                _show(folder.name),
                _show_path(folder),
                [p.name for p in files],
                lambda name: folder / name,
                assignment,
            )
        ]
    canvas = (
        {p.name for p in files if CANVAS_NAME.fullmatch(p.name)} if listing else set()
    )
    found = (
        _from_canvas(_folder_listing(folder, sorted(canvas)), assignment)
        if canvas
        else []
    )
    loose = [p for p in files if p.name not in canvas]
    found += _from_loose_files(folder, loose, assignment, left, bool(canvas))
    return found + _from_subfolders(folder, dirs, assignment)


def _from_loose_files(
    folder: Path,
    files: list[Path],
    assignment: str | None,
    left: list[str],
    canvas: bool,
) -> list[Submission]:
    """The files of a folder of many students' hand-ins (no sub-folders): each
    notebook or zip is one submission; an export is listed in the record of the
    notebook it was exported from (same name), else it is its own invalid record
    (probably another student's); the rest is left alone, and said."""
    notebooks = {_stem_key(p.name): p for p in files if _is_notebook_name(p.name)}
    exports: dict[Path, list[str]] = {}
    found: list[Submission] = []
    for path in files:
        if _is_notebook_name(path.name):
            continue
        if _is_zip_name(path.name):
            found.extend(_from_top_zip(path, folder, assignment))
        elif why := _left_alone_because(path.name, assignment, canvas):
            left.append(f"{_show_path(path)} ({why})")
        elif _stem_key(path.name) in notebooks:
            exports.setdefault(notebooks[_stem_key(path.name)], []).append(path.name)
        else:
            found.append(_not_a_notebook(path, stable_id(path, folder)))
    names = [p.name for p in files]
    every = [p for p in files if _is_notebook_name(p.name)]
    found += [
        Submission(
            stable_id(path, folder),
            _show_path(path),
            path,
            notes=_not_taken(path, names, every, assignment),
            ignored=tuple(exports.get(path, ())),
        )
        for path in every
    ]
    return found


def _left_alone_because(name: str, assignment: str | None, canvas: bool) -> str:
    """Why a loose file that is no notebook and no zip is nobody's submission ("":
    it is an export, a student's attempt at handing the notebook in)."""
    if canvas:
        return "not named the way Canvas names a student's upload"
    week = _companion_week(name, assignment)
    if week:
        return (
            f"{week}'s companion file beside several notebooks: grade each "
            "student's own folder (or zip) to include it"
        )
    if not _export_kind(name):
        return "not a notebook, a zip or an export of one"
    return ""


def _companion_week(name: str, assignment: str | None) -> str:
    """The week whose companion file ``name`` is ("" if none): the one graded, as
    :func:`_is_companion_like` says, else any week that names it exactly (a stray
    ``predict.py`` while grading another week, or with no week named, is a course
    file, never another student's export)."""
    if _is_companion_like(name, assignment):
        return str(assignment)
    plain = _uncopied(name)[0].lower()
    return next(
        (
            w
            for w, week in course.COURSE.items()
            if plain in map(str.lower, week.companions)
        ),
        "",
    )


def _is_one_students_folder(
    files: list[Path], assignment: str | None, subfolders: bool = False
) -> bool:
    """One notebook with the files the assignment grades beside it (week 3a's
    ``predict.py``, or what stands for it: ``model_weights (1).pt``), or, in a
    folder with no zip and no sub-folder (nothing else anyone handed in), one
    notebook named after the assignment (``week1.ipynb``, ``Copy of week1.ipynb``,
    ``week1 (1).ipynb``: among many students' notebooks at most one can be): the
    folder is one student's, not a class of notebooks, and its other files are
    listed in the record."""
    notebooks = [p for p in files if _is_notebook_name(p.name)]
    if len(notebooks) != 1:
        return False
    alone = not subfolders and not any(_is_zip_name(p.name) for p in files)
    return (alone and _names_the_week(notebooks[0].name, assignment)) or any(
        _is_companion_like(p.name, assignment) for p in files
    )


def _names_the_week(name: str, assignment: str | None) -> bool:
    """Whether a notebook's name is the assignment's, as a browser or Colab leaves
    it (``Copy of week1.ipynb``, ``week1 (1).ipynb``)."""
    stem = _stem_key(name).removeprefix("copy of ").strip()
    return bool(assignment) and stem == str(assignment).lower()


def _is_autograder_upload(folder: Path) -> bool:
    """Gradescope's autograder layout: one student's upload in ``submission/``
    beside ``submission_metadata.json`` (every file there is that student's)."""
    return (
        folder.name == "submission"
        and (folder.parent / "submission_metadata.json").is_file()
    )


def _folder_listing(folder: Path, names: list[str]) -> _Listing:
    """A Canvas download already unpacked: the files are read where they are."""
    return _Listing(
        names, lambda name: folder / name, lambda name: _show_path(folder / name)
    )


def _from_subfolders(
    folder: Path, dirs: list[Path], assignment: str | None
) -> list[Submission]:
    """One submission per sub-folder; ids and names from Gradescope's metadata when
    the folder is a Gradescope export."""
    metadata = folder / GRADESCOPE_METADATA
    exported = metadata.is_file()
    students, note = _gradescope_students(metadata) if exported else ({}, "")
    times = _gradescope_times(metadata) if exported else {}
    found = []
    for sub in dirs:
        match = GRADESCOPE_FOLDER.fullmatch(sub.name) if exported else None
        sid = f"gradescope-{match[1]}" if match else stable_id(sub, folder)
        if _is_notebook_name(sub.name):
            found.append(_not_a_file(sub, sid))
            continue
        names = sorted(
            p.relative_to(sub).as_posix() for p in sub.rglob("*") if p.is_file()
        )
        submission = _from_student_files(
            sid,
            _show(sub.name),
            _show_path(sub),
            names,
            lambda name, sub=sub: sub / name,
            assignment,
        )
        found.append(
            replace(
                _with(
                    submission,
                    students.get(sub.name, "") if match else "",
                    (note,) if match and note else (),
                ),
                submitted_at=times.get(sub.name, "") if match else "",
            )
        )
    return found


def _with(
    sub: Submission,
    student: str = "",
    notes: tuple[str, ...] = (),
    ignored: tuple[str, ...] = (),
) -> Submission:
    """The submission with who it is and what a TA should know added."""
    return replace(
        sub,
        student=student or sub.student,
        notes=notes + sub.notes,
        ignored=ignored + sub.ignored,
    )


# ---------------------------------------------------- which file is the submission


def _select(
    names: list[str],
    place: str,
    assignment: str | None,
    *,
    open_zips: bool,
    key: Callable[[str], str] = _logical,
    peek: Callable[[str], bytes] | None = None,
) -> tuple[str | None, str]:
    """Which of one student's files is the submission: ``(name, "")`` or
    ``(None, problem)``.

    Notebooks first; a zip (e.g. Otter's export) only when there is no notebook and
    zips may be opened (never inside a zip: one level, so no zip-in-zip bombs).
    """
    live = [n for n in names if not _is_junk(n)]
    notebooks = [n for n in live if _is_notebook_name(n)]
    zips = [n for n in live if _is_zip_name(n)]
    if notebooks:
        return _pick(notebooks, place, assignment, "notebook", key, peek)
    if zips and open_zips:
        return _pick(zips, place, assignment, "zip archive", key)
    return None, _no_notebook(place, live, nested=[] if open_zips else zips)


def _pick(
    names: list[str],
    place: str,
    assignment: str | None,
    kind: str,
    key: Callable[[str], str],
    peek: Callable[[str], bytes] | None = None,
) -> tuple[str | None, str]:
    """The explicit rule: one file -> it; several -> the one named after the
    assignment if exactly one is, else the one whose notebook metadata names the
    assignment (the release's ``otter.assignment_name``: a browser's
    ``week1 (1).ipynb`` beside a stray ``Untitled.ipynb``) if exactly one does;
    otherwise none (guessing could grade scratch work)."""
    if len(names) == 1:
        return names[0], ""
    names = sorted(names)
    suffix = ".ipynb" if kind == "notebook" else ".zip"
    wanted = f"{assignment}{suffix}".lower() if assignment else None
    named = [n for n in names if wanted and key(n) == wanted]
    if len(named) == 1:
        return named[0], ""
    if assignment and peek is not None and kind == "notebook" and not named:
        tagged = [n for n in names if _names_assignment(peek, n) == assignment]
        if len(tagged) == 1:
            return tagged[0], ""
    rule = f"; exactly one should be named {assignment}{suffix}" if assignment else ""
    return None, (
        f"{place} holds {len(names)} {kind}s ({_list_names(names)}); "
        f"submit exactly one{rule}"
    )


def _names_assignment(peek: Callable[[str], bytes], name: str) -> str | None:
    """The assignment a notebook's metadata names (Otter's ``assignment_name``), or
    None when it names none or cannot be read (a bad file is never the choice)."""
    try:
        data = peek(name)
        nb = json.loads(data.decode("utf-8-sig")) if data else None
    except (InvalidSubmission, OSError, ValueError):
        return None
    metadata = nb.get("metadata") if isinstance(nb, dict) else None
    otter = metadata.get("otter") if isinstance(metadata, dict) else None
    value = otter.get("assignment_name") if isinstance(otter, dict) else None
    return value if isinstance(value, str) else None


def _no_notebook(place: str, found: list[str], nested: list[str]) -> str:
    """What a TA reads when no notebook was found: what was there instead (and
    what to hand in, when an export of the notebook was)."""
    if not found:
        return f"{place} holds no notebook (it is empty)"
    message = f"{place} holds no notebook (found: {_list_names(found)})"
    if nested:
        message += (
            "; zip archives inside a zip are not opened: submit the notebook "
            "or Otter's export zip itself"
        )
    export = next((n for n in found if _export_kind(n)), None)
    if export is not None:
        message += f"; {_export_problem(export)}"
    return message


def _from_student_files(
    sid: str,
    place: str,
    source: str,
    names: list[str],
    fetch: Callable[[str], Path],
    assignment: str | None,
    key: Callable[[str], str] = _logical,
) -> Submission:
    """One student's files (a folder, a Gradescope folder, a Canvas group)."""
    name, problem = _select(
        names,
        place,
        assignment,
        open_zips=True,
        key=key,
        peek=lambda n: read_notebook_bytes(fetch(n)),
    )
    if name is None:
        return Submission(sid, source, None, problem)
    ignored = tuple(n for n in names if n != name and not _is_junk(n))
    try:
        path = fetch(name)
        # Inside a zip of one student's, the companions come from the zip itself.
        found = _companions(
            ignored, fetch, assignment, key, complete=not _is_zip_name(name)
        )
    except InvalidSubmission as exc:
        return Submission(sid, source, None, str(exc), ignored=ignored)
    if _is_zip_name(name):
        have = tuple(given for given, _ in found.chosen)
        inner = _from_zip(path, sid, source, assignment, have)
        return replace(
            _with(inner, notes=found.notes, ignored=found.rest),
            companions=found.chosen + inner.companions,
        )
    return Submission(
        sid,
        source,
        path,
        notes=found.notes,
        ignored=found.rest,
        companions=found.chosen,
    )


def companion_names(assignment: str | None) -> tuple[str, ...]:
    """The files an assignment grades beside the notebook (the course registry's
    ``companions``; none for an unknown assignment)."""
    if assignment not in course.COURSE:
        return ()
    return course.COURSE[assignment].companions


def _is_companion_like(name: str, assignment: str | None) -> bool:
    """A companion's name, a browser's copy of it, or (for a weights companion)
    any weights file: what a student's own folder holds beside the notebook."""
    wanted = {n.lower() for n in companion_names(assignment)}
    plain = _uncopied(name)[0].lower()
    weights = any(_is_weights_name(n) for n in wanted)
    return plain in wanted or (weights and _is_weights_name(name))


def _companions(
    names: tuple[str, ...],
    fetch: Callable[[str], Path],
    assignment: str | None,
    key: Callable[[str], str] = _logical,
    *,
    complete: bool = True,
    have: tuple[str, ...] = (),
) -> _Companions:
    """Split a student's other files into the companions the assignment grades
    (fetched, size-capped) and the rest; see :func:`_choose_companions` for which
    file stands for which name. ``have``: companions already found beside the zip
    that holds these files. ``complete=False``: these files lie beside a zip still
    to open, which may hold the rest: only exact names and browser copies count,
    and nothing is said about a missing one."""
    wanted = tuple(n for n in companion_names(assignment) if n not in have)
    picks, notes, told = _choose_companions(sorted(names), wanted, key, complete)
    chosen: dict[str, Path] = {}
    for given, name in picks:
        path = fetch(name)
        size = path.stat().st_size
        if size > MAX_COMPANION_BYTES:
            raise InvalidSubmission(
                f"{_show(name)} is {size} bytes; the limit is {MAX_COMPANION_BYTES}"
            )
        chosen[given] = path
    used = {name for _, name in picks}
    missing = tuple(n for n in wanted if n not in chosen and n not in told)
    return _Companions(
        tuple(sorted(chosen.items())),
        tuple(n for n in sorted(names) if n not in used),
        notes + (_missing_notes(missing) if complete else ()),
    )


def _choose_companions(
    names: list[str],
    wanted: tuple[str, ...],
    key: Callable[[str], str],
    guess: bool = True,
) -> tuple[list[tuple[str, str]], tuple[str, ...], set[str]]:
    """Which of a student's files stands for each companion, as ``(name the grader
    gives it, the student's name)``, the notes the student reads about it, and the
    companions those notes are about.

    The rule, for each companion (``predict.py``):

    1. the file of that name (the first in sorted order), else
    2. a browser's name for a second download (``predict (2).py``; the highest
       number, the newest download, when there are several), else
    3. for a weights file (``model_weights.pt``) only: the student's only weights
       file under another name (``best_model.pt``), given under both names, so that
       a ``predict.py`` that loads either finds it. Weights are data the student's
       own ``predict.py`` loads, so no file is ever run under a name it lacked;
       with several candidates the grader does not guess (nor with
       ``guess=False``).
    """
    picks: list[tuple[str, str]] = []
    notes: list[str] = []
    told: set[str] = set()
    for companion in sorted(wanted):
        exact = [n for n in names if _basename(key(n)) == companion.lower()]
        copies = [
            (number, n)
            for n in names
            for plain, number in [_uncopied(key(n))]
            if number and plain.lower() == companion.lower()
        ]
        if exact:
            picks.append((companion, exact[0]))
        elif copies:
            _, newest = max(copies)
            picks.append((companion, newest))
            notes.append(_copy_note(companion, newest, [n for _, n in copies]))
            told.add(companion)
        elif guess and _is_weights_name(companion):
            taken = {n for _, n in picks}
            spare = [
                n
                for n in names
                if n not in taken
                and _is_weights_name(key(n))
                and _uncopied(key(n))[0].lower() not in {w.lower() for w in wanted}
            ]
            if spare:
                picks += _weights_picks(companion, spare, wanted)
                notes.append(_weights_note(companion, spare, wanted))
                told.add(companion)
    return picks, tuple(notes), told


def _weights_picks(
    companion: str, spare: list[str], wanted: tuple[str, ...]
) -> list[tuple[str, str]]:
    """The only weights file under another name, under the companion's name and,
    when that is a plain file name, its own."""
    if len(spare) != 1:
        return []
    (name,) = spare
    own = _basename(name)
    also = PLAIN_NAME.fullmatch(own) and own.lower() not in {w.lower() for w in wanted}
    return [(companion, name)] + ([(own, name)] if also else [])


def _copy_note(companion: str, used: str, copies: list[str]) -> str:
    """The student's note about a browser's copy used as the companion."""
    shown = _show(_basename(used))
    others = [c for c in copies if c != used]
    newest = (
        f" ({_list_names(sorted(_basename(c) for c in others))} also handed in: the "
        "highest number is the newest download)"
        if others
        else ""
    )
    return (
        f"{STUDENT_NOTE}you handed in {shown}, the name a browser gives a second "
        f"download, and no {companion}: it was graded as {companion}{newest}. "
        f"Name it {companion} next time."
    )


def _weights_note(companion: str, spare: list[str], wanted: tuple[str, ...]) -> str:
    """The student's note about weights handed in under another name (or none)."""
    script = next((w for w in sorted(wanted) if w.endswith(".py")), "predict.py")
    shown = _list_names(sorted(_basename(n) for n in spare))
    if len(spare) > 1:
        return (
            f"{STUDENT_NOTE}{companion} is missing: you handed in {shown}, and the "
            f"grader cannot tell which one {script} should load. Name that one "
            f"{companion}."
        )
    return (
        f"{STUDENT_NOTE}you handed in {shown}, not {companion} (the name {script} "
        f"loads): it was graded under both names. Name it {companion} next time."
    )


def _missing_notes(missing: tuple[str, ...]) -> tuple[str, ...]:
    """The student's note about companion files not handed in (none: no note)."""
    if not missing:
        return ()
    names = " and ".join(sorted(missing))
    verb = "was" if len(missing) == 1 else "were"
    return (
        f"{STUDENT_NOTE}{names} {verb} not handed in beside the notebook (the "
        "grader uses the assignment's own copy where it has one)",
    )


def student_notes(notes: Iterable[str]) -> list[str]:
    """The intake notes that speak to the student (about the files they handed
    in), without their marker; the others are for the TA."""
    return [n[len(STUDENT_NOTE) :] for n in notes if n.startswith(STUDENT_NOTE)]


# ------------------------------------------------------------------------ zips


def _from_top_zip(path: Path, root: Path, assignment: str | None) -> list[Submission]:
    """A zip given by the TA: a Canvas or Gradescope bulk download, or one student's."""
    sid, source, label = stable_id(path, root), _show_path(path), _show(path.name)
    try:
        with _open_zip(path, BULK_CAPS, label) as zf:
            names = [
                i.filename
                for i in zf.infolist()
                if not i.is_dir() and not _is_junk(i.filename)
            ]
            if _is_canvas_listing(names):
                _check_directory(zf, BULK_CAPS, label)
                return _from_canvas(_zip_listing(zf, path, names), assignment)
            prefix = _gradescope_prefix(names)
            if prefix is not None:
                _check_directory(zf, BULK_CAPS, label)
                return _from_gradescope_zip(zf, path, prefix, names, assignment)
            return [_from_open_zip(zf, path, sid, source, assignment)]
    except InvalidSubmission as exc:
        return [Submission(sid, source, None, str(exc))]


def _from_zip(
    path: Path,
    sid: str,
    source: str,
    assignment: str | None,
    have: tuple[str, ...] = (),
) -> Submission:
    """One student's zip (e.g. Otter's export): the one notebook inside is graded.
    ``have``: companions the student handed in beside the zip."""
    try:
        with _open_zip(path, ZIP_CAPS, _show(path.name)) as zf:
            return _from_open_zip(zf, path, sid, source, assignment, have)
    except InvalidSubmission as exc:
        return Submission(sid, source, None, str(exc))


def _from_open_zip(
    zf: zipfile.ZipFile,
    path: Path,
    sid: str,
    source: str,
    assignment: str | None,
    have: tuple[str, ...] = (),
) -> Submission:
    """Check every member, choose the notebook, extract only it into a fresh dir."""
    label = _show(path.name)
    if path.stat().st_size > ZIP_CAPS.archive_bytes:
        raise InvalidSubmission(
            f"{label} is {path.stat().st_size} bytes; the limit "
            f"is {ZIP_CAPS.archive_bytes}"
        )
    _check_directory(zf, ZIP_CAPS, label, each_member=True)
    names = [i.filename for i in zf.infolist() if not i.is_dir()]

    def peek(member: str) -> bytes:  # sizes were checked by _check_directory
        info = zf.getinfo(member)
        return zf.read(member) if info.file_size <= MAX_NOTEBOOK_BYTES else b""

    name, problem = _select(names, label, assignment, open_zips=False, peek=peek)
    if name is None:
        raise InvalidSubmission(problem)
    info = zf.getinfo(name)
    if info.file_size > MAX_NOTEBOOK_BYTES:
        raise InvalidSubmission(f"{label}: {_too_large(_show(name), info.file_size)}")
    workdir = _new_workdir()
    try:
        notebook = _extract(zf, info, workdir / _basename(name), ZIP_CAPS, label)
    except InvalidSubmission:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    ignored = tuple(n for n in names if n != name and not _is_junk(n))
    try:
        found = _companions(
            ignored,
            lambda n: _extract(
                zf,
                zf.getinfo(n),
                workdir / "companions" / _digest(n) / _basename(n),
                ZIP_CAPS,
                label,
            ),
            assignment,
            have=have,
        )
    except InvalidSubmission:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    notes = tuple(
        f"{n} (Otter's log, a pickle) was not opened"
        for n in found.rest
        if _basename(n) == ".OTTER_LOG"
    )
    return Submission(
        sid,
        source,
        notebook,
        notes=notes + found.notes,
        ignored=found.rest,
        workdir=workdir,
        companions=found.chosen,
    )


def _open_zip(path: Path, caps: ZipCaps, label: str) -> zipfile.ZipFile:
    """Open an archive after checking its size and end record (so a forged central
    directory of millions of entries is refused before zipfile parses it)."""
    try:
        size, declared = path.stat().st_size, _declared_directory(path)
    except OSError as exc:
        raise InvalidSubmission(
            f"{label} could not be read ({type(exc).__name__})"
        ) from exc
    if size > caps.archive_bytes:
        raise InvalidSubmission(
            f"{label} is {size} bytes; the limit is {caps.archive_bytes}"
        )
    if declared is None:
        raise InvalidSubmission(
            f"{label} is not a zip archive (no end record): is it truncated?"
        )
    entries, directory_bytes = declared
    if entries > caps.members or directory_bytes > caps.members * 1024 + 65536:
        raise InvalidSubmission(
            f"{label} declares {entries} files; the limit is {caps.members}"
        )
    try:
        return zipfile.ZipFile(path)
    except ARCHIVE_ERRORS as exc:
        raise InvalidSubmission(
            f"{label} is not a valid zip archive "
            f"({type(exc).__name__}: {_show(str(exc))})"
        ) from exc


def _declared_directory(path: Path) -> tuple[int, int] | None:
    """(entries, central directory bytes) from the end record; None: not a zip."""
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        start = max(0, size - 22 - 65535)  # the end record plus the longest comment
        f.seek(start)
        tail = f.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < 22:
            return None
        entries = int.from_bytes(tail[at + 10 : at + 12], "little")
        directory = int.from_bytes(tail[at + 12 : at + 16], "little")
        if entries == 0xFFFF or directory == 0xFFFFFFFF:
            return _zip64_directory(f, start + at) or (entries, directory)
        return entries, directory


def _zip64_directory(f, end_at: int) -> tuple[int, int] | None:
    """The zip64 end record's (entries, directory bytes), if there is one."""
    f.seek(max(0, end_at - 20))
    locator = f.read(20)
    if not locator.startswith(b"PK\x06\x07"):
        return None
    f.seek(int.from_bytes(locator[8:16], "little"))
    record = f.read(56)
    if not record.startswith(b"PK\x06\x06") or len(record) < 48:
        return None
    return (
        int.from_bytes(record[32:40], "little"),
        int.from_bytes(record[40:48], "little"),
    )


def _check_directory(
    zf: zipfile.ZipFile, caps: ZipCaps, label: str, *, each_member: bool = False
) -> None:
    """Member count, each member (when asked) and the total expanded size, all from
    the central directory, before anything is extracted."""
    infos = zf.infolist()
    if len(infos) > caps.members:
        raise InvalidSubmission(
            f"{label} holds {len(infos)} files; the limit is {caps.members}"
        )
    for info in infos if each_member else ():
        _check_member(info, caps, label)
    total = sum(i.file_size for i in infos)
    if total > caps.total_bytes:
        raise InvalidSubmission(
            f"{label} would expand to {total} bytes; the limit is "
            f"{caps.total_bytes}: refusing to unpack it"
        )


def _check_member(info: zipfile.ZipInfo, caps: ZipCaps, label: str) -> None:
    """Refuse a member that would land outside the extraction dir, is not a plain
    file, is encrypted, or would expand past the caps (all from the directory)."""
    name = _show(info.filename)
    if _escapes(info.filename):
        raise InvalidSubmission(
            f"{label} holds {name!r}, a path outside the archive "
            "(absolute or with '..'): refusing to unpack it"
        )
    kind = stat.S_IFMT(info.external_attr >> 16) if info.create_system == 3 else 0
    if kind == stat.S_IFLNK:
        raise InvalidSubmission(
            f"{label} holds a symbolic link ({name}): refusing to unpack it"
        )
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise InvalidSubmission(f"{label} holds {name}, which is not a plain file")
    if info.flag_bits & 0x1:
        raise InvalidSubmission(f"{label}: {name} is password-protected")
    _check_member_size(info, caps, label)


def _check_member_size(info: zipfile.ZipInfo, caps: ZipCaps, label: str) -> None:
    name, size = _show(info.filename), info.file_size
    if size > caps.member_bytes:
        raise InvalidSubmission(
            f"{label}: {name} would expand to {size} bytes; the "
            f"limit is {caps.member_bytes}: refusing to unpack it"
        )
    ratio = size / max(info.compress_size, 1)
    if size > caps.ratio_floor and ratio > caps.ratio:
        raise InvalidSubmission(
            f"{label}: {name} is compressed {ratio:.0f}:1 (the "
            f"limit is {caps.ratio:.0f}:1), like a zip bomb: "
            "refusing to unpack it"
        )


def _escapes(name: str) -> bool:
    """An absolute path, a drive letter, a NUL or a '..' part: outside the dir."""
    return (
        name.startswith(("/", "\\"))
        or bool(re.match(r"[A-Za-z]:", name))
        or "\x00" in name
        or ".." in re.split(r"[/\\]", name)
    )


def _extract(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, caps: ZipCaps, label: str
) -> Path:
    """Copy one checked member to ``target`` in chunks, stopping at the caps (the
    directory's sizes are claims; the bytes actually produced are what count)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:  # O_EXCL | O_NOFOLLOW: never write through a link or over an existing file
        fd = os.open(target, flags, 0o600)
    except OSError as exc:  # e.g. the archive names the same file twice
        raise InvalidSubmission(
            f"{label}: {_show(info.filename)} could not be written "
            f"({type(exc).__name__})"
        ) from exc
    try:
        with os.fdopen(fd, "wb") as out, zf.open(info) as member:
            _copy_capped(
                member,
                out,
                min(info.file_size, caps.member_bytes),
                f"{label}: {_show(info.filename)}",
            )
    except ARCHIVE_ERRORS as exc:
        target.unlink(missing_ok=True)
        raise InvalidSubmission(
            f"{label}: {_show(info.filename)} could not be "
            f"unpacked ({type(exc).__name__}: {_show(str(exc))})"
        ) from exc
    except InvalidSubmission:
        target.unlink(missing_ok=True)
        raise
    return target


def _copy_capped(member, out, limit: int, what: str) -> None:
    """Copy in chunks; stop as soon as more than ``limit`` bytes come out."""
    written = 0
    while chunk := member.read(CHUNK):
        written += len(chunk)
        if written > limit:
            raise InvalidSubmission(
                f"{what} expands past {limit} bytes: refusing to unpack it"
            )
        out.write(chunk)


def _fetch_member(
    zf: zipfile.ZipFile, name: str, target: Path, caps: ZipCaps, label: str
) -> Path:
    """Check one member of a bulk archive and extract it (bulk archives are checked
    member by member, so one student's bad file costs only that student)."""
    info = zf.getinfo(name)
    _check_member(info, caps, label)
    return _extract(zf, info, target, caps, label)


# ----------------------------------------------------------------------- Canvas


def _is_canvas_listing(names: list[str]) -> bool:
    """Canvas's bulk download: flat, and every notebook or zip named the way Canvas
    names them (other files, e.g. a grades CSV a TA added, do not count)."""
    handed_in = [n for n in names if _is_notebook_name(n) or _is_zip_name(n)]
    return (
        bool(handed_in)
        and all(CANVAS_NAME.fullmatch(n) for n in handed_in)
        and not any("/" in n or "\\" in n for n in names)
    )


def _zip_listing(zf: zipfile.ZipFile, path: Path, names: list[str]) -> _Listing:
    """A Canvas ``submissions.zip``: a member is checked and extracted when chosen."""
    bulk, label = _new_workdir(), _show(path.name)
    return _Listing(
        names,
        lambda name: _fetch_member(zf, name, bulk / name, BULK_CAPS, label),
        lambda name: f"{_show_path(path)} > {_show(name)}",
    )


def _canvas_file(name: str) -> _CanvasFile | None:
    """Take a Canvas download name apart (None: not one)."""
    match = CANVAS_NAME.fullmatch(name)
    if match is None:
        return None
    original = match["original"]
    versioned = CANVAS_VERSION.fullmatch(original)
    if versioned:
        plain = versioned["stem"] + (versioned["ext"] or "")
        version = int(versioned["n"])
    else:
        plain, version = original, 0
    return _CanvasFile(
        name,
        match["who"],
        match["user"],
        int(match["file"]),
        bool(match["late"]),
        original,
        _logical(plain),
        version,
    )


def _from_canvas(listing: _Listing, assignment: str | None) -> list[Submission]:
    """One submission per Canvas student (login + user id), whatever they uploaded."""
    groups: dict[tuple[str, str], list[_CanvasFile]] = {}
    for name in sorted(set(listing.names)):
        parsed = _canvas_file(name)
        if parsed is not None:
            groups.setdefault((parsed.who.lower(), parsed.user), []).append(parsed)
    return [_canvas_student(files, listing, assignment) for files in groups.values()]


def _canvas_latest(
    files: list[_CanvasFile],
) -> tuple[list[_CanvasFile], list[_CanvasFile]]:
    """The newest version of each distinct file, and the older versions.

    Versions share a base name (``week1.ipynb``, ``week1-1.ipynb``); the newest has
    the highest -N suffix, then the highest Canvas file id (ids grow with uploads).
    """
    newest: dict[str, _CanvasFile] = {}
    for f in sorted(files, key=lambda f: (f.version, f.file_id, f.name)):
        newest[f.base] = f
    kept = sorted(newest.values(), key=lambda f: f.name)
    return kept, [f for f in files if f not in kept]


def _canvas_student(
    files: list[_CanvasFile], listing: _Listing, assignment: str | None
) -> Submission:
    """One Canvas student: newest versions only, then the same rule as a folder."""
    who, user = files[0].who, files[0].user
    sid = f"canvas-{_slug(who)}-{user}"
    kept, older = _canvas_latest(files)
    by_original = {f.original: f for f in kept}
    chosen, _ = _select(
        list(by_original),
        "",
        assignment,
        open_zips=True,
        key=lambda n: by_original[n].base,
        peek=lambda n: read_notebook_bytes(listing.fetch(by_original[n].name)),
    )
    source = listing.source(by_original[chosen].name if chosen else f"{who}_{user}_*")
    submission = _from_student_files(
        sid,
        f"{_show(who)} (Canvas user {user})",
        source,
        list(by_original),
        lambda n: listing.fetch(by_original[n].name),
        assignment,
        key=lambda n: by_original[n].base,
    )
    graded = by_original.get(chosen) if chosen and submission.problem == "" else None
    notes = _canvas_notes(graded, older)
    fetched = {path.name for _, path in submission.companions}
    return replace(
        submission,
        notes=notes + submission.notes,
        ignored=tuple(
            f.name for f in files if f is not graded and f.name not in fetched
        ),
        canvas_user=user,
        late=bool(graded and graded.late),
    )


def _canvas_notes(
    graded: _CanvasFile | None, older: list[_CanvasFile]
) -> tuple[str, ...]:
    notes = []
    if graded is not None and graded.late:
        notes.append(f"Canvas marks {_show(graded.name)} late")
    if older:
        names = _list_names([f.name for f in older])
        notes.append(f"older versions not graded: {names}")
    return tuple(notes)


# ------------------------------------------------------------------- Gradescope


def _gradescope_students(path: Path) -> tuple[dict[str, str], str]:
    """``{"submission_<id>": "Name <email>"}`` from Gradescope's metadata, and a note
    when it could not be used. The file is untrusted: size-capped, parsed with
    ``yaml.safe_load``, and every value type-checked."""
    try:
        if path.stat().st_size > MAX_METADATA_BYTES:
            return {}, (
                f"{GRADESCOPE_METADATA} is over {MAX_METADATA_BYTES} bytes; ignored"
            )
        data = yaml.safe_load(path.read_bytes())
    except (yaml.YAMLError, OSError, ValueError, RecursionError) as exc:
        return {}, (
            f"{GRADESCOPE_METADATA} could not be read ({type(exc).__name__}); "
            "students are known by submission id only"
        )
    if not isinstance(data, dict):
        return {}, f"{GRADESCOPE_METADATA} is not a mapping; ignored"
    students = {
        key: _submitters(value)
        for key, value in data.items()
        if isinstance(key, str) and GRADESCOPE_FOLDER.fullmatch(key)
    }
    return {key: who for key, who in students.items() if who}, ""


def _gradescope_times(path: Path) -> dict[str, str]:
    """``{"submission_<id>": ISO time}`` from Gradescope's ``:created_at`` (the same
    capped, type-checked read as the names; ``{}`` when unusable)."""
    try:
        if path.stat().st_size > MAX_METADATA_BYTES:
            return {}
        data = yaml.safe_load(path.read_bytes())
    except (yaml.YAMLError, OSError, ValueError, RecursionError):
        return {}
    times = {}
    for key, value in data.items() if isinstance(data, dict) else ():
        when = _field(value, "created_at") if isinstance(value, dict) else None
        if isinstance(key, str) and when is not None and hasattr(when, "isoformat"):
            times[key] = when.isoformat()
        elif isinstance(key, str) and isinstance(when, str):
            times[key] = when[:40]
    return times


def _field(mapping: dict, key: str) -> object:
    """Gradescope writes Ruby-symbol keys (``:name``); plain keys are accepted too."""
    return mapping.get(f":{key}", mapping.get(key))


def _submitters(entry: object) -> str:
    if not isinstance(entry, dict):
        return ""
    people = _field(entry, "submitters")
    if not isinstance(people, list):
        return ""
    named = [_person(p) for p in people[:MAX_SUBMITTERS]]
    return _show("; ".join(n for n in named if n), 300)


def _person(person: object) -> str:
    if not isinstance(person, dict):
        return ""
    name, email = _field(person, "name"), _field(person, "email")
    name = name.strip() if isinstance(name, str) else ""
    email = email.strip() if isinstance(email, str) else ""
    return f"{name} <{email}>" if name and email else name or email


def _gradescope_prefix(names: list[str]) -> str | None:
    """Where a Gradescope export zip keeps its metadata ("" or "<export folder>/")."""
    for name in names:
        parts = name.split("/")
        if parts[-1] == GRADESCOPE_METADATA and len(parts) <= 2:
            return name[: -len(GRADESCOPE_METADATA)]
    return None


def _from_gradescope_zip(
    zf: zipfile.ZipFile,
    path: Path,
    prefix: str,
    names: list[str],
    assignment: str | None,
) -> list[Submission]:
    """A Gradescope export zip: one submission per ``submission_<id>/`` folder."""
    bulk, label = _new_workdir(), _show(path.name)
    try:
        meta = _fetch_member(
            zf, prefix + GRADESCOPE_METADATA, bulk / "metadata.yml", BULK_CAPS, label
        )
        students, note = _gradescope_students(meta)
        times = _gradescope_times(meta)
    except InvalidSubmission as exc:
        students, note, times = {}, str(exc), {}
    return [
        replace(
            _with(
                _gradescope_zip_student(
                    zf, path, prefix, folder, files, bulk, assignment
                ),
                students.get(folder, ""),
                (note,) if note else (),
            ),
            submitted_at=times.get(folder, ""),
        )
        for folder, files in sorted(_gradescope_groups(names, prefix).items())
    ]


def _gradescope_zip_student(
    zf: zipfile.ZipFile,
    path: Path,
    prefix: str,
    folder: str,
    files: list[str],
    bulk: Path,
    assignment: str | None,
) -> Submission:
    """One ``submission_<id>/`` folder of a Gradescope export zip."""

    def fetch(rel: str) -> Path:
        return _fetch_member(
            zf,
            f"{prefix}{folder}/{rel}",
            bulk / folder / _basename(rel),
            BULK_CAPS,
            _show(path.name),
        )

    return _from_student_files(
        f"gradescope-{folder.split('_', 1)[1]}",
        folder,
        f"{_show_path(path)} > {folder}",
        files,
        fetch,
        assignment,
    )


def _gradescope_groups(names: list[str], prefix: str) -> dict[str, list[str]]:
    """Member names (relative to their folder) per ``submission_<id>`` folder."""
    groups: dict[str, list[str]] = {}
    for name in names:
        if not name.startswith(prefix):
            continue
        folder, _, rest = name[len(prefix) :].partition("/")
        if GRADESCOPE_FOLDER.fullmatch(folder) and rest:
            groups.setdefault(folder, []).append(rest)
    return groups


# -------------------------------------------------------------------- notebooks


def read_code_cells(path: Path) -> list[dict]:
    """The code cells of an nbformat-4 notebook as ``{"index", "source"}``.

    Raises:
        InvalidSubmission: not a file, empty, too large, not JSON, not nbformat 4,
            malformed cells.
    """
    return read_notebook(path).cells


def read_notebook(path: Path) -> ParsedNotebook:
    """The notebook's code cells and the kernel it names (which grading ignores:
    the grader chooses the kernel). Raises InvalidSubmission like read_code_cells.

    The size limit that matters (``MAX_STRIPPED_BYTES``) applies to the notebook
    without its saved outputs: outputs never cost a student points."""
    name = _show(path.name)
    data = _read_bounded(path)
    size = len(data)
    nb = _parse_json(data, name)
    del data  # a large file's bytes need not outlive the parse
    if size > MAX_STRIPPED_BYTES:  # a smaller file cannot be over it
        _check_stripped_size(nb, name)
    return ParsedNotebook(_cells_of(nb, name), _kernel_of(nb))


def read_notebook_bytes(path: Path) -> bytes:
    """A notebook file's bytes, capped as for grading (``InvalidSubmission`` else)."""
    return _read_bounded(path)


def without_outputs(nb: object) -> object:
    """The notebook without what running it saved or pasting put in: the code
    cells' outputs, the widgets' state and the text cells' attachments (images
    pasted into a written answer: a photographed derivation is an answer, kept
    for the TA by ``answers.py``, never a reason not to grade the code). A shallow
    copy; anything malformed is left for the checks."""
    if not isinstance(nb, dict):
        return nb
    stripped = dict(nb)
    metadata = nb.get("metadata")
    if isinstance(metadata, dict) and "widgets" in metadata:
        stripped["metadata"] = {k: v for k, v in metadata.items() if k != "widgets"}
    cells = nb.get("cells")
    if isinstance(cells, list):
        stripped["cells"] = [
            {k: v for k, v in c.items() if k not in ("outputs", "attachments")}
            if isinstance(c, dict)
            else c
            for c in cells
        ]
    return stripped


def stripped_size(nb: object) -> int:
    """The bytes of the notebook without its outputs, as compact UTF-8 JSON."""
    text = json.dumps(without_outputs(nb), ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8", "surrogatepass"))


def _check_stripped_size(nb: object, name: str) -> None:
    size = stripped_size(nb)
    if size > MAX_STRIPPED_BYTES:
        raise InvalidSubmission(
            f"{name} is {_mb(size)} without its saved outputs and pasted images "
            f"(code and text); the limit is {_mb(MAX_STRIPPED_BYTES)}: remove the "
            "data pasted into cells"
        )


def _mb(size: int) -> str:
    """A size as people read it: ``"3.4 MB"`` (MiB; ``"20 MB"`` for a round cap)."""
    value = size / MiB
    return f"{value:.0f} MB" if value == int(value) else f"{value:.1f} MB"


def _read_bounded(path: Path) -> bytes:
    """The file's bytes, at most ``MAX_NOTEBOOK_BYTES`` ever read."""
    name = _show(path.name)
    if path.is_dir():
        raise InvalidSubmission(f"{name} is a directory, not a notebook file")
    if not path.is_file():
        raise InvalidSubmission(f"{name} is not a regular file")
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise InvalidSubmission(_too_large(name, size))
    with open(path, "rb") as f:
        data = f.read(MAX_NOTEBOOK_BYTES + 1)  # the file may grow after stat()
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise InvalidSubmission(_too_large(name, len(data)))
    if not data.strip():
        raise InvalidSubmission(
            f"{name} is empty ({len(data)} bytes): save the "
            "notebook and submit it again"
        )
    return data


def _too_large(name: str, size: int) -> str:
    """Over the cap for a notebook with its outputs: how to hand in a smaller one."""
    return (
        f"{name} is {_mb(size)}; the limit is {_mb(MAX_NOTEBOOK_BYTES)} for a "
        f"notebook with its saved outputs: clear the outputs ({CLEAR_OUTPUTS}), "
        "run again the cells whose plots your written answers discuss, save, and "
        "hand it in again"
    )


def _parse_json(data: bytes, name: str) -> object:
    try:
        # utf-8-sig: a byte-order mark (some Windows editors add one) is accepted
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InvalidSubmission(f"{name} is not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise InvalidSubmission(
            f"{name} is not valid JSON (line {exc.lineno}, "
            f"column {exc.colno}): is the file truncated?"
        ) from exc
    except (ValueError, RecursionError) as exc:  # a 5000-digit number, deep nesting
        raise InvalidSubmission(
            f"{name} is not a usable notebook ({type(exc).__name__}: {_show(str(exc))})"
        ) from exc


def _kernel_of(nb: object) -> str:
    metadata = nb.get("metadata") if isinstance(nb, dict) else None
    spec = metadata.get("kernelspec") if isinstance(metadata, dict) else None
    name = spec.get("name") if isinstance(spec, dict) else None
    return _show(name, 100) if isinstance(name, str) else ""


JSON_KINDS = {
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def _cells_of(nb: object, name: str) -> list[dict]:
    if not isinstance(nb, dict):
        raise InvalidSubmission(
            f"{name} is not a Jupyter notebook: its JSON is "
            f"{JSON_KINDS.get(type(nb), 'not an object')}, not an "
            "object with a cell list"
        )
    wrong_format = InvalidSubmission(
        f"{name} is nbformat {nb.get('nbformat')!r}; save it as nbformat 4 (any "
        "current Jupyter or Colab does)"
    )
    if isinstance(nb.get("nbformat"), int) and nb["nbformat"] != 4:
        raise wrong_format  # before the cell list: nbformat 3 has worksheets instead
    if not isinstance(nb.get("cells"), list):
        raise InvalidSubmission(f"{name} is not a Jupyter notebook (no cell list)")
    if nb.get("nbformat") != 4:
        raise wrong_format
    if len(nb["cells"]) > MAX_CELLS:
        raise InvalidSubmission(
            f"{name} has {len(nb['cells'])} cells (limit {MAX_CELLS})"
        )
    cells = []
    for index, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or "cell_type" not in cell:
            raise InvalidSubmission(f"{name}: cell {index} is malformed")
        if cell["cell_type"] == "code":
            cells.append({"index": index, "source": _source(cell, index, name)})
            if _tagged_ignore(cell):
                cells[-1]["ignored"] = True
    return cells


def _tagged_ignore(cell: dict) -> bool:
    """Otter's ``otter_ignore`` tag: a demo cell (plots, long training runs) that the
    grader does not execute. Skipping can only cost the student who adds the tag, so
    it is honoured from the submission itself."""
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return isinstance(tags, list) and IGNORE_TAG in tags


def _source(cell: dict, index: int, name: str) -> str:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise InvalidSubmission(f"{name}: cell {index} has a malformed source")
    if len(source) > MAX_CELL_CHARS:
        raise InvalidSubmission(
            f"{name}: cell {index} is longer than {MAX_CELL_CHARS} characters"
        )
    return source
