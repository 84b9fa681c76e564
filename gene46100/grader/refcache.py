"""Reference outputs kept across runs (trusted side), keyed by what produced them.

A question's ``Plan.memo`` values (the reference's training curves, say) depend only
on the hidden inputs the plan drew and on the code and libraries that computed them.
``ReferenceCache`` stores each value under a fingerprint of exactly that: the week's
checks and reference sources (``provenance``), the library versions, the grading
seed, the question, the memo key and a digest of the plan itself (probes, hidden
arrays and files, trusted context). Any change gives a new fingerprint, so a value
is never reused stale; an unreadable or malformed entry is recomputed and replaced.

Threat model: entries are trusted inputs to scoring, so they live outside every
sandbox (by default ``~/.cache/gene46100/references``; ``GENE46100_CACHE`` moves
it, ``GENE46100_CACHE=off`` turns it off) and a folder that a sandbox would see
(the Python environment, the system folders) is refused. Entries are ``.npz`` files
read with ``allow_pickle=False``: a value that is not plain data (dicts of arrays,
numbers, strings) is computed every run instead of being stored.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from gene46100.contract.plan import MEMO_PREFIX, Plan
from gene46100.grader import provenance

log = logging.getLogger(__name__)

ENV = "GENE46100_CACHE"
OFF = ("off", "0", "no", "none", "")
FORMAT = 1  # bump when the entry layout changes


def default_dir() -> Path | None:
    """Where entries live: ``$GENE46100_CACHE``, else the user's cache folder;
    None when the variable turns the cache off."""
    chosen = os.environ.get(ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in OFF else Path(chosen)
    return user_dir()


def user_dir() -> Path:
    """The user's cache folder for the tool (``$XDG_CACHE_HOME``, ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gene46100"


class UnstorableValue(TypeError):
    """A memo value that is not plain data: it is computed every run."""


# ------------------------------------------------------------------ encoding
def encode(value: Any) -> dict[str, np.ndarray]:
    """``value`` as named arrays plus a JSON layout, for ``np.savez``.

    Supported: dicts with string keys, lists, tuples, numpy arrays (not object
    dtype), numpy scalars, bool, int, float, str and None; anything else raises
    ``UnstorableValue``."""
    arrays: dict[str, np.ndarray] = {}

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                raise UnstorableValue("dict keys must be strings")
            return {"dict": {k: walk(v) for k, v in item.items()}}
        if isinstance(item, (list, tuple)):
            return {type(item).__name__: [walk(v) for v in item]}
        if isinstance(item, np.ndarray):
            if item.dtype.hasobject:
                raise UnstorableValue("object arrays are not stored")
            name = f"a{len(arrays)}"
            arrays[name] = item
            return {"array": name}
        if isinstance(item, np.generic):
            return walk(item.item())
        if item is None or isinstance(item, (bool, int, str)):
            return {"plain": item}
        if isinstance(item, float):  # JSON cannot hold nan/inf: keep the bits
            return {"float": float(item).hex()}
        raise UnstorableValue(f"{type(item).__name__} is not plain data")

    layout = {"format": FORMAT, "value": walk(value)}
    return {"layout": np.array(json.dumps(layout)), **arrays}


def decode(stored: dict[str, np.ndarray]) -> Any:
    """The value ``encode`` stored (``ValueError`` when the layout is malformed)."""
    layout = json.loads(str(stored["layout"]))
    if layout.get("format") != FORMAT:
        raise ValueError(f"entry format {layout.get('format')!r}, expected {FORMAT}")

    def walk(node: dict) -> Any:
        (kind, data), *rest = node.items()
        if rest:
            raise ValueError("malformed entry")
        if kind == "dict":
            return {k: walk(v) for k, v in data.items()}
        if kind in ("list", "tuple"):
            items = [walk(v) for v in data]
            return items if kind == "list" else tuple(items)
        if kind == "array":
            return stored[data]
        if kind == "float":
            return float.fromhex(data)
        if kind == "plain":
            return data
        raise ValueError(f"unknown entry kind {kind!r}")

    return walk(layout["value"])


