"""Is what the build generates up to date? (``gene46100 build --check``)

Rebuilds into a temporary folder and compares with the committed files: the
generated files are never edited by hand, so any difference means a master (or the
tool) changed since the last ``gene46100 build``.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from gene46100 import course
from gene46100.course import REPO

# Everything ``build`` writes, relative to the repository.
GENERATED = (
    "assignments",
    "autograder",
    "examples/submissions",
    *(f"gene46100_ref/{week}.py" for week in course.WEEKS),
)


def files_under(root: Path, rel: str) -> dict[str, bytes]:
    """``rel`` (a file or a folder) under ``root``: relative path -> bytes."""
    base = root / rel
    if base.is_file():
        return {rel: base.read_bytes()}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def same(name: str, committed: bytes, fresh: bytes) -> bool:
    """Zips compare by members (the same files, whatever the zip's own metadata)."""
    if name.endswith(".zip"):
        return zip_members(committed) == zip_members(fresh)
    return committed == fresh


def differences(committed_root: Path, fresh_root: Path) -> list[str]:
    """What differs between two trees' generated files: one line per file."""
    found = []
    for rel in GENERATED:
        committed = files_under(committed_root, rel)
        fresh = files_under(fresh_root, rel)
        for name in sorted(set(committed) | set(fresh)):
            if name not in fresh:
                found.append(f"{name}: not generated any more (delete it)")
            elif name not in committed:
                found.append(f"{name}: missing")
            elif not same(name, committed[name], fresh[name]):
                found.append(f"{name}: stale")
    return found


def stale_files(repo: Path = REPO) -> list[str]:
    """Rebuild into a temporary folder; what the committed tree has wrong."""
    from gene46100 import build

    with tempfile.TemporaryDirectory(prefix="gene46100-check-") as tmp:
        build.build(repo=repo, out=Path(tmp))
        return differences(repo, Path(tmp))
