"""Reference outputs kept across runs (trusted side), keyed by what produced them.

A question's ``Plan.memo`` values (the reference's training curves, say) depend only
on the hidden inputs the plan drew and on the code and libraries that computed them.
``ReferenceCache`` stores each value under a fingerprint of exactly that: the week's
checks and reference sources (``provenance``), the library versions, the grading
seed, the question, the memo key and a digest of the plan itself (probes, hidden
arrays and files, trusted context). Any change gives a new fingerprint, so a value
is never reused stale; an unreadable or malformed entry is recomputed and replaced.

``CallCache`` keeps a week's plain-data reference calls (``checks.reference``) the
same way, keyed by the function and its exact arguments instead of a plan and memo
key: planning and scoring ask for the same calls every run, and answering them from
disk spares the grading process the reference module's import of torch.

Threat model: entries are trusted inputs to scoring, so they live outside every
sandbox (by default under ``~/.cache/gene46100``; ``GENE46100_CACHE`` moves
it, ``GENE46100_CACHE=off`` turns it off) and a folder that a sandbox would see
(the Python environment, the system folders) is refused. Entries are ``.npz`` files
read with ``allow_pickle=False``: a value that is not plain data (dicts of arrays,
numbers, strings) is computed every run instead of being stored.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import io
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gene46100.contract.plan import MEMO_PREFIX, Plan
from gene46100.grader import provenance

log = logging.getLogger(__name__)

ENV = "GENE46100_CACHE"
OFF = ("off", "0", "no", "none", "")
FORMAT = 2  # bump when the entry layout changes (2: numpy scalars keep their type)


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
    dtype), numpy scalars (kept as such: ``np.float32(1)`` is not ``1.0``), bool,
    int, float, str and None; anything else raises ``UnstorableValue``."""
    arrays: dict[str, np.ndarray] = {}

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                raise UnstorableValue("dict keys must be strings")
            return {"dict": {k: walk(v) for k, v in item.items()}}
        if isinstance(item, (list, tuple)):
            return {type(item).__name__: [walk(v) for v in item]}
        if isinstance(item, (np.ndarray, np.generic)):
            if item.dtype.hasobject:
                raise UnstorableValue("object arrays are not stored")
            name = f"a{len(arrays)}"
            arrays[name] = np.asarray(item)
            return {"array" if isinstance(item, np.ndarray) else "scalar": name}
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
        if kind == "scalar":
            return stored[data][()]
        if kind == "float":
            return float.fromhex(data)
        if kind == "plain":
            return data
        raise ValueError(f"unknown entry kind {kind!r}")

    return walk(layout["value"])


# ------------------------------------------------------------------ fingerprints
def feed_digest(digest: Any, item: Any) -> None:
    """Feed ``item`` into ``digest`` exactly: containers by type and content (memo
    values skipped), arrays by dtype, shape and bytes, numbers and strings by repr."""
    if isinstance(item, dict):
        digest.update(b"{")
        for key in sorted(item, key=str):
            if isinstance(key, str) and key.startswith(MEMO_PREFIX):
                continue
            digest.update(repr(key).encode() + b":")
            feed_digest(digest, item[key])
        digest.update(b"}")
    elif dataclasses.is_dataclass(item) and not isinstance(item, type):
        # field by field: a dataclass's repr would abbreviate its arrays
        digest.update(type(item).__qualname__.encode())
        feed_digest(
            digest, {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
        )
    elif isinstance(item, (list, tuple)):
        digest.update(type(item).__name__.encode() + b"[")
        for value in item:
            feed_digest(digest, value)
        digest.update(b"]")
    elif isinstance(item, np.ndarray):
        array = np.ascontiguousarray(item)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes() if not array.dtype.hasobject else b"?")
    elif isinstance(item, bytes):
        digest.update(item)
    else:
        # repr is exact for numbers (numpy's names their type) and strings; for
        # anything else it may name a memory address, which only costs a miss.
        digest.update(repr(item).encode())
    digest.update(b";")


