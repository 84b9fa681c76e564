"""week3a q3: ``TFBindingCNN``: the default model's parameters (2,814,156, in layers
conv and fc), and its forward pass, loaded with the reference's weights, against the
reference on hidden batches: values, and the output shape (N, num_outputs), also for
a batch of one."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    adapter_source,
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
from gene46100.checks.week3a.common import (
    ADAPTER_HEADER,
    _grader_param_report,
    dict_items,
    load_model,
    onehot_batch,
    reference_cnn,
    state_arrays,
)
from gene46100.contract.results import QuestionRun
from gene46100_ref import week3a as ref
from gene46100_ref.seeding import seeded_torch

CNN_CASES = {"small": (40, 5, 6, 40, 7), "one": (25, 3, 4, 10, 1)}


@dataclass(frozen=True)
class Net:
    """One forward probe: the model's arguments, its weights and the input batch."""

    args: list[int]  # seq_len, num_filters, kernel_size, num_outputs
    state: dict[str, np.ndarray]  # the reference's state_dict
    x: np.ndarray  # float32 (N, seq_len, 4) one-hot batch


@dataclass
class Facts:
    """What scoring reads (trusted-only): each forward probe's network, by id."""

    cases: dict[str, Net] = field(default_factory=dict)


class Q3TFBindingCNN(Question):
    """q3: ``TFBindingCNN`` loads the reference state_dict and matches its outputs."""

    name = "q3"
    names = ("TFBindingCNN",)
    adapters = adapter_source(_grader_param_report, header=ADAPTER_HEADER)

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        plan = Plan(facts=Facts())
        plan.call("default", "_grader_param_report", {"$new": "TFBindingCNN"})
        for case, (length, filters, k, outputs, n) in CNN_CASES.items():
            args = [length, filters, k, outputs]
            with seeded_torch(int(rng.integers(2**31))):
                state = state_arrays(ref.TFBindingCNN(*args))
            seqs = ["".join(rng.choice(list("ACGT"), size=length)) for _ in range(n)]
            x = onehot_batch(seqs)
            obj = {
                "$new": "TFBindingCNN",
                "args": args,
                "state": register_state(plan, case, state),
            }
            plan.call_method(case, obj, "forward", plan.tensor(f"{case}_x", x))
            plan.facts.cases[case] = Net(args, state, x)
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        cases = plan.facts.cases
        return [
            guarded(
                "TFBindingCNN() has 2,814,156 parameters in layers conv and fc",
                lambda: self._check_count(run),
            ),
            guarded(
                "forward matches the reference from the same weights",
                lambda: self._check_values(run, cases),
                weight=2.0,
            ),
            guarded(
                "output shape (N, num_outputs), also for a batch of one",
                lambda: self._check_shapes(run, cases),
            ),
        ]

    def _check_count(self, run: QuestionRun) -> None:
        what = "TFBindingCNN() with the default arguments"
        out = dict_items(outcome_value(run, "default", what), what)
        shapes = {
            k: tuple(v.data for v in s.data) for k, s in out["shapes"].data.items()
        }
        expected = {
            k: tuple(v.shape) for k, v in ref.TFBindingCNN().state_dict().items()
        }
        count = out["count"].data
        if count == 2_814_156 and shapes == expected:
            return
        if set(shapes) != set(expected):
            raise Mismatch(
                f"{what} has the parameters {sorted(shapes)}; expected "
                f"{sorted(expected)}: name the layers self.conv and self.fc "
                "and add no others"
            )
        raise Mismatch(
            f"{what} has {count:,} parameters; expected 2,814,156" + count_hint(shapes)
        )

    def _output(self, run: QuestionRun, case: str, c: Net) -> tuple[str, np.ndarray]:
        what = f"TFBindingCNN{tuple(c.args)} on a batch of {len(c.x)}"
        outcome = run.outcomes.get(case)
        if outcome is not None and "state_dict" in outcome.error_message:
            raise Mismatch(
                f"{what} could not load the reference weights: use exactly "
                "self.conv = nn.Conv1d(4, num_filters, kernel_size) and "
                "self.fc = nn.Linear(num_filters * (seq_len - kernel_size + "
                "1), num_outputs)"
            )
        return what, expect_tensor(outcome_value(run, case, what), what)

    def _check_values(self, run: QuestionRun, cases: dict[str, Net]) -> None:
        for case, c in cases.items():
            what, got = self._output(run, case, c)
            expected = reference_cnn(c.args, c.state, c.x)
            if got.size != expected.size:
                raise Mismatch(
                    f"{what} gave {got.size} numbers; expected "
                    f"{expected.size} (num_outputs per sequence)"
                )
            got = got.reshape(expected.shape)
            if not close(got, expected, rtol=1e-4, atol=1e-5):
                raise wrong(
                    what,
                    got,
                    expected,
                    first_match(got, q3_candidates(c), rtol=1e-4, atol=1e-5),
                    "permute (N, L, 4) -> (N, 4, L), conv, ReLU, flatten, fc",
                )

    def _check_shapes(self, run: QuestionRun, cases: dict[str, Net]) -> None:
        for case, c in cases.items():
            what, got = self._output(run, case, c)
            expected = (len(c.x), c.args[3])
            if got.shape != expected:
                hint = (
                    ": .squeeze() removed the batch dimension of a batch of one"
                    if got.shape == expected[1:]
                    else ""
                )
                raise Mismatch(
                    f"{what} should return shape {expected}; got {got.shape}{hint}"
                )


