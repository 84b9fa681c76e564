"""week3b q1: ``sweep_config()`` is the course's W&B sweep (course-facts.md section 5).

Its form (a dict with method, metric and parameters), the method (random search),
the metric (test_avg_pearsonr, to maximize), the six hyper-parameter names (with a
hint for a near miss: ``lr``, ``epochs``) and each one's ``{'values': [...]}`` list:
plain values of the right type, the course's values in any order, no repeats. It
asks for nothing hidden: its plan is one call without arguments.
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    guarded,
    outcome_value,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.week3b.common import (
    COURSE_VALUES,
    VALUE_TYPES,
    course_value,
    plain,
)
from gene46100.contract.results import QuestionRun

# The checks, in feedback order.
FORM = "returns a dict with method, metric and parameters"
METHOD = "method is random search"
METRIC = "metric is test_avg_pearsonr, to maximize"
NAMES = "parameters are the six hyper-parameters of the course"
VALUES = "each parameter lists the course's values as {'values': [...]}"


class Q1SweepConfig(Question):
    """q1: ``sweep_config()`` is the course's sweep: method, metric, six value lists."""

    name = "q1"
    names = ("sweep_config",)

    def plan(self, rng: np.random.Generator) -> Plan[None]:
        plan: Plan[None] = Plan()
        plan.call("config", "sweep_config")
        return plan

    def score(self, run: QuestionRun, plan: Plan[None]) -> list[Check]:
        return [
            guarded(FORM, lambda: q1_config(run)),
            guarded(METHOD, lambda: q1_method(q1_config(run))),
            guarded(METRIC, lambda: q1_metric(q1_config(run))),
            guarded(NAMES, lambda: q1_parameter_names(q1_config(run))),
            guarded(VALUES, lambda: q1_parameter_values(q1_config(run)), weight=2.0),
        ]


def q1_config(run: QuestionRun) -> dict:
    value = outcome_value(run, "config", "sweep_config()")
    if value.kind != "dict":
        raise Mismatch(f"sweep_config() should return a dict; got {value.type}")
    config = plain(value)
    missing = [k for k in ("method", "metric", "parameters") if k not in config]
    if missing:
        raise Mismatch(
            f"the sweep config lacks the key(s) {missing}; W&B needs "
            "'method', 'metric' and 'parameters'"
        )
    return config


METHOD_HINTS = {
    "grid": "grid search tries all 216 combinations; the course samples them at random "
    "('random')",
    "bayes": "Bayesian search is W&B's other option; the course's sweep is 'random'",
}


def q1_method(config: dict) -> None:
    method = config["method"]
    if method == "random":
        return
    hint = METHOD_HINTS.get(
        str(method).lower(),
        "W&B's methods are 'grid', 'random' and 'bayes'; the course uses 'random'",
    )
    if isinstance(method, str) and method.lower() == "random":
        hint = "write it in lower case, 'random'"
    raise Mismatch(f"config['method'] is {method!r}: {hint}")


METRIC_HINTS = {
    "best_pearsonr": "best_pearsonr is the single best-predicted window; the sweep "
    "ranks runs by the mean over all test windows, test_avg_pearsonr",
    "beast_pearsonr": "that misspelt key is from the 2025 notebook; the sweep ranks "
    "runs "
    "by test_avg_pearsonr",
    "val_loss": "val_loss is logged every epoch, but the course's sweep ranks runs by "
    "their test_avg_pearsonr",
    "train_loss": "a training loss says how well a run fits its own data; the course's "
    "sweep ranks runs by test_avg_pearsonr",
}


def q1_metric(config: dict) -> None:
    metric = config["metric"]
    if not isinstance(metric, dict) or not {"name", "goal"} <= set(metric):
        raise Mismatch(
            "config['metric'] should be a dict {'name': ..., 'goal': ...}; "
            f"got {metric!r}"[:200]
        )
    name, goal = metric["name"], metric["goal"]
    if name != "test_avg_pearsonr":
        hint = METRIC_HINTS.get(
            str(name),
            "use the exact key train_sweep logs, "
            "'test_avg_pearsonr' (W&B matches it by name)",
        )
        raise Mismatch(f"the metric name is {name!r}: {hint}")
    if goal != "maximize":
        hint = (
            "a correlation is better when higher: the goal is 'maximize'"
            if goal == "minimize"
            else "W&B's goals are 'maximize' and 'minimize'"
        )
        raise Mismatch(f"the metric goal is {goal!r}: {hint}")


