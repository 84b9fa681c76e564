"""week1 q7: the student's ``MLP`` class: it loads a hidden state_dict of the
reference's layout (fc1, fc2), its forward matches the reference's at float32
precision, and its output has shape (N,) (a batch of one too) or (N, output_dim)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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
from gene46100.checks.week1.common import (
    float32_state,
    numpy_forward,
    reference_mlp,
    relu,
    sigmoid,
)
from gene46100.contract.results import QuestionRun


@dataclass(frozen=True)
class MLPCase:
    """One q7 probe: the hidden weights and inputs, and the MLP the sandbox builds."""

    state: dict[str, np.ndarray]
    x: np.ndarray
    obj: dict  # the probe's ``{"$new": "MLP", "args": [in, hid, out], ...}``


@dataclass
class Facts:
    """What scoring reads (trusted-only): each probe's hidden case, by probe id."""

    cases: dict[str, MLPCase] = field(default_factory=dict)


class Q7MLP(Question):
    """q7: the student's ``MLP`` loads the reference state_dict and matches it."""

    name = "q7"
    names = ("MLP",)

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        plan = Plan(facts=Facts())
        cases = plan.facts.cases
        for case, out, n in (
            ("batch0", 1, None),
            ("batch1", 1, None),
            ("one", 1, 1),
            ("multi", 2, None),
        ):
            in_dim, hid = int(rng.integers(1, 6)), int(rng.integers(4, 33))
            n = n or int(rng.integers(10, 40))
            state = float32_state(rng, [in_dim, hid, out])
            x = rng.normal(size=(n, in_dim)).astype(np.float32)
            obj = {
                "$new": "MLP",
                "args": [in_dim, hid, out],
                "state": register_state(plan, case, state),
            }
            cases[case] = MLPCase(state, x, obj)
            plan.call_method(case, obj, "forward", plan.tensor(f"{case}_x", x))
        plan.call_method("build", cases["batch0"].obj, "eval")  # build + load only
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        cases = plan.facts.cases
        return [
            guarded(
                "loads the reference state_dict (layers fc1, fc2)",
                lambda: self._check_build(run),
            ),
            guarded(
                "forward matches the reference (float32, rtol 1e-5)",
                lambda: self._check_values(run, plan),
                weight=2.0,
            ),
            guarded(
                "output shape (N,), also for a batch of one",
                lambda: self._check_shapes(run, cases),
            ),
            guarded(
                "output_dim > 1 gives (N, output_dim)",
                lambda: self._check_multi(run, plan),
                weight=0.5,
            ),
        ]

    def _output(
        self, run: QuestionRun, case: str, c: MLPCase
    ) -> tuple[str, np.ndarray]:
        in_dim, hid, out = c.obj["args"]
        what = f"MLP({in_dim}, {hid}, {out}) on a batch of {len(c.x)}"
        outcome = run.outcomes.get(case)
        if outcome is not None and "loading state_dict" in outcome.error_message:
            raise Mismatch(
                f"{what} could not load the reference weights: "
                + load_state_hint(outcome.error_message)
            )
        return what, expect_tensor(outcome_value(run, case, what), what)

    def _check_build(self, run: QuestionRun) -> None:
        outcome = run.outcomes.get("build")
        if outcome is not None and "loading state_dict" in outcome.error_message:
            raise Mismatch(
                "loading the reference state_dict into your MLP failed: "
                + load_state_hint(outcome.error_message)
                + f" (the error: {outcome.error_message})"
            )
        outcome_value(run, "build", "building MLP(input_dim, hid_dim, output_dim)")

    @staticmethod
    def expected(plan: Plan[Facts], case: str) -> np.ndarray:
        """The reference MLP's output on ``case``, once per plan, not per submission."""
        c = plan.facts.cases[case]
        return plan.memo(f"forward:{case}", lambda: reference_forward(c))

    def _check_values(self, run: QuestionRun, plan: Plan[Facts]) -> None:
        cases = plan.facts.cases
        for case in ("batch0", "batch1"):
            what, got = self._output(run, case, cases[case])
            expected = self.expected(plan, case)
            if got.size != expected.size:
                raise Mismatch(
                    f"{what} gave {got.size} numbers; expected {expected.size}"
                    " (one per sample)"
                )
            got = got.reshape(expected.shape)  # the shape check is separate
            if not close(got, expected, rtol=1e-5, atol=1e-6):
                hint = first_match(
                    got, q7_candidates(cases[case]), rtol=1e-4, atol=1e-5
                )
                raise wrong(what, got, expected, hint, "forward is fc2(relu(fc1(x)))")

    def _check_shapes(self, run: QuestionRun, cases: dict[str, MLPCase]) -> None:
        for case in ("batch0", "batch1", "one"):
            what, got = self._output(run, case, cases[case])
            n = len(cases[case].x)
            if got.shape != (n,):
                raise Mismatch(
                    f"{what} should return shape ({n},); got {got.shape}"
                    + mlp_shape_hint(got.shape, n)
                )

    def _check_multi(self, run: QuestionRun, plan: Plan[Facts]) -> None:
        c = plan.facts.cases["multi"]
        what, got = self._output(run, "multi", c)
        expected = self.expected(plan, "multi")
        if got.shape != expected.shape:
            hint = (
                ": .squeeze(1) leaves (N, output_dim) alone when output_dim > 1; "
                "view(-1), flatten() or squeeze() merge the outputs"
                if got.size == expected.size
                else ""
            )
            raise Mismatch(
                f"{what} should return shape {expected.shape}; got {got.shape}{hint}"
            )
        if not close(got, expected, rtol=1e-5, atol=1e-6):
            raise wrong(
                what, got, expected, "", "forward is fc2(relu(fc1(x))).squeeze(1)"
            )


