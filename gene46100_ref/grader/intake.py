"""Intake: find submissions, give each a stable id, parse notebooks strictly.

Only the code cells' text leaves intake; nothing a submission contains is executed
or unpickled here, and no shell ever sees a file name.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_CELLS = 2000
MAX_CELL_CHARS = 200_000
SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")


class InvalidSubmission(Exception):
    """The submission cannot be graded; the message says what is wrong and where."""


@dataclass(frozen=True)
class Submission:
    """One student's submission: a stable id, where it came from, its notebook."""

    id: str
    source: str  # path as given (for people to read)
    notebook: Path | None
    problem: str = ""  # set when intake already knows it is invalid


def stable_id(path: Path, root: Path) -> str:
    """A readable id that never collides: the name plus a hash of the relative path."""
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        relative = path.resolve()
    digest = hashlib.sha256(str(relative).encode()).hexdigest()[:8]
    stem = SAFE_ID.sub("_", path.stem)[:60] or "submission"
    return f"{stem}-{digest}"


def find_submissions(paths: list[Path]) -> list[Submission]:
    """Expand notebooks and folders into submissions, in a stable order.

    A folder that directly holds notebooks gives one submission per notebook; a folder
    of folders (one per student) gives one submission per sub-folder, which must hold
    exactly one notebook.
    """
    found: list[Submission] = []
    for path in paths:
        if path.is_file():
            found.append(Submission(stable_id(path, path.parent), str(path), path))
        elif path.is_dir():
            found.extend(_from_folder(path))
        else:
            found.append(Submission(stable_id(path, path.parent), str(path), None,
                                    f"{path} does not exist"))
    return sorted(found, key=lambda s: s.id)


def _from_folder(folder: Path) -> list[Submission]:
    notebooks = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir()
                        and not p.name.startswith("."))
    found = [Submission(stable_id(nb, folder), str(nb), nb) for nb in notebooks]
    for sub in subfolders:
        inner = sorted(p for p in sub.rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)
        if len(inner) == 1:
            found.append(Submission(stable_id(sub, folder), str(sub), inner[0]))
        else:
            why = ("holds no notebook" if not inner else
                   f"holds {len(inner)} notebooks ({', '.join(p.name for p in inner[:5])}); "
                   "submit exactly one")
            found.append(Submission(stable_id(sub, folder), str(sub), None,
                                    f"{sub.name} {why}"))
    return found


def read_code_cells(path: Path) -> list[dict]:
    """The code cells of an nbformat-4 notebook as ``{"index", "source"}``.

    Raises:
        InvalidSubmission: too large, not JSON, not nbformat 4, malformed cells.
    """
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise InvalidSubmission(f"{path.name} is {size} bytes; the limit is "
                                f"{MAX_NOTEBOOK_BYTES}")
    try:
        nb = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidSubmission(f"{path.name} is not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise InvalidSubmission(f"{path.name} is not valid JSON (line {exc.lineno}, "
                                f"column {exc.colno}): is the file truncated?") from exc
    return _cells_of(nb, path.name)


def _cells_of(nb: object, name: str) -> list[dict]:
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise InvalidSubmission(f"{name} is not a Jupyter notebook (no cell list)")
    if nb.get("nbformat") != 4:
        raise InvalidSubmission(f"{name} is nbformat {nb.get('nbformat')!r}; save it as "
                                "nbformat 4 (any current Jupyter or Colab does)")
    if len(nb["cells"]) > MAX_CELLS:
        raise InvalidSubmission(f"{name} has {len(nb['cells'])} cells (limit {MAX_CELLS})")
    cells = []
    for index, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or "cell_type" not in cell:
            raise InvalidSubmission(f"{name}: cell {index} is malformed")
        if cell["cell_type"] == "code":
            cells.append({"index": index, "source": _source(cell, index, name)})
    return cells


def _source(cell: dict, index: int, name: str) -> str:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise InvalidSubmission(f"{name}: cell {index} has a malformed source")
    if len(source) > MAX_CELL_CHARS:
        raise InvalidSubmission(f"{name}: cell {index} is longer than {MAX_CELL_CHARS} "
                                "characters")
    return source
