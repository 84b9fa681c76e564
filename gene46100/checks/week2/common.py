"""What several of week2's question modules share: helpers, adapters and the
reference stand-in (each question's own check is its module, ``q<NN>_*.py``)."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gene46100.checks import (
    Plan,
)
from gene46100_ref import week2 as ref

BASES = "ACGT"


ATGC_COLUMNS = [0, 3, 2, 1]  # column order a one-hot gets from the alphabet A, T, G, C


def random_dna(rng: np.random.Generator, length: int, alphabet: str = BASES) -> str:
    """A random string over ``alphabet``."""
    return "".join(rng.choice(list(alphabet), size=length))


def plant(rng: np.random.Generator, seq: str, motif: str) -> str:
    """``seq`` with ``motif`` written over it at a random position."""
    start = int(rng.integers(0, len(seq) - len(motif) + 1))
    return seq[:start] + motif + seq[start + len(motif) :]


def conv_oracle(signal: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """PyTorch's ``F.conv1d`` in float64 on one channel (the q1 oracle)."""
    out = F.conv1d(
        torch.from_numpy(np.ascontiguousarray(signal, np.float64))[None, None],
        torch.from_numpy(np.ascontiguousarray(kernel, np.float64))[None, None],
    )
    return out[0, 0].numpy()


def scan_oracle(seq: str, pwm: np.ndarray) -> np.ndarray:
    """A 4-channel ``F.conv1d`` whose one filter is ``pwm.T`` (the q5 oracle)."""
    x = torch.from_numpy(ref.one_hot_encode(seq).T.astype(np.float64))[
        None
    ]  # (1, 4, L)
    w = torch.from_numpy(np.asarray(pwm, np.float64).T.copy())[None]  # (1, 4, k)
    return F.conv1d(x, w)[0, 0].numpy()


def length_hint(got: int, L: int, k: int) -> str:
    """Name the usual wrong output lengths of a valid convolution."""
    return {
        L - k: ": one output short, the last window is missing (there are L - k + 1 "
        "offsets: range(L - k + 1))",
        L - k + 2: ": one output too many (there are L - k + 1 offsets)",
        L: ": as long as the input, i.e. 'same' padding; here there is no padding",
        L + k - 1: ": that is a 'full' convolution (np.convolve's default mode); use "
        "only offsets where the whole kernel fits",
    }.get(got, "")


def uniform_state(
    rng: np.random.Generator, shapes: dict[str, tuple[int, ...]], fan_in: dict[str, int]
) -> dict[str, np.ndarray]:
    """Random float32 parameters drawn like PyTorch's default initialisation."""
    state = {}
    for name, shape in shapes.items():
        bound = 1.0 / math.sqrt(fan_in[name.split(".")[0]])
        state[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return state


def cnn_state(
    rng: np.random.Generator, seq_len: int, num_filters: int, k: int
) -> dict[str, np.ndarray]:
    """Random weights for ``DNA_CNN(seq_len, num_filters, k)`` (keys conv.*, fc.*)."""
    width = num_filters * (seq_len - k + 1)
    shapes = {
        "conv.weight": (num_filters, 4, k),
        "conv.bias": (num_filters,),
        "fc.weight": (1, width),
        "fc.bias": (1,),
    }
    return uniform_state(rng, shapes, {"conv": 4 * k, "fc": width})


def load(model: nn.Module, state: dict[str, np.ndarray]) -> nn.Module:
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    return model


class _grader_SpyCNN(nn.Module):
    """``DNA_CNN`` (conv -> ReLU -> flatten -> fc) that records every forward call.

    Each record is ``[training, grad_enabled, batch_size]``; ``records()`` returns
    them as plain data. Grader-owned: sent to the sandbox as source.
    """

    def __init__(self, seq_len, num_filters, kernel_size):
        super().__init__()
        self.conv = nn.Conv1d(4, num_filters, kernel_size)
        self.fc = nn.Linear(num_filters * (seq_len - kernel_size + 1), 1)
        self.calls = []

    def forward(self, x):
        self.calls.append(
            [bool(self.training), bool(torch.is_grad_enabled()), int(x.shape[0])]
        )
        return self.fc(torch.relu(self.conv(x.permute(0, 2, 1))).flatten(1))

    def records(self):
        return [list(call) for call in self.calls]


ADAPTERS = (
    "from torch.nn import Conv1d as _grader_Conv1d\n"
    "from torch.utils.data import DataLoader as _grader_DataLoader\n"
    "from torch.utils.data import TensorDataset as _grader_TensorDataset\n\n\n"
    + inspect.getsource(_grader_SpyCNN)
)


def loader_arg(
    plan: Plan, prefix: str, x: np.ndarray, y: np.ndarray, batch: int
) -> dict:
    """A ``DataLoader(TensorDataset(x, y), batch_size)`` built in the sandbox."""
    dataset = {
        "$new": "_grader_TensorDataset",
        "args": [plan.tensor(f"{prefix}_x", x), plan.tensor(f"{prefix}_y", y)],
    }
    return {
        "$new": "_grader_DataLoader",
        "args": [dataset],
        "kwargs": {"batch_size": batch},
    }


def make_loader(x: np.ndarray, y: np.ndarray, batch: int) -> DataLoader:
    """The trusted twin of ``loader_arg`` (same batches, same order)."""
    return DataLoader(
        TensorDataset(torch.from_numpy(x.copy()), torch.from_numpy(y.copy())),
        batch_size=batch,
    )


def cnn_forward(
    state: dict[str, np.ndarray],
    x: np.ndarray,
    arrange: Callable[[torch.Tensor], torch.Tensor] = lambda x: x.permute(0, 2, 1),
    act: Callable[[torch.Tensor], torch.Tensor] = torch.relu,
    out: Callable[[torch.Tensor], torch.Tensor] = lambda z: z,
    flatten: Callable[[torch.Tensor], torch.Tensor] = lambda h: h.flatten(1),
) -> np.ndarray:
    """A DNA CNN forward pass with switchable steps (the reference and its variants)."""
    weights = {k: torch.from_numpy(v.copy()) for k, v in state.items()}
    with torch.no_grad():
        h = act(
            F.conv1d(
                arrange(torch.from_numpy(x)),
                weights["conv.weight"],
                weights["conv.bias"],
            )
        )
        z = F.linear(flatten(h), weights["fc.weight"], weights["fc.bias"])
        return out(z).numpy().astype(np.float64)
