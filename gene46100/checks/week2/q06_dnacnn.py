"""week2 q6: the student's ``DNA_CNN`` against the reference forward pass.

The class is built with the reference's random weights (its layers must be named
``conv`` and ``fc``, 609 parameters for ``seq_len`` 8), its forward pass matches
conv -> ReLU -> flatten -> fc on fresh batches (float32, rtol 1e-5), and it returns
shape ``(N, 1)``, also for a batch of one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    close,
    guarded,
    outcome_value,
)
from gene46100.checks.helpers import (
    Candidate,
    expect_tensor,
    first_match,
    register_state,
    wrong,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.week2.common import cnn_forward, cnn_state
from gene46100.contract.results import QuestionRun


@dataclass(frozen=True)
class Net:
    """One ``DNA_CNN`` probe: its sizes, weights, input batch and constructor form."""

    config: tuple[int, int, int]  # (seq_len, num_filters, kernel_size)
    state: dict[str, np.ndarray]  # the reference weights it loads
    x: np.ndarray  # the float32 (N, seq_len, 4) batch it is called on
    obj: dict[str, Any]  # the {"$new": "DNA_CNN", ...} argument that builds it


@dataclass
class Facts:
    """What scoring reads (trusted-only): each case's network and hidden batch."""

    cases: dict[str, Net] = field(default_factory=dict)


class Q6DNACNN(Question):
    """q6: the student's ``DNA_CNN`` loads the reference weights and matches it."""

    name = "q6"
    names = ("DNA_CNN",)

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        plan = Plan(facts=Facts())
        configs = {"default": (8, 32, 3, None)}
        for case, n in (("custom", None), ("one", 1)):
            L = int(rng.integers(10, 21))
            configs[case] = (L, int(rng.integers(2, 13)), int(rng.integers(2, 7)), n)
        cases = plan.facts.cases
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
            cases[case] = Net(config=(L, nf, k), state=state, x=x, obj=obj)
            plan.call_method(case, obj, "forward", plan.tensor(f"{case}_x", x))
        plan.call_method("build", cases["default"].obj, "eval")
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        cases = plan.facts.cases
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
    def _name(c: Net) -> str:
        L, nf, k = c.config
        return f"DNA_CNN({L}, num_filters={nf}, kernel_size={k})"

    def _check_build(self, run: QuestionRun) -> None:
        outcome = run.outcomes.get("build")
        if outcome is not None and "state_dict" in outcome.error_message:
            raise Mismatch(
                "loading the reference weights into DNA_CNN(8) failed: "
                + load_hint(outcome.error_message)
            )
        outcome_value(run, "build", "building DNA_CNN(8)")

    def _output(self, run: QuestionRun, case: str, c: Net) -> tuple[str, np.ndarray]:
        what = f"{self._name(c)} on a batch of {len(c.x)}"
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

    def _check_values(self, run: QuestionRun, cases: dict[str, Net]) -> None:
        for case in ("default", "custom"):
            c = cases[case]
            what, got = self._output(run, case, c)
            expected = cnn_forward(c.state, c.x)
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

    def _check_shapes(self, run: QuestionRun, cases: dict[str, Net]) -> None:
        for case, c in cases.items():
            what, got = self._output(run, case, c)
            n = len(c.x)
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


def q6_candidates(c: Net) -> list[Candidate]:
    state, x = c.state, c.x
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


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``DNA_CNN`` classes and what their feedback says."""
    import torch.nn.functional as F
    from torch import nn

    class VariantCNN(nn.Module):
        """The right layers; subclasses change one step of forward."""

        def __init__(self, seq_len, num_filters=32, kernel_size=3):
            super().__init__()
            self.conv = nn.Conv1d(4, num_filters, kernel_size)
            self.fc = nn.Linear(num_filters * (seq_len - kernel_size + 1), 1)

        def arrange(self, x):
            return x.permute(0, 2, 1)

        def act(self, h):
            return torch.relu(h)

        def finish(self, z):
            return z

        def forward(self, x):
            h = self.act(self.conv(self.arrange(x)))
            return self.finish(self.fc(h.flatten(1)))

    class CNNReshape(VariantCNN):
        def arrange(self, x):
            return x.reshape(x.shape[0], 4, x.shape[1])

    class CNNNoPermute(VariantCNN):
        def arrange(self, x):
            return x

    class CNNNoReLU(VariantCNN):
        def act(self, h):
            return h

    class CNNSqueezed(VariantCNN):
        def finish(self, z):
            return z.squeeze(1)

    class CNNFlattenByPosition(VariantCNN):
        def forward(self, x):
            h = torch.relu(self.conv(x.permute(0, 2, 1)))
            return self.fc(h.permute(0, 2, 1).flatten(1))

    class CNNMaxPool(VariantCNN):
        def __init__(self, seq_len, num_filters=32, kernel_size=3):
            super().__init__(seq_len, num_filters, kernel_size)
            self.fc = nn.Linear(num_filters * ((seq_len - kernel_size + 1) // 2), 1)

        def forward(self, x):
            h = F.max_pool1d(torch.relu(self.conv(x.permute(0, 2, 1))), 2)
            return self.fc(h.flatten(1))

    class CNNWrongNames(nn.Module):
        def __init__(self, seq_len, num_filters=32, kernel_size=3):
            super().__init__()
            self.conv1 = nn.Conv1d(4, num_filters, kernel_size)
            self.linear = nn.Linear(num_filters * (seq_len - kernel_size + 1), 1)

        def forward(self, x):
            return self.linear(torch.relu(self.conv1(x.permute(0, 2, 1))).flatten(1))

    return [
        KnownWrong({"DNA_CNN": CNNReshape}, "permute", "reshape-not-permute"),
        KnownWrong({"DNA_CNN": CNNNoPermute}, "Permute the input", "no-permute"),
        KnownWrong(
            {"DNA_CNN": CNNNoReLU}, "ReLU between conv and fc is missing", "no-relu"
        ),
        KnownWrong({"DNA_CNN": CNNSqueezed}, "squeezed", "squeezed"),
        KnownWrong({"DNA_CNN": CNNFlattenByPosition}, "h.flatten(1)", "flatten-order"),
        KnownWrong(
            {"DNA_CNN": CNNMaxPool}, "fc has the wrong number of inputs", "maxpool"
        ),
        KnownWrong({"DNA_CNN": CNNWrongNames}, "self.conv and self.fc", "wrong-names"),
    ]
