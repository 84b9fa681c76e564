"""Hidden tests for week 2 (trusted side). See ``gene46100.checks`` for the API.

Every question draws fresh inputs from the grading RNG (random signals, filters, DNA,
layers and 8-mers), sends only those into the sandbox, and recomputes the expected
answers here with the reference and, where one exists, with PyTorch itself
(``F.conv1d`` for convolutions and PWM scans, real ``nn.Conv1d`` layers for the
formulas). Messages say what was expected and what came back and name the likely
mistake when a known wrong variant reproduces the answer; they never print hidden
input values.

CPU budgets per question live in the course registry (``gene46100/course.py``).

Grader-owned objects reach the sandbox as ``adapters`` source: ``_grader_Conv1d`` (a
plain ``nn.Conv1d``), ``_grader_DataLoader``/``_grader_TensorDataset`` (to build the
loaders ``train_model`` receives) and ``_grader_SpyCNN``, a ``DNA_CNN`` that records,
for every forward call, whether the model was in training mode, whether gradients were
enabled and the batch size (q7 reads that record back to see how validation was run).
"""

from __future__ import annotations

import inspect
import itertools
import math
import re
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    close,
    expect_array,
    expect_number,
    expect_raises,
    guarded,
    outcome_then,
    outcome_value,
)
from gene46100.checks.helpers import (
    Candidate,
    curve_values,
    expect_float,
    expect_float_array,
    expect_tensor,
    first_match,
    matches,
    register_state,
    times,
    wrong,
)
from gene46100.contract.results import QuestionRun
from gene46100_ref import week2 as ref
from gene46100_ref.seeding import seeded_torch

BASES = "ACGT"
ATGC_COLUMNS = [0, 3, 2, 1]  # column order a one-hot gets from the alphabet A, T, G, C


# ================================================================== helpers
def random_dna(rng: np.random.Generator, length: int, alphabet: str = BASES) -> str:
    """A random string over ``alphabet``."""
    return "".join(rng.choice(list(alphabet), size=length))


def plant(rng: np.random.Generator, seq: str, motif: str) -> str:
    """``seq`` with ``motif`` written over it at a random position."""
    start = int(rng.integers(0, len(seq) - len(motif) + 1))
    return seq[:start] + motif + seq[start + len(motif) :]


