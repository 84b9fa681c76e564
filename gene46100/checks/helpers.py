"""Check helpers shared by every week's hidden checks (trusted side).

Known wrong variants (``Candidate``) and the hint of the one that reproduces a
student's value; type checks in the course's conventions; the course's dtype policy
(``matches``); learning curves; state dicts sent as hidden arrays.

The dtype policy, stated once here and in the students' conventions: a dtype is graded
only where it is the point of the question (one-hot matrices and dataset items are
float32 by contract, models work in float32 tensors); elsewhere a float32 answer equal
to the reference at float32 precision earns full points. numpy's default float64 is
what the reference returns, and it is graded at each check's own tolerance.
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


# ------------------------------------------------------------------ dtype policy
# float32 keeps 24 bits (eps 1.2e-7). A computation carried out in float32 rounds at
# every step, so it agrees with the float64 reference to a few eps times the size of
# the numbers involved: 1e-5 of the values' scale covers sums of hundreds of terms
# (a 16-tap convolution, a 50-step descent, 300 scores read from text) and stays
# orders of magnitude below every wrong variant the checks name (factors, flips,
# missing terms).
FLOAT32_RTOL = 1e-5


def is_float32(got: Any) -> bool:
    """Whether a student's numbers are float32 (array or numpy scalar)."""
    return np.asarray(got).dtype == np.float32


def tolerance(
    float32: bool, expected: Any, rtol: float, atol: float
) -> tuple[float, float]:
    """The ``(rtol, atol)`` to compare an answer with ``expected`` at.

    A check's own tolerance, loosened for float32 answers to float32 precision:
    ``rtol >= FLOAT32_RTOL`` and ``atol >= FLOAT32_RTOL * max|expected|`` (an entry
    near zero in an array carries the rounding of the array's scale, e.g. a
    convolution output where large terms cancel). Other dtypes: unchanged.
    """
    if not float32:
        return rtol, atol
    values = np.abs(np.asarray(expected, dtype=np.float64))
    finite = values[np.isfinite(values)]
    scale = float(finite.max()) if finite.size else 0.0
    return max(rtol, FLOAT32_RTOL), max(atol, FLOAT32_RTOL * scale)


def matches(got: Any, expected: Any, rtol: float, atol: float) -> bool:
    """``close`` under the dtype policy: float32 answers are compared at float32
    precision (``tolerance``), every other dtype at the check's own tolerance.

    ``got``: the student's numbers as ``expect_float_array``/``expect_float``/
    ``keep_precision`` return them (float32 kept), any shape; ``expected``: float64,
    the same shape.
    """
    rtol, atol = tolerance(is_float32(got), expected, rtol, atol)
    return close(
        np.asarray(got, dtype=np.float64), np.asarray(expected, np.float64), rtol, atol
    )


def keep_precision(value: Value, data: Any) -> Any:
    """``data`` (numbers read from ``value``, as float64) back in float32 when the
    student's numbers were float32, so that ``matches`` and ``first_match`` grade
    them at float32 precision; otherwise ``data`` unchanged."""
    if value.dtype != "float32":
        return data
    return np.float32(data) if np.ndim(data) == 0 else np.asarray(data, np.float32)


def first_match(
    got: Any, candidates: Sequence[Candidate], rtol: float = 1e-6, atol: float = 1e-9
) -> str:
    """The hint of the first wrong variant that reproduces ``got``, else ``""``.

    A float32 ``got`` is compared at float32 precision (``tolerance``): its rounding
    neither hides a variant it really reproduces nor makes one appear.
    """
    float32 = is_float32(got)
    got = np.asarray(got, dtype=np.float64)
    for hint, make in candidates:
        try:
            with np.errstate(all="ignore"):
                candidate = np.asarray(make(), dtype=np.float64)
        except (ArithmeticError, ValueError, RuntimeError, IndexError, KeyError):
            continue  # a variant that cannot run on these inputs explains nothing
        if candidate.shape == got.shape and close(
            got, candidate, *tolerance(float32, candidate, rtol, atol)
        ):
            return hint
    return ""


def wrong(
    what: str, got: Any, expected: Any, hint: str, fallback: str = ""
) -> Mismatch:
    """A 'values differ' failure: how far off, then the named mistake (or advice)."""
    detail = hint or integer_note(got, expected) or fallback
    return Mismatch(
        f"{what} is wrong ({diff_summary(got, expected)})"
        + (f": {detail}" if detail else "")
    )


def times(got: float, expected: float) -> str:
    """``got`` relative to ``expected`` (reveals no hidden value by itself)."""
    if expected == 0 or not math.isfinite(got):
        return f"got {got:.3g}"
    return f"got {got / expected:.4g} times the expected value"


def integer_note(got: Any, expected: Any) -> str:
    """Why an integer answer is wrong when the right one has fractions, else ``""``."""
    if np.asarray(got).dtype.kind not in "iu":
        return ""
    expected = np.asarray(expected, dtype=np.float64)
    finite = expected[np.isfinite(expected)]
    if np.array_equal(finite, np.round(finite)):
        return ""
    return (
        f"the answer has dtype {np.asarray(got).dtype}, which cannot hold the "
        "fractional values expected here: build the array with a float dtype "
        "(np.zeros(n), not np.zeros(n, dtype=int))"
    )


def expect_float_array(value: Value, what: str) -> np.ndarray:
    """A numpy array of real numbers, any shape (dtype policy: not graded by dtype).

    Returns the numbers as float64, except float32 (kept, so that ``matches`` grades
    them at float32 precision) and integers (kept, so that ``wrong`` can say why
    they fall short). float16 is refused: its 3 significant digits cannot meet any
    check, and saying so beats a misleading "values differ".
    """
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
    if value.dtype == "float16":
        raise Mismatch(
            f"{what} has dtype float16, which keeps about 3 significant digits: "
            "too few for these values; use float64 (numpy's default) or float32"
        )
    if np.dtype(value.data.dtype).kind in "iu":
        return np.asarray(value.data)
    return keep_precision(value, data)


def is_float_scalar(value: Value) -> bool:
    """A Python float or a numpy float64/float32 scalar (``numpy.float64`` is a
    float subclass; ``numpy.float32`` counts too: dtype policy)."""
    return (value.kind == "py" and value.type == "float") or value.type in (
        "numpy.float64",
        "numpy.float32",
    )


def expect_float(value: Value, what: str) -> float | np.float32:
    """A Python float or numpy float scalar (``is_float_scalar``), as a float; a
    numpy float32 stays ``np.float32`` so that ``matches`` grades it at float32
    precision."""
    if is_float_scalar(value):
        return keep_precision(value, float(value.data))
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
