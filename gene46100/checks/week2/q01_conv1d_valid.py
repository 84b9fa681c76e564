"""week2 q1: see ``Q1Conv1dValid``."""

from __future__ import annotations

from collections.abc import Sequence

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
from gene46100.checks.week2.common import conv_oracle, length_hint
from gene46100.contract.results import QuestionRun


class Q1Conv1dValid(Question):
    """q1: ``conv1d_valid`` vs ``F.conv1d`` (cross-correlation, valid, stride 1)."""

    name = "q1"
    names = ("conv1d_valid",)

    def plan(self, rng: np.random.Generator) -> Plan:
        plan = Plan()
        sizes = {
            "short": (int(rng.integers(15, 40)), int(rng.integers(3, 8))),
            "long": (int(rng.integers(150, 300)), int(rng.integers(8, 16))),
        }
        L = int(rng.integers(5, 15))
        sizes.update(k1=(int(rng.integers(5, 30)), 1), kL=(L, L))
        cases = {}
        for case, (L, k) in sizes.items():
            signal, kernel = rng.normal(size=L), rng.normal(size=k)
            cases[case] = (signal, kernel)
            plan.call(
                case,
                "conv1d_valid",
                plan.array(f"{case}_signal", signal),
                plan.array(f"{case}_kernel", kernel),
            )
        plan.context["cases"] = cases
        return plan

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        cases = plan.context["cases"]
        return [
            guarded(
                "matches F.conv1d on fresh signals and kernels",
                lambda: self._check(run, cases, ("short", "long")),
                weight=2.0,
            ),
            guarded(
                "edge cases: a kernel of length 1 and one as long as the signal",
                lambda: self._check(run, cases, ("k1", "kL")),
            ),
        ]

    def _check(self, run: QuestionRun, cases: dict, names: Sequence[str]) -> None:
        for case in names:
            signal, kernel = cases[case]
            L, k = len(signal), len(kernel)
            what = f"conv1d_valid on a hidden signal of length {L} with a kernel of {k}"
            got = expect_float_array(outcome_value(run, case, what), what)
            expected = conv_oracle(signal, kernel)
            if got.shape != expected.shape:
                hint = length_hint(got.shape[0], L, k) if got.ndim == 1 else ""
                raise Mismatch(
                    f"{what} should have shape ({L - k + 1},); got {got.shape}{hint}"
                )
            if not matches(got, expected, rtol=1e-9, atol=1e-12):
                raise wrong(
                    what,
                    got,
                    expected,
                    first_match(got, q1_candidates(signal, kernel)),
                    "out[i] = sum_j signal[i + j] * kernel[j] for i = 0 .. L - k",
                )


def q1_candidates(signal: np.ndarray, kernel: np.ndarray) -> list[Candidate]:
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
