"""What each student wrote, as submitted: answers to the manual questions and the
code of the graded answer cells, extracted into the output folder.

The grader never runs cells tagged ``otter_ignore`` (plots, demos), so a written
answer's evidence is what the student *saved*: each manual question's cells come with
their stored outputs (images, tables, printed text). The review (a person grading the
written answers) and the similarity screen work from ``DIR/answers/<id>.json`` alone,
so the submissions may move after grading.

Which cells belong to which question comes from the release notebook's structure
(Otter's assign output): a manual question's cells sit between the markdown cell that
opens with ``<!-- BEGIN QUESTION -->`` and the one that opens with
``<!-- END QUESTION -->``, in the order of the manual questions in the spec; a graded
code answer is a cell tagged ``otter_answer_cell`` followed by ``grader.check("qN")``.
An answer left exactly as released is marked ``placeholder`` (graded "No response").

A question's evidence may sit just *before* its prompt (week 1's m3 asks about "the
three panels above"): ``before`` holds the code cells, with their saved outputs,
that run back from the prompt to the nearest boundary, at most ``MAX_BEFORE`` of
them. A boundary is a question marker cell, a ``grader.check`` cell, a graded answer
cell or a markdown heading (code cells after the heading count, the heading ends the
walk). Markdown between them is the release's prose and is left out.

Nothing here runs student code or trusts its structure: cells are read as plain JSON
with the same caps as grading, and a malformed notebook yields no answers.

Saved outputs are kept up to ``MAX_ANSWER_OUTPUT_BYTES`` per written answer (its
cells and the evidence before it, in that order): an output that would pass the cap
is replaced by a note saying what it was and how large ("plot of 3.4 MB not kept:
over the 2 MB cap..."), so a notebook full of large Colab plots still shows every
answer and the plots that fit.

``answers/<id>.json``::

    {"id", "assignment", "notebook_sha256",
     "manual": {"m1": {"placeholder": bool,
                       "cells": [{"cell_type", "source", "outputs"?, "attachments"?}],
                       "before": [<code cells, same form>]}},
     "code": {"q1": "def normal_equation(...): ..."}}
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from gene46100.grader import intake
from gene46100.grader.records import write_atomic

BEGIN = "<!-- BEGIN QUESTION -->"
END = "<!-- END QUESTION -->"
ANSWER_TAG = "otter_answer_cell"
CHECK_CALL = re.compile(r"""^\s*grader\.check\(\s*["'](\w+)["']\s*\)\s*$""")
MiB = 1024 * 1024
MAX_ANSWER_OUTPUT_BYTES = 2 * MiB  # one written answer's saved outputs (a few plots)
# Images pasted into one written answer's text (a photographed derivation is the
# answer itself: a larger cap than for plots).
MAX_ANSWER_ATTACHMENT_BYTES = 8 * MiB
MAX_BEFORE = 4  # evidence cells kept before a prompt


def cell_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def markers(cell: dict) -> list[str]:
    """The question markers a markdown cell opens with, in order: Otter merges a
    question's END with the next one's BEGIN into one cell."""
    if cell.get("cell_type") != "markdown":
        return []
    found, text = [], cell_text(cell).lstrip()
    while text.startswith((BEGIN, END)):
        marker = BEGIN if text.startswith(BEGIN) else END
        found.append(marker)
        text = text[len(marker) :].lstrip()
    return found


def manual_blocks(cells: list[dict]) -> list[list[dict]]:
    """The cells of each manual question, in notebook order (prompt cell excluded)."""
    blocks: list[list[dict]] = []
    current: list[dict] | None = None
    for cell in cells:
        found = markers(cell)
        if not found:
            if current is not None:
                current.append(cell)
            continue
        current = None
        if found[-1] == BEGIN:
            current = []
            blocks.append(current)
    return blocks


def prompt_indices(cells: list[dict]) -> list[int]:
    """The index of each manual question's prompt cell (the one that opens it)."""
    return [i for i, c in enumerate(cells) if markers(c)[-1:] == [BEGIN]]


def is_boundary(cell: dict) -> bool:
    """Where the walk back from a prompt stops (see the module docstring)."""
    text = cell_text(cell)
    if cell.get("cell_type") == "markdown":
        return bool(markers(cell)) or text.lstrip().startswith("#")
    return bool(CHECK_CALL.match(text)) or ANSWER_TAG in tags(cell)


def cells_before(cells: list[dict], prompt: int) -> list[dict]:
    """The code cells just before ``cells[prompt]`` (the question's evidence)."""
    found: list[dict] = []
    for cell in reversed(cells[:prompt]):
        if cell.get("cell_type") == "code" and not is_boundary(cell):
            found.append(cell)
        if is_boundary(cell) or len(found) == MAX_BEFORE:
            break
    return found[::-1]


def code_answers(cells: list[dict]) -> dict[str, str]:
    """The code of each graded question's answer cells (those tagged
    ``otter_answer_cell`` before its ``grader.check`` call)."""
    found: dict[str, str] = {}
    pending: list[str] = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        text = cell_text(cell)
        check = CHECK_CALL.match(text)
        if check:
            if pending:
                found[check.group(1)] = "\n\n".join(pending)
            pending = []
        elif ANSWER_TAG in tags(cell):
            pending.append(text)
    return found


def tags(cell: dict) -> list[str]:
    metadata = cell.get("metadata")
    value = metadata.get("tags", []) if isinstance(metadata, dict) else []
    return [t for t in value if isinstance(t, str)] if isinstance(value, list) else []


class OutputBudget:
    """What is left of one written answer's cap on saved outputs."""

    def __init__(self, limit: int = MAX_ANSWER_OUTPUT_BYTES) -> None:
        self.limit = limit
        self.left = limit

    def keep(self, output: object) -> object:
        """``output`` if it fits what is left (and it is spent), else a note."""
        size = len(json.dumps(output))
        if size <= self.left:
            self.left -= size
            return output
        return {
            "output_type": "stream",
            "name": "stdout",
            "text": f"[{output_kind(output)} of {size / MiB:.1f} MB not kept: over "
            f"the {self.limit / MiB:g} MB cap on one answer's saved outputs]",
        }


def output_kind(output: object) -> str:
    """What a saved output shows, in a word: a plot, a table, or an output."""
    data = output.get("data") if isinstance(output, dict) else None
    kinds = data if isinstance(data, dict) else {}
    if any(str(k).startswith("image/") for k in kinds):
        return "plot"
    return "table" if "text/html" in kinds else "output"


def plain_cell(
    cell: dict,
    budget: OutputBudget | None = None,
    pasted: OutputBudget | None = None,
) -> dict[str, Any]:
    """A cell as the review shows it: its type, text, stored outputs (those that fit
    ``budget``: one answer's cap), pasted images (those that fit ``pasted``)."""
    budget = budget if budget is not None else OutputBudget()
    pasted = pasted if pasted is not None else OutputBudget(MAX_ANSWER_ATTACHMENT_BYTES)
    out: dict[str, Any] = {
        "cell_type": str(cell.get("cell_type", "")),
        "source": cell_text(cell),
    }
    if out["cell_type"] == "code":
        outputs = cell.get("outputs", [])
        outputs = outputs if isinstance(outputs, list) else []
        out["outputs"] = [budget.keep(o) for o in outputs]
    attachments = cell.get("attachments")
    if isinstance(attachments, dict):
        kept, notes = keep_attachments(attachments, pasted)
        out["attachments"] = kept
        if notes:
            out["source"] += "\n\n" + "\n".join(notes)
    return out


def keep_attachments(attachments: dict, budget: OutputBudget) -> tuple[dict, list[str]]:
    """The pasted images that fit ``budget`` (one answer's cap), and a note for
    each that does not (the text shows it where the image was)."""
    kept, notes = {}, []
    for name, data in attachments.items():
        size = len(json.dumps(data))
        if size <= budget.left:
            budget.left -= size
            kept[name] = data
        else:
            notes.append(
                f"[image {str(name)[:60]} of {size / MiB:.1f} MB not kept: over the "
                f"{budget.limit / MiB:g} MB cap on one answer's pasted images]"
            )
    return kept, notes


def answer_texts(block: list[dict]) -> list[str]:
    return [cell_text(c).strip() for c in block if ANSWER_TAG in tags(c)]


def extract(
    notebook: Path, manual_names: list[str], release_notebook: Path | None
) -> dict[str, Any]:
    """The answers in ``notebook`` (see the module docstring); ``{}`` when the
    notebook cannot be read. ``manual_names``: the spec's manual questions, in order.
    """
    try:
        data = intake.read_notebook_bytes(notebook)
        cells = notebook_cells(data)
    except (intake.InvalidSubmission, OSError, ValueError):
        return {}
    released = released_blocks(release_notebook, manual_names)
    manual = {}
    blocks = zip(manual_names, manual_blocks(cells), prompt_indices(cells))
    for name, block, prompt in blocks:
        texts = answer_texts(block)
        # one cap per answer (outputs, pasted images): its own cells come first
        budget, pasted = OutputBudget(), OutputBudget(MAX_ANSWER_ATTACHMENT_BYTES)
        manual[name] = {
            "placeholder": bool(texts) and texts == released.get(name),
            "cells": [plain_cell(c, budget, pasted) for c in block],
            "before": [
                plain_cell(c, budget, pasted) for c in cells_before(cells, prompt)
            ],
        }
    return {
        "notebook_sha256": hashlib.sha256(data).hexdigest(),
        "manual": manual,
        "code": code_answers(cells),
    }


def notebook_cells(data: bytes) -> list[dict]:
    nb = json.loads(data.decode("utf-8-sig"))
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise ValueError("no cells")
    return [c for c in cells if isinstance(c, dict)]


def released_blocks(
    release_notebook: Path | None, manual_names: list[str]
) -> dict[str, list[str]]:
    """The placeholder text of each manual answer, as the release has it."""
    if release_notebook is None or not release_notebook.is_file():
        return {}
    cells = notebook_cells(release_notebook.read_bytes())
    return {
        name: answer_texts(block)
        for name, block in zip(manual_names, manual_blocks(cells))
    }


def write_answers(
    out_dir: Path, record_id: str, assignment: str, answers: dict[str, Any]
) -> Path | None:
    """``out_dir/answers/<id>.json`` (nothing for a notebook that could not be
    read: its record already says why)."""
    folder = out_dir / "answers"
    path = folder / f"{record_id}.json"
    if not answers:
        path.unlink(missing_ok=True)  # never keep a stale one
        return None
    folder.mkdir(parents=True, exist_ok=True)
    body = {"id": record_id, "assignment": assignment, **answers}
    write_atomic(path, json.dumps(body, indent=1, sort_keys=True) + "\n")
    return path