def plan_digest(plan: Plan) -> str:
    """A hash of everything the plan holds but its memo values: probes, hidden
    arrays and files, and the trusted context (arrays by bytes, dtype and shape)."""
    digest = hashlib.sha256()
    feed_digest(
        digest, {"probes": plan.probes, "arrays": plan.arrays, "files": plan.files}
    )
    feed_digest(digest, plan.facts)
    feed_digest(digest, plan.context)
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
def read_entry(path: Path, label: str) -> tuple[bool, Any]:
    """(True, value) from the entry at ``path``, or (False, None) when there is none
    or it cannot be read (it is then recomputed and replaced)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            return True, decode({k: stored[k] for k in stored.files})
    except FileNotFoundError:
        return False, None
    except Exception as exc:  # noqa: BLE001 - any damage: recompute, replace
        log.warning("%s: unreadable reference cache entry %s (%s)", label, path, exc)
        return False, None


def write_entry(path: Path, value: Any, label: str, key: str) -> None:
    """Store ``value`` at ``path`` (written aside, then renamed: readers never see
    half of it). A value that is not plain data, or a folder that cannot be
    written, is only logged: grading goes on without the cache."""
    try:
        arrays = encode(value)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_bytes(buffer.getvalue())
        os.replace(partial, path)
    except UnstorableValue as exc:
        log.debug("%s: %s not cached: %s", label, key, exc)
    except OSError as exc:
        log.warning("%s: reference cache not written (%s)", label, exc)


def fingerprint(code: dict[str, object], **more: str) -> str:
    """The hash naming one kind of entry: ``code_fingerprint`` plus what else."""
    return hashlib.sha256(
        json.dumps({**code, **more}, sort_keys=True).encode()
    ).hexdigest()


class ReferenceCache:
    """One plan's memo values on disk (``Plan.store``): ``load`` and ``save``."""

    def __init__(self, folder: Path, code: dict[str, object], week: str, name: str):
        self.folder = folder
        self.prefix = fingerprint(code, week=week, question=name)
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
        found, value = read_entry(self.path(plan, key), self.name)
        if found:
            self.hits.append(key)
        return found, value

    def save(self, plan: Plan, key: str, value: Any) -> None:
        """Store ``value`` for later runs (see ``write_entry``)."""
        write_entry(self.path(plan, key), value, self.name, key)


class CallCache:
    """Results of a week's plain-data reference functions by their exact arguments
    (``checks.reference.Reference.store``): the same fingerprint as plan memos
    (code, libraries, seed), plus the function's name and a digest of the call.

    The grading command then imports the reference (and torch) only for a call it
    has not seen: planning (``max_stable_lr`` sets a learning rate) and scoring
    (``normal_equation`` checks an answer) ask again for the same calls each run.
    Each value is read from disk once per batch and handed out as a copy, so a
    check that changes what it got cannot change what the next one gets."""

    def __init__(self, folder: Path, code: dict[str, object], week: str):
        self.folder = folder
        self.prefix = fingerprint(code, week=week, calls="reference")
        self.name = f"{week} reference calls"
        self._values: dict[str, Any] = {}
        self.hits: list[str] = []

    def recall(self, function: str, arguments: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``'s value for ``function`` called with ``arguments``: from
        this batch, from an earlier run, or computed now and stored."""
        digest = hashlib.sha256(f"{self.prefix}\0{function}\0".encode())
        feed_digest(digest, arguments)
        key = digest.hexdigest()[:40]
        if key not in self._values:
            path = self.folder / "calls" / f"{key}.npz"
            found, value = read_entry(path, self.name)
            if found:
                self.hits.append(function)
            else:
                value = compute()
                write_entry(path, value, self.name, function)
            self._values[key] = value
        return copy.deepcopy(self._values[key])


def visible_in_sandbox(folder: Path, bound: list[str]) -> str | None:
    """The sandbox folder that would show ``folder`` to student code, if any."""
    real = os.path.realpath(folder)
    for directory in bound:
        if real == directory or real.startswith(directory.rstrip("/") + "/"):
            return directory
    return None


def usable_folder(folder: Path | None, bound: list[str]) -> Path | None:
    """``folder``, or None when the cache is off or a sandbox would see the folder
    (then said in the log): student code must not plant entries scoring trusts."""
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
    return folder


def attach(
    plans: dict[str, Plan], week: str, code: dict[str, object], folder: Path
) -> None:
    """Give every plan a ``ReferenceCache`` under ``folder`` (one ``usable_folder``
    returned) with the week's ``code_fingerprint``."""
    for name, plan in plans.items():
        plan.store = ReferenceCache(folder, code, week, name)
