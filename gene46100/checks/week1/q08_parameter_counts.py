"""week1 q8: ``count_parameters`` on grader-built MLPs (trainable parameters only,
some frozen) and ``mlp_param_count`` by formula on public and hidden layer lists,
both exact, with the usual counting mistakes named."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

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
from gene46100.checks.week1.common import MLP_ADAPTERS, grader_mlp, ref
from gene46100.contract.results import QuestionRun


@dataclass
class Facts:
    """What scoring reads (trusted-only): each grader MLP's layer widths and frozen
    parameters, and each layer list given to ``mlp_param_count``, by probe id."""

    models: dict[str, tuple[list[int], list[str]]] = field(default_factory=dict)
    layer_lists: dict[str, list[int]] = field(default_factory=dict)


class Q8ParameterCounts(Question):
    """q8: ``count_parameters`` (trainable only) and ``mlp_param_count`` by formula."""

    name = "q8"
    names = ("count_parameters", "mlp_param_count")
    adapters = MLP_ADAPTERS

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        plan = Plan(facts=Facts())
        models = plan.facts.models
        for i, n_layers in enumerate((2, 3, 3)):
            sizes = (
                [int(rng.integers(1, 21))]
                + [int(s) for s in rng.integers(1, 200, n_layers - 1)]
                + [int(rng.integers(1, 6))]
            )
            names = [
                f"fc{j}.{kind}"
                for j in range(1, n_layers + 1)
                for kind in ("weight", "bias")
            ]
            frozen = (
                []
                if i < 2
                else sorted(str(s) for s in rng.choice(names, size=2, replace=False))
            )
            models[f"count{i}"] = (sizes, frozen)
            plan.call(f"count{i}", "count_parameters", grader_mlp(sizes, frozen=frozen))
        layer_lists = plan.facts.layer_lists
        layer_lists.update(formula_small=[2, 3, 1], formula_wide=[1, 1024, 1])
        for i in range(3):
            length = int(rng.integers(2, 6))
            layer_lists[f"formula{i}"] = [int(s) for s in rng.integers(1, 200, length)]
        for case, sizes in layer_lists.items():
            plan.call(case, "mlp_param_count", sizes)
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        return [
            guarded(
                "count_parameters counts trainable parameters only",
                lambda: self._check_count(run, plan.facts.models),
            ),
            guarded(
                "mlp_param_count by formula",
                lambda: self._check_formula(run, plan.facts.layer_lists),
            ),
        ]

    def _check_count(
        self, run: QuestionRun, models: dict[str, tuple[list[int], list[str]]]
    ) -> None:
        for case, (sizes, frozen) in models.items():
            what = f"count_parameters on a hidden {len(sizes) - 1}-layer MLP" + (
                " with some frozen parameters" if frozen else ""
            )
            got = expect_number(outcome_value(run, case, what), what, integer=True)
            shapes = parameter_sizes(sizes)
            expected = sum(v for k, v in shapes.items() if k not in frozen)
            if got != expected:
                hint = first_match(got, q8_count_candidates(shapes, frozen), 0.0, 0.0)
                raise Mismatch(
                    f"{what} is wrong ({times(got, expected)})"
                    + (
                        f": {hint}"
                        if hint
                        else "; add p.numel() over parameters with requires_grad"
                    )
                )

    def _check_formula(
        self, run: QuestionRun, layer_lists: dict[str, list[int]]
    ) -> None:
        for case, sizes in layer_lists.items():
            public = case in ("formula_small", "formula_wide")
            what = (
                f"mlp_param_count({sizes})"
                if public
                else f"mlp_param_count on a hidden list of {len(sizes)} layer sizes"
            )
            got = expect_number(outcome_value(run, case, what), what, integer=True)
            expected = ref.mlp_param_count(sizes)
            if got != expected:
                hint = first_match(got, q8_formula_candidates(sizes), 0.0, 0.0)
                shown = (
                    f"should be {expected}; got {int(got)}"
                    if public
                    else f"is wrong ({times(got, expected)})"
                )
                raise Mismatch(
                    f"{what} {shown}"
                    + (
                        f": {hint}"
                        if hint
                        else "; each layer a -> b has a * b weights and b biases"
                    )
                )


def parameter_sizes(sizes: Sequence[int]) -> dict[str, int]:
    """Entries of each parameter of the grader's ``_grader_mlp`` of these widths."""
    out = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        out[f"fc{i}.weight"], out[f"fc{i}.bias"] = a * b, b
    return out


def q8_count_candidates(
    shapes: dict[str, int], frozen: Sequence[str]
) -> list[Candidate]:
    trainable = {k: v for k, v in shapes.items() if k not in frozen}
    return [
        (
            "frozen parameters were counted too; count only those with requires_grad",
            lambda: sum(shapes.values()),
        ),
        (
            "the biases are missing",
            lambda: sum(v for k, v in trainable.items() if k.endswith("weight")),
        ),
        (
            "that counts parameter tensors, not their entries; use p.numel()",
            lambda: len(trainable),
        ),
        (
            "that counts only the frozen parameters; keep those with "
            "requires_grad True",
            lambda: sum(v for k, v in shapes.items() if k in frozen) if frozen else -1,
        ),
    ]


def q8_formula_candidates(sizes: Sequence[int]) -> list[Candidate]:
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    return [
        (
            "the biases are missing: each layer a -> b also has b biases",
            lambda: sum(a * b for a, b in pairs),
        ),
        (
            "one bias per input unit; a layer a -> b has (a + 1) * b parameters, "
            "with b biases",
            lambda: sum(a * (b + 1) for a, b in pairs),
        ),
        ("that counts units (neurons), not parameters", lambda: sum(sizes)),
        (
            "the input layer got biases too; only layers after the input have biases",
            lambda: sum(a * b for a, b in pairs) + sum(sizes),
        ),
    ]


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong parameter counts and what their feedback says."""

    def count_all(model):
        return sum(p.numel() for p in model.parameters())

    def count_weights_only(model):
        return sum(
            p.numel() for n, p in model.named_parameters() if n.endswith("weight")
        )

    def count_tensors(model):
        return len([p for p in model.parameters() if p.requires_grad])

    def formula_no_bias(sizes):
        return sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    def formula_bias_per_input(sizes):
        return sum(a * (b + 1) for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    return [
        KnownWrong(
            {"count_parameters": count_all},
            "frozen parameters were counted",
            "counts-frozen",
        ),
        KnownWrong(
            {"count_parameters": count_weights_only}, "biases are missing", "no-bias"
        ),
        KnownWrong({"count_parameters": count_tensors}, "numel", "counts-tensors"),
        KnownWrong(
            {"mlp_param_count": formula_no_bias},
            "should be 13; got 9",
            "formula-no-bias",
        ),
        KnownWrong(
            {"mlp_param_count": formula_bias_per_input},
            "one bias per input unit",
            "formula-bias-per-input",
        ),
    ]