def count_hint(shapes: dict[str, tuple]) -> str:
    fc_in = shapes.get("fc.weight", (0, 0))[1]
    if fc_in == 32 * 300:
        return (
            ": fc takes num_filters * seq_len inputs, but a convolution without "
            "padding leaves seq_len - kernel_size + 1 positions"
        )
    if fc_in == 32 * 292:
        return ": the conv output has seq_len - kernel_size + 1 positions (off by one)"
    return ""


def cnn_variant(
    c: Net, activation=torch.relu, out=lambda z: z, layout: str = "permute"
) -> np.ndarray:
    """The reference network with one known mistake."""
    model = load_model("cnn", c.args, c.state)
    x = torch.from_numpy(c.x)
    n, length, _ = x.shape
    x = x.permute(0, 2, 1) if layout == "permute" else x.reshape(n, 4, length)
    with torch.no_grad():
        h = activation(model.conv(x))
        return out(model.fc(h.flatten(1))).numpy().astype(np.float64)


def q3_candidates(c: Net) -> list[Candidate]:
    return [
        (
            (
                "view/reshape to (N, 4, L) keeps the memory order and scrambles bases "
                "and positions: use x.permute(0, 2, 1)"
            ),
            lambda: cnn_variant(c, layout="reshape"),
        ),
        (
            "the ReLU after the convolution is missing",
            lambda: cnn_variant(c, activation=lambda z: z),
        ),
        (
            "there is a ReLU after fc: scores are not bounded, leave the output linear",
            lambda: cnn_variant(c, out=torch.relu),
        ),
        (
            (
                "there is a sigmoid after fc: the targets are scores far above 1, "
                "leave the output linear"
            ),
            lambda: cnn_variant(c, out=torch.sigmoid),
        ),
    ]


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``TFBindingCNN`` answers and what their feedback says."""
    from torch import nn

    class CNNView(ref.TFBindingCNN):
        def forward(self, x):
            n, length, _ = x.shape
            return self.fc(torch.relu(self.conv(x.reshape(n, 4, length))).flatten(1))

    class CNNNoReLU(ref.TFBindingCNN):
        def forward(self, x):
            return self.fc(self.conv(x.permute(0, 2, 1)).flatten(1))

    class CNNReLUOut(ref.TFBindingCNN):
        def forward(self, x):
            return torch.relu(super().forward(x))

    class CNNSqueeze(ref.TFBindingCNN):
        def forward(self, x):
            return super().forward(x).squeeze()

    class CNNNoPositions(nn.Module):
        def __init__(self, seq_len=300, num_filters=32, kernel_size=8, num_outputs=300):
            super().__init__()
            self.conv = nn.Conv1d(4, num_filters, kernel_size, padding="same")
            self.fc = nn.Linear(num_filters * seq_len, num_outputs)

        def forward(self, x):
            return self.fc(torch.relu(self.conv(x.permute(0, 2, 1))).flatten(1))

    return [
        KnownWrong({"TFBindingCNN": CNNView}, "x.permute(0, 2, 1)", "view-not-permute"),
        KnownWrong(
            {"TFBindingCNN": CNNNoReLU},
            "ReLU after the convolution is missing",
            "no-relu",
        ),
        KnownWrong({"TFBindingCNN": CNNReLUOut}, "ReLU after fc", "relu-on-output"),
        KnownWrong(
            {"TFBindingCNN": CNNSqueeze}, "removed the batch dimension", "squeezed"
        ),
        KnownWrong(
            {"TFBindingCNN": CNNNoPositions},
            "seq_len - kernel_size + 1 positions",
            "no-positions",
        ),
    ]
