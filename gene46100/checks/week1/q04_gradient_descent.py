"""week1 q4: ``gradient_descent``: the whole trajectory (shape, start row, values)
against the reference, and the three learning-rate regimes (a tiny rate crawls, half
the stable limit converges to the normal-equation answer, 1.5x the limit diverges)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    close,
    diff_summary,
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


def gd_variant(
    X: np.ndarray,
    y: np.ndarray,
    lr: float,
    n_steps: int,
    beta0: np.ndarray | None = None,
    scale: float = 1.0,
) -> np.ndarray:
    """Gradient descent whose gradient is ``scale`` times the right one."""
    return ref.gradient_descent(X, y, lr * scale, n_steps, beta0)


@dataclass(frozen=True)
class GDCase:
    """One q4 probe's hidden problem: design, targets, rate, steps and start."""

    X: np.ndarray
    y: np.ndarray
    lr: float
    n_steps: int
    beta0: np.ndarray | None = None


@dataclass
class Facts:
    """What scoring reads (trusted-only): each probe's hidden problem, by probe id."""

    cases: dict[str, GDCase] = field(default_factory=dict)


class Q4GradientDescent(Question):
    """q4: whole trajectories vs the reference, and the three learning-rate regimes."""

    name = "q4"
    names = ("gradient_descent",)
    provides = ("_check_design", "mse_gradient")  # a q3 slip must not cost q4 too

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        plan = Plan(facts=Facts())
        cases = plan.facts.cases
        for case in ("start0", "start1", "crawl", "converge", "diverge"):
            X, y = random_regression(
                rng, int(rng.integers(40, 120)), int(rng.integers(2, 5))
            )
            cases[case] = q4_case(case, X, y, rng)
        for case, c in cases.items():
            kwargs = {}
            if c.beta0 is not None:
                kwargs["beta0"] = plan.array(f"{case}_beta0", c.beta0)
            plan.call(
                case,
                "gradient_descent",
                plan.array(f"{case}_X", c.X),
                plan.array(f"{case}_y", c.y),
                c.lr,
                c.n_steps,
                **kwargs,
            )
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        cases = plan.facts.cases
        return [
            guarded(
                "trajectory shape (n_steps + 1, p) and row 0 = beta0",
                lambda: self._check_start(run, cases),
            ),
            guarded(
                "whole trajectory matches the reference",
                lambda: self._check_values(run, cases),
                weight=2.0,
            ),
            guarded(
                "a tiny learning rate crawls",
                lambda: self._check_crawl(run, cases["crawl"]),
                weight=0.5,
            ),
            guarded(
                "a good learning rate converges to the normal-equation answer",
                lambda: self._check_converge(run, cases["converge"]),
            ),
            guarded(
                "a learning rate above max_stable_lr diverges",
                lambda: self._check_diverge(run, cases["diverge"]),
                weight=0.5,
            ),
        ]

    def _trajectory(
        self, run: QuestionRun, case: str, c: GDCase
    ) -> tuple[str, np.ndarray]:
        what = (
            f"gradient_descent on a hidden {c.X.shape[0]}x{c.X.shape[1]} "
            f"problem ({c.n_steps} steps)"
        )
        return what, expect_float_array(outcome_value(run, case, what), what)

    def _check_start(self, run: QuestionRun, cases: dict[str, GDCase]) -> None:
        for case in ("start0", "start1"):
            c = cases[case]
            what, got = self._trajectory(run, case, c)
            self._require_shape(what, got, c)
            start = np.zeros(c.X.shape[1]) if c.beta0 is None else c.beta0
            if not matches(got[0], start, rtol=1e-12, atol=1e-12):
                raise Mismatch(
                    f"{what}: row 0 should be the start, before any update"
                    + start_hint(got, c)
                )

    def _require_shape(self, what: str, got: np.ndarray, c: GDCase) -> None:
        expected = reference_gd(c)
        if got.shape != expected.shape:
            raise Mismatch(
                f"{what} should have shape {expected.shape} (n_steps + 1 rows, "
                f"the start included); got {got.shape}" + trajectory_shape_hint(got, c)
            )

    def _check_values(self, run: QuestionRun, cases: dict[str, GDCase]) -> None:
        for case in ("start0", "start1"):
            c = cases[case]
            what, got = self._trajectory(run, case, c)
            self._require_shape(what, got, c)
            expected = reference_gd(c)
            if not matches(got, expected, rtol=1e-8, atol=1e-10):
                raise wrong(
                    what,
                    got,
                    expected,
                    first_match(got, q4_candidates(c)),
                    "each row is the previous one minus lr * mse_gradient",
                )

    def _last_row(
        self, run: QuestionRun, case: str, c: GDCase
    ) -> tuple[str, np.ndarray]:
        # Behaviour checks read only the last row, so an off-by-one costs nothing here.
        what, got = self._trajectory(run, case, c)
        p = c.X.shape[1]
        if got.ndim != 2 or got.shape[1] != p or got.shape[0] == 0:
            raise Mismatch(
                f"{what} should be a 2-D trajectory with {p} columns; "
                f"got shape {got.shape}"
            )
        return what, got[-1]

    def _check_crawl(self, run: QuestionRun, c: GDCase) -> None:
        # Crawling is a behaviour: a little closer to the answer than the start (zeros),
        # but still far. 50 steps at 1e-4 x the limit close at most ~1 % of the gap.
        what, last = self._last_row(run, "crawl", c)
        answer = ref.normal_equation(c.X, c.y)
        start_gap = float(np.linalg.norm(answer))
        gap = float(np.linalg.norm(last - answer))
        if math.isfinite(gap) and 0.9 * start_gap < gap < start_gap:
            return
        if math.isfinite(gap) and gap <= 0.9 * start_gap:
            hint = (
                "it got close to the answer too fast: does every step use lr "
                "(beta - lr * gradient)?"
            )
        else:
            hint = (
                "it did not move towards the answer: the update is "
                "beta - lr * gradient, starting from beta0"
            )
        raise Mismatch(
            f"with a tiny learning rate (1e-4 x max_stable_lr), {what} should "
            "crawl, ending a little closer to the answer than it started: " + hint
        )

    def _check_converge(self, run: QuestionRun, c: GDCase) -> None:
        what, last = self._last_row(run, "converge", c)
        answer = ref.normal_equation(c.X, c.y)
        if matches(last, answer, rtol=1e-6, atol=1e-8):
            return
        if not np.all(np.isfinite(last)) or np.linalg.norm(last) > 1e3 * (
            1 + np.linalg.norm(answer)
        ):
            hint = (
                "it blew up at lr = max_stable_lr / 2, where correct steps converge: "
                "the steps are too big (missing 1/m? wrong sign?)"
            )
        else:
            hint = (
                "it stopped short: the steps are too small or point the wrong way "
                "(check the gradient and that each row starts from the previous one)"
            )
        raise Mismatch(
            f"{what}, with lr = max_stable_lr / 2 and enough steps, should end "
            f"at the normal-equation answer ({diff_summary(last, answer)}): {hint}"
        )

    def _check_diverge(self, run: QuestionRun, c: GDCase) -> None:
        what, last = self._last_row(run, "diverge", c)
        answer = ref.normal_equation(c.X, c.y)
        if np.all(np.isfinite(last)) and np.linalg.norm(last - answer) < 1e6 * (
            1 + np.linalg.norm(answer)
        ):
            half = gd_variant(c.X, c.y, c.lr, c.n_steps, None, 0.5)[-1]
            hint = (
                "every step is half as big as it should be (the gradient of (1/2) "
                "MSE), which makes 1.5 x the limit stable"
                if matches(last, half, rtol=1e-6, atol=1e-9)
                else "plain gradient descent has no clipping, normalisation or early "
                "stopping, and the step is lr * (2/m) X^T (X beta - y)"
            )
            raise Mismatch(
                f"{what}, with lr = 1.5 x max_stable_lr, should diverge (|beta| "
                f"grows without bound), but it stayed bounded: {hint}"
            )


