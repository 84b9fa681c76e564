"""Trusted side: read what the sandbox wrote, as plain data, with caps and a schema.

Nothing here unpickles or imports anything a submission wrote: results are JSON and
``.npz`` files loaded with ``allow_pickle=False``, and every field is type-checked.
The sandbox could also have left a link, a FIFO, a compression bomb or JSON nested
too deep in place of a result: each is refused as malformed, never followed or
expanded.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAX_JSON_BYTES = 2_000_000
MAX_NPZ_BYTES = 64_000_000  # the file, and (declared) all its arrays expanded
MAX_NPZ_MEMBERS = 10_000  # the worker encodes at most 10,000 items per question
MAX_DEPTH = 8  # the worker nests values at most 4 deep
KINDS = {"py", "ndarray", "npscalar", "tensor", "list", "tuple", "dict", "other"}


class ResultFormatError(Exception):
    """The sandbox's result file breaks the schema (a sign of tampering)."""


@dataclass(frozen=True)
class Value:
    """One value a student function returned, as the trusted side sees it.

    ``type`` is the exact qualified type name (``numpy.ndarray``, ``torch.Tensor``,
    ``float``...). ``data`` is a numpy array for arrays/tensors/numpy scalars, the
    Python value for ``py``, a list/dict of ``Value`` for containers, else ``None``.
    """

    kind: str
    type: str
    data: Any = None
    dtype: str | None = None
    shape: tuple[int, ...] | None = None
    device: str | None = None
    requires_grad: bool = False

    @property
    def is_array_like(self) -> bool:
        return self.kind in ("ndarray", "npscalar", "tensor")


@dataclass(frozen=True)
class Outcome:
    """What one probe produced: a value, or an error (type and short message)."""

    id: str
    ok: bool
    value: Value | None = None
    then: Value | None = None
    error_type: str | None = None
    error_message: str = ""
    seconds: float = 0.0

    @property
    def not_implemented(self) -> bool:
        return self.error_type == "NotImplementedError"


@dataclass
class QuestionRun:
    """All outcomes of one question plus how its process ended."""

    status: str  # ok | timeout | crashed | oom | missing | not_run
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    detail: str = ""


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise ResultFormatError(what)


def decode_value(raw: Any, arrays: dict[str, np.ndarray], depth: int = 0) -> Value:
    """Rebuild a ``Value`` from the worker's encoding, checking every field."""
    _require(depth <= MAX_DEPTH, "value nested too deeply")
    _require(isinstance(raw, dict) and raw.get("kind") in KINDS, "bad value record")
    kind, type_name = raw["kind"], raw.get("type")
    _require(isinstance(type_name, str), "value without a type")
    if kind == "py":
        data = raw.get("value")
        _require(data is None or type(data) in (bool, int, float, str), "bad py value")
        return Value(kind, type_name, data)
    if kind in ("list", "tuple"):
        items = raw.get("items")
        _require(isinstance(items, list), "bad list value")
        return Value(
            kind, type_name, [decode_value(v, arrays, depth + 1) for v in items]
        )
    if kind == "dict":
        items = raw.get("items")
        _require(isinstance(items, dict), "bad dict value")
        return Value(
            kind,
            type_name,
            {str(k): decode_value(v, arrays, depth + 1) for k, v in items.items()},
        )
    if kind == "other":
        return Value(kind, type_name)
    return _decode_array(raw, arrays)


def _decode_array(raw: dict, arrays: dict[str, np.ndarray]) -> Value:
    key = raw.get("key")
    _require(isinstance(key, str) and key in arrays, "array value without its data")
    array = arrays[key]
    _require(array.dtype.kind in "biufc", "array of a non-numeric dtype")
    device = raw.get("device")
    return Value(
        raw["kind"],
        raw["type"],
        array,
        dtype=str(raw.get("dtype")),
        shape=tuple(array.shape),
        device=device if isinstance(device, str) else None,
        requires_grad=bool(raw.get("requires_grad", False)),
    )