ALIASES = {
    "lr": "learning_rate",
    "filters": "num_filters",
    "n_filters": "num_filters",
    "kernel": "kernel_size",
    "sigmoid": "add_sigmoid",
    "batch": "batch_size",
    "opt": "optimizer",
    "optim": "optimizer",
}


def suggest(name: str, missing: list[str]) -> str | None:
    """The missing parameter name that ``name`` most likely meant, if any."""
    alias = ALIASES.get(name.lower())
    if alias in missing:
        return alias
    near = difflib.get_close_matches(name, missing, n=1, cutoff=0.5)
    return near[0] if near else None


def q1_parameter_names(config: dict) -> None:
    parameters = config["parameters"]
    if not isinstance(parameters, dict):
        raise Mismatch(
            "config['parameters'] should be a dict from hyper-parameter "
            f"name to {{'values': [...]}}; got {type(parameters).__name__}"
        )
    missing = [n for n in COURSE_VALUES if n not in parameters]
    extra = [n for n in parameters if n not in COURSE_VALUES]
    if not missing and not extra:
        return
    parts, meant = [], set()
    for name in extra:
        target = suggest(str(name), missing)
        if target:
            meant.add(target)
            parts.append(
                f"{name!r} should be named {target!r} (train_sweep reads "
                "the config by these names)"
            )
        elif name == "epochs":
            parts.append("'epochs' is not searched: run_sweep adds it to every config")
        else:
            parts.append(f"{name!r} is not part of the course's sweep")
    left = [n for n in missing if n not in meant]
    if left:
        parts.append(f"missing: {', '.join(left)}")
    raise Mismatch(
        "config['parameters'] should hold exactly num_filters, kernel_size, "
        "add_sigmoid, learning_rate, batch_size and optimizer; " + "; ".join(parts)
    )


def q1_parameter_values(config: dict) -> None:
    parameters = config["parameters"]
    if not isinstance(parameters, dict):
        raise Mismatch("config['parameters'] is not a dict")
    for name, expected in COURSE_VALUES.items():
        if name in parameters:
            check_values(name, parameters[name], expected)


def check_values(name: str, spec: Any, expected: list) -> None:
    """One parameter's ``{"values": [...]}``: the form, the types, then the values."""
    where = f"parameters[{name!r}]"
    if isinstance(spec, list):
        raise Mismatch(f"{where} is a bare list: W&B wants {{'values': [...]}}")
    if not isinstance(spec, dict) or "values" not in spec:
        hint = (
            "'value' fixes a single value; list the choices under 'values'"
            if isinstance(spec, dict) and "value" in spec
            else "a range or distribution; the course lists its values"
            if isinstance(spec, dict) and {"min", "max"} & set(spec)
            else "it should be {'values': [...]}"
        )
        raise Mismatch(f"{where}: {hint}")
    values = spec["values"]
    if not isinstance(values, list):
        raise Mismatch(
            f"{where}['values'] should be a list; got {type(values).__name__}"
        )
    check_value_types(name, values)
    values = [course_value(v, expected) for v in values]
    if len(values) != len(set(map(repr, values))):
        raise Mismatch(f"{where}['values'] repeats a value: {values}")
    if sorted(map(repr, values)) != sorted(map(repr, expected)):
        wrong = [v for v in values if v not in expected]
        absent = [v for v in expected if v not in values]
        detail = "; ".join(
            p
            for p in (
                f"not in the course's sweep: {wrong}" if wrong else "",
                f"missing: {absent}" if absent else "",
            )
            if p
        )
        raise Mismatch(f"{where}['values'] should be {expected} (any order); {detail}")


