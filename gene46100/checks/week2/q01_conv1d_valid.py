"""week2 q1: ``conv1d_valid`` against PyTorch's ``F.conv1d`` (the short form).

Cross-correlation, valid mode, stride 1, on fresh signals and kernels, then on the
edge cases: a kernel of length 1 and one as long as the signal.
"""

from __future__ import annotations

import numpy as np

from gene46100.checks.helpers import Candidate
from gene46100.checks.known import KnownWrong
from gene46100.checks.simple import Case, FunctionQuestion
from gene46100.checks.week2.common import conv_oracle, length_hint, ref

VALUES = "matches F.conv1d on fresh signals and kernels"
EDGES = "edge cases: a kernel of length 1 and one as long as the signal"


class Q1Conv1dValid(FunctionQuestion):
    """q1: ``conv1d_valid`` vs ``F.conv1d`` (cross-correlation, valid, stride 1)."""

    name = "q1"
    function = "conv1d_valid"
    checks = {VALUES: 2.0, EDGES: 1.0}
    advice = "out[i] = sum_j signal[i + j] * kernel[j] for i = 0 .. L - k"

    def cases(self, rng: np.random.Generator) -> list[Case]:
        sizes = {
            "short": (int(rng.integers(15, 40)), int(rng.integers(3, 8))),
            "long": (int(rng.integers(150, 300)), int(rng.integers(8, 16))),
        }
        L = int(rng.integers(5, 15))
        sizes.update(k1=(int(rng.integers(5, 30)), 1), kL=(L, L))
        cases = []
        for case, (L, k) in sizes.items():
            signal, kernel = rng.normal(size=L), rng.normal(size=k)
            check = EDGES if case in ("k1", "kL") else VALUES
            cases.append(Case(case, (signal, kernel), check=check))
        return cases

    def expected(self, signal: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        return conv_oracle(signal, kernel)

    def describe(self, signal: np.ndarray, kernel: np.ndarray) -> str:
        return (
            f"conv1d_valid on a hidden signal of length {len(signal)} with a kernel "
            f"of {len(kernel)}"
        )

    def shape_hint(
        self, got: np.ndarray, signal: np.ndarray, kernel: np.ndarray
    ) -> str:
        return (
            length_hint(got.shape[0], len(signal), len(kernel)) if got.ndim == 1 else ""
        )

    def variants(self, signal: np.ndarray, kernel: np.ndarray) -> list[Candidate]:
        expected = conv_oracle(signal, kernel)
        return [
            (
                "the kernel is flipped: that is true convolution (np.convolve), but "
                "deep learning's 'convolution' is cross-correlation, which slides the "
                "kernel as it is (np.correlate)",
                lambda: np.convolve(signal, kernel, "valid"),
            ),
            ("the outputs are in reverse order", lambda: expected[::-1]),
            (
                "each window is averaged, not summed: drop the division by k",
                lambda: expected / len(kernel),
            ),
        ]


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``conv1d_valid`` answers and what their feedback says."""

    def flipped(signal, kernel):
        return np.convolve(signal, kernel, "valid").astype(float)

    def short(signal, kernel):
        k = len(kernel)
        return np.array([signal[i : i + k] @ kernel for i in range(len(signal) - k)])

    def same(signal, kernel):
        return np.correlate(signal, kernel, "same").astype(float)

    def mean(signal, kernel):
        return ref.conv1d_valid(signal, kernel) / len(kernel)

    return [
        KnownWrong({"conv1d_valid": flipped}, "true convolution", "flipped-kernel"),
        KnownWrong({"conv1d_valid": short}, "one output short", "length-off-by-one"),
        KnownWrong({"conv1d_valid": same}, "'same' padding", "same-mode"),
        KnownWrong({"conv1d_valid": mean}, "averaged", "mean-not-sum"),
    ]
