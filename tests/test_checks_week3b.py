"""The week 3b hidden tests, judged on answers whose grade we know.

Every question: the reference gets full marks (twice, identically); a
``NotImplementedError`` stub and an empty namespace fail every check with a message
saying so; typical wrong answers fail and are told which mistake they made; the
independent completion in examples/answers passes. Also: the grader-owned recording
logger (the ``_grader_logger`` adapters) round-trips as plain data, and q3's margin
over the default configuration is re-measured over several grading seeds.

Budget: about 3 CPU minutes (q2 variants train 3-epoch runs on ~300 windows; q3's
wrong variants run 8-run sweeps and reuse cached runs where the runs themselves are not
what is wrong; the reference and the margin test run the real 40-run sweep).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from gene46100.checks import (
    Check,
    Plan,
    inprocess,
    question_rng,
    questions,
    run_inprocess,
    swapped_in,
)
from gene46100.checks import week3b as checks
from gene46100_ref import week3b as ref

QUESTIONS = ["q1", "q2", "q3"]
NAMES = ("sweep_config", "train_sweep", "run_sweep")
REFERENCE = {name: getattr(ref, name) for name in NAMES}
ANSWERS = (
    Path(__file__).resolve().parent.parent / "examples/answers/week3b_independent.py"
)


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def grade(question: str, **overrides: object) -> list[Check]:
    """Grade the reference namespace with some names replaced."""
    return run_inprocess("week3b", question, {**REFERENCE, **overrides})


def failures(result: list[Check]) -> str:
    return "\n".join(f"[{c.name}] {c.message}" for c in result if not c.passed)


def failed(result: list[Check], check: str, *phrases: str) -> None:
    """``check`` failed and its message contains every phrase."""
    by_name = {c.name: c for c in result}
    assert check in by_name, f"no check named {check!r}: {sorted(by_name)}"
    c = by_name[check]
    assert not c.passed, f"{check!r} passed but should fail\n{failures(result)}"
    for phrase in phrases:
        assert phrase in c.message, f"{phrase!r} not in: {c.message}"


# ========================================================== registry and plans
def test_three_questions_are_registered_with_budgets():
    registered = questions("week3b")
    assert list(registered) == QUESTIONS
    assert {q: registered[q].timeout_s for q in QUESTIONS} == {
        "q1": 10.0,
        "q2": 60.0,
        "q3": 60.0,
    }
    assert registered["q3"].provides == (
        "sweep_config",
        "_train_epoch",
        "_eval_loss",
        "train_sweep",
    )


@pytest.mark.parametrize("question", QUESTIONS)
def test_plan_crosses_the_boundary_as_json_and_arrays_only(question):
    plan = questions("week3b")[question].plan(question_rng("week3b", question))
    json.dumps(plan.probes)  # numpy scalars would break the sandbox's job.json
    assert plan.probes and all(isinstance(a, np.ndarray) for a in plan.arrays.values())
    names = {p["call"] for p in plan.probes if "call" in p}
    assert names == set(questions("week3b")[question].names)


@pytest.mark.parametrize("question", ["q2", "q3"])
def test_plan_draws_fresh_hidden_data_from_the_grading_rng(question):
    q = questions("week3b")[question]
    one = q.plan(question_rng("week3b", question, seed=1))
    two = q.plan(question_rng("week3b", question, seed=2))
    again = q.plan(question_rng("week3b", question, seed=1))
    key = next(iter(one.arrays))
    assert not np.array_equal(one.arrays[key], two.arrays[key])
    assert all(np.array_equal(one.arrays[k], again.arrays[k]) for k in one.arrays)
    assert json.dumps(one.probes) == json.dumps(again.probes)


def test_q2_hidden_data_has_short_last_batches_and_a_site_in_every_window():
    plan = questions("week3b")["q2"].plan(question_rng("week3b", "q2"))
    data = plan.context["data"]
    for config in plan.context["cases"].values():
        for split in ("train", "val"):
            assert len(data[split][0]) % config["batch_size"] != 0
    for _, y in data.values():  # as in the course's windows: r is always defined
        assert (y.max(axis=1) > 0).all()
    assert data["train"][0].shape[1:] == (checks.SEQ_LEN, 4)


# ========================================================== the grader's loggers
def test_recording_logger_round_trips_calls_weights_and_modes_as_plain_data():
    plan = Plan()
    model = {"$new": "TFBindingCNN", "args": [12, 2, 3, 12]}
    plan.call("run", "use_logger", checks.logger_arg("a"), model)
    plan.call_method("rec", checks.logger_arg("a"), "records")

    def use_logger(logger, net):
        logger.watch(net)
        net.train()
        logger.log({"epoch": 1, "loss": torch.tensor(2.5)})
        with torch.no_grad():
            net.fc.bias += 1.0
        net.eval()
        logger.log({"epoch": 2, "loss": 1.5})
        logger.finish()
        return "done"

    namespace = {"use_logger": use_logger, "TFBindingCNN": ref.TFBindingCNN}
    with swapped_in(namespace, checks.LOGGER_ADAPTERS):
        run = inprocess.execute(plan, namespace)
    record = run.outcomes["rec"].value.data
    calls = [checks.plain(c) for c in record["calls"].data]
    assert [c["method"] for c in calls] == ["watch", "log", "log", "finish"]
    assert calls[1]["metrics"] == {"epoch": 1, "loss": 2.5}
    assert [calls[1]["training"], calls[2]["training"]] == [True, False]
    assert calls[1]["fingerprint"] != calls[2]["fingerprint"]
    state = {k: v.data for k, v in record["state"].data.items()}
    assert set(state) == {"conv.weight", "conv.bias", "fc.weight", "fc.bias"}
    assert checks.plain(record["finished"]) is True
    assert "_GraderLoggers" not in namespace  # nothing outlives the question


def test_logger_factory_makes_one_logger_per_run_and_reads_them_back():
    plan = Plan()
    plan.call("sweep", "use_factory", checks.logger_factory_arg("f"))
    plan.call_method("n", checks.logger_factory_arg("f"), "count")
    for i in range(3):
        plan.call_method(f"r{i}", checks.logger_factory_arg("f"), "run_records", i)

    def use_factory(make_logger):
        for k in (1, 2):
            logger = make_logger({"k": k, "name": "SGD"})
            logger.log({"test_avg_pearsonr": k / 10})
            logger.finish()

    namespace = {"use_factory": use_factory}
    with swapped_in(namespace, checks.LOGGER_ADAPTERS):
        run = inprocess.execute(plan, namespace)
    assert checks.plain(run.outcomes["n"].value) == 2
    first = checks.plain(run.outcomes["r0"].value)
    assert first["config"] == {"k": 1, "name": "SGD"}
    assert first["calls"][0] == {"method": "log", "metrics": {"test_avg_pearsonr": 0.1}}
    assert checks.plain(run.outcomes["r2"].value) is None


# ========================================================== reference, stubs, answers
@pytest.mark.parametrize("question", QUESTIONS)
def test_reference_gets_full_marks_and_grading_is_deterministic(question):
    first = grade(question)
    assert all(c.passed for c in first), failures(first)
    assert grade(question) == first


def stub(question: str, name: str):
    def not_yet(*args, **kwargs):
        raise NotImplementedError(f"{question}: implement {name}")

    return not_yet


@pytest.mark.parametrize(("question", "name"), list(zip(QUESTIONS, NAMES)))
def test_stub_fails_every_check_with_not_implemented_yet(question, name):
    result = grade(question, **{name: stub(question, name)})
    assert result and not any(c.passed for c in result)
    assert all("not implemented yet" in c.message for c in result), failures(result)


@pytest.mark.parametrize("question", QUESTIONS)
def test_empty_namespace_fails_every_check_with_not_defined(question):
    result = run_inprocess("week3b", question, {})
    assert result and not any(c.passed for c in result)
    assert all("not defined" in c.message for c in result), failures(result)


def independent_namespace() -> dict:
    """The provided code (from the reference module) plus the independent answers."""
    namespace = {k: v for k, v in vars(ref).items() if not k.startswith("__")}
    for name in (*NAMES, "_train_epoch", "_eval_loss"):
        namespace.pop(name)
    namespace["__name__"] = "independent"
    exec(compile(ANSWERS.read_text(), str(ANSWERS), "exec"), namespace)  # noqa: S102
    return namespace


@pytest.mark.parametrize("question", QUESTIONS)
def test_independent_completion_gets_full_marks(question):
    namespace = independent_namespace()
    result = run_inprocess("week3b", question, namespace)
    assert all(c.passed for c in result), failures(result)


# ========================================================== q1 wrong answers
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


@pytest.mark.parametrize(
    ("variant", "check", "phrase"),
    [
        (sweep_with(method="grid"), "method is random search", "all 216"),
        (sweep_with(method="Random"), "method is random search", "lower case"),
        (
            sweep_with(metric={"name": "test_avg_pearsonr", "goal": "minimize"}),
            "metric is test_avg_pearsonr, to maximize",
            "higher",
        ),
        (
            sweep_with(metric={"name": "val_loss", "goal": "maximize"}),
            "metric is test_avg_pearsonr, to maximize",
            "val_loss is logged every epoch",
        ),
        (
            sweep_with(metric={"name": "best_pearsonr", "goal": "maximize"}),
            "metric is test_avg_pearsonr, to maximize",
            "single best-predicted window",
        ),
        (
            sweep_with(optimizer=None),
            "parameters are the six hyper-parameters of the course",
            "missing: optimizer",
        ),
        (
            sweep_with(epochs={"value": 30}),
            "parameters are the six hyper-parameters of the course",
            "'epochs' is not searched",
        ),
        (
            renamed("learning_rate", "lr"),
            "parameters are the six hyper-parameters of the course",
            "'lr' should be named",
        ),
        (
            sweep_with(kernel_size=[4, 6, 10]),
            "each parameter lists the course's values as {'values': [...]}",
            "bare list",
        ),
        (
            sweep_with(batch_size={"value": 32}),
            "each parameter lists the course's values as {'values': [...]}",
            "'value' fixes",
        ),
        (
            sweep_with(kernel_size={"values": [4, 6, 8]}),
            "each parameter lists the course's values as {'values': [...]}",
            "not in the course's sweep: [8]",
        ),
        (
            sweep_with(num_filters={"values": [4.0, 16.0, 32.0]}),
            "each parameter lists the course's values as {'values': [...]}",
            "should hold ints",
        ),
        (
            sweep_with(add_sigmoid={"values": ["True", "False"]}),
            "each parameter lists the course's values as {'values': [...]}",
            "True/False",
        ),
        (
            sweep_with(optimizer={"values": ["sgd", "adam"]}),
            "each parameter lists the course's values as {'values': [...]}",
            "'SGD' and",
        ),
        (
            sweep_with(learning_rate={"values": [0.1, 0.05, 0.1]}),
            "each parameter lists the course's values as {'values': [...]}",
            "repeats",
        ),
    ],
)
def test_q1_wrong_answers_fail_with_the_right_diagnostic(variant, check, phrase):
    result = grade("q1", sweep_config=variant)
    failed(result, check, phrase)


def test_q1_a_list_of_pairs_is_not_a_dict():
    result = grade("q1", sweep_config=lambda: list(ref.sweep_config().items()))
    failed(result, "returns a dict with method, metric and parameters", "dict")


# ========================================================== q2 wrong answers
def make_train_sweep(**mistakes):
    """A ``train_sweep`` written like the reference with one mistake switched on."""

    def train_sweep(config, logger, data=None, device=None):
        loaders = ref.make_loaders(
            data,
            64 if mistakes.get("batch_64") else config["batch_size"],
            seed=config["seed"],
        )
        if mistakes.get("seq_len_300"):
            model = ref.TFBindingCNN(300, config["num_filters"], config["kernel_size"])
        else:
            model = ref.build_model(
                {**config, "add_sigmoid": False}
                if mistakes.get("no_sigmoid")
                else config,
                data,
            )
        if not mistakes.get("no_watch"):
            logger.watch(model)
        kind = "SGD" if mistakes.get("always_sgd") else config["optimizer"]
        lr = 0.01 if mistakes.get("fixed_lr") else config["learning_rate"]
        optimizer = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam}[kind](
            model.parameters(), lr=lr
        )
        loss_fn, rows = nn.MSELoss(), []
        for epoch in range(1, config["epochs"] + 1 - mistakes.get("fewer", 0)):
            model.train()
            losses, sizes = [], []
            for x, y in loaders["train"]:
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                sizes.append(len(x))
            train_loss = (
                float(np.mean(losses))
                if mistakes.get("unweighted")
                else float(np.average(losses, weights=sizes))
            )
            model.eval()
            val = loaders["train" if mistakes.get("val_on_train") else "val"]
            with torch.no_grad():
                batch = [(loss_fn(model(x), y).item(), len(x)) for x, y in val]
            val_loss = (
                float(np.mean([b for b, _ in batch]))
                if mistakes.get("val_unweighted")
                else sum(b * n for b, n in batch) / sum(n for _, n in batch)
            )
            if mistakes.get("train_mode_log"):
                model.train()
            row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss}
            if mistakes.get("log_at_end"):
                rows.append(row)
            else:
                logger.log(row)
        for row in rows:
            logger.log(row)
        _, _, r = ref.test_model(model, loaders["test"])
        mean = float(np.mean(r)) if mistakes.get("plain_mean") else float(np.nanmean(r))
        if mistakes.get("nan_metric"):
            mean = float("nan")
        best = float(np.nanmax(r))
        if mistakes.get("swapped"):
            mean, best = best, mean
        logger.log({"test_avg_pearsonr": mean, "best_pearsonr": best})
        if not mistakes.get("no_finish"):
            logger.finish()
        if mistakes.get("finish_twice"):
            logger.finish()
        return best if mistakes.get("return_best") else mean

    return train_sweep


@pytest.mark.parametrize(
    "choices",
    [{}, {"plain_mean": True}],
    ids=["nanmean", "course-style plain mean"],
)
def test_the_q2_variant_factory_without_mistakes_gets_full_marks(choices):
    """A plain ``np.mean`` of the per-window r is the course's own summary: every
    hidden window holds a site, so it is as right as ``np.nanmean``."""
    result = grade("q2", train_sweep=make_train_sweep(**choices))
    assert all(c.passed for c in result), failures(result)


Q2_CASES = [
    (
        {"log_at_end": True},
        "logs each epoch as it trains, not all at the end",
        ["after training had finished"],
    ),
    (
        {"no_watch": True},
        "watches the model and finishes the run once, at the end",
        ["never called logger.watch"],
    ),
    (
        {"no_finish": True},
        "watches the model and finishes the run once, at the end",
        ["exactly once"],
    ),
    (
        {"finish_twice": True},
        "watches the model and finishes the run once, at the end",
        ["2 time(s)"],
    ),
    (
        {"train_mode_log": True},
        "the validation pass runs in eval mode",
        ["model.eval()"],
    ),
    ({"return_best": True}, "returns test_avg_pearsonr as a float", ["best_pearsonr"]),
    (
        {"nan_metric": True},
        ("the test metrics match an independent evaluation of the model"),
        ["your logged test_avg_pearsonr is NaN", "constant score track or prediction"],
    ),
    (
        {"swapped": True},
        "the test metrics match an independent evaluation of the model",
        ["swapped"],
    ),
    (
        {"val_on_train": True},
        "val_loss is the trained model's MSE on the validation set",
        ["training set"],
    ),
    (
        {"val_unweighted": True},
        ("val_loss is the trained model's MSE on the validation set"),
        ["unweighted mean"],
    ),
    (
        {"unweighted": True},
        ("the run follows its configuration (replayed by the reference)"),
        ["unweighted mean"],
    ),
    (
        {"always_sgd": True},
        ("the run follows its configuration (replayed by the reference)"),
        ["config['optimizer']"],
    ),
    (
        {"fixed_lr": True},
        ("the run follows its configuration (replayed by the reference)"),
        ["config['learning_rate']"],
    ),
    (
        {"batch_64": True},
        ("the run follows its configuration (replayed by the reference)"),
        ["config['batch_size']"],
    ),
    (
        {"no_sigmoid": True},
        ("the test metrics match an independent evaluation of the model"),
        ["without the sigmoid"],
    ),
    (
        {"no_sigmoid": True},
        ("the run follows its configuration (replayed by the reference)"),
        ["add_sigmoid was ignored"],
    ),
    (
        {"fewer": 1},
        "logs epoch, train_loss and val_loss once per epoch",
        ["config['epochs'] = 3"],
    ),
]


@pytest.mark.parametrize(("mistakes", "check", "phrases"), Q2_CASES)
def test_q2_wrong_answers_fail_with_the_right_diagnostic(mistakes, check, phrases):
    result = grade("q2", train_sweep=make_train_sweep(**mistakes))
    failed(result, check, *phrases)


def test_q2_hard_coded_window_length_fails_every_check_with_the_error():
    result = grade("q2", train_sweep=make_train_sweep(seq_len_300=True))
    assert not any(c.passed for c in result)
    assert all("raised RuntimeError" in c.message for c in result), failures(result)


def test_q2_unseeded_model_fails_the_replay_with_the_general_advice():
    def unseeded(config, logger, data=None, device=None):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config["seed"] + 1)  # not build_model's initial weights
            model = ref.TFBindingCNN(
                data["train"][0].shape[1],
                config["num_filters"],
                config["kernel_size"],
                data["train"][1].shape[1],
                config["add_sigmoid"],
            )
        original = ref.build_model
        try:
            ref.build_model = lambda *args: model
            return ref.train_sweep(config, logger, data=data, device="cpu")
        finally:
            ref.build_model = original

    result = grade("q2", train_sweep=unseeded)
    failed(
        result,
        "the run follows its configuration (replayed by the reference)",
        "build_model(config, data)",
    )
    assert sum(not c.passed for c in result) == 1, failures(result)


# ========================================================== q3 wrong answers
CACHE: dict[tuple, tuple[float, list[dict]]] = {}


def cached_train_sweep(config, logger, data=None, device=None):
    """``ref.train_sweep`` with its logged rows memoised by (config, data).

    q3 reads only what was logged, so replaying the rows is indistinguishable from
    retraining; it keeps the many q3 variants below fast.
    """
    digest = tuple(
        hash(np.ascontiguousarray(a).tobytes())
        for split in data.values()
        for a in split
    )
    key = (json.dumps(config, sort_keys=True, default=str), digest)
    if key not in CACHE:
        history = checks.History()
        score = ref.train_sweep(config, history, data=data, device="cpu")
        CACHE[key] = (score, history.rows)
    score, rows = CACHE[key]
    for row in rows:
        logger.log(row)
    logger.finish()
    return score


def draw(values, rng):
    return values[int(rng.integers(len(values)))]


def make_run_sweep(
    pick="best",
    draw_values=draw,
    rng_seed=None,
    one_config=False,
    use_logger=True,
    fixed_epochs=None,
    as_list=False,
):
    """A ``run_sweep`` with one mistake (the defaults make a correct one)."""

    def run_sweep(n_runs, seed, data=None, make_logger=None, epochs=5):
        rng = np.random.default_rng(seed if rng_seed is None else rng_seed)
        space = ref.sweep_config()["parameters"]
        runs = []
        config = None
        for _ in range(n_runs):
            if config is None or not one_config:
                config = {k: draw_values(v["values"], rng) for k, v in space.items()}
                config.update(
                    epochs=fixed_epochs or epochs, seed=int(rng.integers(2**31))
                )
            logger = make_logger(config) if use_logger else checks.History()
            runs.append((cached_train_sweep(config, logger, data=data), dict(config)))
        scores = np.array([s for s, _ in runs])
        index = {
            "best": lambda: int(np.nanargmax(scores)),
            "last": lambda: len(runs) - 1,
            "worst": lambda: int(np.nanargmin(scores)),
        }[pick]()
        result = (runs[index][1], runs[index][0])
        return list(result) if as_list else result

    return run_sweep


def global_draw(values, rng):
    return values[np.random.randint(len(values))]  # global state, not the seed


def off_by_one_draw(values, rng):
    return values[int(rng.integers(len(values) - 1))]


def numpy_draw(values, rng):
    return rng.choice(values)


def test_the_q3_variant_factory_without_mistakes_gets_full_marks():
    result = grade("q3", run_sweep=make_run_sweep())
    assert all(c.passed for c in result), failures(result)


@pytest.fixture
def short_sweeps(monkeypatch):
    """Wrong-variant tests need no 40-run sweep to show their mistake: use 8."""
    monkeypatch.setattr(checks, "N_RUNS", 8)


@pytest.mark.usefixtures("short_sweeps")
@pytest.mark.parametrize(
    ("variant", "check", "phrase"),
    [
        (
            make_run_sweep(pick="last"),
            "best_config is the configuration of the best run",
            "last run's config",
        ),
        (
            make_run_sweep(pick="last"),
            "best_score is the best run's test_avg_pearsonr",
            "last run's score",
        ),
        (
            make_run_sweep(pick="worst"),
            "best_config is the configuration of the best run",
            "lowest score",
        ),
        (
            make_run_sweep(rng_seed=0),
            ("the same seed repeats the sweep; another seed changes it"),
            "seed argument is ignored",
        ),
        (
            make_run_sweep(draw_values=global_draw),
            ("the same seed repeats the sweep; another seed changes it"),
            "default_rng(seed) once",
        ),
        (
            make_run_sweep(one_config=True),
            ("runs n_runs configurations drawn from the sweep's lists"),
            "same hyper-parameters",
        ),
        (
            make_run_sweep(draw_values=off_by_one_draw),
            ("draws every value of every list (uniformly)"),
            "off-by-one",
        ),
        (
            make_run_sweep(draw_values=off_by_one_draw),
            ("the winner beats the course's default configuration"),
            "does not beat",
        ),
        # rng.choice gives numpy values; DataLoader refuses a numpy batch size
        (
            make_run_sweep(draw_values=numpy_draw),
            ("runs n_runs configurations drawn from the sweep's lists"),
            "batch_size should be a positive integer",
        ),
        (
            make_run_sweep(use_logger=False),
            ("runs n_runs configurations drawn from the sweep's lists"),
            "it called it 0 time(s)",
        ),
        (
            make_run_sweep(fixed_epochs=5),
            ("runs n_runs configurations drawn from the sweep's lists"),
            "epochs=4",
        ),
        (make_run_sweep(as_list=True), "returns (best_config, best_score)", "tuple"),
    ],
)
def test_q3_wrong_answers_fail_with_the_right_diagnostic(variant, check, phrase):
    result = grade("q3", run_sweep=variant)
    failed(result, check, phrase)


@pytest.mark.usefixtures("short_sweeps")
def test_q3_a_made_up_best_score_fails_the_retraining_check():
    honest = make_run_sweep()

    def boastful(*args, **kwargs):
        config, score = honest(*args, **kwargs)
        return config, score + 0.2

    result = grade("q3", run_sweep=boastful)
    failed(result, "best_score is the best run's test_avg_pearsonr")
    failed(
        result,
        "the winner beats the course's default configuration",
        "does not give best_score",
    )


# ========================================================== q3 threshold
def test_q3_margin_over_the_default_configuration_across_grading_seeds():
    """The reference's winner beats the default by far more than BEAT_MARGIN.

    Measured (40 runs, 4 epochs, ~400 training windows of 100 bp; see the comment at
    BEAT_MARGIN): over grading seeds 0-3 and 46100 the winner scores 0.70-0.73 and the
    default 0.17-0.19, a gap of 0.51 or more against the required 0.05. Re-measured
    here on two of those seeds (the grading seed included).
    """
    q = questions("week3b")["q3"]
    gaps = []
    for seed in (0, 46100):
        data = q.plan(question_rng("week3b", "q3", seed)).context["main"]
        _, best = make_run_sweep()(
            checks.N_RUNS,
            seed,
            data=data,
            make_logger=lambda c: checks.History(),
            epochs=checks.Q3_EPOCHS,
        )
        default = checks.reference_run(
            {**ref.DEFAULT_CONFIG, "epochs": checks.Q3_EPOCHS}, data
        )[0]
        gaps.append(best - default)
    assert min(gaps) > 0.4 > 5 * checks.BEAT_MARGIN, gaps
