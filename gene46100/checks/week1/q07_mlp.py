"""week1 q7: see ``Q7MLP``."""

from __future__ import annotations

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
from gene46100.checks.week1.common import (
    float32_state,
    numpy_forward,
    reference_mlp,
    relu,
    sigmoid,
)
from gene46100.contract.results import QuestionRun


class Q7MLP(Question):
    """q7: the student's ``MLP`` loads the reference state_dict and matches it."""

    name = "q7"
    names = ("MLP",)

    def plan(self, rng: np.random.Generator) -> Plan:
        plan = Plan()
        cases = {}
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
            cases[case] = {
                "state": state,
                "x": x,
                "obj": {
                    "$new": "MLP",
                    "args": [in_dim, hid, out],
                    "state": register_state(plan, case, state),
                },
            }
            plan.call_method(
                case, cases[case]["obj"], "forward", plan.tensor(f"{case}_x", x)
            )
        plan.call_method("build", cases["batch0"]["obj"], "eval")  # build + load only
        plan.context["cases"] = cases
        return plan

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        cases = plan.context["cases"]
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

    def _output(self, run: QuestionRun, case: str, c: dict) -> tuple[str, np.ndarray]:
        in_dim, hid, out = c["obj"]["args"]
        what = f"MLP({in_dim}, {hid}, {out}) on a batch of {len(c['x'])}"
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
    def expected(plan: Plan, case: str) -> np.ndarray:
        """The reference MLP's output on ``case``, once per plan, not per submission."""
        c = plan.context["cases"][case]
        return plan.memo(f"forward:{case}", lambda: reference_forward(c))

    def _check_values(self, run: QuestionRun, plan: Plan) -> None:
        cases = plan.context["cases"]
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

    def _check_shapes(self, run: QuestionRun, cases: dict) -> None:
        for case in ("batch0", "batch1", "one"):
            what, got = self._output(run, case, cases[case])
            n = len(cases[case]["x"])
            if got.shape != (n,):
                raise Mismatch(
                    f"{what} should return shape ({n},); got {got.shape}"
                    + mlp_shape_hint(got.shape, n)
                )

    def _check_multi(self, run: QuestionRun, plan: Plan) -> None:
        c = plan.context["cases"]["multi"]
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


def reference_forward(c: dict) -> np.ndarray:
    import torch

    with torch.no_grad():
        return (
            reference_mlp(c["state"])(torch.from_numpy(c["x"]))
            .numpy()
            .astype(np.float64)
        )


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


def q7_candidates(c: dict) -> list[Candidate]:
    state, x = c["state"], c["x"]
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
