"""Trusted side: read what the sandbox wrote, as plain data, with caps and a schema.

Nothing here unpickles or imports anything a submission wrote: results are JSON and
``.npz`` files loaded with ``allow_pickle=False``, and every field is type-checked.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAX_JSON_BYTES = 2_000_000
MAX_NPZ_BYTES = 64_000_000
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


def decode_value(raw: Any, arrays: dict[str, np.ndarray]) -> Value:
    """Rebuild a ``Value`` from the worker's encoding, checking every field."""
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
        return Value(kind, type_name, [decode_value(v, arrays) for v in items])
    if kind == "dict":
        items = raw.get("items")
        _require(isinstance(items, dict), "bad dict value")
        return Value(kind, type_name, {str(k): decode_value(v, arrays)
                                       for k, v in items.items()})
    if kind == "other":
        return Value(kind, type_name)
    return _decode_array(raw, arrays)


def _decode_array(raw: dict, arrays: dict[str, np.ndarray]) -> Value:
    key = raw.get("key")
    _require(isinstance(key, str) and key in arrays, "array value without its data")
    array = arrays[key]
    _require(array.dtype.kind in "biufc", "array of a non-numeric dtype")
    device = raw.get("device")
    return Value(raw["kind"], raw["type"], array, dtype=str(raw.get("dtype")),
                 shape=tuple(array.shape), device=device if isinstance(device, str) else None,
                 requires_grad=bool(raw.get("requires_grad", False)))


def decode_outcome(raw: Any, arrays: dict[str, np.ndarray]) -> Outcome:
    _require(isinstance(raw, dict) and isinstance(raw.get("id"), str), "bad outcome")
    seconds = raw.get("seconds", 0.0)
    seconds = float(seconds) if type(seconds) in (int, float) else 0.0
    if raw.get("ok") is True:
        then = raw.get("then")
        return Outcome(raw["id"], True, decode_value(raw.get("value"), arrays),
                       decode_value(then, arrays) if then is not None else None,
                       seconds=seconds)
    error = raw.get("error") if isinstance(raw.get("error"), dict) else {}
    return Outcome(raw["id"], False, error_type=str(error.get("type", "Error"))[:80],
                   error_message=str(error.get("message", ""))[:300], seconds=seconds)


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Load an ``.npz`` without pickle, refusing oversized files."""
    if not path.exists():
        return {}
    _require(path.stat().st_size <= MAX_NPZ_BYTES, f"{path.name} is too large")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ResultFormatError(f"{path.name} is not a valid npz: {exc}") from exc


def read_question_results(out_dir: Path, name: str) -> dict[str, Outcome]:
    """Read ``out/<name>.json`` + ``.npz``; raise ``ResultFormatError`` if malformed."""
    path = out_dir / f"{name}.json"
    _require(path.stat().st_size <= MAX_JSON_BYTES, f"{path.name} is too large")
    try:
        raw = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ResultFormatError(f"{path.name} is not valid JSON") from exc
    _require(isinstance(raw, dict) and raw.get("question") == name, "wrong question")
    outcomes = raw.get("outcomes")
    _require(isinstance(outcomes, list), "outcomes missing")
    arrays = load_npz(out_dir / f"{name}.npz")
    decoded = [decode_outcome(o, arrays) for o in outcomes]
    return {o.id: o for o in decoded}
