"""Rubrics of the manual questions, from the masters to ``autograder/<week>/``.

A manual question's rubric lives in its master, in the ``# BEGIN QUESTION`` config
(Otter ignores keys it does not know and strips the cell from everything it writes)::

    # BEGIN QUESTION
    name: m3
    manual: true
    points: 2
    rubric:
    - points: 0.5                  # positive: earned; negative: a deduction
      text: 0.01 crawls: ...       # Markdown (math allowed): what the student reads
      note: Accept ...             # optional, for graders only
      id: crawl                    # optional; default: the item's position (1, 2, ...)

The positive items add up to the question's points (the points possible stay the
master's); a TA adjusts a score within [0, points]. Give an item an ``id`` before
reordering a rubric that has already been used, so stored grades keep their items.

``autograder/<week>/rubrics.json``::

    {"assignment", "source", "questions": [{"name", "points", "prompt",
      "items": [{"id", "points", "text", "note"}]}]}
"""

from __future__ import annotations

import math

import nbformat
import yaml

ITEM_KEYS = {"points", "text", "note", "id"}


class RubricError(ValueError):
    """A manual question without a usable rubric (the message says which and why)."""


def question_cells(master: nbformat.NotebookNode) -> list[tuple[dict, str]]:
    """Each question's config and its prompt (the markdown cell after the config)."""
    found, cells = [], master.cells
    for index, cell in enumerate(cells):
        if cell.cell_type == "raw" and cell.source.lstrip().startswith(
            "# BEGIN QUESTION"
        ):
            config = yaml.safe_load(cell.source.split("\n", 1)[1]) or {}
            after = cells[index + 1] if index + 1 < len(cells) else None
            prompt = after.source if after and after.cell_type == "markdown" else ""
            found.append((config, prompt))
    return found


def check_item(where: str, item: object) -> None:
    if not isinstance(item, dict):
        raise RubricError(f"{where}: expected a mapping with points and text")
    unknown = set(item) - ITEM_KEYS
    if unknown:
        raise RubricError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    points = item.get("points")
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not points:
        raise RubricError(f"{where}: points must be a non-zero number, got {points!r}")
    if not isinstance(item.get("text"), str) or not item["text"].strip():
        raise RubricError(f"{where}: text (what the student reads) is missing")
    if not isinstance(item.get("note", ""), str):
        raise RubricError(f"{where}: note must be text")


def rubric_items(week: str, config: dict) -> list[dict]:
    """The checked items of one manual question's rubric, with their ids."""
    name, rubric = config["name"], config.get("rubric")
    if not isinstance(rubric, list) or not rubric:
        raise RubricError(
            f"{week} {name}: a manual question needs a rubric (a `rubric:` list of "
            "items with points and text in its BEGIN QUESTION cell)"
        )
    items = []
    for position, item in enumerate(rubric, start=1):
        check_item(f"{week} {name} rubric item {position}", item)
        items.append(
            {
                "id": str(item.get("id", position)),
                "points": item["points"],
                "text": item["text"].strip(),
                "note": item.get("note", "").strip(),
            }
        )
    ids = [i["id"] for i in items]
    if len(set(ids)) != len(ids):
        raise RubricError(f"{week} {name}: rubric item ids repeat: {ids}")
    earned = sum(i["points"] for i in items if i["points"] > 0)
    if not math.isclose(earned, config.get("points", 1), abs_tol=1e-9):
        raise RubricError(
            f"{week} {name}: the positive rubric items add up to {earned:g}, "
            f"the question is worth {config.get('points', 1):g}"
        )
    return items


def rubrics_spec(week: str, master: nbformat.NotebookNode) -> dict:
    """``rubrics.json`` of ``week``; ``RubricError`` for a manual question without a
    rubric, a malformed item, or a rubric on an autograded question."""
    questions = []
    for config, prompt in question_cells(master):
        if not config.get("manual"):
            if "rubric" in config:
                raise RubricError(
                    f"{week} {config.get('name')}: only manual questions take a rubric"
                )
            continue
        questions.append(
            {
                "name": config["name"],
                "points": config.get("points", 1),
                "prompt": prompt,
                "items": rubric_items(week, config),
            }
        )
    return {
        "assignment": week,
        "source": f"solutions/{week}/{week}.ipynb",
        "questions": questions,
    }
