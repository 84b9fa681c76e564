"""week2 q4: ``kmers`` and ``score_seqs_motif``, the course's scoring task.

``kmers(k)`` lists the 4**k strings in ``itertools.product('ACGT', repeat=k)``
order; ``score_seqs_motif`` follows the course's rule (mean base value, +10 for
TAT, -10 for GCG, each at most once) on fresh 8-mers and sequences of varied
lengths with planted motifs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
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
from gene46100.checks.week2.common import plant, random_dna, ref
from gene46100.contract.results import QuestionRun


@dataclass
class Facts:
    """What scoring reads (trusted-only): the k of each kmers call, the batches."""

    ks: list[int] = field(default_factory=list)
    seqs: dict[str, list[str]] = field(default_factory=dict)  # by case (= probe id)


class Q4ScoringTask(Question):
    """q4: ``kmers`` order and the course's motif score on fresh sequences."""

    name = "q4"
    names = ("kmers", "score_seqs_motif")

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        ks = [1, int(rng.integers(2, 5)), 5]
        plan = Plan(facts=Facts(ks=ks))
        for k in ks:
            plan.call(f"kmers{k}", "kmers", k)
        eight = [random_dna(rng, 8) for _ in range(150)]
        for i in range(0, 150, 5):
            eight[i] = plant(rng, eight[i], "TAT" if i % 10 else "GCG")
        varied = []
        motifs = ("TATAT", "TATTAT", "GCGCG", "GCGAGCG", "TAT", "GCG")
        for i in range(60):
            seq = random_dna(rng, int(rng.integers(3, 26)))
            for motif in motifs[i % 3 :: 3][: 1 + i % 2]:
                if len(motif) <= len(seq):
                    seq = plant(rng, seq, motif)
            varied.append(seq)
        plan.facts.seqs = {"eightmers": eight, "varied": varied}
        for case, batch in plan.facts.seqs.items():
            plan.call(case, "score_seqs_motif", batch)
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        ks, seqs = plan.facts.ks, plan.facts.seqs
        return [
            guarded("kmers(k) is a list of 4**k strings", lambda: self._kmers(run, ks)),
            guarded(
                "kmers(k) is in itertools.product('ACGT', repeat=k) order",
                lambda: self._order(run, ks),
            ),
            guarded(
                "score_seqs_motif follows the course's rule on fresh sequences",
                lambda: self._scores(run, seqs),
                weight=2.0,
            ),
        ]

    def _kmers(self, run: QuestionRun, ks: Sequence[int]) -> list[list[str]]:
        lists = []
        for k in ks:
            what = f"kmers({k})"
            value = outcome_value(run, f"kmers{k}", what)
            if value.kind != "list":
                raise Mismatch(f"{what} should return a list; got {value.type}")
            items = value.data
            if items and items[0].kind == "tuple":
                raise Mismatch(
                    f"{what} returned tuples of letters; join each into a string with "
                    "''.join(...)"
                )
            if not all(item.kind == "py" and item.type == "str" for item in items):
                raise Mismatch(f"{what} should hold strings such as 'ACG'")
            if len(items) != 4**k:
                raise Mismatch(
                    f"{what} should hold 4**{k} = {4**k} strings; got {len(items)}"
                )
            lists.append([item.data for item in items])
        return lists

    def _order(self, run: QuestionRun, ks: Sequence[int]) -> None:
        for k, got in zip(ks, self._kmers(run, ks), strict=True):
            expected = ref.kmers(k)
            if got == expected:
                continue
            if sorted(got) != sorted(expected) or len(set(got)) != len(got):
                raise Mismatch(f"kmers({k}) should hold every DNA {k}-mer exactly once")
            hint = next((h for h, make in kmer_orders(k) if make() == got), "")
            i = next(
                i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b
            )
            raise Mismatch(
                f"kmers({k}) has the right strings in the wrong order (item {i} "
                f"should be {expected[i]!r}, got {got[i]!r})"
                + (f": {hint}" if hint else ": use itertools.product('ACGT', repeat=k)")
            )

    def _scores(self, run: QuestionRun, seqs: dict[str, list[str]]) -> None:
        for case, batch in seqs.items():
            what = f"score_seqs_motif on {len(batch)} hidden " + (
                "8-mers" if case == "eightmers" else "sequences of lengths 3-25"
            )
            got = expect_float_array(outcome_value(run, case, what), what)
            if got.shape != (len(batch),):
                raise Mismatch(
                    f"{what} should have shape ({len(batch)},), one score per "
                    f"sequence; got {got.shape}"
                )
            expected = ref.score_seqs_motif(batch)
            if not matches(got, expected, rtol=1e-6, atol=1e-9):
                raise wrong(
                    what,
                    got,
                    expected,
                    first_match(got, q4_candidates(batch), rtol=1e-6, atol=1e-9),
                    "mean of A=20, C=17, G=14, T=11, then +10 if 'TAT' in seq and "
                    "-10 if 'GCG' in seq",
                )


