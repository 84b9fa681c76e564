"""Helpers shared by the test modules (importable: pytest puts tests/ on the path)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

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


# The float32 form of answers (the course's dtype policy: tests/test_dtype_policy.py,
# tests/test_public_dtype.py).
def to_float32(answer: Any) -> Any:
    """The float32 form of an answer: float arrays and float scalars in float32,
    containers converted item by item, everything else (ints, bools, strings,
    models, tensors) as it is."""
    if isinstance(answer, np.ndarray) and answer.dtype.kind == "f":
        with np.errstate(over="ignore"):  # a diverging trajectory overflows: inf
            return answer.astype(np.float32)
    if isinstance(answer, (float, np.floating)):
        return np.float32(answer)
    if isinstance(answer, (list, tuple)):
        return type(answer)(to_float32(item) for item in answer)
    if isinstance(answer, dict):
        return {key: to_float32(item) for key, item in answer.items()}
    return answer


def in_float32(func: Callable) -> Callable:
    """``func`` whose answer comes back in its float32 form."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return to_float32(func(*args, **kwargs))

    return wrapped
