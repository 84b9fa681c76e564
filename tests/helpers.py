"""Helpers shared by the test modules (importable: pytest puts tests/ on the path)."""

from __future__ import annotations

from pathlib import Path

import nbformat

from gene46100.build import examples

REPO = Path(__file__).resolve().parent.parent


def minimal_complete() -> nbformat.NotebookNode:
    """Only the imports and answer cells of the complete example (fast to grade)."""
    full = nbformat.read(REPO / "examples/submissions/week1/alice_complete.ipynb", 4)
    keep = [
        c
        for c in full.cells
        if c.cell_type == "code"
        and (
            examples.ANSWER_TAG in c.metadata.get("tags", [])
            or c.source.startswith("from __future__")
        )
    ]
    return nbformat.v4.new_notebook(cells=keep, metadata=full.metadata)
