"""week1 q6: ``sgd``: the exact mini-batch trajectory against the reference (one row
per update plus the start; a short last batch, equal batches, one full batch), the
same seed giving the same trajectory, and the usual order and batch mistakes named."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    guarded,
    outcome_value,
)
from gene46100.checks.helpers import (
    Candidate,
    expect_float_array,
    first_match,
    matches,
    wrong,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.week1.common import GRADIENT_SCALES, random_regression, ref
from gene46100.contract.results import QuestionRun


@dataclass(frozen=True)
class SGDCase:
    """One q6 problem: hidden design and targets, and the call's other arguments."""

    X: np.ndarray
    y: np.ndarray
    lr: float
    n_epochs: int
    batch_size: int
    seed: int


@dataclass
class Facts:
    """What scoring reads (trusted-only): each case's hidden problem, by name."""

    cases: dict[str, SGDCase] = field(default_factory=dict)


class Q6SGD(Question):
    """q6: the exact mini-batch SGD trajectory (order, batches, seed handling)."""

    name = "q6"
    names = ("sgd",)
    provides = ("_check_design", "mse_gradient")  # a q3 slip must not cost q6 too

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        plan = Plan(facts=Facts())
        cases = plan.facts.cases
        for case in ("short", "even", "full"):
            cases[case] = q6_case(case, rng)
        for case, c in cases.items():
            self._call(plan, case, case, c)
        self._call(plan, "short_again", "short", cases["short"])  # same seed, again
        return plan

    @staticmethod
    def _call(plan: Plan[Facts], probe: str, case: str, c: SGDCase) -> None:
        plan.call(
            probe,
            "sgd",
            plan.array(f"{case}_X", c.X),
            plan.array(f"{case}_y", c.y),
            c.lr,
            c.n_epochs,
            c.batch_size,
            c.seed,
        )

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        cases = plan.facts.cases
        return [
            guarded(
                "one row per update plus the start",
                lambda: self._check_shapes(run, cases),
            ),
            guarded(
                "exact trajectory vs the reference",
                lambda: self._check_values(run, cases),
                weight=2.0,
            ),
        ]

    def _trajectory(
        self, run: QuestionRun, probe: str, c: SGDCase
    ) -> tuple[str, np.ndarray]:
        m, p = c.X.shape
        what = (
            f"sgd on a hidden {m}x{p} problem (batch_size {c.batch_size}, "
            f"{c.n_epochs} epochs)"
        )
        got = expect_float_array(outcome_value(run, probe, what), what)
        expected = reference_sgd(c)
        if got.shape != expected.shape:
            raise Mismatch(
                f"{what} should have shape {expected.shape} (1 + n_epochs * "
                f"ceil(m / batch_size) rows); got {got.shape}"
                + sgd_shape_hint(got.shape, c)
            )
        return what, got

    def _check_shapes(self, run: QuestionRun, cases: dict[str, SGDCase]) -> None:
        for case, c in cases.items():
            self._trajectory(run, case, c)

    def _check_values(self, run: QuestionRun, cases: dict[str, SGDCase]) -> None:
        what, first = self._trajectory(run, "short", cases["short"])
        _, again = self._trajectory(run, "short_again", cases["short"])
        if not np.array_equal(first, again, equal_nan=True):
            raise Mismatch(
                f"two calls of {what} with the same seed gave different "
                "trajectories: draw every order from one "
                "rng = np.random.default_rng(seed), not from np.random.* "
                "(global state)"
            )
        for case, c in cases.items():
            what, got = self._trajectory(run, case, c)
            expected = reference_sgd(c)
            if not matches(got, expected, rtol=1e-10, atol=1e-12):
                raise wrong(
                    what,
                    got,
                    expected,
                    first_match(got, q6_candidates(c), rtol=1e-10, atol=1e-12),
                    "make one rng = np.random.default_rng(seed) before the "
                    "epochs; each epoch, order = rng.permutation(m), then update "
                    "on order[start:start + batch_size] for start = 0, "
                    "batch_size, ...",
                )


