"""week2 q2: ``conv_output_length`` and ``conv1d_param_count`` against real layers.

The output length PyTorch's ``F.conv1d`` produces (the course's sizes, then hidden
sizes with a stride and padding where the floor matters) and the parameter count of
``nn.Conv1d`` (with and without a bias); integer answers, a float is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

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
    times,
)
from gene46100.checks.known import KnownWrong
from gene46100.contract.results import QuestionRun


@dataclass
class Facts:
    """What scoring reads (trusted-only): the sizes of each call, by case."""

    # (L, k, stride, padding) of each conv_output_length call
    lengths: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    # (in_ch, out_ch, k, bias) of each conv1d_param_count call
    counts: dict[str, tuple[int, int, int, bool]] = field(default_factory=dict)


class Q2ConvFormulas(Question):
    """q2: output length and parameter count vs real ``nn.Conv1d`` layers."""

    name = "q2"
    names = ("conv_output_length", "conv1d_param_count")

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
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
        plan = Plan(facts=Facts(lengths=lengths, counts=counts))
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
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        return [
            guarded(
                "conv_output_length equals what nn.Conv1d produces",
                lambda: self._check_lengths(run, plan.facts.lengths),
            ),
            guarded(
                "conv1d_param_count equals the parameters of nn.Conv1d",
                lambda: self._check_counts(run, plan.facts.counts),
            ),
        ]

    def _check_lengths(
        self, run: QuestionRun, lengths: dict[str, tuple[int, int, int, int]]
    ) -> None:
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

    def _check_counts(
        self, run: QuestionRun, counts: dict[str, tuple[int, int, int, bool]]
    ) -> None:
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


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``conv_output_length``/``conv1d_param_count`` answers and what
    their feedback says."""

    def length_no_plus_one(L, k, stride=1, padding=0):
        return (L + 2 * padding - k) // stride

    def length_padding_once(L, k, stride=1, padding=0):
        return (L + padding - k) // stride + 1

    def length_float(L, k, stride=1, padding=0):
        return (L + 2 * padding - k) / stride + 1

    def length_ignores_stride(L, k, stride=1, padding=0):
        return L + 2 * padding - k + 1

    def params_no_bias(in_ch, out_ch, k, bias=True):
        return out_ch * in_ch * k

    def params_bias_per_input(in_ch, out_ch, k, bias=True):
        return out_ch * in_ch * k + (in_ch if bias else 0)

    def params_always_bias(in_ch, out_ch, k, bias=True):
        return out_ch * in_ch * k + out_ch

    return [
        KnownWrong(
            {"conv_output_length": length_no_plus_one}, "off by one", "length-no-+1"
        ),
        KnownWrong(
            {"conv_output_length": length_padding_once}, "both ends", "padding-once"
        ),
        KnownWrong(
            {"conv_output_length": length_float}, "should be an int", "true-division"
        ),
        KnownWrong(
            {"conv_output_length": length_ignores_stride},
            "stride is ignored",
            "ignores-stride",
        ),
        KnownWrong(
            {"conv1d_param_count": params_no_bias}, "biases are missing", "no-bias"
        ),
        KnownWrong(
            {"conv1d_param_count": params_bias_per_input},
            "per input channel",
            "bias-per-input",
        ),
        KnownWrong(
            {"conv1d_param_count": params_always_bias},
            "bias=False was ignored",
            "ignores-bias-flag",
        ),
    ]
