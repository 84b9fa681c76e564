"""Seeding helpers: explicit RNG objects instead of global state."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def seeded_torch(seed: int) -> Iterator[None]:
    """Run a block with torch's default RNG seeded, restoring the caller's state after.

    ``nn.Linear`` draws its initial weights from the default generator; wrapping model
    construction in this block makes it depend on ``seed`` alone without leaking state.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