def reference_forward(c: MLPCase) -> np.ndarray:
    import torch

    with torch.no_grad():
        return reference_mlp(c.state)(torch.from_numpy(c.x)).numpy().astype(np.float64)


def load_state_hint(message: str) -> str:
    if "size mismatch" in message:
        return (
            "a layer has the wrong shape; use fc1 = nn.Linear(input_dim, hid_dim) and "
            "fc2 = nn.Linear(hid_dim, output_dim)"
        )
    return (
        "the parameter names differ; name the layers self.fc1 and self.fc2 (keys "
        "fc1.weight, fc1.bias, fc2.weight, fc2.bias) and add no other parameters"
    )


def mlp_shape_hint(shape: tuple[int, ...], n: int) -> str:
    if shape == (n, 1):
        return ": forward forgot the final .squeeze(1)"
    if shape == () and n == 1:
        return (
            ": .squeeze() removed the batch dimension of a batch of one; use "
            ".squeeze(1)"
        )
    return ""


def q7_candidates(c: MLPCase) -> list[Candidate]:
    state, x = c.state, c.x
    return [
        (
            "the outputs are a linear function of x: the ReLU between fc1 and fc2 is "
            "missing",
            lambda: numpy_forward(state, x, lambda z: z),
        ),
        (
            "there is a ReLU after fc2 too; apply it only between fc1 and fc2",
            lambda: numpy_forward(state, x, relu, relu),
        ),
        (
            "that is a sigmoid between the layers; use ReLU",
            lambda: numpy_forward(state, x, sigmoid),
        ),
        (
            "that is tanh between the layers; use ReLU",
            lambda: numpy_forward(state, x, np.tanh),
        ),
    ]


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``MLP`` classes and what their feedback says."""
    import torch
    from torch import nn

    class VariantMLP(nn.Module):
        """The right layers; subclasses change the activation or the output step."""

        def __init__(self, input_dim: int, hid_dim: int, output_dim: int) -> None:
            super().__init__()
            self.fc1 = nn.Linear(input_dim, hid_dim)
            self.fc2 = nn.Linear(hid_dim, output_dim)

        def act(self, z: torch.Tensor) -> torch.Tensor:
            return torch.relu(z)

        def finish(self, z: torch.Tensor) -> torch.Tensor:
            return z.squeeze(1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.finish(self.fc2(self.act(self.fc1(x))))

    class MLPNoSqueeze(VariantMLP):
        def finish(self, z):
            return z

    class MLPSqueezeAll(VariantMLP):
        def finish(self, z):
            return z.squeeze()

    class MLPFlatten(VariantMLP):
        def finish(self, z):
            return z.flatten()

    class MLPNoReLU(VariantMLP):
        def act(self, z):
            return z

    class MLPSigmoid(VariantMLP):
        def act(self, z):
            return torch.sigmoid(z)

    class MLPWrongNames(nn.Module):
        def __init__(self, input_dim: int, hid_dim: int, output_dim: int) -> None:
            super().__init__()
            self.hidden = nn.Linear(input_dim, hid_dim)
            self.out = nn.Linear(hid_dim, output_dim)

        def forward(self, x):
            return self.out(torch.relu(self.hidden(x))).squeeze(1)

    class MLPIgnoresOutputDim(VariantMLP):
        def __init__(self, input_dim: int, hid_dim: int, output_dim: int) -> None:
            super().__init__(input_dim, hid_dim, 1)

    return [
        KnownWrong({"MLP": MLPNoSqueeze}, "squeeze(1)", "no-squeeze"),
        KnownWrong({"MLP": MLPSqueezeAll}, "batch of one", "squeeze-all"),
        KnownWrong({"MLP": MLPFlatten}, "merge the outputs", "flatten"),
        KnownWrong(
            {"MLP": MLPNoReLU}, "ReLU between fc1 and fc2 is missing", "no-relu"
        ),
        KnownWrong({"MLP": MLPSigmoid}, "sigmoid", "sigmoid"),
        KnownWrong({"MLP": MLPWrongNames}, "self.fc1 and self.fc2", "wrong-names"),
        KnownWrong({"MLP": MLPIgnoresOutputDim}, "wrong shape", "ignores-output-dim"),
    ]
