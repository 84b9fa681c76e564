"""week1 q3: ``mse_gradient`` against the reference, on three hidden regression
problems, with the usual scale and sign mistakes named (full form: its feedback
ends "; compare with central finite differences of mse_loss" and the reference is
itself checked against central finite differences)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    close,
    diff_summary,
    expect_array,
    guarded,
    outcome_value,
)
from gene46100.checks.helpers import (
    keep_precision,
    matches,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.week1.common import random_regression, ref
from gene46100.contract.results import QuestionRun


@dataclass
class Facts:
    """What scoring reads (trusted-only): each case's hidden X, y and beta."""

    cases: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=dict
    )


class Q3Gradient(Question):
    """q3: ``mse_gradient`` vs the reference and vs central finite differences."""

    name = "q3"
    names = ("mse_gradient",)

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        plan = Plan(facts=Facts())
        for i, (m, p) in enumerate([(37, 3), (120, 5), (9, 1)]):
            X, y = random_regression(rng, m, p)
            beta = rng.normal(size=p)
            plan.facts.cases[f"case{i}"] = (X, y, beta)
            plan.call(
                f"case{i}",
                "mse_gradient",
                plan.array(f"X{i}", X),
                plan.array(f"y{i}", y),
                plan.array(f"beta{i}", beta),
            )
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        return [
            guarded(
                "matches reference and finite differences",
                lambda: self._check_cases(run, plan.facts),
            )
        ]

    def _check_cases(self, run: QuestionRun, facts: Facts) -> None:
        for case, (X, y, beta) in facts.cases.items():
            what = f"mse_gradient on a hidden {X.shape[0]}x{X.shape[1]} problem"
            value = outcome_value(run, case, what)
            got = keep_precision(value, expect_array(value, what, shape=beta.shape))
            expected = ref.mse_gradient(X, y, beta)
            numeric = finite_difference_gradient(X, y, beta)
            if not matches(got, expected, rtol=1e-7, atol=1e-9):
                hint = gradient_diagnosis(got, expected, X.shape[0])
                raise Mismatch(
                    f"{what} is wrong ({diff_summary(got, expected)})"
                    + (
                        f": {hint}"
                        if hint
                        else "; compare with central finite differences of mse_loss"
                    )
                )
            assert close(expected, numeric, rtol=1e-5, atol=1e-6)  # reference sanity


def gradient_diagnosis(got: np.ndarray, expected: np.ndarray, m: int) -> str:
    """Name the usual mistake when ``got`` is a known multiple of the right gradient."""
    known = {
        0.5: "exactly half the right answer: that is the gradient of (1/2) MSE; "
        "our loss has no 1/2, so the gradient is (2/m) X^T (X beta - y)",
        2.0: "exactly twice the right answer: check the factor 2 (it appears once)",
        -1.0: "the right size but the wrong sign: the gradient is X^T (X beta - y), "
        "not X^T (y - X beta)",
        float(m): "m times too large: you are missing the 1/m of the mean",
        m / 2.0: "m/2 times too large: missing the 2/m factor "
        "(sum instead of mean, no 2)",
    }
    for factor, message in known.items():
        if matches(got, factor * expected, rtol=1e-6, atol=1e-9):
            return message
    return ""


def finite_difference_gradient(
    X: np.ndarray, y: np.ndarray, beta: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """Central finite differences of the reference MSE (the oracle for q3)."""
    grad = np.zeros_like(beta)
    for j in range(beta.size):
        step = np.zeros_like(beta)
        step[j] = h
        up = ref.mse_loss(X @ (beta + step), y)
        down = ref.mse_loss(X @ (beta - step), y)
        grad[j] = (up - down) / (2 * h)
    return grad


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``mse_gradient`` answers and what their feedback says."""

    def scaled(factor: float | str):
        def mse_gradient(X, y, beta):
            scale = len(y) if factor == "m" else factor
            return scale * ref.mse_gradient(X, y, beta)

        return mse_gradient

    return [
        KnownWrong({"mse_gradient": scaled(0.5)}, "half", "half"),
        KnownWrong({"mse_gradient": scaled(2.0)}, "twice", "double"),
        KnownWrong({"mse_gradient": scaled(-1.0)}, "wrong sign", "sign"),
        KnownWrong({"mse_gradient": scaled("m")}, "missing the 1/m", "no-1/m"),
    ]