# ------------------------------------------------------------------ fingerprints
def plan_digest(plan: Plan) -> str:
    """A hash of everything the plan holds but its memo values: probes, hidden
    arrays and files, and the trusted context (arrays by bytes, dtype and shape)."""
    digest = hashlib.sha256()

    def feed(item: Any) -> None:
        if isinstance(item, dict):
            digest.update(b"{")
            for key in sorted(item, key=str):
                if isinstance(key, str) and key.startswith(MEMO_PREFIX):
                    continue
                digest.update(repr(key).encode() + b":")
                feed(item[key])
            digest.update(b"}")
        elif isinstance(item, (list, tuple)):
            digest.update(b"[")
            for value in item:
                feed(value)
            digest.update(b"]")
        elif isinstance(item, np.ndarray):
            array = np.ascontiguousarray(item)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes() if not array.dtype.hasobject else b"?")
        elif isinstance(item, bytes):
            digest.update(item)
        else:
            # repr is exact for numbers and strings; for anything else it may name
            # a memory address, which only costs a cache miss.
            digest.update(repr(item).encode())
        digest.update(b";")

    feed({"probes": plan.probes, "arrays": plan.arrays, "files": plan.files})
    feed(plan.context)
    return digest.hexdigest()


def code_fingerprint(week: str, seed: int) -> dict[str, object]:
    """What computes a week's reference outputs besides the plan."""
    return {
        "checks": provenance.checks_digest(week),
        "reference": provenance.reference_digest(week),
        "seed": seed,
        "libraries": provenance.library_versions(),
    }


# ------------------------------------------------------------------ the cache
class ReferenceCache:
    """One plan's memo values on disk (``Plan.store``): ``load`` and ``save``."""

    def __init__(self, folder: Path, code: dict[str, object], week: str, name: str):
        self.folder = folder
        self.prefix = hashlib.sha256(
            json.dumps(
                {**code, "week": week, "question": name}, sort_keys=True
            ).encode()
        ).hexdigest()
        self.name = f"{week} {name}"
        self._plan_digest: str | None = None
        self.hits: list[str] = []

    def path(self, plan: Plan, key: str) -> Path:
        if self._plan_digest is None:  # the plan is fixed once drawn: hash it once
            self._plan_digest = plan_digest(plan)
        digest = hashlib.sha256(
            f"{self.prefix}\0{self._plan_digest}\0{key}".encode()
        ).hexdigest()
        return self.folder / "references" / f"{digest[:40]}.npz"

    def load(self, plan: Plan, key: str) -> tuple[bool, Any]:
        """(True, value) from a stored entry, or (False, None) when there is none
        or it cannot be read (it is then recomputed and replaced)."""
        path = self.path(plan, key)
        try:
            with np.load(path, allow_pickle=False) as stored:
                value = decode({k: stored[k] for k in stored.files})
        except FileNotFoundError:
            return False, None
        except Exception as exc:  # noqa: BLE001 - any damage: recompute, replace
            log.warning(
                "%s: unreadable reference cache entry %s (%s)", self.name, path, exc
            )
            return False, None
        self.hits.append(key)
        return True, value

    def save(self, plan: Plan, key: str, value: Any) -> None:
        """Store ``value`` (written aside, then renamed: readers never see half of
        it). A value that is not plain data, or a folder that cannot be written,
        is only logged: grading goes on without the cache."""
        path = self.path(plan, key)
        try:
            arrays = encode(value)
            buffer = io.BytesIO()
            np.savez(buffer, **arrays)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
            partial.write_bytes(buffer.getvalue())
            os.replace(partial, path)
        except UnstorableValue as exc:
            log.debug("%s: %s not cached: %s", self.name, key, exc)
        except OSError as exc:
            log.warning("%s: reference cache not written (%s)", self.name, exc)


def visible_in_sandbox(folder: Path, bound: list[str]) -> str | None:
    """The sandbox folder that would show ``folder`` to student code, if any."""
    real = os.path.realpath(folder)
    for directory in bound:
        if real == directory or real.startswith(directory.rstrip("/") + "/"):
            return directory
    return None


def attach(
    plans: dict[str, Plan], week: str, seed: int, folder: Path | None, bound: list[str]
) -> Path | None:
    """Give every plan a ``ReferenceCache`` under ``folder``; the folder used, or
    None (cache off, or refused because a sandbox would see it)."""
    if folder is None:
        return None
    shown = visible_in_sandbox(folder, bound)
    if shown is not None:
        log.warning(
            "reference cache %s not used: it lies under %s, which sandboxes see",
            folder,
            shown,
        )
        return None
    code = code_fingerprint(week, seed)
    for name, plan in plans.items():
        plan.store = ReferenceCache(folder, code, week, name)
    return folder
