"""week3a q6: ``score_peaks``, trained on hidden Oct4 and MafK peaks from janggu's
files (half reverse-complemented), returns one finite score per held-out peak, ranks
them with an AUROC of at least ``Q6_MIN_AUROC`` and above the POU5F1 scan, and gives
the same scores for the same inputs and seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    adapter_source,
    close,
    expect_array,
    guarded,
    outcome_value,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.week3a.common import (
    ADAPTER_HEADER,
    Q6_MIN_AUROC,
    _grader_score_peaks,
    encode_codes,
)
from gene46100.contract.results import QuestionRun
from gene46100_ref import tfdata
from gene46100_ref import week3a as ref

Q6_TRAIN, Q6_TEST = 1200, 300  # peaks per class


@dataclass(frozen=True)
class Peaks:
    """Peak sequences (some reverse-complemented) and their labels (1: Oct4)."""

    seqs: list[str]
    labels: np.ndarray  # int64 (n,)


@dataclass
class Facts:
    """What scoring reads (trusted-only): the held-out peaks and the bar to beat."""

    test: Peaks
    seed: int  # the seed score_peaks is called with
    baseline: float  # the POU5F1 scan's AUROC on the held-out peaks


class Q6ScorePeaks(Question):
    """q6: ``score_peaks`` ranks held-out Oct4 peaks above MafK peaks."""

    name = "q6"
    names = ("score_peaks",)
    slow_reference = True  # the reference score_peaks trains for seconds
    provides = ("one_hot_encode",)
    adapters = adapter_source(_grader_score_peaks, header=ADAPTER_HEADER)

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        train, test = janggu_split(rng)
        seed = int(rng.integers(1000))
        plan = Plan(facts=Facts(test=test, seed=seed, baseline=pou5f1_auroc(test)))
        args = (
            plan.array("train_codes", encode_codes(train.seqs)),
            plan.array("train_labels", train.labels),
            plan.array("test_codes", encode_codes(test.seqs)),
            seed,
        )
        plan.call("scores", "_grader_score_peaks", *args)
        plan.call("again", "_grader_score_peaks", *args)
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        test = plan.facts.test
        return [
            guarded(
                "returns a numpy array, one finite score per test peak",
                lambda: self._scores(run, "scores", test),
            ),
            guarded(
                f"held-out AUROC >= {Q6_MIN_AUROC} and above the POU5F1 scan",
                lambda: self._check_auroc(run, test, plan.facts.baseline),
                weight=2.0,
            ),
            guarded(
                "the same inputs and seed give the same scores",
                lambda: self._check_repeatable(run, test),
                weight=0.5,
            ),
        ]

    @staticmethod
    def _scores(run: QuestionRun, key: str, test: Peaks) -> np.ndarray:
        n = len(test.seqs)
        what = f"score_peaks on {2 * Q6_TRAIN} hidden training peaks and {n} test peaks"
        value = outcome_value(run, key, what)
        if value.kind == "tensor":
            raise Mismatch(
                f"{what} should return a numpy array; got a torch tensor "
                "(.detach().cpu().numpy())"
            )
        got = expect_array(value, what)  # any real dtype ranks (dtype policy)
        if got.shape != (n,):
            hint = " (squeeze the model's (N, 1) output)" if got.shape == (n, 1) else ""
            raise Mismatch(f"{what} should have shape ({n},); got {got.shape}{hint}")
        if not np.isfinite(got).all():
            raise Mismatch(
                f"{what} returned NaN or infinite scores: training diverged?"
            )
        return got

    def _check_auroc(self, run: QuestionRun, test: Peaks, baseline: float) -> None:
        got = self._scores(run, "scores", test)
        value = ref.auroc(got, test.labels)
        if value >= Q6_MIN_AUROC and value > baseline:
            return
        if np.ptp(got) == 0:
            hint = "every peak got the same score: the model did not learn"
        elif value <= 1.0 - Q6_MIN_AUROC:
            hint = (
                "the ranking is reversed: higher must mean label 1 (return the "
                "logit or probability of label 1, not of label 0)"
            )
        else:
            hint = (
                "train longer, use max pooling over positions, add reverse "
                "complements (see the suggestion in the question)"
            )
        raise Mismatch(
            f"the AUROC on held-out peaks is {value:.3f}; it should reach "
            f"{Q6_MIN_AUROC} and beat the POU5F1 scan ({baseline:.3f}); "
            f"the reference reaches about 0.99: {hint}"
        )

    def _check_repeatable(self, run: QuestionRun, test: Peaks) -> None:
        one = self._scores(run, "scores", test)
        two = self._scores(run, "again", test)
        if not close(one, two, rtol=1e-5, atol=1e-6):
            raise Mismatch(
                "two calls with the same inputs and seed gave different "
                "scores: seed the initial weights (torch.manual_seed(seed) "
                "before building the model) and the shuffling (a "
                "torch.Generator seeded with seed)"
            )


def reverse_complement(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGTN", "TGCAN"))


def janggu_split(rng: np.random.Generator) -> tuple[Peaks, Peaks]:
    """Disjoint random train/test peaks from janggu's Oct4 and MafK training files,
    half of them reverse-complemented (a peak has no strand; lookups fail)."""
    seqs, labels = tfdata.load_janggu_peaks("oct4", "train")
    parts: dict[str, list] = {"train": [], "test": []}
    for label in (1, 0):
        ids = rng.permutation(np.flatnonzero(labels == label))
        parts["train"] += list(ids[:Q6_TRAIN])
        parts["test"] += list(ids[Q6_TRAIN : Q6_TRAIN + Q6_TEST])
    out = []
    for key in ("train", "test"):
        ids = rng.permutation(parts[key])
        flip = rng.random(len(ids)) < 0.5
        chosen = [
            reverse_complement(seqs[i]) if f else seqs[i]
            for i, f in zip(ids, flip, strict=True)
        ]
        out.append(Peaks(chosen, labels[ids].astype(np.int64)))
    return out[0], out[1]


def pou5f1_auroc(test: Peaks) -> float:
    """AUROC of the best POU5F1 (MA1115.2) log-odds window on either strand."""
    pwm = tfdata.log_odds(tfdata.jaspar_pwm("MA1115.2"))
    best = [
        max(ref.pwm_scan(s, pwm).max(), ref.pwm_scan(s, pwm[::-1, ::-1]).max())
        for s in test.seqs
    ]
    return ref.auroc(np.array(best), test.labels)


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``score_peaks`` answers and what their feedback says (each
    grading runs them on the hidden peaks; the reversed one trains: all slow)."""

    def gc_scores(train_seqs, train_labels, test_seqs, seed=0):
        return np.array([(s.count("G") + s.count("C")) / len(s) for s in test_seqs])

    trained: dict = {}  # one reference training serves both calls of a grading run

    def reversed_scores(train_seqs, train_labels, test_seqs, seed=0):
        key = (len(train_seqs), train_seqs[0], test_seqs[0], seed)
        if key not in trained:
            trained[key] = ref.score_peaks(train_seqs, train_labels, test_seqs, seed)
        return -trained[key]

    def unseeded(train_seqs, train_labels, test_seqs, seed=0):
        return gc_scores(train_seqs, train_labels, test_seqs) + np.random.random(
            len(test_seqs)
        )

    def column_scores(train_seqs, train_labels, test_seqs, seed=0):
        return gc_scores(train_seqs, train_labels, test_seqs)[:, None]

    def constant_scores(train_seqs, train_labels, test_seqs, seed=0):
        return np.zeros(len(test_seqs))

    return [
        KnownWrong(
            {"score_peaks": reversed_scores},
            "the ranking is reversed",
            "reversed-scores",
            slow=True,
        ),
        KnownWrong(
            {"score_peaks": unseeded},
            "seed the initial weights",
            "unseeded",
            slow=True,
        ),
        KnownWrong(
            {"score_peaks": column_scores}, "squeeze", "column-scores", slow=True
        ),
        KnownWrong(
            {"score_peaks": constant_scores},
            "the same score",
            "constant-scores",
            slow=True,
        ),
        KnownWrong(
            {"score_peaks": gc_scores}, "should reach 0.9", "gc-scores", slow=True
        ),
    ]
