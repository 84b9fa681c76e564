"""week1 q2: ``mse_loss`` against the reference (the short form)."""

from __future__ import annotations

import math

import numpy as np

from gene46100.checks.helpers import Candidate
from gene46100.checks.known import KnownWrong
from gene46100.checks.simple import Case, FunctionQuestion
from gene46100.checks.week1.common import ref

VALUES = "matches the reference on fresh data"
MISMATCH = "a shape mismatch raises ValueError (no silent broadcasting)"


class Q2MSELoss(FunctionQuestion):
    """q2: ``mse_loss`` vs the reference; mismatched shapes raise ``ValueError``."""

    name = "q2"
    function = "mse_loss"
    checks = {VALUES: 2.0, MISMATCH: 1.0}
    returns = "float"
    variant_rtol, variant_atol = 1e-9, 1e-12
    advice = "the loss is mean((y_hat - y)**2)"

    def cases(self, rng: np.random.Generator) -> list[Case]:
        cases = []
        for i in range(3):
            n = int(rng.integers(5, 300))
            y = rng.normal(loc=rng.uniform(-3, 3), scale=rng.uniform(0.5, 5.0), size=n)
            y_hat = y + rng.normal(
                loc=rng.uniform(-1, 1), scale=rng.uniform(0.2, 2.0), size=n
            )
            cases.append(Case(f"loss{i}", (y_hat, y)))
        n = int(rng.integers(5, 50))
        shapes = {
            "column": ((n, 1), (n,)),
            "single": ((1,), (n,)),
            "lengths": ((n,), (n + 1,)),
        }
        for case, (hat_shape, y_shape) in shapes.items():
            what = f"mse_loss(y_hat of shape {hat_shape}, y of shape {y_shape})"
            silent = (
                "the lengths differ"
                if case == "lengths"
                else "numpy broadcast the two shapes"
            )
            args = (rng.normal(size=hat_shape), rng.normal(size=y_shape))
            cases.append(
                Case(
                    case,
                    args,
                    check=MISMATCH,
                    raises=("ValueError",),
                    returned=f"{what} returned a number, but {silent}: a silent "
                    "bug. Check y_hat.shape == y.shape and raise ValueError",
                    what=what,
                )
            )
        return cases

    def expected(self, y_hat: np.ndarray, y: np.ndarray) -> float:
        return ref.mse_loss(y_hat, y)

    def describe(self, y_hat: np.ndarray, y: np.ndarray) -> str:
        return f"mse_loss on hidden arrays of shape {y.shape}"

    def variants(self, y_hat: np.ndarray, y: np.ndarray) -> list[Candidate]:
        d = y_hat - y
        n = d.size
        mse = float(np.mean(d**2))
        return [
            (
                "half the right value: that is (1/2) MSE; our loss is "
                "mean((y_hat - y)**2), exactly as torch.nn.MSELoss(), with no 1/2",
                lambda: 0.5 * mse,
            ),
            (
                "twice the right value: there is no factor 2 in the loss",
                lambda: 2.0 * mse,
            ),
            (
                "that is the root mean squared error (RMSE): do not take the "
                "square root",
                lambda: math.sqrt(mse),
            ),
            (
                "n times too large: the sum of squared errors instead of the mean",
                lambda: n * mse,
            ),
            (
                "the sum of squared errors with a 1/2 instead of the mean",
                lambda: 0.5 * n * mse,
            ),
            ("divided by n - 1 instead of n", lambda: n * mse / (n - 1)),
            (
                "that is the mean absolute error: square the differences instead",
                lambda: float(np.mean(np.abs(d))),
            ),
            (
                "the square of the mean error: square each difference first, "
                "then average",
                lambda: float(np.mean(d)) ** 2,
            ),
        ]


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``mse_loss`` answers and what their feedback says."""
    import torch

    def half(y_hat, y):
        return 0.5 * ref.mse_loss(y_hat, y)

    def rmse(y_hat, y):
        return math.sqrt(ref.mse_loss(y_hat, y))

    def summed(y_hat, y):
        return ref.mse_loss(y_hat, y) * np.size(y)

    def broadcasts(y_hat, y):
        return float(np.mean((y_hat - y) ** 2))

    def asserts(y_hat, y):
        assert np.shape(y_hat) == np.shape(y)
        return ref.mse_loss(y_hat, y)

    def tensor(y_hat, y):
        return torch.mean((torch.as_tensor(y_hat) - torch.as_tensor(y)) ** 2)

    return [
        KnownWrong({"mse_loss": half}, "(1/2) MSE", "half"),
        KnownWrong({"mse_loss": rmse}, "RMSE", "rmse"),
        KnownWrong({"mse_loss": summed}, "sum of squared errors", "sum"),
        KnownWrong({"mse_loss": broadcasts}, "broadcast", "silent-broadcasting"),
        KnownWrong({"mse_loss": asserts}, "raised AssertionError", "assert"),
        KnownWrong({"mse_loss": tensor}, "should be a float", "returns-tensor"),
    ]
