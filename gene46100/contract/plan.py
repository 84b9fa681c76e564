"""What the trusted side sends into the sandbox: a plan of probes and their arguments.

A probe asks the untrusted worker to call a notebook name (``Plan.call``), a method of
an object it builds (``Plan.call_method``) or a submitted script (``Plan.run_script``).
Arguments are plain JSON or one of these forms, decoded by the worker:

- ``{"$array": key}`` / ``{"$tensor": key}``: a hidden input array (numpy / torch);
- ``{"$new": Name, "args", "kwargs", "state"}``: an instance of a notebook class, with
  its ``state_dict`` loaded from arrays;
- ``{"$file": name}``: the path of a hidden input file; ``{"$outfile": name}``: a path
  a script probe writes (its bytes come back);
- ``{"$call": name, "args", "kwargs"}``: what a namespace name returns, typically
  one of the question's ``adapters`` (grader-written source, names ``_grader_*``):
  how course-specific objects (a grader-built model, a recording logger) are made.

Hidden *inputs* only ever enter a plan; what scoring needs besides them (the inputs'
own values, labels, case descriptions) stays in ``Plan.facts``, a dataclass of the
question's own, and memoised reference outputs in ``Plan.context``: neither ever
leaves the trusted process.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


MEMO_LOCK = threading.RLock()  # one for all plans: what it guards is computed once
MEMO_PREFIX = "memo:"  # context keys holding memo values (not part of a plan's digest)


class MemoStore(Protocol):
    """Where memo values outlive the process (``grader.refcache.ReferenceCache``)."""

    def load(self, plan: Plan, key: str) -> tuple[bool, Any]: ...

    def save(self, plan: Plan, key: str, value: Any) -> None: ...


FactsT = TypeVar("FactsT")


@dataclass
class Plan(Generic[FactsT]):
    """Probes for the sandbox and the hidden input arrays they refer to.

    ``facts``: what the question's ``score`` reads about its cases (a dataclass the
    question defines, e.g. the hidden design of each fit), typed, trusted-only.
    """

    probes: list[dict] = field(default_factory=list)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    facts: FactsT = None  # type: ignore[assignment]  # trusted-only (never sent)
    context: dict[str, Any] = field(default_factory=dict)  # memo values (never sent)
    files: dict[str, bytes] = field(default_factory=dict)  # hidden input files
    store: MemoStore | None = field(default=None, repr=False, compare=False)

    def memo(
        self, key: str, compute: Callable[[], Any], across_runs: bool = True
    ) -> Any:
        """``compute()`` once per plan (a reference's outputs, say): a batch scores
        every submission against the same plan, so the first caller computes and
        the others wait for it and reuse it (kept in ``context``, trusted-only).
        With a ``store``, a value computed by an earlier run from the same plan and
        code is loaded instead, and a computed one is stored for later runs;
        ``across_runs=False`` keeps it for this batch only (a value keyed by a
        submission's answer, which would fill the store with one-off entries)."""
        store = self.store if across_runs else None
        with MEMO_LOCK:
            slot = f"{MEMO_PREFIX}{key}"
            if slot not in self.context:
                found, value = (False, None)
                if store is not None:
                    found, value = store.load(self, key)
                if not found:
                    value = compute()
                    if store is not None:
                        store.save(self, key, value)
                self.context[slot] = value
            return self.context[slot]

    def file(self, name: str, data: bytes) -> dict:
        """Register a hidden input file (e.g. held-out sequences); return the argument
        that becomes its path in the sandbox. Inputs only: never labels or answers."""
        if not FILE_NAME.fullmatch(name):
            raise ValueError(
                f"hidden input file name {name!r} must match {FILE_NAME.pattern}"
            )
        self.files[name] = bytes(data)
        return {"$file": name}

    def run_script(
        self, probe_id: str, script: str, args: list, timeout_s: float = 60.0
    ) -> str:
        """Probe: run the submission's ``script`` (e.g. ``predict.py``) with ``python``
        in the submission's directory. ``args`` may hold ``{"$file": name}`` (a hidden
        input) and ``{"$outfile": name}`` (a file the script writes). The outcome's
        value is ``{"returncode": int, "stderr": str (tail), "outputs": {name:
        uint8 array of the file's bytes, or None when missing or too large}}``."""
        for arg in args:
            if (
                isinstance(arg, dict)
                and "$outfile" in arg
                and not FILE_NAME.fullmatch(arg["$outfile"])
            ):
                raise ValueError(f"output file name {arg['$outfile']!r} is not plain")
        self.probes.append(
            {
                "id": probe_id,
                "script": script,
                "args": list(args),
                "timeout_s": float(timeout_s),
            }
        )
        return probe_id

    def array(self, key: str, value: np.ndarray) -> dict:
        """Register a hidden input array; return the argument that refers to it."""
        self.arrays[key] = np.ascontiguousarray(value)
        return {"$array": key}

    def call_method(self, probe_id: str, obj: dict, method: str, *args: Any) -> str:
        """Probe a method of an object built in the sandbox.

        ``obj`` describes the object, e.g. ``{"$new": "MLP"}``.
        """
        self.probes.append(
            {
                "id": probe_id,
                "object": obj,
                "method": method,
                "args": list(args),
                "kwargs": {},
            }
        )
        return probe_id

    def tensor(self, key: str, value: np.ndarray) -> dict:
        self.arrays[key] = np.ascontiguousarray(value)
        return {"$tensor": key}

    def call(
        self,
        probe_id: str,
        name: str,
        *args: Any,
        then: dict | None = None,
        **kwargs: Any,
    ) -> str:
        probe = {"id": probe_id, "call": name, "args": list(args), "kwargs": kwargs}
        if then is not None:
            probe["then"] = then
        self.probes.append(probe)
        return probe_id
