"""A week's reference module, imported only when a check needs what it computes.

``gene46100_ref.<week>`` is generated from the master notebook with ``import torch``
at its top: importing it costs the grading command ~1 s of CPU per batch. Most of
what the checks ask of it is plain data (a least-squares answer, a trajectory, a
learning rate) that depends only on the call's arguments, and a batch asks for the
same calls every run. ``Reference`` stands in for the module in
``checks/<week>/common.py``:

- a function named in ``cached`` is answered by ``store`` (``grader.refcache.
  CallCache``: by the exact arguments, kept across runs under the code's
  fingerprint) when the grading command set one, else called directly;
- any other name (``MLP``, ``train``) is the module's own, which imports it;
- ``module`` is the module itself, for calls whose arguments are a submission's
  answer (they would fill the store with one-off entries).

Without a store (the project's tests, Otter's hidden tests in the student's kernel)
every call goes to the module: what a check computes never depends on the cache.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol


class CallStore(Protocol):
    """Where reference calls' values are kept (``grader.refcache.CallCache``)."""

    def recall(
        self, function: str, arguments: Any, compute: Callable[[], Any]
    ) -> Any: ...


class Reference:
    """Stands in for reference module ``module_name`` (see the module docstring)."""

    def __init__(self, module_name: str, cached: tuple[str, ...]) -> None:
        self.module_name = module_name
        self.cached = frozenset(cached)
        self.store: CallStore | None = None

    @property
    def module(self) -> ModuleType:
        """The reference module (imported on first use)."""
        return importlib.import_module(self.module_name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and inspect probe these
            raise AttributeError(name)
        if name not in self.cached:
            return getattr(self.module, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            def compute() -> Any:
                return getattr(self.module, name)(*args, **kwargs)

            store = self.store
            if store is None:
                return compute()
            return store.recall(name, (args, kwargs), compute)

        call.__name__ = name
        return call


def references_of(module: ModuleType) -> list[Reference]:
    """The ``Reference`` stand-ins a checks module holds."""
    return [v for v in vars(module).values() if isinstance(v, Reference)]