def q6_case(case: str, rng: np.random.Generator) -> SGDCase:
    """One q6 problem: a short last batch, equal batches, or one full batch."""
    p = int(rng.integers(2, 5))
    if case == "short":
        batch = int(rng.integers(4, 16))
        m = int(rng.integers(40, 90))
        m += 1 if m % batch == 0 else 0  # the last batch must be short
    elif case == "even":
        batch = int(rng.integers(4, 12))
        m = batch * int(rng.integers(5, 10))
    else:
        m = int(rng.integers(20, 50))
        batch = m
    X, y = random_regression(rng, m, p)
    # Mini-batch Hessians are noisier than the full one: a tenth of the limit is safe.
    lr = float(0.1 * ref.max_stable_lr(X))
    n_epochs = int(rng.integers(2, 5))
    seed = int(rng.integers(0, 2**31 - 1))
    return SGDCase(X, y, lr, n_epochs, batch, seed)


def reference_sgd(c: SGDCase) -> np.ndarray:
    return ref.sgd(c.X, c.y, c.lr, c.n_epochs, c.batch_size, c.seed)


def sgd_shape_hint(shape: tuple[int, ...], c: SGDCase) -> str:
    """Name the usual row-count mistakes."""
    m, p = c.X.shape
    epochs, batch = c.n_epochs, c.batch_size
    rows = 1 + epochs * math.ceil(m / batch)
    if len(shape) != 2 or shape[1] != p:
        return ": one row per update, one column per coefficient"
    got = shape[0]
    if got == rows - 1:
        return ": off by one, the start row (zeros, before any update) is missing"
    if m % batch and got == 1 + epochs * (m // batch):
        return (
            ": one update per epoch too few, so the last, short batch is dropped; "
            "keep it (the last batch may be short)"
        )
    if got == 1 + epochs:
        return ": one row per epoch; record a row after every mini-batch update"
    if got == 1 + epochs * m and batch > 1:
        return ": one update per sample; update once per batch of batch_size samples"
    if got == rows + 1:
        return ": off by one, one row too many"
    return ""


def epoch_orders(mode: str, m: int, n_epochs: int, seed: int) -> list[np.ndarray]:
    """The sample orders of each epoch under a known (mostly wrong) scheme."""
    rng = np.random.default_rng(seed)
    if mode == "fresh":
        return [rng.permutation(m) for _ in range(n_epochs)]
    if mode == "once":
        order = rng.permutation(m)
        return [order] * n_epochs
    if mode == "seed_plus_epoch":
        return [np.random.default_rng(seed + e).permutation(m) for e in range(n_epochs)]
    if mode == "choice":
        return [rng.choice(m, size=m, replace=False) for _ in range(n_epochs)]
    return [np.arange(m)] * n_epochs


def sgd_variant(
    c: SGDCase, mode: str = "fresh", divisor: str = "batch", scale: float = 1.0
) -> np.ndarray:
    """SGD with a known mistake in the order, the sampling or the batch mean."""
    X, y, lr, batch = c.X, c.y, c.lr, c.batch_size
    m, p = X.shape
    rng = np.random.default_rng(c.seed)
    beta, rows = np.zeros(p), [np.zeros(p)]
    orders = epoch_orders(mode, m, c.n_epochs, c.seed)
    for order in orders:
        for start in range(0, m, batch):
            idx = (
                rng.integers(0, m, size=batch)
                if mode == "replace"
                else order[start : start + batch]
            )
            size = {"batch": len(idx), "batch_size": batch, "m": m}[divisor]
            residual = X[idx] @ beta - y[idx]
            beta = beta - scale * lr * (2.0 / size) * X[idx].T @ residual
            rows.append(beta.copy())
    return np.stack(rows)


def q6_candidates(c: SGDCase) -> list[Candidate]:
    same = (
        "every epoch visits the samples in the same order: draw order = "
        "rng.permutation(m) at the start of each epoch, from one rng made once "
        "before the loop (re-creating the rng from the seed each epoch, or "
        "permuting once, repeats the order)"
    )
    return [
        (same, lambda: sgd_variant(c, "once")),
        (
            "a new rng each epoch (seeded differently): make one "
            "rng = np.random.default_rng(seed) before the epoch loop",
            lambda: sgd_variant(c, "seed_plus_epoch"),
        ),
        (
            "the samples are visited in their original order: shuffle each epoch with "
            "rng.permutation(m)",
            lambda: sgd_variant(c, "none"),
        ),
        (
            "batches are drawn with replacement; each epoch must visit every "
            "sample once, in the order rng.permutation(m)",
            lambda: sgd_variant(c, "replace"),
        ),
        (
            "the order comes from rng.choice(m, m, replace=False), a different random "
            "stream: use rng.permutation(m)",
            lambda: sgd_variant(c, "choice"),
        ),
        (
            "the last, short batch is averaged over batch_size instead of its "
            "real size",
            lambda: sgd_variant(c, divisor="batch_size"),
        ),
        (
            "each batch gradient is divided by m instead of the batch's size",
            lambda: sgd_variant(c, divisor="m"),
        ),
        *[(hint, lambda s=s: sgd_variant(c, scale=s)) for s, hint in GRADIENT_SCALES],
    ]


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``sgd`` answers and what their feedback says."""

    def steps(X, y, lr, orders, batch_size, keep_last=True, divisor=None):
        """Mini-batch updates over given epoch orders (the variants' skeleton)."""
        beta = np.zeros(X.shape[1])
        rows = [beta]
        for order in orders:
            stop = len(order) if keep_last else len(order) - len(order) % batch_size
            for start in range(0, stop, batch_size):
                idx = order[start : start + batch_size]
                size = divisor or len(idx)
                beta = beta - lr * (2.0 / size) * X[idx].T @ (X[idx] @ beta - y[idx])
                rows.append(beta)
        return np.array(rows)

    def fresh_orders(m: int, n_epochs: int, seed: int) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        return [rng.permutation(m) for _ in range(n_epochs)]

    def same_order(X, y, lr, n_epochs, batch_size, seed):
        order = np.random.default_rng(seed).permutation(len(y))
        return steps(X, y, lr, [order] * n_epochs, batch_size)

    def reseeded_each_epoch(X, y, lr, n_epochs, batch_size, seed):
        orders = [
            np.random.default_rng(seed).permutation(len(y)) for _ in range(n_epochs)
        ]
        return steps(X, y, lr, orders, batch_size)

    def new_rng_per_epoch(X, y, lr, n_epochs, batch_size, seed):
        orders = [
            np.random.default_rng(seed + e).permutation(len(y)) for e in range(n_epochs)
        ]
        return steps(X, y, lr, orders, batch_size)

    def drops_last(X, y, lr, n_epochs, batch_size, seed):
        orders = fresh_orders(len(y), n_epochs, seed)
        return steps(X, y, lr, orders, batch_size, keep_last=False)

    def short_batch_mean(X, y, lr, n_epochs, batch_size, seed):
        orders = fresh_orders(len(y), n_epochs, seed)
        return steps(X, y, lr, orders, batch_size, divisor=batch_size)

    def global_rng(X, y, lr, n_epochs, batch_size, seed):
        orders = [np.random.permutation(len(y)) for _ in range(n_epochs)]
        return steps(X, y, lr, orders, batch_size)

    def with_replacement(X, y, lr, n_epochs, batch_size, seed):
        rng = np.random.default_rng(seed)
        m = len(y)
        beta, rows = np.zeros(X.shape[1]), [np.zeros(X.shape[1])]
        for _ in range(n_epochs * math.ceil(m / batch_size)):
            idx = rng.choice(m, size=batch_size)
            beta = beta - lr * ref.mse_gradient(X[idx], y[idx], beta)
            rows.append(beta)
        return np.array(rows)

    def half_gradient(X, y, lr, n_epochs, batch_size, seed):
        return ref.sgd(X, y, lr / 2, n_epochs, batch_size, seed)

    def missing_start(X, y, lr, n_epochs, batch_size, seed):
        return ref.sgd(X, y, lr, n_epochs, batch_size, seed)[1:]

    return [
        KnownWrong({"sgd": same_order}, "same order", "no-reshuffle"),
        KnownWrong({"sgd": reseeded_each_epoch}, "same order", "reseeded-each-epoch"),
        KnownWrong(
            {"sgd": new_rng_per_epoch}, "new rng each epoch", "new-rng-per-epoch"
        ),
        KnownWrong({"sgd": drops_last}, "short batch is dropped", "drops-last"),
        KnownWrong({"sgd": short_batch_mean}, "averaged over batch_size", "short-mean"),
        KnownWrong({"sgd": global_rng}, "np.random.*", "global-rng"),
        KnownWrong({"sgd": with_replacement}, "with replacement", "replacement"),
        KnownWrong({"sgd": missing_start}, "start row", "no-start"),
        KnownWrong({"sgd": half_gradient}, "(1/2) MSE", "half-gradient"),
    ]
