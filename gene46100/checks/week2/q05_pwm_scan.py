"""week2 q5: ``pwm_scan`` against a 4-channel ``F.conv1d`` with the PWM as its filter.

One score per window (``L - k + 1``), then the scores themselves, on a mixed-case
sequence, one containing N (which adds 0) and one with a planted motif. The
reference ``one_hot_encode`` and ``conv1d_valid`` are swapped in, so that a q1 or
q3 slip does not cost q5.
"""

from __future__ import annotations

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
from gene46100.checks.week2.common import (
    ATGC_COLUMNS,
    BASES,
    conv_oracle,
    length_hint,
    plant,
    random_dna,
    ref,
    scan_oracle,
)
from gene46100.contract.results import QuestionRun


@dataclass
class Facts:
    """What scoring reads (trusted-only): each case's hidden sequence and PWM."""

    cases: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)


class Q5PWMScan(Question):
    """q5: ``pwm_scan`` vs a 4-channel ``F.conv1d`` with the PWM as its filter."""

    name = "q5"
    names = ("pwm_scan",)
    provides = ("one_hot_encode", "conv1d_valid")  # q1/q3 slips must not cost q5

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        plan = Plan(facts=Facts())
        for case in ("random", "with_n", "motif"):
            L, k = int(rng.integers(20, 60)), int(rng.integers(3, 9))
            if case == "motif":  # log-odds of a random motif, planted twice
                probs = rng.dirichlet(np.full(4, 0.3), size=k)
                pwm = np.log2((probs + 0.01) / 0.25)
                motif = "".join(BASES[i] for i in probs.argmax(axis=1))
                seq = plant(rng, plant(rng, random_dna(rng, L), motif), motif)
            else:
                pwm = rng.normal(size=(k, 4))
                seq = random_dna(rng, L, "ACGTN" if case == "with_n" else "ACGTacgt")
            plan.facts.cases[case] = (seq, pwm)
            plan.call(case, "pwm_scan", seq, plan.array(f"{case}_pwm", pwm))
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        cases = plan.facts.cases
        return [
            guarded(
                "one score per window (L - k + 1)",
                lambda: self._shapes(run, cases),
            ),
            guarded(
                "matches F.conv1d with the PWM as a fixed filter",
                lambda: self._values(run, cases),
                weight=2.0,
            ),
        ]

    @staticmethod
    def _what(case: str, seq: str, pwm: np.ndarray) -> str:
        extra = {
            "with_n": " containing N",
            "random": " in mixed case",
            "motif": " with a planted motif",
        }[case]
        return (
            f"pwm_scan on a hidden sequence of length {len(seq)}{extra} and a "
            f"({len(pwm)}, 4) PWM"
        )

    def _scores(
        self, run: QuestionRun, case: str, seq: str, pwm: np.ndarray
    ) -> tuple[str, np.ndarray]:
        what = self._what(case, seq, pwm)
        got = expect_float_array(outcome_value(run, case, what), what)
        L, k = len(seq), len(pwm)
        if got.shape != (L - k + 1,):
            hint = length_hint(got.shape[0], L, k) if got.ndim == 1 else ""
            if got.ndim == 0:
                hint = ": a single number; return the score of every window"
            raise Mismatch(
                f"{what} should have shape ({L - k + 1},); got {got.shape}{hint}"
            )
        return what, got

    def _shapes(
        self, run: QuestionRun, cases: dict[str, tuple[str, np.ndarray]]
    ) -> None:
        for case, (seq, pwm) in cases.items():
            self._scores(run, case, seq, pwm)

    def _values(
        self, run: QuestionRun, cases: dict[str, tuple[str, np.ndarray]]
    ) -> None:
        for case, (seq, pwm) in cases.items():
            what, got = self._scores(run, case, seq, pwm)
            expected = scan_oracle(seq, pwm)
            if not matches(got, expected, rtol=1e-9, atol=1e-12):
                raise wrong(
                    what,
                    got,
                    expected,
                    first_match(got, q5_candidates(seq, pwm), rtol=1e-7, atol=1e-9),
                    "score[i] = sum_j pwm[j, base at i + j] (N adds 0): the sum of "
                    "conv1d_valid over the 4 one-hot columns",
                )


def q5_candidates(seq: str, pwm: np.ndarray) -> list[Candidate]:
    x = ref.one_hot_encode(seq).astype(np.float64)
    mean_n = np.array(
        [
            [0.25] * 4 if ch in "Nn" else row
            for ch, row in zip(seq, x.tolist(), strict=True)
        ]
    )

    def scan(onehot: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        return sum(conv_oracle(onehot[:, c], matrix[:, c]) for c in range(4))

    return [
        (
            "the PWM is flipped (its rows reversed): that is true convolution; "
            "scanning slides the matrix as it is (cross-correlation)",
            lambda: scan(x, pwm[::-1]),
        ),
        (
            "the PWM's columns were read in A, T, G, C order; they are A, C, G, T",
            lambda: scan(x, pwm[:, ATGC_COLUMNS]),
        ),
        (
            "N scores the average of its PWM row; an N has an all-zero one-hot row and "
            "adds 0",
            lambda: scan(mean_n, pwm),
        ),
    ]


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``pwm_scan`` answers and what their feedback says."""

    def flipped(seq, pwm):
        return ref.pwm_scan(seq, np.asarray(pwm)[::-1])

    def atgc(seq, pwm):
        return ref.pwm_scan(seq, np.asarray(pwm)[:, ATGC_COLUMNS])

    def n_average(seq, pwm):
        pwm = np.asarray(pwm, float)
        x = ref.one_hot_encode(seq).astype(float)
        x[[c in "Nn" for c in seq]] = 0.25
        k = len(pwm)
        return np.array([np.sum(x[i : i + k] * pwm) for i in range(len(seq) - k + 1)])

    def short(seq, pwm):
        return ref.pwm_scan(seq, pwm)[:-1]

    return [
        KnownWrong({"pwm_scan": flipped}, "flipped", "flipped-pwm"),
        KnownWrong({"pwm_scan": atgc}, "A, T, G, C order", "atgc-columns"),
        KnownWrong({"pwm_scan": n_average}, "adds 0", "n-average"),
        KnownWrong({"pwm_scan": short}, "last window is missing", "windows-off-by-one"),
    ]
