"""week1 q5: ``max_stable_lr`` against the reference (2 / the largest eigenvalue of
the Hessian (2/m) X^T X) on four hidden designs, and against real gradient descent:
it must still converge 5 % below the returned rate and diverge 5 % above it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    expect_number,
    guarded,
    outcome_value,
)
from gene46100.checks.helpers import (
    Candidate,
    first_match,
    keep_precision,
    matches,
    times,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.week1.common import random_regression, ref
from gene46100.contract.results import QuestionRun


@dataclass
class Facts:
    """What scoring reads (trusted-only): each case's hidden design and targets."""

    cases: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


class Q5MaxStableLR(Question):
    """q5: ``max_stable_lr`` vs the reference and vs real divergence of GD."""

    name = "q5"
    names = ("max_stable_lr",)

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        plan = Plan(facts=Facts())
        cases = plan.facts.cases
        for i in range(4):
            m, p = int(rng.integers(10, 300)), int(rng.integers(1, 6))
            X, y = random_regression(rng, m, p)
            if i == 3:  # correlated columns: lambda_max differs from the trace, diag...
                X = X @ (np.eye(p) + rng.normal(scale=0.7, size=(p, p)))
            cases[f"lr{i}"] = (X, y)
            plan.call(f"lr{i}", "max_stable_lr", plan.array(f"X{i}", X))
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        cases = plan.facts.cases
        return [
            guarded(
                "matches the reference (2 / largest eigenvalue of (2/m) X^T X)",
                lambda: self._check_values(run, cases),
                weight=2.0,
            ),
            guarded(
                "gradient descent converges just below it and diverges just above",
                lambda: self._check_divergence(run, cases, plan),
            ),
        ]

    def _value(self, run: QuestionRun, case: str, X: np.ndarray) -> tuple[str, float]:
        what = f"max_stable_lr on a hidden {X.shape[0]}x{X.shape[1]} design"
        value = outcome_value(run, case, what)
        got = keep_precision(value, expect_number(value, what))
        if not (math.isfinite(got) and got > 0):
            raise Mismatch(
                f"{what} should be a positive, finite learning rate; got {got}"
            )
        return what, got

    def _check_values(
        self, run: QuestionRun, cases: dict[str, tuple[np.ndarray, np.ndarray]]
    ) -> None:
        for case, (X, _) in cases.items():
            what, got = self._value(run, case, X)
            expected = ref.max_stable_lr(X)
            if not matches(got, expected, rtol=1e-7, atol=0.0):
                hint = first_match(got, q5_candidates(X), rtol=1e-6, atol=0.0)
                raise Mismatch(
                    f"{what} is wrong ({times(got, expected)})"
                    + (
                        f": {hint}"
                        if hint
                        else "; it is 2 / lambda_max of the Hessian (2/m) X^T X"
                    )
                )

    def _check_divergence(
        self,
        run: QuestionRun,
        cases: dict[str, tuple[np.ndarray, np.ndarray]],
        plan: Plan[Facts],
    ) -> None:
        for case in ("lr0", "lr3"):
            X, y = cases[case]
            what, got = self._value(run, case, X)
            if self._diverges(plan, case, 0.95 * got):
                raise Mismatch(
                    f"gradient descent already diverges at 0.95 x {what}, so "
                    f"your limit is too high{q5_hint(got, X)}"
                )
            if not self._diverges(plan, case, 1.05 * got):
                raise Mismatch(
                    f"gradient descent still converges at 1.05 x {what}, so "
                    f"the real limit is higher than yours{q5_hint(got, X)}"
                )

    @staticmethod
    def _diverges(plan: Plan[Facts], case: str, lr: float) -> bool:
        """``gd_diverges`` on the hidden ``case`` at ``lr``, once: 1,000 reference
        steps a call, and a class mostly gives the same few rates. The answer (one
        bool per rate) is kept across runs, so a regrade needs no reference."""
        X, y = plan.facts.cases[case]
        key = f"diverges:{case}:{float(lr).hex()}"
        return plan.memo(key, lambda: gd_diverges(X, y, lr))


def gd_diverges(X: np.ndarray, y: np.ndarray, lr: float, n_steps: int = 1000) -> bool:
    """Whether the reference GD blows up; 5% above the limit grows 1.1x per step."""
    # The module itself, not the call cache: ``lr`` comes from a submission, and
    # each one-off trajectory would stay in the store (the memo keeps the bool).
    with np.errstate(all="ignore"):
        last = ref.module.gradient_descent(X, y, lr, n_steps)[-1]
    answer = ref.normal_equation(X, y)
    return bool(
        not np.all(np.isfinite(last))
        or np.linalg.norm(last - answer) > 1e6 * (1 + np.linalg.norm(answer))
    )


def q5_hint(got: float, X: np.ndarray) -> str:
    """`` (the named mistake)`` when a known wrong variant gives ``got``, else ""
    (worked out only for a failing answer: the variants cost eigen-decompositions)."""
    hint = first_match(got, q5_candidates(X), rtol=1e-6, atol=0.0)
    return f" ({hint})" if hint else ""


def q5_candidates(X: np.ndarray) -> list[Candidate]:
    m = X.shape[0]
    eig = np.linalg.eigvalsh(X.T @ X)
    big, small = float(eig[-1]), float(max(eig[0], 1e-300))
    return [
        (
            "2 / lambda_max(X^T X): the Hessian of the MSE is (2/m) X^T X; "
            "include the 2/m",
            lambda: 2.0 / big,
        ),
        (
            "1 / lambda_max(X^T X): the limit is 2 / lambda_max of the Hessian "
            "(2/m) X^T X",
            lambda: 1.0 / big,
        ),
        (
            "half the limit: 1 / lambda_max of the Hessian is the fastest-converging "
            "rate; divergence starts at 2 / lambda_max (a factor 2)",
            lambda: m / (2.0 * big),
        ),
        (
            "twice the limit: the Hessian is (2/m) X^T X, not X^T X / m (a factor 2)",
            lambda: 2.0 * m / big,
        ),
        (
            "you used the smallest eigenvalue; the largest one limits stability",
            lambda: m / small,
        ),
        (
            "you used the largest singular value of X; the eigenvalues of X^T X "
            "are its squares",
            lambda: m / math.sqrt(big),
        ),
        (
            "you used the sum of the eigenvalues (the trace); only the largest matters",
            lambda: m / float(np.sum(eig)),
        ),
    ]


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``max_stable_lr`` answers and what their feedback says."""

    def from_hessian(factor: float, which: str = "max", hessian: str = "2/m"):
        def max_stable_lr(X):
            gram = X.T @ X * (2.0 / len(X) if hessian == "2/m" else 1.0)
            eig = np.linalg.eigvalsh(gram)
            return float(factor / (eig[-1] if which == "max" else eig[0]))

        return max_stable_lr

    def singular_value(X):
        return float(len(X) / np.linalg.svd(X, compute_uv=False)[0])

    return [
        KnownWrong(
            {"max_stable_lr": from_hessian(1.0)}, "fastest-converging", "1/lmax"
        ),
        KnownWrong(
            {"max_stable_lr": from_hessian(2.0, hessian="XtX")},
            "include the 2/m",
            "no-2/m",
        ),
        KnownWrong(
            {"max_stable_lr": from_hessian(2.0, which="min")},
            "smallest eigenvalue",
            "lmin",
        ),
        KnownWrong({"max_stable_lr": singular_value}, "singular value", "sigma"),
        KnownWrong(
            {"max_stable_lr": from_hessian(1.0)},
            "real limit is higher",
            "1/lmax-converges-above",
        ),
    ]
