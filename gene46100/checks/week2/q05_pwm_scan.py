"""week2 q5: ``pwm_scan`` against a 4-channel ``F.conv1d`` with the PWM as its filter.

One score per window (``L - k + 1``), then the scores themselves, on a mixed-case
sequence, one containing N (which adds 0) and one with a planted motif. The
reference ``one_hot_encode`` and ``conv1d_valid`` are swapped in, so that a q1 or
q3 slip does not cost q5.
"""

from __future__ import annotations

import numpy as np

from gene46100.checks.helpers import (
    Candidate,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.simple import Case, FunctionQuestion
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

SHAPES = "one score per window (L - k + 1)"
VALUES = "matches F.conv1d with the PWM as a fixed filter"
DESCRIBED = {
    "random": " in mixed case",
    "with_n": " containing N",
    "motif": " with a planted motif",
}


class Q5PWMScan(FunctionQuestion):
    """q5: ``pwm_scan`` vs a 4-channel ``F.conv1d`` with the PWM as its filter."""

    name = "q5"
    function = "pwm_scan"
    provides = ("one_hot_encode", "conv1d_valid")  # q1/q3 slips must not cost q5
    checks = {SHAPES: 1.0, VALUES: 2.0}
    shape_check = SHAPES
    variant_rtol = 1e-7
    advice = (
        "score[i] = sum_j pwm[j, base at i + j] (N adds 0): the sum of "
        "conv1d_valid over the 4 one-hot columns"
    )

    def cases(self, rng: np.random.Generator) -> list[Case]:
        cases = []
        for case, extra in DESCRIBED.items():
            L, k = int(rng.integers(20, 60)), int(rng.integers(3, 9))
            if case == "motif":  # log-odds of a random motif, planted twice
                probs = rng.dirichlet(np.full(4, 0.3), size=k)
                pwm = np.log2((probs + 0.01) / 0.25)
                motif = "".join(BASES[i] for i in probs.argmax(axis=1))
                seq = plant(rng, plant(rng, random_dna(rng, L), motif), motif)
            else:
                pwm = rng.normal(size=(k, 4))
                seq = random_dna(rng, L, "ACGTN" if case == "with_n" else "ACGTacgt")
            what = (
                f"pwm_scan on a hidden sequence of length {len(seq)}{extra} and a "
                f"({len(pwm)}, 4) PWM"
            )
            cases.append(Case(case, (seq, pwm), what=what))
        return cases

    def expected(self, seq: str, pwm: np.ndarray) -> np.ndarray:
        return scan_oracle(seq, pwm)

    def shape_hint(self, got: np.ndarray, seq: str, pwm: np.ndarray) -> str:
        if got.ndim == 0:
            return ": a single number; return the score of every window"
        return length_hint(got.shape[0], len(seq), len(pwm)) if got.ndim == 1 else ""

    def variants(self, seq: str, pwm: np.ndarray) -> list[Candidate]:
        return q5_candidates(seq, pwm)


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
