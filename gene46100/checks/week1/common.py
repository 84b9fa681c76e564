"""What several of week1's question modules share: helpers, adapters and the
reference stand-in (each question's own check is its module, ``q<NN>_*.py``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from gene46100.checks import (
    adapter_call,
    adapter_source,
)
from gene46100.checks.reference import Reference

if TYPE_CHECKING:
    import torch
    from torch import nn


# The reference, imported (with torch) only for what the reference cache does not
# hold: these plain-data functions answer from it by their exact arguments.
ref = Reference(
    "gene46100_ref.week1",
    cached=(
        "normal_equation",
        "mse_loss",
        "mse_gradient",
        "gradient_descent",
        "max_stable_lr",
        "sgd",
        "mlp_param_count",
    ),
)


def random_regression(
    rng: np.random.Generator, m: int, p: int
) -> tuple[np.ndarray, np.ndarray]:
    """A well-conditioned random design and targets (fresh for every grading run)."""
    X = rng.normal(size=(m, p)) * rng.uniform(0.5, 2.0, size=p)
    y = X @ rng.normal(scale=3.0, size=p) + rng.normal(size=m)
    return X, y


# Sandbox side (``Question.adapters``): defined in the student's namespace for one
# question, with numpy as ``np``, torch as ``torch`` and ``nn`` (the trusted side
# never runs them, nor needs torch to send them).
def _grader_mlp(sizes: list[int], state: dict, frozen: list[str]) -> nn.Module:
    """A plain fully connected ReLU net with ``fc1, fc2, ...`` of these widths
    (grader-owned), with ``state`` loaded and the ``frozen`` parameters'
    ``requires_grad`` off."""

    class _GraderMLP(nn.Module):
        def __init__(self, sizes: list[int]) -> None:
            super().__init__()
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
                setattr(self, f"fc{i}", nn.Linear(a, b))
            self.n_layers = len(sizes) - 1

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for i in range(1, self.n_layers + 1):
                x = getattr(self, f"fc{i}")(x)
                if i < self.n_layers:
                    x = torch.relu(x)
            return x.squeeze(1) if x.shape[-1] == 1 else x

    model = _GraderMLP(sizes)
    if state:
        tensors = {k: torch.from_numpy(np.array(v)) for k, v in state.items()}
        model.load_state_dict(tensors, strict=True)
    for name, param in model.named_parameters():
        if name in frozen:
            param.requires_grad_(False)
    return model


MLP_ADAPTERS = adapter_source(_grader_mlp)


def grader_mlp(
    sizes: Sequence[int], state: dict | None = None, frozen: Sequence[str] = ()
) -> dict:
    """The argument form of a grader-built MLP (``state``: ``register_state``'s)."""
    return adapter_call(
        "_grader_mlp", [int(s) for s in sizes], state or {}, list(frozen)
    )


def float32_state(
    rng: np.random.Generator, sizes: Sequence[int]
) -> dict[str, np.ndarray]:
    """Random ``fc1, fc2, ...`` weights drawn like PyTorch's default initialisation."""
    state = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        bound = 1.0 / math.sqrt(a)
        state[f"fc{i}.weight"] = rng.uniform(-bound, bound, (b, a)).astype(np.float32)
        state[f"fc{i}.bias"] = rng.uniform(-bound, bound, b).astype(np.float32)
    return state


def reference_mlp(state: dict[str, np.ndarray]) -> nn.Module:
    """``ref.MLP`` with this state.

    The state has fc1/fc2 keys, as the grader's ``_grader_mlp`` builds.
    """
    in_dim, hid = state["fc1.weight"].shape[1], state["fc1.weight"].shape[0]
    out = state["fc2.weight"].shape[0]
    import torch

    from gene46100_ref.seeding import seeded_torch

    with seeded_torch(0):  # nn.Linear's init draws; keep the global RNG untouched
        model = ref.MLP(in_dim, hid, out)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    return model


def numpy_forward(
    state: dict[str, np.ndarray],
    x: np.ndarray,
    hidden: Callable[[np.ndarray], np.ndarray],
    output: Callable[[np.ndarray], np.ndarray] = lambda z: z,
) -> np.ndarray:
    """A two-layer net in float64 with chosen activations (for wrong variants)."""
    w1, b1 = state["fc1.weight"].astype(float), state["fc1.bias"].astype(float)
    w2, b2 = state["fc2.weight"].astype(float), state["fc2.bias"].astype(float)
    z = output(hidden(x.astype(float) @ w1.T + b1) @ w2.T + b2)
    return z[:, 0] if z.shape[1] == 1 else z


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# Wrong gradient scales in q4 and q6. The reference mse_gradient is swapped in there
# (``provides``), so these mistakes are in the loop's own gradient, not in q3.
GRADIENT_SCALES = [
    (
        0.5,
        "every step is half as big as it should be, the gradient of (1/2) MSE; our "
        "loss has no 1/2, so the gradient is (2/m) X^T (X beta - y)",
    ),
    (
        2.0,
        "every step is twice as big as it should be: check the factor 2 in the "
        "gradient",
    ),
    (-1.0, "the steps go uphill: the update is beta - lr * gradient"),
]