def check_value_types(name: str, values: list) -> None:
    want = VALUE_TYPES[name]
    for v in values:
        if isinstance(v, tuple) and v and v[0] == "other":
            raise Mismatch(
                f"parameters[{name!r}] holds a {v[1]}: use plain Python "
                "values (W&B stores the sweep as JSON)"
            )
        if (
            want is str
            and isinstance(v, str)
            and v.lower() in ("sgd", "adam")
            and v not in ("SGD", "Adam")
        ):
            raise Mismatch(
                f"parameters[{name!r}] has {v!r}: use the names 'SGD' and "
                "'Adam' exactly (train_sweep maps them to torch.optim)"
            )
        if type(v) is not want:
            kind = {int: "ints", float: "floats", bool: "True/False", str: "strings"}[
                want
            ]
            raise Mismatch(
                f"parameters[{name!r}] should hold {kind}; got {v!r} "
                f"({type(v).__name__})"
            )


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``sweep_config`` answers and what their feedback says."""
    from gene46100_ref import week3b as ref

    def sweep_with(**changes):
        """``sweep_config`` with parts replaced (``None`` deletes a parameter)."""

        def variant():
            config = ref.sweep_config()
            for key, value in changes.items():
                if key in ("method", "metric"):
                    config[key] = value
                elif value is None:
                    del config["parameters"][key]
                else:
                    config["parameters"][key] = value
            return config

        return variant

    def renamed(old: str, new: str):
        def variant():
            config = ref.sweep_config()
            config["parameters"][new] = config["parameters"].pop(old)
            return config

        return variant

    return [
        KnownWrong(
            {"sweep_config": sweep_with(method="grid")},
            "all 216",
            "all-216",
            check=METHOD,
        ),
        KnownWrong(
            {"sweep_config": sweep_with(method="Random")},
            "lower case",
            "lower-case",
            check=METHOD,
        ),
        KnownWrong(
            {
                "sweep_config": sweep_with(
                    metric={"name": "test_avg_pearsonr", "goal": "minimize"}
                )
            },
            "higher",
            "higher",
            check=METRIC,
        ),
        KnownWrong(
            {
                "sweep_config": sweep_with(
                    metric={"name": "val_loss", "goal": "maximize"}
                )
            },
            "val_loss is logged every epoch",
            "val-loss-is-logged-every-epoch",
            check=METRIC,
        ),
        KnownWrong(
            {
                "sweep_config": sweep_with(
                    metric={"name": "best_pearsonr", "goal": "maximize"}
                )
            },
            "single best-predicted window",
            "single-best-predicted-window",
            check=METRIC,
        ),
        KnownWrong(
            {"sweep_config": sweep_with(optimizer=None)},
            "missing: optimizer",
            "missing-optimizer",
            check=NAMES,
        ),
        KnownWrong(
            {"sweep_config": sweep_with(epochs={"value": 30})},
            "'epochs' is not searched",
            "epochs-is-not-searched",
            check=NAMES,
        ),
        KnownWrong(
            {"sweep_config": renamed("learning_rate", "lr")},
            "'lr' should be named",
            "lr-should-be-named",
            check=NAMES,
        ),
        KnownWrong(
            {"sweep_config": sweep_with(kernel_size=[4, 6, 10])},
            "bare list",
            "bare-list",
            check=VALUES,
        ),
        KnownWrong(
            {"sweep_config": sweep_with(batch_size={"value": 32})},
            "'value' fixes",
            "value-fixes",
            check=VALUES,
        ),
        KnownWrong(
            {"sweep_config": sweep_with(kernel_size={"values": [4, 6, 8]})},
            "not in the course's sweep: [8]",
            "not-in-the-course-s-sweep-8",
            check=VALUES,
        ),
        KnownWrong(
            {"sweep_config": sweep_with(num_filters={"values": [4.0, 16.0, 32.0]})},
            "should hold ints",
            "should-hold-ints",
            check=VALUES,
        ),
        KnownWrong(
            {"sweep_config": sweep_with(add_sigmoid={"values": ["True", "False"]})},
            "True/False",
            "true-false",
            check=VALUES,
        ),
        KnownWrong(
            {"sweep_config": sweep_with(optimizer={"values": ["sgd", "adam"]})},
            "'SGD' and",
            "sgd-and",
            check=VALUES,
        ),
        KnownWrong(
            {"sweep_config": sweep_with(learning_rate={"values": [0.1, 0.05, 0.1]})},
            "repeats",
            "repeats",
            check=VALUES,
        ),
        KnownWrong(
            {"sweep_config": lambda: list(ref.sweep_config().items())},
            "dict",
            "list-of-pairs",
            check=FORM,
        ),
    ]
