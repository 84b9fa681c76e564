"""What produced a grade: every record carries the fingerprint of its inputs.

A grade depends on the submission (its notebook and companion files), the hidden
checks (with the sandbox contract and the in-sandbox worker they run through), the
reference, the assignment's spec, the grader's own code, the grading seed and the
library versions. Each is hashed separately, so a resume can say *what* changed;
a record whose fingerprint differs from the current one is regraded, never kept
silently (security.md, goal 14).
"""

from __future__ import annotations

import hashlib
import json
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import gene46100
import gene46100_ref
from gene46100 import buildstamp, course
from gene46100.grader.intake import Submission

TOOL = Path(gene46100.__file__).resolve().parent
REFERENCE = Path(gene46100_ref.__file__).resolve().parent
# The libraries a result can depend on (student code runs on them, checks compare
# with them); their versions are part of every record.
LIBRARIES = ("torch", "numpy", "pandas", "scipy", "ipython", "otter-grader")
# The checks' side of the trust boundary, and what carries probes across it.
CHECK_PARTS = ("checks", "contract", "untrusted")


def digest_files(paths: list[Path], root: Path) -> str:
    """One hash over the files' relative names and bytes (order-independent)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def python_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.py") if "__pycache__" not in p.parts]


@lru_cache(maxsize=8)
def checks_digest(week: str) -> str:
    """The hidden checks of ``week`` (other weeks' checks aside), their framework,
    the contract, the in-sandbox worker and the course registry (which sets each
    question's CPU budget)."""
    files = [TOOL / "course.py"]
    for part in CHECK_PARTS:
        for path in python_files(TOOL / part):
            # checks/<week>/q03_gradient.py (or a week's single module, <week>.py)
            top = Path(path.relative_to(TOOL / part).parts[0]).stem
            if part != "checks" or top not in course.COURSE or top == week:
                files.append(path)
    return digest_files(files, TOOL)


@lru_cache(maxsize=8)
def reference_digest(week: str) -> str:
    """The reference modules ``week`` may use: its own, the earlier weeks' (it
    imports what it reuses) and the hand-written helpers."""
    later = set(course.WEEKS) - set(course.earlier(week)) - {week}
    files = [p for p in python_files(REFERENCE) if p.stem not in later]
    return digest_files(files, REFERENCE)


@lru_cache(maxsize=1)
def grader_digest() -> str:
    """The grader's own code (intake, sandbox, scoring, records...) and version."""
    files = python_files(TOOL / "grader")
    return f"{gene46100.__version__}-{digest_files(files, TOOL)}"


def library_versions() -> dict[str, str]:
    versions = {"python": ".".join(map(str, sys.version_info[:3]))}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def spec_digest(spec_bytes: bytes) -> str:
    """``assignment.json`` as grading reads it: without the hash of the sources it
    was built from, so a master edit that changes no question (a typo in a prompt)
    does not make every record stale (the checks and reference have their own)."""
    spec = json.loads(spec_bytes)
    spec.pop(buildstamp.KEY, None)
    canonical = json.dumps(spec, sort_keys=True).encode()
    return hashlib.sha256(canonical).hexdigest()[:16]


def batch_fingerprint(week: str, spec_bytes: bytes, seed: int) -> dict[str, object]:
    """Everything but the submission: the same for every record of a batch."""
    return {
        "checks": checks_digest(week),
        "reference": reference_digest(week),
        "spec": spec_digest(spec_bytes),
        "grader": grader_digest(),
        "seed": seed,
        "libraries": library_versions(),
    }


def submission_digest(submission: Submission) -> str:
    """The notebook's and companion files' bytes ("" when there is no notebook)."""
    if submission.notebook is None:
        return ""
    digest = hashlib.sha256()
    files = [("notebook", submission.notebook), *submission.companions]
    for name, path in files:
        digest.update(name.encode() + b"\0")
        try:
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as exc:  # gone or unreadable: its record will say so
            digest.update(f"<{type(exc).__name__}>".encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def fingerprint(batch: dict[str, object], submission: Submission) -> dict[str, object]:
    return {"submission": submission_digest(submission), **batch}


def changes(old: dict[str, object], new: dict[str, object]) -> list[str]:
    """The parts that differ (``"submission"``, ``"checks"``...), in a fixed order."""
    if not old:
        return ["no fingerprint (graded by an older grader)"]
    return [key for key in new if old.get(key) != new.get(key)]
