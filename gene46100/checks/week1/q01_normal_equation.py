"""week1 q1: ``normal_equation`` against the reference (the full form, typed facts)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    expect_raises,
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
from gene46100.checks.week1.common import random_regression, ref
from gene46100.contract.results import QuestionRun


@dataclass
class Facts:
    """What scoring reads (trusted-only): each case's hidden design and targets."""

    fits: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    singular: dict[str, tuple[int, int]] = field(default_factory=dict)  # shapes


class Q1NormalEquation(Question):
    """q1: ``normal_equation`` vs the reference; a singular ``X^T X`` must raise."""

    name = "q1"
    names = ("normal_equation",)

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        plan = Plan(facts=Facts())
        for i in range(3):
            X, y = random_regression(
                rng, int(rng.integers(20, 200)), int(rng.integers(1, 7))
            )
            plan.facts.fits[f"fit{i}"] = (X, y)
            plan.call(
                f"fit{i}",
                "normal_equation",
                plan.array(f"X{i}", X),
                plan.array(f"y{i}", y),
            )
        for i in range(2):
            X, y = random_regression(
                rng, int(rng.integers(15, 60)), int(rng.integers(3, 6))
            )
            j, k = rng.choice(X.shape[1], size=2, replace=False)
            X[:, k] = X[:, j]  # exact duplicate columns: X^T X is exactly singular
            plan.facts.singular[f"singular{i}"] = X.shape
            plan.call(
                f"singular{i}",
                "normal_equation",
                plan.array(f"Xs{i}", X),
                plan.array(f"ys{i}", y),
            )
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        return [
            guarded(
                "matches the reference on fresh data",
                lambda: self._check_fits(run, plan),
                weight=2.0,
            ),
            guarded(
                "singular X^T X raises ValueError or LinAlgError",
                lambda: self._check_singular(run, plan),
            ),
        ]

    def _check_fits(self, run: QuestionRun, plan: Plan[Facts]) -> None:
        for case, (X, y) in plan.facts.fits.items():
            m, p = X.shape
            what = f"normal_equation on a hidden {m}x{p} problem"
            outcome = run.outcomes.get(case)
            if outcome is not None and outcome.error_type == "LinAlgError":
                raise Mismatch(
                    f"{what} raised LinAlgError, but X^T X is invertible here: "
                    "X @ X.T (m x m, rank p) is singular; the normal equation "
                    "uses X.T @ X (p x p)"
                )
            got = expect_float_array(outcome_value(run, case, what), what)
            if got.shape != (p,):
                raise Mismatch(
                    f"{what} should have shape ({p},); got {got.shape}"
                    + beta_shape_hint(got.shape, m, p)
                )
            expected = ref.normal_equation(X, y)
            if not matches(got, expected, rtol=1e-8, atol=1e-10):
                raise wrong(
                    what,
                    got,
                    expected,
                    first_match(got, q1_candidates(X, y)),
                    "solve (X^T X) beta = X^T y, e.g. with np.linalg.solve",
                )

    def _check_singular(self, run: QuestionRun, plan: Plan[Facts]) -> None:
        for case, (m, p) in plan.facts.singular.items():
            what = (
                f"normal_equation on a hidden {m}x{p} design with two identical columns"
            )
            expect_raises(
                run,
                case,
                what,
                ("ValueError", "LinAlgError"),
                returned=f"{what} returned numbers, but X^T X is exactly singular "
                "there and beta is not unique: raise ValueError or "
                "np.linalg.LinAlgError. np.linalg.solve/inv do not always notice in "
                "floating point and lstsq/pinv never do: test "
                "np.linalg.matrix_rank(X) < X.shape[1] first",
            )


def beta_shape_hint(shape: tuple[int, ...], m: int, p: int) -> str:
    """Explain the usual wrong shapes of a coefficient vector."""
    if shape == (p + 1,):
        return (
            ": one coefficient too many; normal_equation fits no intercept, so do "
            "not add a column of ones"
        )
    if shape in ((p, 1), (1, p)):
        return ": a 2-D array; return a 1-D (p,) array (keep y 1-D, or use .ravel())"
    if shape == (m,):
        return (
            ": one value per sample, which looks like predictions (or X @ X.T); "
            "beta has one entry per column of X"
        )
    return ""


def q1_candidates(X: np.ndarray, y: np.ndarray) -> list[Candidate]:
    m, p = X.shape
    ones = np.ones((m, 1))
    intercept = (
        "these are the slopes of a fit with an intercept column; "
        "normal_equation fits no intercept"
    )
    return [
        (
            intercept,
            lambda: np.linalg.lstsq(np.hstack([X, ones]), y, rcond=None)[0][:p],
        ),
        (
            intercept,
            lambda: np.linalg.lstsq(np.hstack([ones, X]), y, rcond=None)[0][1:],
        ),
        (
            "that is X^T y; solve (X^T X) beta = X^T y instead of stopping at X^T y",
            lambda: X.T @ y,
        ),
        (
            "you inverted X @ X.T (m x m, singular here); the normal equation uses "
            "X.T @ X (p x p)",
            lambda: X.T @ np.linalg.inv(X @ X.T) @ y,
        ),
    ]


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``normal_equation`` answers and what their feedback says."""

    def lstsq(X, y):
        return np.linalg.lstsq(X, y, rcond=None)[0]

    def with_intercept(X, y):
        design = np.column_stack([np.ones(len(X)), X])
        return np.linalg.lstsq(design, y, rcond=None)[0]

    def intercept_slopes(X, y):
        return with_intercept(X, y)[1:]

    def column(X, y):
        return ref.normal_equation(X, y)[:, None]

    def gram_of_rows(X, y):
        return X.T @ np.linalg.inv(X @ X.T) @ y

    def wrong_error(X, y):
        if np.linalg.matrix_rank(X) < X.shape[1]:
            raise RuntimeError("singular")
        return ref.normal_equation(X, y)

    return [
        KnownWrong({"normal_equation": lstsq}, "matrix_rank", "lstsq-never-raises"),
        KnownWrong(
            {"normal_equation": with_intercept}, "no intercept", "adds-intercept"
        ),
        KnownWrong(
            {"normal_equation": intercept_slopes},
            "slopes of a fit with an intercept",
            "intercept-slopes",
        ),
        KnownWrong({"normal_equation": column}, "1-D", "column-vector"),
        KnownWrong(
            {"normal_equation": gram_of_rows}, "X.T @ X (p x p)", "inverts-X-XT"
        ),
        KnownWrong(
            {"normal_equation": wrong_error},
            "should raise ValueError or LinAlgError",
            "wrong-exception",
        ),
    ]