def decode_outcome(raw: Any, arrays: dict[str, np.ndarray]) -> Outcome:
    _require(isinstance(raw, dict) and isinstance(raw.get("id"), str), "bad outcome")
    seconds = raw.get("seconds", 0.0)
    seconds = float(seconds) if type(seconds) in (int, float) else 0.0
    if raw.get("ok") is True:
        then = raw.get("then")
        return Outcome(
            raw["id"],
            True,
            decode_value(raw.get("value"), arrays),
            decode_value(then, arrays) if then is not None else None,
            seconds=seconds,
        )
    error = raw.get("error") if isinstance(raw.get("error"), dict) else {}
    return Outcome(
        raw["id"],
        False,
        error_type=str(error.get("type", "Error"))[:80],
        error_message=redact_floats(str(error.get("message", ""))[:300]),
        seconds=seconds,
    )


# Digits on both sides of the point ("position 5." stays), or an exponent.
FLOAT = re.compile(
    r"[-+]?(?:\d+\.\d+|(?<![\w.])\.\d+)(?:[eE][-+]?\d+)?"
    r"|[-+]?\b\d+[eE][-+]?\d+\b"
)
FLOAT_RUN = re.compile(r"<number>(?:[\s,;]+<number>)+")


def redact_floats(message: str) -> str:
    """A student's exception text with its decimal numbers blanked.

    Feedback must never echo hidden inputs (security.md, goal 2), and a student's
    exception can quote them (``raise ValueError(f"bad X: {X}")``). Integers stay:
    shapes, counts and positions are what a message is usually about, and checks
    match on them.
    """
    return FLOAT_RUN.sub("<numbers>", FLOAT.sub("<number>", message))


def read_regular_file(path: Path, cap: int) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``cap`` bytes.

    Never follows a symbolic link (the sandbox could point one at a host file) and
    never blocks on a FIFO or reads /dev/zero for ever. A missing file raises
    ``FileNotFoundError``; anything else odd, ``ResultFormatError``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as exc:  # ELOOP: a symbolic link
        raise ResultFormatError(
            f"{path.name} could not be opened ({type(exc).__name__})"
        ) from exc
    with os.fdopen(fd, "rb") as f:
        _require(
            stat.S_ISREG(os.fstat(f.fileno()).st_mode),
            f"{path.name} is not a regular file",
        )
        data = f.read(cap + 1)
    _require(len(data) <= cap, f"{path.name} is too large")
    return data


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Load an ``.npz`` without pickle, refusing oversized files and archives whose
    arrays would expand past the cap (a small file can declare gigabytes)."""
    try:
        data = read_regular_file(path, MAX_NPZ_BYTES)
    except FileNotFoundError:
        return {}
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            infos = npz.zip.infolist()
            _require(
                len(infos) <= MAX_NPZ_MEMBERS, f"{path.name} holds too many arrays"
            )
            _require(
                sum(i.file_size for i in infos) <= MAX_NPZ_BYTES,
                f"{path.name} would expand past {MAX_NPZ_BYTES} bytes",
            )
            return {k: npz[k] for k in npz.files}
    except ResultFormatError:
        raise
    except Exception as exc:  # any failure to parse what the sandbox wrote
        raise ResultFormatError(
            f"{path.name} is not a valid npz: {type(exc).__name__}"
        ) from exc


def read_question_results(out_dir: Path, name: str) -> dict[str, Outcome]:
    """Read ``out/<name>.json`` + ``.npz``; raise ``ResultFormatError`` if malformed."""
    path = out_dir / f"{name}.json"
    text = read_regular_file(path, MAX_JSON_BYTES)
    try:
        raw = json.loads(text.decode())
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ResultFormatError(
            f"{path.name} is not valid JSON ({type(exc).__name__})"
        ) from exc
    _require(isinstance(raw, dict) and raw.get("question") == name, "wrong question")
    outcomes = raw.get("outcomes")
    _require(isinstance(outcomes, list), "outcomes missing")
    arrays = load_npz(out_dir / f"{name}.npz")
    decoded = [decode_outcome(o, arrays) for o in outcomes]
    return {o.id: o for o in decoded}