def conv_oracle(signal: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """PyTorch's ``F.conv1d`` in float64 on one channel (the q1 oracle)."""
    out = F.conv1d(
        torch.from_numpy(np.ascontiguousarray(signal, np.float64))[None, None],
        torch.from_numpy(np.ascontiguousarray(kernel, np.float64))[None, None],
    )
    return out[0, 0].numpy()


def scan_oracle(seq: str, pwm: np.ndarray) -> np.ndarray:
    """A 4-channel ``F.conv1d`` whose one filter is ``pwm.T`` (the q5 oracle)."""
    x = torch.from_numpy(ref.one_hot_encode(seq).T.astype(np.float64))[
        None
    ]  # (1, 4, L)
    w = torch.from_numpy(np.asarray(pwm, np.float64).T.copy())[None]  # (1, 4, k)
    return F.conv1d(x, w)[0, 0].numpy()


def length_hint(got: int, L: int, k: int) -> str:
    """Name the usual wrong output lengths of a valid convolution."""
    return {
        L - k: ": one output short, the last window is missing (there are L - k + 1 "
        "offsets: range(L - k + 1))",
        L - k + 2: ": one output too many (there are L - k + 1 offsets)",
        L: ": as long as the input, i.e. 'same' padding; here there is no padding",
        L + k - 1: ": that is a 'full' convolution (np.convolve's default mode); use "
        "only offsets where the whole kernel fits",
    }.get(got, "")


def uniform_state(
    rng: np.random.Generator, shapes: dict[str, tuple[int, ...]], fan_in: dict[str, int]
) -> dict[str, np.ndarray]:
    """Random float32 parameters drawn like PyTorch's default initialisation."""
    state = {}
    for name, shape in shapes.items():
        bound = 1.0 / math.sqrt(fan_in[name.split(".")[0]])
        state[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return state


def cnn_state(
    rng: np.random.Generator, seq_len: int, num_filters: int, k: int
) -> dict[str, np.ndarray]:
    """Random weights for ``DNA_CNN(seq_len, num_filters, k)`` (keys conv.*, fc.*)."""
    width = num_filters * (seq_len - k + 1)
    shapes = {
        "conv.weight": (num_filters, 4, k),
        "conv.bias": (num_filters,),
        "fc.weight": (1, width),
        "fc.bias": (1,),
    }
    return uniform_state(rng, shapes, {"conv": 4 * k, "fc": width})


def load(model: nn.Module, state: dict[str, np.ndarray]) -> nn.Module:
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    return model


# ================================================================== adapters
class _grader_SpyCNN(nn.Module):
    """``DNA_CNN`` (conv -> ReLU -> flatten -> fc) that records every forward call.

    Each record is ``[training, grad_enabled, batch_size]``; ``records()`` returns
    them as plain data. Grader-owned: sent to the sandbox as source.
    """

    def __init__(self, seq_len, num_filters, kernel_size):
        super().__init__()
        self.conv = nn.Conv1d(4, num_filters, kernel_size)
        self.fc = nn.Linear(num_filters * (seq_len - kernel_size + 1), 1)
        self.calls = []

    def forward(self, x):
        self.calls.append(
            [bool(self.training), bool(torch.is_grad_enabled()), int(x.shape[0])]
        )
        return self.fc(torch.relu(self.conv(x.permute(0, 2, 1))).flatten(1))

    def records(self):
        return [list(call) for call in self.calls]


ADAPTERS = (
    "from torch.nn import Conv1d as _grader_Conv1d\n"
    "from torch.utils.data import DataLoader as _grader_DataLoader\n"
    "from torch.utils.data import TensorDataset as _grader_TensorDataset\n\n\n"
    + inspect.getsource(_grader_SpyCNN)
)


def loader_arg(
    plan: Plan, prefix: str, x: np.ndarray, y: np.ndarray, batch: int
) -> dict:
    """A ``DataLoader(TensorDataset(x, y), batch_size)`` built in the sandbox."""
    dataset = {
        "$new": "_grader_TensorDataset",
        "args": [plan.tensor(f"{prefix}_x", x), plan.tensor(f"{prefix}_y", y)],
    }
    return {
        "$new": "_grader_DataLoader",
        "args": [dataset],
        "kwargs": {"batch_size": batch},
    }


def make_loader(x: np.ndarray, y: np.ndarray, batch: int) -> DataLoader:
    """The trusted twin of ``loader_arg`` (same batches, same order)."""
    return DataLoader(
        TensorDataset(torch.from_numpy(x.copy()), torch.from_numpy(y.copy())),
        batch_size=batch,
    )


# ================================================================== q1
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


# ================================================================== q2
class Q2ConvFormulas(Question):
    """q2: output length and parameter count vs real ``nn.Conv1d`` layers."""

    name = "q2"
    names = ("conv_output_length", "conv1d_param_count")

    def plan(self, rng: np.random.Generator) -> Plan:
        plan = Plan()
        lengths = {"course": (50, 10, 1, 0), "course5": (50, 5, 1, 0)}
        for i in range(4):
            k = int(rng.integers(2, 12))
            # padding >= 2 keeps 'padding once' apart from 'missing +1'
            stride, padding = int(rng.integers(2, 5)), int(rng.integers(2, 4))
            L = int(rng.integers(k + 5, 200))
            if (L + 2 * padding - k) % stride == 0:  # make the floor matter
                L += 1
            lengths[f"length{i}"] = (L, k, stride if i else 1, padding)
        counts = {"course": (1, 8, 10, True), "dna": (4, 32, 3, True)}
        for i in range(3):
            counts[f"count{i}"] = (
                int(rng.integers(1, 9)),
                int(rng.integers(2, 65)),
                int(rng.integers(1, 16)),
                i != 2,  # one layer without a bias
            )
        for case, (L, k, stride, padding) in lengths.items():
            plan.call(
                f"len_{case}",
                "conv_output_length",
                L,
                k,
                stride=stride,
                padding=padding,
            )
        for case, (c_in, c_out, k, bias) in counts.items():
            plan.call(f"par_{case}", "conv1d_param_count", c_in, c_out, k, bias=bias)
        plan.context.update(lengths=lengths, counts=counts)
        return plan

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        return [
            guarded(
                "conv_output_length equals what nn.Conv1d produces",
                lambda: self._check_lengths(run, plan.context["lengths"]),
            ),
            guarded(
                "conv1d_param_count equals the parameters of nn.Conv1d",
                lambda: self._check_counts(run, plan.context["counts"]),
            ),
        ]

    def _check_lengths(self, run: QuestionRun, lengths: dict) -> None:
        for case, (L, k, stride, padding) in lengths.items():
            public = case.startswith("course")
            what = (
                f"conv_output_length({L}, {k})"
                if public
                else f"conv_output_length on hidden sizes (stride {stride}, "
                f"padding {padding})"
            )
            got = int_answer(run, f"len_{case}", what, "use // for the division")
            expected = torch_conv_length(L, k, stride, padding)
            if got != expected:
                hint = first_match(got, length_candidates(L, k, stride, padding), 0, 0)
                shown = (
                    f"should be {expected}; got {got}"
                    if public
                    else (f"is wrong ({times(got, expected)})")
                )
                raise Mismatch(
                    f"{what} {shown}: "
                    + (hint or "the formula is (L + 2 * padding - k) // stride + 1")
                )

    def _check_counts(self, run: QuestionRun, counts: dict) -> None:
        for case, (c_in, c_out, k, bias) in counts.items():
            public = case in ("course", "dna")
            what = (
                f"conv1d_param_count({c_in}, {c_out}, {k})"
                if public
                else f"conv1d_param_count on hidden sizes (bias={bias})"
            )
            got = int_answer(run, f"par_{case}", what, "parameters are whole numbers")
            expected = sum(
                p.numel() for p in nn.Conv1d(c_in, c_out, k, bias=bias).parameters()
            )
            if got != expected:
                hint = first_match(got, count_candidates(c_in, c_out, k, bias), 0, 0)
                shown = (
                    f"should be {expected}; got {got}"
                    if public
                    else (f"is wrong ({times(got, expected)})")
                )
                raise Mismatch(
                    f"{what} {shown}: "
                    + (
                        hint
                        or "a Conv1d holds out_ch * in_ch * k weights plus "
                        "out_ch biases"
                    )
                )


def int_answer(run: QuestionRun, probe: str, what: str, advice: str) -> int:
    value = outcome_value(run, probe, what)
    if value.kind == "py" and value.type == "float":
        raise Mismatch(f"{what} should be an int; got a float ({advice})")
    return int(expect_number(value, what, integer=True))


def torch_conv_length(L: int, k: int, stride: int, padding: int) -> int:
    """The length PyTorch really produces (the q2 oracle)."""
    out = F.conv1d(
        torch.zeros(1, 1, L), torch.zeros(1, 1, k), stride=stride, padding=padding
    )
    return int(out.shape[-1])


def length_candidates(L: int, k: int, s: int, p: int) -> list[Candidate]:
    return [
        (
            "off by one: the +1 is missing (a kernel that fits exactly still gives one "
            "output)",
            lambda: (L + 2 * p - k) // s,
        ),
        ("the padding goes on both ends: 2 * padding", lambda: (L + p - k) // s + 1),
        ("the padding is missing: add 2 * padding to L", lambda: (L - k) // s + 1),
        ("the stride is ignored: divide by the stride", lambda: L + 2 * p - k + 1),
        (
            "rounded up; PyTorch rounds down (floor, //)",
            lambda: -(-(L + 2 * p - k) // s) + 1,
        ),
        (
            "the +1 belongs outside the division: (L + 2p - k) // s + 1",
            lambda: (L + 2 * p - k + 1) // s,
        ),
    ]


def count_candidates(c_in: int, c_out: int, k: int, bias: bool) -> list[Candidate]:
    weights = c_out * c_in * k
    return [
        (
            "the biases are missing: one bias per output channel (filter)",
            lambda: weights if bias else -1,
        ),
        (
            "bias=False was ignored: without a bias there are only the weights",
            lambda: weights + c_out if not bias else -1,
        ),
        (
            (
                "one bias per input channel; the bias belongs to each of the out_ch "
                "filters"
            ),
            lambda: weights + c_in if bias else -1,
        ),
        (
            "in_ch is missing: each filter has in_ch * k weights",
            lambda: c_out * k + (c_out if bias else 0),
        ),
    ]


# ================================================================== q3
BAD_CHARS = "XZJQ-*@#"


class Q3OneHot(Question):
    """q3: ``one_hot_encode``: values, N, lowercase, empty input and bad characters."""

    name = "q3"
    names = ("one_hot_encode",)

    def plan(self, rng: np.random.Generator) -> Plan:
        plan = Plan()
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
        for case, seq in seqs.items():
            plan.call(case, "one_hot_encode", seq)
        plan.context.update(seqs=seqs, bad=bad)
        return plan

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        seqs, bad = plan.context["seqs"], plan.context["bad"]
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

    def _check_values(self, run: QuestionRun, seqs: dict, cases: Sequence[str]) -> None:
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

    def _check_bad(self, run: QuestionRun, bad: dict) -> None:
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


# ================================================================== q4
class Q4ScoringTask(Question):
    """q4: ``kmers`` order and the course's motif score on fresh sequences."""

    name = "q4"
    names = ("kmers", "score_seqs_motif")

    def plan(self, rng: np.random.Generator) -> Plan:
        plan = Plan()
        ks = [1, int(rng.integers(2, 5)), 5]
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
        seqs = {"eightmers": eight, "varied": varied}
        for case, batch in seqs.items():
            plan.call(case, "score_seqs_motif", batch)
        plan.context.update(ks=ks, seqs=seqs)
        return plan

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        ks, seqs = plan.context["ks"], plan.context["seqs"]
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

    def _scores(self, run: QuestionRun, seqs: dict) -> None:
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


# ================================================================== q5
class Q5PWMScan(Question):
    """q5: ``pwm_scan`` vs a 4-channel ``F.conv1d`` with the PWM as its filter."""

    name = "q5"
    names = ("pwm_scan",)
    provides = ("one_hot_encode", "conv1d_valid")  # q1/q3 slips must not cost q5

    def plan(self, rng: np.random.Generator) -> Plan:
        plan = Plan()
        cases = {}
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
            cases[case] = (seq, pwm)
            plan.call(case, "pwm_scan", seq, plan.array(f"{case}_pwm", pwm))
        plan.context["cases"] = cases
        return plan

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        cases = plan.context["cases"]
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

    def _scores(self, run: QuestionRun, case: str, seq: str, pwm: np.ndarray):
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

    def _shapes(self, run: QuestionRun, cases: dict) -> None:
        for case, (seq, pwm) in cases.items():
            self._scores(run, case, seq, pwm)

    def _values(self, run: QuestionRun, cases: dict) -> None:
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


# ================================================================== q6
class Q6DNACNN(Question):
    """q6: the student's ``DNA_CNN`` loads the reference weights and matches it."""

    name = "q6"
    names = ("DNA_CNN",)

    def plan(self, rng: np.random.Generator) -> Plan:
        plan = Plan()
        configs = {"default": (8, 32, 3, None)}
        for case, n in (("custom", None), ("one", 1)):
            L = int(rng.integers(10, 21))
            configs[case] = (L, int(rng.integers(2, 13)), int(rng.integers(2, 7)), n)
        cases = {}
        for case, (L, nf, k, n) in configs.items():
            state = cnn_state(rng, L, nf, k)
            x = rng.normal(size=(n or int(rng.integers(10, 40)), L, 4)).astype(
                np.float32
            )
            kwargs = {} if case == "default" else {"num_filters": nf, "kernel_size": k}
            obj = {
                "$new": "DNA_CNN",
                "args": [L],
                "kwargs": kwargs,
                "state": register_state(plan, case, state),
            }
            cases[case] = {"config": (L, nf, k), "state": state, "x": x, "obj": obj}
            plan.call_method(case, obj, "forward", plan.tensor(f"{case}_x", x))
        plan.call_method("build", cases["default"]["obj"], "eval")
        plan.context["cases"] = cases
        return plan

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        cases = plan.context["cases"]
        return [
            guarded(
                "loads the reference state_dict (conv, fc; 609 parameters for "
                "seq_len 8)",
                lambda: self._check_build(run),
            ),
            guarded(
                "forward matches the reference (float32, rtol 1e-5)",
                lambda: self._check_values(run, cases),
                weight=2.0,
            ),
            guarded(
                "output shape (N, 1), also for a batch of one",
                lambda: self._check_shapes(run, cases),
            ),
        ]

    @staticmethod
    def _name(c: dict) -> str:
        L, nf, k = c["config"]
        return f"DNA_CNN({L}, num_filters={nf}, kernel_size={k})"

    def _check_build(self, run: QuestionRun) -> None:
        outcome = run.outcomes.get("build")
        if outcome is not None and "state_dict" in outcome.error_message:
            raise Mismatch(
                "loading the reference weights into DNA_CNN(8) failed: "
                + load_hint(outcome.error_message)
            )
        outcome_value(run, "build", "building DNA_CNN(8)")

    def _output(self, run: QuestionRun, case: str, c: dict) -> tuple[str, np.ndarray]:
        what = f"{self._name(c)} on a batch of {len(c['x'])}"
        outcome = run.outcomes.get(case)
        message = outcome.error_message if outcome is not None else ""
        if "state_dict" in message:
            raise Mismatch(
                f"{what} could not load the reference weights: " + load_hint(message)
            )
        if "channels" in message and "expected input" in message:
            raise Mismatch(
                f"{what} raised: Conv1d got (N, L, 4) with L as its channels. Permute "
                "the input to (N, 4, L) first: x.permute(0, 2, 1)"
            )
        return what, expect_tensor(outcome_value(run, case, what), what)

    def _check_values(self, run: QuestionRun, cases: dict) -> None:
        for case in ("default", "custom"):
            c = cases[case]
            what, got = self._output(run, case, c)
            expected = cnn_forward(c["state"], c["x"])
            if got.size != expected.size:
                raise Mismatch(
                    f"{what} gave {got.size} numbers; expected "
                    f"{expected.size} (one per sequence)"
                )
            got = got.reshape(expected.shape)
            if not close(got, expected, rtol=1e-5, atol=1e-6):
                raise wrong(
                    what,
                    got,
                    expected,
                    first_match(got, q6_candidates(c), rtol=1e-4, atol=1e-5),
                    "forward is fc(relu(conv(x.permute(0, 2, 1))).flatten(1))",
                )

    def _check_shapes(self, run: QuestionRun, cases: dict) -> None:
        for case, c in cases.items():
            what, got = self._output(run, case, c)
            n = len(c["x"])
            if got.shape != (n, 1):
                hint = {
                    (n,): ": the output was squeezed; return (N, 1), the shape of "
                    "the targets y",
                    (): ": .squeeze() removed the batch dimension too; return (N, 1)",
                }.get(got.shape, "")
                raise Mismatch(
                    f"{what} should return shape ({n}, 1); got {got.shape}{hint}"
                )


def load_hint(message: str) -> str:
    if "size mismatch" in message and "fc." in message:
        return (
            "fc has the wrong number of inputs; it reads every filter at every "
            "window: nn.Linear(num_filters * (seq_len - kernel_size + 1), 1)"
        )
    if "size mismatch" in message:
        return (
            "conv has the wrong shape; use nn.Conv1d(4, num_filters, kernel_size) "
            "(4 input channels, one per base)"
        )
    return (
        "the parameter names differ; name the layers self.conv and self.fc (keys "
        "conv.weight, conv.bias, fc.weight, fc.bias) and add no other parameters"
    )


def cnn_forward(
    state: dict[str, np.ndarray],
    x: np.ndarray,
    arrange: Callable[[torch.Tensor], torch.Tensor] = lambda x: x.permute(0, 2, 1),
    act: Callable[[torch.Tensor], torch.Tensor] = torch.relu,
    out: Callable[[torch.Tensor], torch.Tensor] = lambda z: z,
    flatten: Callable[[torch.Tensor], torch.Tensor] = lambda h: h.flatten(1),
) -> np.ndarray:
    """A DNA CNN forward pass with switchable steps (the reference and its variants)."""
    weights = {k: torch.from_numpy(v.copy()) for k, v in state.items()}
    with torch.no_grad():
        h = act(
            F.conv1d(
                arrange(torch.from_numpy(x)),
                weights["conv.weight"],
                weights["conv.bias"],
            )
        )
        z = F.linear(flatten(h), weights["fc.weight"], weights["fc.bias"])
        return out(z).numpy().astype(np.float64)


def q6_candidates(c: dict) -> list[Candidate]:
    state, x = c["state"], c["x"]
    L = x.shape[1]
    return [
        (
            "the input was reshaped/viewed to (N, 4, L), which scrambles bases and "
            "positions; permute it: x.permute(0, 2, 1)",
            lambda: cnn_forward(state, x, arrange=lambda t: t.reshape(len(t), 4, L)),
        ),
        (
            "the ReLU between conv and fc is missing",
            lambda: cnn_forward(state, x, act=lambda h: h),
        ),
        (
            (
                "there is a ReLU after fc too; the output is a score that can be any "
                "number"
            ),
            lambda: cnn_forward(state, x, out=torch.relu),
        ),
        (
            "that is a sigmoid after conv; use ReLU",
            lambda: cnn_forward(state, x, act=torch.sigmoid),
        ),
        (
            "the conv output was flattened position by position; flatten (N, F, W) "
            "as it is: h.flatten(1)",
            lambda: cnn_forward(
                state, x, flatten=lambda h: h.permute(0, 2, 1).flatten(1)
            ),
        ),
    ]


# ================================================================== q7
# Curves from the same weights and batches agree to float32 rounding (an independent
# loop differs by ~1e-7 relative after 3 epochs); 1e-4 accepts that and rejects every
# known mistake (each changes the curves by 1 % or more).
CURVE_RTOL = 1e-4
# Behaviour: DNA_CNN(8) trained by the student's loop on 16,000 fresh 8-mers (batch 32,
# lr 0.01, 10 epochs, the grader's initial weights), R^2 on 4,000 held-out 8-mers.
# The reference over 17 seeds (the grading seed and 0-15): 0.833-0.954, median 0.935
# (one seed at 0.833, all others >= 0.906); the best linear model: 0.251-0.290.
# SGD at lr 0.01 oscillates from epoch to epoch, so a correct loop whose rounding
# differs can land on a worse epoch: 0.75 leaves a margin of 0.08 below the worst
# seed and stays far above anything linear. tests/test_checks_week2.py re-measures it.
R2_THRESHOLD = 0.75
BEHAVIOUR = {
    "n_train": 16_000,
    "n_val": 2_000,
    "n_test": 4_000,
    "batch": 32,
    "val_batch": 500,
    "lr": 0.01,
    "epochs": 10,
}


class Q7TrainModel(Question):
    """q7: ``train_model``: curves, train/eval modes and what the trained CNN learns."""

    name = "q7"
    names = ("train_model",)
    provides = ("DNA_CNN",)  # a q6 slip must not cost q7
    adapters = ADAPTERS

    def plan(self, rng: np.random.Generator) -> Plan:
        plan = Plan()
        spy = spy_case(rng)
        plan.call(
            "spy",
            "train_model",
            {
                "$new": "_grader_SpyCNN",
                "args": [8, 8, 3],
                "state": register_state(plan, "spy", spy["state"]),
            },
            loader_arg(plan, "spy_train", spy["x"], spy["y"], spy["batch"]),
            loader_arg(plan, "spy_val", spy["xv"], spy["yv"], spy["val_batch"]),
            lr=spy["lr"],
            epochs=spy["epochs"],
            device="cpu",
            then={"arg": 0, "method": "records", "args": []},
        )
        fit = behaviour_case(rng)
        b = BEHAVIOUR
        plan.call(
            "fit",
            "train_model",
            {
                "$new": "DNA_CNN",
                "args": [8],
                "state": register_state(plan, "fit", fit["state"]),
            },
            loader_arg(plan, "fit_train", fit["x"], fit["y"], b["batch"]),
            loader_arg(plan, "fit_val", fit["xv"], fit["yv"], b["val_batch"]),
            lr=b["lr"],
            epochs=b["epochs"],
            device="cpu",
            then={
                "arg": 0,
                "method": "forward",
                "args": [plan.tensor("fit_test", fit["xt"])],
            },
        )
        plan.context.update(spy=spy, fit=fit)
        return plan

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        spy, fit = plan.context["spy"], plan.context["fit"]
        return [
            guarded(
                "returns (train_losses, val_losses), two lists of epochs floats",
                lambda: self._curves(run, spy),
            ),
            guarded(
                "both curves match the reference from the same weights",
                lambda: self._check_curves(run, spy),
                weight=2.0,
            ),
            guarded(
                "validation in eval mode without gradients; training in train mode",
                lambda: self._check_modes(run, spy),
            ),
            guarded(
                f"a DNA_CNN it trains reaches R^2 >= {R2_THRESHOLD} on held-out 8-mers",
                lambda: self._check_r2(run, fit),
                weight=2.0,
            ),
            guarded(
                "the trained CNN beats the best linear model",
                lambda: self._check_linear(run, fit),
            ),
        ]

    @staticmethod
    def _what(spy: dict) -> str:
        return (
            f"train_model(model, train_dl, val_dl, lr={spy['lr']:.4g}, "
            f"epochs={spy['epochs']})"
        )

    def _curves(self, run: QuestionRun, spy: dict) -> tuple[np.ndarray, np.ndarray]:
        what = self._what(spy)
        value = outcome_value(run, "spy", what)
        if value.kind not in ("tuple", "list") or len(value.data) != 2:
            raise Mismatch(
                f"{what} should return a tuple (train_losses, val_losses); "
                f"got {value.type}"
            )
        curves = []
        for name, item in zip(("train_losses", "val_losses"), value.data, strict=True):
            if item.kind != "list":
                raise Mismatch(f"{name} from {what} should be a list; got {item.type}")
            for entry in item.data:
                if entry.kind == "tensor":
                    raise Mismatch(
                        f"{name} holds tensors: append loss.item(), a Python "
                        "float (a kept tensor also keeps its graph)"
                    )
                expect_float(entry, f"each entry of {name}")
            curve = curve_values(item, f"{name} from {what}")
            if curve.size != spy["epochs"]:
                raise Mismatch(
                    f"{name} from {what} should hold {spy['epochs']} losses "
                    f"(one per epoch); got {curve.size}"
                )
            curves.append(curve)
        return curves[0], curves[1]

    def _check_curves(self, run: QuestionRun, spy: dict) -> None:
        got = np.concatenate(self._curves(run, spy))
        expected = np.concatenate(reference_curves(spy))
        if close(got, expected, rtol=CURVE_RTOL, atol=1e-6):
            return
        hint = first_match(got, q7_candidates(spy), rtol=CURVE_RTOL, atol=1e-6)
        if not hint and np.ptp(got[: spy["epochs"]]) == 0:
            hint = (
                "the training loss never changes: give the optimizer "
                "model.parameters() and call opt.step() after every backward()"
            )
        raise wrong(
            f"the curves of {self._what(spy)}",
            got,
            expected,
            hint,
            "per batch: zero_grad, MSELoss, backward, step; per epoch: the "
            "batch-size-weighted mean training loss, then the validation loss",
        )

    def _check_modes(self, run: QuestionRun, spy: dict) -> None:
        records = outcome_then(
            run, "spy", f"{self._what(spy)}, then the model's record"
        )
        calls = [[item.data for item in call.data] for call in records.data]
        val_sizes = {spy["val_batch"], len(spy["yv"]) % spy["val_batch"]}
        train_sizes = {spy["batch"], len(spy["y"]) % spy["batch"]}
        val = [c for c in calls if c[2] in val_sizes]
        # Update passes: training-sized batches with gradients (a student's extra
        # evaluation pass over the training set is judged by the curves instead).
        updates = [c for c in calls if c[2] in train_sizes and c[1]]
        if not val:
            raise Mismatch(
                "the model never saw a validation batch: compute the "
                "validation loss with model(x) on every batch of val_dl"
            )
        if any(c[0] for c in val):
            raise Mismatch(
                "the validation pass ran in training mode: call "
                "model.eval() before it (dropout and batch norm behave "
                "differently in evaluation)"
            )
        if any(c[1] for c in val):
            raise Mismatch(
                "the validation pass ran with gradients enabled: wrap it in "
                "torch.no_grad() (no graph is built: faster, less memory, "
                "and no accidental updates)"
            )
        if not updates:
            raise Mismatch(
                "training batches ran without gradients (torch.no_grad() "
                "around the updates?)"
            )
        if any(not c[0] for c in updates):
            raise Mismatch(
                "training batches ran in eval mode: call model.train() at the "
                "start of every epoch (model.eval() from the validation pass "
                "stays on until you do)"
            )

    def _check_r2(self, run: QuestionRun, fit: dict) -> None:
        r2 = self._r2(run, fit)
        if math.isfinite(r2) and r2 >= R2_THRESHOLD:
            return
        initial = r2_score(fit["yt"], cnn_forward(fit["state"], fit["xt"]).ravel())
        if math.isclose(r2, initial, rel_tol=1e-6, abs_tol=1e-9):
            hint = (
                "the model did not change: train the model passed in, in place "
                "(no copy, no new model)"
            )
        elif not math.isfinite(r2):
            hint = "the predictions are not finite: training diverged"
        else:
            hint = (
                "check the loop against the reference curves (SGD with lr, every "
                "batch, every epoch)"
            )
        b = BEHAVIOUR
        raise Mismatch(
            f"after train_model(DNA_CNN(8), ...) on {b['n_train']:,} fresh 8-mers "
            f"(batch {b['batch']}, lr {b['lr']}, {b['epochs']} epochs), R^2 on "
            f"{b['n_test']:,} held-out 8-mers is {r2:.3f}; it should be at least "
            f"{R2_THRESHOLD}: {hint}"
        )

    def _check_linear(self, run: QuestionRun, fit: dict) -> None:
        r2, linear = self._r2(run, fit), linear_r2(fit)
        if math.isfinite(r2) and r2 > linear:
            return
        raise Mismatch(
            f"the trained CNN's held-out R^2 ({r2:.3f}) is no better than the best "
            f"linear model's ({linear:.3f}): the CNN should learn the motifs a linear "
            "model cannot see"
        )

    @staticmethod
    def _r2(run: QuestionRun, fit: dict) -> float:
        n = len(fit["yt"])
        what = f"the trained DNA_CNN's predictions on {n:,} held-out 8-mers"
        preds = expect_tensor(outcome_then(run, "fit", what), what)
        if preds.size != n:
            raise Mismatch(f"{what} should be {n} numbers; got shape {preds.shape}")
        return r2_score(fit["yt"], preds.ravel())


def r2_score(y: np.ndarray, y_hat: np.ndarray) -> float:
    y, y_hat = np.asarray(y, np.float64), np.asarray(y_hat, np.float64)
    with np.errstate(all="ignore"):
        return float(1.0 - np.sum((y - y_hat) ** 2) / np.sum((y - y.mean()) ** 2))


def eightmer_data(
    rng: np.random.Generator, sizes: Sequence[int]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Disjoint random sets of 8-mers.

    Each set: one-hot float32 (n, 8, 4), scores float32 (n, 1).
    """
    order = rng.permutation(4**8)
    out, start = [], 0
    for size in sizes:
        idx = order[start : start + size]
        start += size
        x = np.eye(4, dtype=np.float32)[digits(idx)]  # (n, 8, 4)
        seqs = ["".join(BASES[d] for d in row) for row in digits(idx)]
        y = ref.score_seqs_motif(seqs).astype(np.float32)[:, None]
        out.append((x, y))
    return out


def digits(idx: np.ndarray) -> np.ndarray:
    """Base-4 digits (most significant first): kmers(8) index -> base indices."""
    return (idx[:, None] // 4 ** np.arange(7, -1, -1)) % 4


def spy_case(rng: np.random.Generator) -> dict:
    """Small data with short last batches whose sizes tell train from validation."""
    batch = int(rng.integers(16, 41))
    n = batch * int(rng.integers(3, 7)) + int(rng.integers(1, batch))
    while True:
        val_batch = int(rng.integers(16, 61))
        n_val = val_batch * int(rng.integers(2, 4)) + int(rng.integers(1, val_batch))
        sizes = {val_batch, n_val % val_batch}
        if not sizes & {batch, n % batch}:
            break
    (x, y), (xv, yv) = eightmer_data(rng, [n, n_val])
    return {
        "x": x,
        "y": y,
        "xv": xv,
        "yv": yv,
        "batch": batch,
        "val_batch": val_batch,
        "lr": float(rng.uniform(0.003, 0.008)),
        "epochs": 3,
        "state": cnn_state(rng, 8, 8, 3),
    }


def behaviour_case(rng: np.random.Generator) -> dict:
    b = BEHAVIOUR
    (x, y), (xv, yv), (xt, yt) = eightmer_data(
        rng, [b["n_train"], b["n_val"], b["n_test"]]
    )
    return {
        "x": x,
        "y": y,
        "xv": xv,
        "yv": yv,
        "xt": xt,
        "yt": yt[:, 0].astype(np.float64),
        "state": cnn_state(rng, 8, 32, 3),
    }


def spy_model(spy: dict) -> nn.Module:
    with seeded_torch(0):
        return load(_grader_SpyCNN(8, 8, 3), spy["state"])


def reference_curves(spy: dict) -> tuple[list[float], list[float]]:
    return ref.train_model(
        spy_model(spy),
        make_loader(spy["x"], spy["y"], spy["batch"]),
        make_loader(spy["xv"], spy["yv"], spy["val_batch"]),
        lr=spy["lr"],
        epochs=spy["epochs"],
        device="cpu",
    )


def linear_r2(fit: dict) -> float:
    """Held-out R^2 of least squares on the flattened one-hot (best linear model)."""
    design = np.column_stack(
        [fit["x"].reshape(len(fit["x"]), -1), np.ones(len(fit["x"]))]
    ).astype(np.float64)
    coef, *_ = np.linalg.lstsq(design, fit["y"][:, 0].astype(np.float64), rcond=None)
    test = np.column_stack(
        [fit["xt"].reshape(len(fit["xt"]), -1), np.ones(len(fit["xt"]))]
    )
    return r2_score(fit["yt"], test @ coef)


def train_variant(
    spy: dict,
    zero_grad: bool = True,
    weighted: tuple[bool, bool] = (True, True),
    val_first: bool = False,
    remeasure: bool = False,
    reduction: str = "mean",
    lr: float | None = None,
    optimizer: type = torch.optim.SGD,
) -> np.ndarray:
    """A training loop with known mistakes; returns both curves, concatenated."""
    model = spy_model(spy)
    train_dl = make_loader(spy["x"], spy["y"], spy["batch"])
    val_dl = make_loader(spy["xv"], spy["yv"], spy["val_batch"])
    opt = optimizer(model.parameters(), lr=lr or spy["lr"])
    loss_fn = nn.MSELoss(reduction=reduction)

    def mean_loss(loader: DataLoader, weigh: bool) -> float:
        with torch.no_grad():
            losses = [(loss_fn(model(x), y).item(), len(x)) for x, y in loader]
        if weigh:
            return sum(v * n for v, n in losses) / sum(n for _, n in losses)
        return sum(v for v, _ in losses) / len(losses)

    train, val = [], []
    for epoch in range(spy["epochs"]):
        if val_first:
            val.append(mean_loss(val_dl, weighted[1]))
        losses = []
        for i, (x, y) in enumerate(train_dl):
            if zero_grad or (epoch == 0 and i == 0):
                opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            losses.append((loss.item(), len(x)))
        if remeasure:
            train.append(mean_loss(train_dl, weighted[0]))
        elif weighted[0]:
            train.append(sum(v * n for v, n in losses) / sum(n for _, n in losses))
        else:
            train.append(sum(v for v, _ in losses) / len(losses))
        if not val_first:
            val.append(mean_loss(val_dl, weighted[1]))
    return np.array(train + val)


def q7_candidates(spy: dict) -> list[Candidate]:
    unweighted = (
        "batch-size-weighted mean: add loss.item() * len(x) and divide by the "
        "number of samples (the short last batch must not count as much as a "
        "full one)"
    )
    return [
        (
            "gradients accumulate across batches: call opt.zero_grad() before every "
            "backward()",
            lambda: train_variant(spy, zero_grad=False),
        ),
        (
            (
                "the epoch losses are plain means of the batch means; use the "
                f"{unweighted}"
            ),
            lambda: train_variant(spy, weighted=(False, False)),
        ),
        (
            f"the validation loss is a plain mean of batch means; use the {unweighted}",
            lambda: train_variant(spy, weighted=(True, False)),
        ),
        (
            f"the training loss is a plain mean of batch means; use the {unweighted}",
            lambda: train_variant(spy, weighted=(False, True)),
        ),
        (
            "the validation loss is measured before the epoch's updates (off by one): "
            "validate after training on the epoch",
            lambda: train_variant(spy, val_first=True),
        ),
        (
            "the training loss comes from a second pass after the epoch; record it "
            "during the epoch's updates",
            lambda: train_variant(spy, remeasure=True),
        ),
        (
            "the loss is a sum over the batch; use nn.MSELoss() (the mean)",
            lambda: train_variant(spy, reduction="sum"),
        ),
        (
            "the learning rate argument was ignored (0.01 was used): pass lr to the "
            "optimizer",
            lambda: train_variant(spy, lr=0.01),
        ),
        (
            "that is Adam; the contract asks for torch.optim.SGD",
            lambda: train_variant(spy, optimizer=torch.optim.Adam),
        ),
    ]


# ================================================================== q8
class Q8FilterActivations(Question):
    """q8: ``get_filter_activations`` vs the reference; a TAT filter finds TAT."""

    name = "q8"
    names = ("get_filter_activations",)
    provides = ("one_hot_encode",)  # a q3 slip must not cost q8
    adapters = ADAPTERS

    def plan(self, rng: np.random.Generator) -> Plan:
        plan = Plan()
        cases = {}
        for case, (n, L, nf, k, thresh) in {
            "default": (60, 8, 5, 3, None),
            "positive": (40, 12, 4, 5, 0.7),
            "negative": (50, 10, 3, 4, -0.5),
        }.items():
            seqs = [random_dna(rng, L, "ACGT" if i % 7 else "ACGTN") for i in range(n)]
            state = random_layer(rng, seqs, nf, k, thresh or 0.0)
            cases[case] = (seqs, state, thresh)
        seqs = [random_dna(rng, 8) for _ in range(80)]
        seqs = [plant(rng, s, "TAT") if i % 3 == 0 else s for i, s in enumerate(seqs)]
        cases["tat"] = (seqs, motif_layer(), 2.0)
        for case, (seqs, state, thresh) in cases.items():
            nf, _, k = state["weight"].shape
            layer = {
                "$new": "_grader_Conv1d",
                "args": [4, int(nf), int(k)],
                "state": register_state(plan, case, state),
            }
            kwargs = {} if thresh is None else {"act_thresh": thresh}
            plan.call(case, "get_filter_activations", seqs, layer, **kwargs)
        plan.context["cases"] = cases
        return plan

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        cases = plan.context["cases"]
        return [
            guarded(
                "an array of shape (num_filters, 4, k)",
                lambda: self._shapes(run, cases),
            ),
            guarded(
                "matches the reference on random layers and thresholds",
                lambda: self._values(run, cases, ("default", "positive", "negative")),
                weight=2.0,
            ),
            guarded(
                "a filter built for TAT counts exactly the TAT windows",
                lambda: self._values(run, cases, ("tat",)),
            ),
        ]

    @staticmethod
    def _what(case: str, c: tuple) -> str:
        seqs, state, thresh = c
        nf, _, k = state["weight"].shape
        if case == "tat":
            return (
                f"get_filter_activations on {len(seqs)} hidden 8-mers with a TAT "
                f"filter and act_thresh={thresh}"
            )
        shown = "the default act_thresh" if thresh is None else f"act_thresh={thresh}"
        return (
            f"get_filter_activations on {len(seqs)} hidden sequences, {nf} random "
            f"filters of width {k} and {shown}"
        )

    def _counts(self, run: QuestionRun, case: str, c: tuple) -> tuple[str, np.ndarray]:
        what = self._what(case, c)
        got = expect_array(outcome_value(run, case, what), what)
        nf, _, k = c[1]["weight"].shape
        if got.shape != (nf, 4, k):
            hint = (
                ": that is (num_filters, k, 4); rows must be A, C, G, T and columns "
                "the window positions"
                if got.shape == (nf, k, 4)
                else ""
            )
            raise Mismatch(
                f"{what} should have shape ({nf}, 4, {k}); got {got.shape}{hint}"
            )
        return what, got

    def _shapes(self, run: QuestionRun, cases: dict) -> None:
        for case, c in cases.items():
            self._counts(run, case, c)

    def _values(self, run: QuestionRun, cases: dict, names: Sequence[str]) -> None:
        for case in names:
            what, got = self._counts(run, case, cases[case])
            seqs, state, thresh = cases[case]
            expected = activation_counts(seqs, state, 0.0 if thresh is None else thresh)
            if not close(got, expected, rtol=0.0, atol=1e-6):
                raise wrong(
                    what,
                    got,
                    expected,
                    first_match(got, q8_candidates(seqs, state, thresh), 0.0, 1e-6),
                    "for each filter add the one-hot (4, k) window wherever "
                    "conv_layer(x) > act_thresh (bias included, before ReLU)",
                )


def random_layer(
    rng: np.random.Generator, seqs: Sequence[str], nf: int, k: int, thresh: float
) -> dict[str, np.ndarray]:
    """Random filters whose activations stay clear of the threshold (no ties)."""
    state = uniform_state(
        rng, {"weight": (nf, 4, k), "bias": (nf,)}, {"weight": 1, "bias": 1}
    )
    while True:
        acts = layer_activations(seqs, state)
        if min(np.min(np.abs(a - thresh)) for a in acts) > 1e-3:
            return state
        state["bias"] = (state["bias"] + 0.0137).astype(np.float32)


def motif_layer() -> dict[str, np.ndarray]:
    """Filter 0 = one-hot TAT (bias 0): 2 matches sit exactly on the threshold 2.0.

    Filter 1 = one-hot GCG with bias 1: at threshold 2 it counts windows with two or
    three GCG matches.
    """
    weight = np.stack([ref.one_hot_encode(m).T for m in ("TAT", "GCG")])  # (2, 4, 3)
    return {
        "weight": weight.astype(np.float32),
        "bias": np.array([0.0, 1.0], np.float32),
    }


def layer_activations(seqs: Sequence[str], state: dict) -> list[np.ndarray]:
    """Pre-ReLU activations ``(num_filters, W)`` of each sequence, as a Conv1d gives."""
    w, b = torch.from_numpy(state["weight"]), torch.from_numpy(state["bias"])
    with torch.no_grad():
        return [
            F.conv1d(torch.from_numpy(ref.one_hot_encode(s).T.copy())[None], w, b)[
                0
            ].numpy()
            for s in seqs
        ]


def activation_counts(
    seqs: Sequence[str],
    state: dict,
    thresh: float,
    fires: Callable[[np.ndarray, float], np.ndarray] = lambda a, t: a > t,
    bias: bool = True,
    rows: Sequence[int] = (0, 1, 2, 3),
) -> np.ndarray:
    """Summed one-hot windows per filter, under a (possibly wrong) firing rule."""
    nf, _, k = state["weight"].shape
    use = dict(state) if bias else {**state, "bias": np.zeros_like(state["bias"])}
    counts = np.zeros((nf, 4, k))
    for seq, act in zip(seqs, layer_activations(seqs, use), strict=True):
        x = ref.one_hot_encode(seq).T.astype(np.float64)[list(rows)]  # (4, L)
        for f in range(nf):
            for i in np.flatnonzero(fires(act[f], thresh)):
                counts[f] += x[:, i : i + k]
    return counts


def q8_candidates(seqs: Sequence[str], state: dict, thresh: float | None) -> list:
    t = 0.0 if thresh is None else thresh
    return [
        (
            "the activations were taken after the ReLU; use the conv layer's output "
            "(bias included, before ReLU): with a negative threshold every window "
            "counts after a ReLU",
            lambda: activation_counts(
                seqs, state, t, fires=lambda a, u: np.maximum(a, 0) > u
            ),
        ),
        (
            "a window counts when its activation is strictly greater than act_thresh "
            "(>, not >=)",
            lambda: activation_counts(seqs, state, t, fires=lambda a, u: a >= u),
        ),
        (
            "the bias was left out; the activation is the conv output, bias included",
            lambda: activation_counts(seqs, state, t, bias=False),
        ),
        (
            "the rows are in A, T, G, C order; they are A, C, G, T",
            lambda: activation_counts(seqs, state, t, rows=ATGC_COLUMNS),
        ),
        (
            "windows below the threshold were counted instead of above it",
            lambda: activation_counts(seqs, state, t, fires=lambda a, u: a < u),
        ),
    ]


QUESTIONS = [
    Q1Conv1dValid,
    Q2ConvFormulas,
    Q3OneHot,
    Q4ScoringTask,
    Q5PWMScan,
    Q6DNACNN,
    Q7TrainModel,
    Q8FilterActivations,
]
