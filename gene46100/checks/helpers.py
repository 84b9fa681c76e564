"""Check helpers shared by every week's hidden checks (trusted side).

Known wrong variants (``Candidate``) and the hint of the one that reproduces a
student's value; type checks in the course's conventions (numpy answers are float64,
models work in float32 tensors); learning curves; state dicts sent as hidden arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gene46100.checks import Mismatch, close, diff_summary, expect_array
from gene46100.contract.plan import Plan
from gene46100.contract.results import Value

# A known wrong variant: the hint to show, and how to compute what it would return.
Candidate = tuple[str, Callable[[], Any]]


def first_match(
    got: Any, candidates: Sequence[Candidate], rtol: float = 1e-6, atol: float = 1e-9
) -> str:
    """The hint of the first wrong variant that reproduces ``got``, else ``""``."""
    got = np.asarray(got, dtype=np.float64)
    for hint, make in candidates:
        try:
            with np.errstate(all="ignore"):
                candidate = np.asarray(make(), dtype=np.float64)
        except (ArithmeticError, ValueError, RuntimeError, IndexError, KeyError):
            continue  # a variant that cannot run on these inputs explains nothing
        if candidate.shape == got.shape and close(got, candidate, rtol, atol):
            return hint
    return ""


def wrong(
    what: str, got: Any, expected: Any, hint: str, fallback: str = ""
) -> Mismatch:
    """A 'values differ' failure: how far off, then the named mistake (or advice)."""
    detail = hint or fallback
    return Mismatch(
        f"{what} is wrong ({diff_summary(got, expected)})"
        + (f": {detail}" if detail else "")
    )


def times(got: float, expected: float) -> str:
    """``got`` relative to ``expected`` (reveals no hidden value by itself)."""
    if expected == 0 or not math.isfinite(got):
        return f"got {got:.3g}"
    return f"got {got / expected:.4g} times the expected value"


def expect_float64_array(value: Value, what: str) -> np.ndarray:
    """A numpy float64 array (the course convention for numpy answers), any shape."""
    if value.type in ("list", "tuple"):
        raise Mismatch(
            f"{what} should be a numpy.ndarray; got a {value.type} "
            "(convert it with np.array(...))"
        )
    if value.type.startswith("torch."):
        raise Mismatch(
            f"{what} should be a numpy.ndarray; got {value.type} "
            "(this question is numpy only)"
        )
    data = expect_array(value, what)
    if value.dtype != "float64":
        raise Mismatch(
            f"{what} has dtype {value.dtype}; numpy answers in this course are float64"
        )
    return data


def expect_float(value: Value, what: str) -> float:
    """A Python float (``numpy.float64`` is a float subclass and counts)."""
    if (value.kind == "py" and value.type == "float") or value.type == "numpy.float64":
        return float(value.data)
    hints = {
        "tensor": " (convert it with .item())",
        "ndarray": " (convert it with float(...))",
        "npscalar": " (convert it with float(...))",
    }
    raise Mismatch(
        f"{what} should be a float; got {value.type}{hints.get(value.kind, '')}"
    )


def expect_tensor(
    value: Value, what: str, shape: tuple[int, ...] | None = None
) -> np.ndarray:
    """A float32 ``torch.Tensor`` (models work in float32), optionally of a shape."""
    data = expect_array(value, what, types=("torch.Tensor",), kinds="f")
    if value.dtype != "float32":  # the worker reports a tensor's numpy dtype name
        raise Mismatch(
            f"{what} has dtype torch.{value.dtype}; models work in torch.float32"
        )
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise Mismatch(
            f"{what} should have shape {tuple(shape)}; got {tuple(value.shape)}"
        )
    return data


def curve_values(value: Value, what: str) -> np.ndarray:
    """The numbers of a learning curve, whatever scalar type each entry has."""
    if value.kind not in ("list", "tuple"):
        raise Mismatch(f"{what} should return a list of floats; got {value.type}")
    numbers = []
    for item in value.data:
        if item.kind == "py" and item.type in ("float", "int"):
            numbers.append(float(item.data))
        elif item.is_array_like and item.data.size == 1:
            numbers.append(float(np.asarray(item.data).reshape(())))
        else:
            raise Mismatch(f"each entry of {what} should be a float; got {item.type}")
    return np.array(numbers, dtype=np.float64)


def register_state(plan: Plan, prefix: str, state: dict[str, np.ndarray]) -> dict:
    """Send a state_dict as hidden arrays; return the ``state`` argument form."""
    return {
        name: plan.array(f"{prefix}_{name.replace('.', '_')}", value)
        for name, value in state.items()
    }
