"""Week 3b's known-wrong answers: typical mistakes, the check each fails and what
its message says.

Read by tests/test_questions.py (the reference namespace with ``overrides``
swapped in must fail ``check`` and name its mistake). q2's mistakes train 3-epoch
runs on ~300 windows; q3's run 8-run sweeps (``SHORT_SWEEPS``) and reuse cached runs
where the runs themselves are not what is wrong.
"""

from __future__ import annotations

import json

import numpy as np
import torch
from torch import nn

from gene46100.checks import week3b as checks
from gene46100_ref import week3b as ref
from known_wrong import KnownWrong

SLOW = {"q3"}  # its reference runs the real 40-run sweep
# Wrong-variant tests need no 40-run sweep to show their mistake: use 8.
SHORT_SWEEPS = {"N_RUNS": 8}


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


KNOWN_WRONG = [
    KnownWrong(
        "q1",
        {"sweep_config": sweep_with(method="grid")},
        "all 216",
        "all-216",
        check="method is random search",
    ),
    KnownWrong(
        "q1",
        {"sweep_config": sweep_with(method="Random")},
        "lower case",
        "lower-case",
        check="method is random search",
    ),
    KnownWrong(
        "q1",
        {
            "sweep_config": sweep_with(
                metric={"name": "test_avg_pearsonr", "goal": "minimize"}
            )
        },
        "higher",
        "higher",
        check="metric is test_avg_pearsonr, to maximize",
    ),
    KnownWrong(
        "q1",
        {"sweep_config": sweep_with(metric={"name": "val_loss", "goal": "maximize"})},
        "val_loss is logged every epoch",
        "val-loss-is-logged-every-epoch",
        check="metric is test_avg_pearsonr, to maximize",
    ),
    KnownWrong(
        "q1",
        {
            "sweep_config": sweep_with(
                metric={"name": "best_pearsonr", "goal": "maximize"}
            )
        },
        "single best-predicted window",
        "single-best-predicted-window",
        check="metric is test_avg_pearsonr, to maximize",
    ),
    KnownWrong(
        "q1",
        {"sweep_config": sweep_with(optimizer=None)},
        "missing: optimizer",
        "missing-optimizer",
        check="parameters are the six hyper-parameters of the course",
    ),
    KnownWrong(
        "q1",
        {"sweep_config": sweep_with(epochs={"value": 30})},
        "'epochs' is not searched",
        "epochs-is-not-searched",
        check="parameters are the six hyper-parameters of the course",
    ),
    KnownWrong(
        "q1",
        {"sweep_config": renamed("learning_rate", "lr")},
        "'lr' should be named",
        "lr-should-be-named",
        check="parameters are the six hyper-parameters of the course",
    ),
    KnownWrong(
        "q1",
        {"sweep_config": sweep_with(kernel_size=[4, 6, 10])},
        "bare list",
        "bare-list",
        check="each parameter lists the course's values as {'values': [...]}",
    ),
    KnownWrong(
        "q1",
        {"sweep_config": sweep_with(batch_size={"value": 32})},
        "'value' fixes",
        "value-fixes",
        check="each parameter lists the course's values as {'values': [...]}",
    ),
    KnownWrong(
        "q1",
        {"sweep_config": sweep_with(kernel_size={"values": [4, 6, 8]})},
        "not in the course's sweep: [8]",
        "not-in-the-course-s-sweep-8",
        check="each parameter lists the course's values as {'values': [...]}",
    ),
    KnownWrong(
        "q1",
        {"sweep_config": sweep_with(num_filters={"values": [4.0, 16.0, 32.0]})},
        "should hold ints",
        "should-hold-ints",
        check="each parameter lists the course's values as {'values': [...]}",
    ),
    KnownWrong(
        "q1",
        {"sweep_config": sweep_with(add_sigmoid={"values": ["True", "False"]})},
        "True/False",
        "true-false",
        check="each parameter lists the course's values as {'values': [...]}",
    ),
    KnownWrong(
        "q1",
        {"sweep_config": sweep_with(optimizer={"values": ["sgd", "adam"]})},
        "'SGD' and",
        "sgd-and",
        check="each parameter lists the course's values as {'values': [...]}",
    ),
    KnownWrong(
        "q1",
        {"sweep_config": sweep_with(learning_rate={"values": [0.1, 0.05, 0.1]})},
        "repeats",
        "repeats",
        check="each parameter lists the course's values as {'values': [...]}",
    ),
    KnownWrong(
        "q1",
        {"sweep_config": lambda: list(ref.sweep_config().items())},
        "dict",
        "list-of-pairs",
        check="returns a dict with method, metric and parameters",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(log_at_end=True)},
        "after training had finished",
        "log-at-end",
        check="logs each epoch as it trains, not all at the end",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(no_watch=True)},
        "never called logger.watch",
        "no-watch",
        check="watches the model and finishes the run once, at the end",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(no_finish=True)},
        "exactly once",
        "no-finish",
        check="watches the model and finishes the run once, at the end",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(finish_twice=True)},
        "2 time(s)",
        "finish-twice",
        check="watches the model and finishes the run once, at the end",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(train_mode_log=True)},
        "model.eval()",
        "train-mode-log",
        check="the validation pass runs in eval mode",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(return_best=True)},
        "best_pearsonr",
        "return-best",
        check="returns test_avg_pearsonr as a float",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(nan_metric=True)},
        ("your logged test_avg_pearsonr is NaN", "constant score track or prediction"),
        "nan-metric",
        check="the test metrics match an independent evaluation of the model",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(swapped=True)},
        "swapped",
        "swapped",
        check="the test metrics match an independent evaluation of the model",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(val_on_train=True)},
        "training set",
        "val-on-train",
        check="val_loss is the trained model's MSE on the validation set",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(val_unweighted=True)},
        "unweighted mean",
        "val-unweighted",
        check="val_loss is the trained model's MSE on the validation set",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(unweighted=True)},
        "unweighted mean",
        "unweighted",
        check="the run follows its configuration (replayed by the reference)",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(always_sgd=True)},
        "config['optimizer']",
        "always-sgd",
        check="the run follows its configuration (replayed by the reference)",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(fixed_lr=True)},
        "config['learning_rate']",
        "fixed-lr",
        check="the run follows its configuration (replayed by the reference)",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(batch_64=True)},
        "config['batch_size']",
        "batch-64",
        check="the run follows its configuration (replayed by the reference)",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(no_sigmoid=True)},
        "without the sigmoid",
        "no-sigmoid",
        check="the test metrics match an independent evaluation of the model",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(no_sigmoid=True)},
        "add_sigmoid was ignored",
        "no-sigmoid-2",
        check="the run follows its configuration (replayed by the reference)",
    ),
    KnownWrong(
        "q2",
        {"train_sweep": make_train_sweep(fewer=1)},
        "config['epochs'] = 3",
        "fewer",
        check="logs epoch, train_loss and val_loss once per epoch",
    ),
    KnownWrong(
        "q3",
        {"run_sweep": make_run_sweep(pick="last")},
        "last run's config",
        "last-run-s-config",
        check="best_config is the configuration of the best run",
        settings=SHORT_SWEEPS,
        slow=True,
    ),
    KnownWrong(
        "q3",
        {"run_sweep": make_run_sweep(pick="last")},
        "last run's score",
        "last-run-s-score",
        check="best_score is the best run's test_avg_pearsonr",
        settings=SHORT_SWEEPS,
        slow=True,
    ),
    KnownWrong(
        "q3",
        {"run_sweep": make_run_sweep(pick="worst")},
        "lowest score",
        "lowest-score",
        check="best_config is the configuration of the best run",
        settings=SHORT_SWEEPS,
        slow=True,
    ),
    KnownWrong(
        "q3",
        {"run_sweep": make_run_sweep(rng_seed=0)},
        "seed argument is ignored",
        "seed-argument-is-ignored",
        check="the same seed repeats the sweep; another seed changes it",
        settings=SHORT_SWEEPS,
        slow=True,
    ),
    KnownWrong(
        "q3",
        {"run_sweep": make_run_sweep(draw_values=global_draw)},
        "default_rng(seed) once",
        "default-rng-seed-once",
        check="the same seed repeats the sweep; another seed changes it",
        settings=SHORT_SWEEPS,
        slow=True,
    ),
    KnownWrong(
        "q3",
        {"run_sweep": make_run_sweep(one_config=True)},
        "same hyper-parameters",
        "same-hyper-parameters",
        check="runs n_runs configurations drawn from the sweep's lists",
        settings=SHORT_SWEEPS,
        slow=True,
    ),
    KnownWrong(
        "q3",
        {"run_sweep": make_run_sweep(draw_values=off_by_one_draw)},
        "off-by-one",
        "off-by-one",
        check="draws every value of every list (uniformly)",
        settings=SHORT_SWEEPS,
        slow=True,
    ),
    KnownWrong(
        "q3",
        {"run_sweep": make_run_sweep(draw_values=off_by_one_draw)},
        "does not beat",
        "does-not-beat",
        check="the winner beats the course's default configuration",
        settings=SHORT_SWEEPS,
        slow=True,
    ),
    KnownWrong(
        "q3",
        {"run_sweep": make_run_sweep(draw_values=numpy_draw)},
        "batch_size should be a positive integer",
        "batch-size-should-be-a-positive-integer",
        check="runs n_runs configurations drawn from the sweep's lists",
        settings=SHORT_SWEEPS,
        slow=True,
    ),
    KnownWrong(
        "q3",
        {"run_sweep": make_run_sweep(use_logger=False)},
        "it called it 0 time(s)",
        "it-called-it-0-time-s",
        check="runs n_runs configurations drawn from the sweep's lists",
        settings=SHORT_SWEEPS,
        slow=True,
    ),
    KnownWrong(
        "q3",
        {"run_sweep": make_run_sweep(fixed_epochs=5)},
        "epochs=4",
        "epochs-4",
        check="runs n_runs configurations drawn from the sweep's lists",
        settings=SHORT_SWEEPS,
        slow=True,
    ),
    KnownWrong(
        "q3",
        {"run_sweep": make_run_sweep(as_list=True)},
        "tuple",
        "tuple",
        check="returns (best_config, best_score)",
        settings=SHORT_SWEEPS,
        slow=True,
    ),
]