def kmer_orders(k: int) -> list[tuple[str, Callable[[], list[str]]]]:
    def product(alphabet: str) -> list[str]:
        return ["".join(p) for p in itertools.product(alphabet, repeat=k)]

    return [
        ("that is the A, T, G, C alphabet order; use 'ACGT'", lambda: product("ATGC")),
        (
            "the first letter changes fastest; in itertools.product the last one does "
            "(AA, AC, AG, AT, CA, ...)",
            lambda: [s[::-1] for s in product("ACGT")],
        ),
        ("the order is reversed (TT...T first)", lambda: product("ACGT")[::-1]),
    ]


def motif_score(
    seqs: Sequence[str],
    values: dict[str, float] | None = None,
    bonus: Callable[[str, str], float] = lambda seq, m: float(m in seq),
    tat: float = 10.0,
    gcg: float = -10.0,
    mean: bool = True,
) -> np.ndarray:
    """The score under a (possibly wrong) variant of the rule."""
    values = values or {"A": 20.0, "C": 17.0, "G": 14.0, "T": 11.0}
    out = []
    for seq in seqs:
        base = sum(values[b] for b in seq) / (len(seq) if mean else 1)
        out.append(base + tat * bonus(seq, "TAT") + gcg * bonus(seq, "GCG"))
    return np.array(out)


def overlapping(seq: str, motif: str) -> float:
    return float(sum(seq.startswith(motif, i) for i in range(len(seq))))


def q4_candidates(seqs: Sequence[str]) -> list[Candidate]:
    per_copy = "a motif adds or subtracts 10 at most once, however many copies occur"
    return [
        (
            f"the bonus is counted per copy (str.count); {per_copy}",
            lambda: motif_score(seqs, bonus=lambda s, m: float(s.count(m))),
        ),
        (
            f"the bonus is counted per (overlapping) occurrence; {per_copy}",
            lambda: motif_score(seqs, bonus=overlapping),
        ),
        ("GCG adds 10; it should subtract 10", lambda: motif_score(seqs, gcg=10.0)),
        ("the GCG penalty is missing", lambda: motif_score(seqs, gcg=0.0)),
        ("the TAT bonus is missing", lambda: motif_score(seqs, tat=0.0)),
        (
            "the base values follow the order A, T, G, C; they are A 20, C 17, G 14, "
            "T 11",
            lambda: motif_score(seqs, {"A": 20.0, "T": 17.0, "G": 14.0, "C": 11.0}),
        ),
        (
            "the base values are summed; the score uses their mean",
            lambda: motif_score(seqs, mean=False),
        ),
    ]


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``kmers``/``score_seqs_motif`` answers and what their feedback
    says."""

    def kmers_first_fastest(k):
        return ["".join(reversed(p)) for p in ref.kmers(k)]

    def kmers_atgc(k):
        return ["".join(p) for p in itertools.product("ATGC", repeat=k)]

    def kmers_tuples(k):
        return list(itertools.product("ACGT", repeat=k))

    def score_per_copy(seqs):
        return motif_score(seqs, bonus=lambda s, m: float(s.count(m)))

    def score_gcg_plus(seqs):
        return motif_score(seqs, gcg=10.0)

    def score_sum(seqs):
        return motif_score(seqs, mean=False)

    return [
        KnownWrong(
            {"kmers": kmers_first_fastest},
            "first letter changes fastest",
            "kmers-order",
        ),
        KnownWrong({"kmers": kmers_atgc}, "A, T, G, C alphabet", "kmers-atgc"),
        KnownWrong({"kmers": kmers_tuples}, "''.join", "kmers-tuples"),
        KnownWrong(
            {"score_seqs_motif": score_per_copy}, "at most once", "bonus-per-copy"
        ),
        KnownWrong(
            {"score_seqs_motif": score_gcg_plus}, "should subtract 10", "gcg-sign"
        ),
        KnownWrong({"score_seqs_motif": score_sum}, "summed", "sum-not-mean"),
    ]