def q4_case(
    case: str, X: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> GDCase:
    """Learning rate, number of steps and start of one q4 probe (trusted-side)."""
    limit = ref.max_stable_lr(X)
    beta0 = None
    if case in ("start0", "start1"):
        lr, n_steps = float(rng.uniform(0.2, 0.8)) * limit, int(rng.integers(5, 25))
        if case == "start1":
            beta0 = rng.normal(scale=2.0, size=X.shape[1])
    elif case == "crawl":
        lr, n_steps = 1e-4 * limit, 50
    elif case == "converge":
        # lr = 1/lambda_max contracts the error by (1 - 1/kappa) per step: 40 kappa
        # steps leave e^-40 of it, far below the rtol even with a halved gradient.
        eig = np.linalg.eigvalsh(X.T @ X)
        lr, n_steps = 0.5 * limit, int(min(4000, math.ceil(40 * eig[-1] / eig[0])))
    else:
        lr, n_steps = 1.5 * limit, 150
    return GDCase(X, y, float(lr), n_steps, beta0)


def reference_gd(c: GDCase) -> np.ndarray:
    with np.errstate(all="ignore"):
        return ref.gradient_descent(c.X, c.y, c.lr, c.n_steps, c.beta0)


def trajectory_shape_hint(got: np.ndarray, c: GDCase) -> str:
    """Name off-by-one and orientation mistakes from the shape of a trajectory."""
    n, p = c.n_steps, c.X.shape[1]
    expected = reference_gd(c)
    if got.shape == (p,):
        return ": that is a single beta; return every step, with row 0 = beta0"
    if got.shape == (n, p):
        if matches(got, expected[:-1], rtol=1e-8, atol=1e-10):
            return ": off by one, the last update is missing"
        return (
            ": off by one, the start row is missing (row 0 = beta0, then one row "
            "per update)"
        )
    if got.shape == (n + 2, p):
        return (
            ": off by one, one row too many; n_steps updates give n_steps + 1 rows, "
            "the start included"
        )
    if got.shape == (p, n + 1):
        return ": transposed; use one row per step and one column per coefficient"
    return ""


def start_hint(got: np.ndarray, c: GDCase) -> str:
    """Why row 0 is not the start."""
    if len(got) > 1 and np.all(got == got[-1]):
        return (
            ": every row equals the last one, so the same array was appended and "
            "then updated in place; append beta.copy()"
        )
    if c.beta0 is not None and close(got[0], np.zeros_like(got[0]), 0.0, 1e-12):
        return ": it is zeros although beta0 was given; the function ignores beta0"
    if c.beta0 is None:
        return ": with beta0=None, row 0 must be zeros"
    return ": row 0 must be beta0 itself (did you record beta after the first update?)"


def q4_candidates(c: GDCase) -> list[Candidate]:
    X, y, lr, n, beta0 = c.X, c.y, c.lr, c.n_steps, c.beta0
    m = X.shape[0]
    scaled = [
        *GRADIENT_SCALES,
        (float(m), "the steps are m times too big: the gradient is missing the 1/m"),
        (m / 2.0, "the steps are m/2 times too big: the gradient is missing the 2/m"),
    ]
    candidates: list[Candidate] = [
        (hint, lambda s=s: gd_variant(X, y, lr, n, beta0, s)) for s, hint in scaled
    ]
    candidates.append(
        (
            "each row is one update ahead (off by one): row 0 must be beta0, "
            "before any update",
            lambda: ref.gradient_descent(X, y, lr, n + 1, beta0)[1:],
        )
    )
    candidates.append(
        (
            "every row equals the final beta: the same array was appended and "
            "then updated in place; append beta.copy()",
            lambda: np.tile(ref.gradient_descent(X, y, lr, n, beta0)[-1], (n + 1, 1)),
        )
    )
    if beta0 is not None:
        candidates.append(
            (
                "it starts from zeros although beta0 was given: the function "
                "ignores beta0",
                lambda: ref.gradient_descent(X, y, lr, n),
            )
        )
    return candidates


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``gradient_descent`` answers and what their feedback says."""

    def missing_start(X, y, lr, n_steps, beta0=None):
        return ref.gradient_descent(X, y, lr, n_steps, beta0)[1:]

    def extra_row(X, y, lr, n_steps, beta0=None):
        return ref.gradient_descent(X, y, lr, n_steps + 1, beta0)

    def ignores_beta0(X, y, lr, n_steps, beta0=None):
        return ref.gradient_descent(X, y, lr, n_steps)

    def half_gradient(X, y, lr, n_steps, beta0=None):
        return ref.gradient_descent(X, y, lr / 2, n_steps, beta0)

    def uphill(X, y, lr, n_steps, beta0=None):
        return ref.gradient_descent(X, y, -lr, n_steps, beta0)

    def aliased(X, y, lr, n_steps, beta0=None):
        beta = np.zeros(X.shape[1]) if beta0 is None else np.array(beta0, dtype=float)
        rows = [beta]
        for _ in range(n_steps):
            beta -= lr * ref.mse_gradient(X, y, beta)  # in place: every row is `beta`
            rows.append(beta)
        return np.array(rows)

    def clipped(X, y, lr, n_steps, beta0=None):
        beta = np.zeros(X.shape[1]) if beta0 is None else np.array(beta0, dtype=float)
        rows = [beta]
        for _ in range(n_steps):
            grad = ref.mse_gradient(X, y, beta)
            beta = beta - lr * grad / max(1.0, np.linalg.norm(grad))
            rows.append(beta)
        return np.array(rows)

    return [
        KnownWrong(
            {"gradient_descent": missing_start}, "start row is missing", "no-start"
        ),
        KnownWrong({"gradient_descent": extra_row}, "one row too many", "extra-row"),
        KnownWrong(
            {"gradient_descent": ignores_beta0}, "ignores beta0", "ignores-beta0"
        ),
        KnownWrong({"gradient_descent": half_gradient}, "(1/2) MSE", "half-gradient"),
        KnownWrong(
            {"gradient_descent": half_gradient},
            "makes 1.5 x the limit stable",
            "half-gradient-stays-bounded",
        ),
        KnownWrong({"gradient_descent": uphill}, "uphill", "uphill"),
        KnownWrong({"gradient_descent": aliased}, "beta.copy()", "aliased-rows"),
        KnownWrong({"gradient_descent": clipped}, "stayed bounded", "clipped"),
    ]
