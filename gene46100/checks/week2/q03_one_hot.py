"""week2 q3: ``one_hot_encode`` against the reference.

A float32 ``(L, 4)`` array with columns A, C, G, T; N is a zero row and lowercase
is accepted; the empty string gives ``(0, 4)``; bad characters raise ``ValueError``
naming them and their 0-based positions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    expect_array,
    expect_raises,
    guarded,
    outcome_value,
)
from gene46100.checks.helpers import (
    Candidate,
    first_match,
    wrong,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.week2.common import ATGC_COLUMNS, random_dna, ref
from gene46100.contract.results import QuestionRun

BAD_CHARS = "XZJQ-*@#"


@dataclass
class Facts:
    """What scoring reads (trusted-only): the hidden sequences, their bad characters."""

    seqs: dict[str, str] = field(default_factory=dict)  # by case (= probe id)
    # the bad-input cases: position -> invalid character
    bad: dict[str, dict[int, str]] = field(default_factory=dict)


class Q3OneHot(Question):
    """q3: ``one_hot_encode``: values, N, lowercase, empty input and bad characters."""

    name = "q3"
    names = ("one_hot_encode",)

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        mixed = list(random_dna(rng, int(rng.integers(30, 80)), "ACGTacgtNn"))
        for i, ch in zip(rng.choice(len(mixed), 4, replace=False), "Nnag", strict=True):
            mixed[i] = ch  # at least one of each kind
        seqs = {
            "upper": random_dna(rng, int(rng.integers(30, 80))),
            "mixed": "".join(mixed),
            "lower": random_dna(rng, int(rng.integers(10, 30)), "acgt"),
            "empty": "",
        }
        bad = {}
        for case, n_bad in (("bad1", 1), ("bad2", 3)):
            seq = list(random_dna(rng, int(rng.integers(20, 40))))
            positions = sorted(
                int(p) for p in rng.choice(np.arange(1, len(seq)), n_bad, replace=False)
            )
            chars = rng.choice(list(BAD_CHARS), 2, replace=False)
            for j, pos in enumerate(positions):
                seq[pos] = str(chars[min(j, 1)])
            seqs[case] = "".join(seq)
            bad[case] = {pos: seq[pos] for pos in positions}
        plan = Plan(facts=Facts(seqs=seqs, bad=bad))
        for case, seq in seqs.items():
            plan.call(case, "one_hot_encode", seq)
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        seqs, bad = plan.facts.seqs, plan.facts.bad
        return [
            guarded(
                "a float32 array of shape (L, 4)",
                lambda: self._encoded(run, "upper", seqs["upper"]),
            ),
            guarded(
                "matches the reference (columns A, C, G, T)",
                lambda: self._check_values(run, seqs, ("upper",)),
                weight=2.0,
            ),
            guarded(
                "N is a zero row; lowercase is accepted",
                lambda: self._check_values(run, seqs, ("mixed", "lower")),
            ),
            guarded(
                "the empty string gives shape (0, 4)",
                lambda: self._encoded(run, "empty", ""),
            ),
            guarded(
                "bad characters raise ValueError naming them and their positions",
                lambda: self._check_bad(run, bad),
            ),
        ]

    @staticmethod
    def _what(case: str, seq: str) -> str:
        kinds = {
            "upper": "an uppercase",
            "mixed": "a mixed-case",
            "lower": "a lowercase",
        }
        if case == "empty":
            return 'one_hot_encode("")'
        return f"one_hot_encode on {kinds[case]} hidden sequence of length {len(seq)}"

    def _encoded(self, run: QuestionRun, case: str, seq: str) -> np.ndarray:
        what = self._what(case, seq)
        outcome = run.outcomes.get(case)
        if (
            outcome is not None
            and outcome.error_type == "ValueError"
            and case != "empty"
        ):
            raise Mismatch(
                f"{what} raised ValueError: {outcome.error_message} "
                + (
                    "(accept lowercase a, c, g, t: compare seq[i].upper(), and N/n "
                    "give a zero row)"
                    if case != "upper"
                    else ""
                )
            )
        value = outcome_value(run, case, what)
        if value.type in ("list", "tuple"):
            raise Mismatch(f"{what} should return a numpy array; got a {value.type}")
        data = expect_array(value, what, types=("numpy.ndarray",))
        if value.dtype != "float32":
            raise Mismatch(
                f"{what} has dtype {value.dtype}; one-hot matrices are float32 (what "
                "models eat): np.zeros((L, 4), dtype=np.float32)"
            )
        L = len(seq)
        if data.shape != (L, 4):
            hint = (
                ": that is (4, L); the convention is one row per position, (L, 4)"
                if data.shape == (4, L)
                else ""
            )
            raise Mismatch(f"{what} should have shape ({L}, 4); got {data.shape}{hint}")
        return data

    def _check_values(
        self, run: QuestionRun, seqs: dict[str, str], cases: Sequence[str]
    ) -> None:
        for case in cases:
            seq = seqs[case]
            got = self._encoded(run, case, seq)
            expected = ref.one_hot_encode(seq).astype(np.float64)
            if not np.array_equal(got, expected):
                raise wrong(
                    self._what(case, seq),
                    got,
                    expected,
                    first_match(got, q3_candidates(seq), 0.0, 1e-7),
                    "one 1 per row, in column A=0, C=1, G=2, T=3; N/n rows all zero",
                )

    def _check_bad(self, run: QuestionRun, bad: dict[str, dict[int, str]]) -> None:
        for case, where in bad.items():
            n = len(where)
            what = (
                f"one_hot_encode on a hidden sequence with {n} invalid "
                f"character{'s' if n > 1 else ''}"
            )
            outcome = run.outcomes.get(case)
            if outcome is not None and outcome.error_type == "KeyError":
                raise Mismatch(
                    f"{what} raised KeyError (a dictionary lookup failed): check the "
                    "characters first and raise ValueError naming them and their "
                    "positions"
                )
            expect_raises(
                run,
                case,
                what,
                ("ValueError",),
                returned=f"{what} returned an array: bad input must raise ValueError "
                "(encoding it as zeros would hide a bug); only A, C, G, T and N are "
                "allowed, in either case",
            )
            message_names(outcome.error_message, where, what)


def message_names(message: str, where: dict[int, str], what: str) -> None:
    """The error message must contain every bad character and its 0-based position."""
    missing = sorted({ch for ch in where.values() if ch not in message})
    if missing:
        raise Mismatch(
            f"the ValueError of {what} does not name the bad character"
            f"{'s' if len(missing) > 1 else ''} {missing}: say which characters are "
            "invalid"
        )
    numbers = {int(n) for n in re.findall(r"\d+", message)}
    if set(where) <= numbers:
        return
    if {p + 1 for p in where} <= numbers:
        raise Mismatch(
            f"the ValueError of {what} gives 1-based positions; use 0-based ones, as "
            "Python indexes strings"
        )
    raise Mismatch(
        f"the ValueError of {what} does not say where the bad characters are: include "
        "their 0-based positions (e.g. 'invalid characters [...] at positions [...]')"
    )


def q3_candidates(seq: str) -> list[Candidate]:
    expected = ref.one_hot_encode(seq).astype(np.float64)
    is_n = np.array([ch in "Nn" for ch in seq], dtype=bool)
    is_lower = np.array([ch in "acgt" for ch in seq], dtype=bool)

    def n_rows(fill: float) -> np.ndarray:
        out = expected.copy()
        out[is_n] = fill
        return out

    def lower_zero() -> np.ndarray:
        out = expected.copy()
        out[is_lower] = 0.0
        return out

    return [
        (
            "the columns are in A, T, G, C order; the convention is A, C, G, T "
            "(column 1 = C, column 3 = T)",
            lambda: expected[:, ATGC_COLUMNS],
        ),
        ("the columns are in reverse order; use A, C, G, T", lambda: expected[:, ::-1]),
        (
            "N rows are 0.25 each; an unknown base is an all-zero row here",
            lambda: n_rows(0.25),
        ),
        (
            "lowercase bases became zero rows; a, c, g, t are bases too (soft-masked "
            "DNA): compare seq[i].upper()",
            lower_zero,
        ),
    ]


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``one_hot_encode`` answers and what their feedback says."""

    def onehot_with(
        alphabet: str = "ACGT",
        n_value: float = 0.0,
        lower: bool = True,
        message: str = "positions",
        dtype=np.float32,
        transpose: bool = False,
    ):
        """A one-hot encoder with switchable mistakes."""

        def one_hot_encode(seq):
            bad = [
                (i, c)
                for i, c in enumerate(seq)
                if (c.upper() if lower else c) not in alphabet + "N"
            ]
            if bad:
                text = {
                    "positions": f"bad {[c for _, c in bad]} at {[i for i, _ in bad]}",
                    "chars": f"invalid characters {[c for _, c in bad]}",
                    "one-based": f"bad {[c for _, c in bad]} at "
                    f"{[i + 1 for i, _ in bad]}",
                }[message]
                raise ValueError(text)
            out = np.zeros((len(seq), 4), dtype=dtype)
            for i, c in enumerate(seq):
                c = c.upper()
                if c == "N":
                    out[i] = n_value
                else:
                    out[i, alphabet.index(c)] = 1
            return out.T if transpose else out

        return one_hot_encode

    def zero_for_bad(seq):
        return np.array(
            [[float(c == b) for b in "ACGT"] for c in seq.upper()], dtype=np.float32
        ).reshape(len(seq), 4)

    def keyerror(seq):
        table = {"A": 0, "C": 1, "G": 2, "T": 3}
        out = np.zeros((len(seq), 4), dtype=np.float32)
        for i, c in enumerate(seq.upper()):
            if c != "N":
                out[i, table[c]] = 1.0
        return out

    return [
        KnownWrong(
            {"one_hot_encode": onehot_with(alphabet="ATGC")},
            "A, T, G, C order",
            "atgc-order",
        ),
        KnownWrong(
            {"one_hot_encode": onehot_with(transpose=True)},
            "that is (4, L)",
            "transposed",
        ),
        KnownWrong({"one_hot_encode": onehot_with(n_value=0.25)}, "0.25", "n-quarter"),
        KnownWrong(
            {"one_hot_encode": onehot_with(lower=False)},
            "accept lowercase",
            "no-lowercase",
        ),
        KnownWrong(
            {"one_hot_encode": onehot_with(message="chars")},
            "0-based positions",
            "message-without-positions",
        ),
        KnownWrong(
            {"one_hot_encode": onehot_with(message="one-based")},
            "1-based",
            "one-based-positions",
        ),
        KnownWrong(
            {"one_hot_encode": zero_for_bad}, "must raise ValueError", "silent-zeros"
        ),
        KnownWrong({"one_hot_encode": keyerror}, "KeyError", "keyerror"),
        KnownWrong(
            {"one_hot_encode": onehot_with(dtype=np.float64)}, "float32", "float64"
        ),
    ]
