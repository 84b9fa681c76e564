"""What a week's build was made from, so that grading can tell a stale build.

``gene46100 build`` stores in ``autograder/<week>/assignment.json`` a SHA-256 of the
week's sources: every file under ``solutions/<week>/`` (the master and what the
build copies beside it) and the week's hidden checks. ``gene46100 grade`` computes
it again and refuses, in one line, when they differ: after a master edit without a
rebuild, the built points, questions and release would otherwise be used silently
(a question still worth 1 after the master says 2).

Outside a checkout (a Gradescope zip carries no ``solutions/``) there is nothing to
compare and nothing is refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from gene46100.course import REPO

KEY = "built_from_sha256"
SKIPPED = ("__pycache__", ".ipynb_checkpoints")


def source_files(week: str, repo: Path = REPO) -> list[Path]:
    """The files a week's build is made from, in a fixed order."""
    roots = [
        repo / "solutions" / week,
        repo / "gene46100" / "checks" / f"{week}.py",
        repo / "gene46100" / "checks" / week,  # a package of question modules
    ]
    found = []
    for root in roots:
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found += [
                p
                for p in root.rglob("*")
                if p.is_file() and not any(part in SKIPPED for part in p.parts)
            ]
    return sorted(found, key=lambda p: p.relative_to(repo).as_posix())


def sources_sha256(week: str, repo: Path = REPO) -> str:
    """One hash of every source file's path (relative to ``repo``) and bytes."""
    digest = hashlib.sha256()
    for path in source_files(week, repo):
        name = path.relative_to(repo).as_posix().encode()
        data = path.read_bytes()
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def stale_build(week: str, autograder_dir: Path, repo: Path = REPO) -> str:
    """One line saying why ``autograder_dir/<week>`` is older than its sources
    ("": up to date, or no sources here to compare with)."""
    master = repo / "solutions" / week / f"{week}.ipynb"
    spec_path = autograder_dir / week / "assignment.json"
    if not master.exists() or not spec_path.exists():
        return ""  # no checkout (Gradescope), or not built: said elsewhere
    try:
        built = json.loads(spec_path.read_text()).get(KEY, "")
    except (OSError, ValueError):
        built = ""
    if built == sources_sha256(week, repo):
        return ""
    return (
        f"{spec_path} was built from other sources than solutions/{week}/ and "
        f"the {week} checks as they are now (edited since the last build): run "
        f"`make build` (or `gene46100 build {week}`) and grade again"
    )
