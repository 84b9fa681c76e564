"""week3b q2: ``train_sweep(config, logger, data=..., device=...)`` trains one run of
the sweep and logs it.

Two configurations (SGD with the sigmoid, Adam without) on fresh hidden windows
with odd split sizes (every last batch is short), each with a grader-owned recording
logger (``common.logger_arg``). The checks read back every logger call: the returned
score, ``watch`` before and ``finish`` once at the end, one epoch log per epoch made
while training and in eval mode, the final test metrics once after training; then
the weights the logger saw at ``finish`` are evaluated independently (val_loss, test
metrics) and the learning curves compared with a replay of the configuration by the
reference (to ``CURVE_RTOL``), naming the known mistake a wrong curve reproduces.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

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
    first_match,
    is_float_scalar,
    keep_precision,
    matches,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.week3b.common import (
    COURSE_VALUES,
    EPOCH_KEYS,
    FINAL_KEYS,
    LOGGER_ADAPTERS,
    Data,
    History,
    hidden_data,
    is_number,
    logger_arg,
    memo,
    plain,
    reference_run,
    register_data,
    rel_diff,
)
from gene46100.contract.results import QuestionRun, Value
from gene46100_ref import week3b as ref

CURVE_RTOL = 1e-5  # equivalent loops: ~1e-7; the closest wrong variant: 2e-3


METRIC_ATOL = 1e-4  # test metrics vs an independent evaluation (float32 predictions)


Q2_EPOCHS = 3


# The checks, in feedback order.
RETURNS = "returns test_avg_pearsonr as a float"
WATCH_FINISH = "watches the model and finishes the run once, at the end"
EPOCH_LOGS = "logs epoch, train_loss and val_loss once per epoch"
WHILE_TRAINING = "logs each epoch as it trains, not all at the end"
FINAL_LOGS = "logs test_avg_pearsonr and best_pearsonr once, after training"
EVAL_MODE = "the validation pass runs in eval mode"
VAL_LOSS = "val_loss is the trained model's MSE on the validation set"
TEST_METRICS = "the test metrics match an independent evaluation of the model"
REPLAY = "the run follows its configuration (replayed by the reference)"


@dataclass
class Facts:
    """What scoring reads (trusted-only): the hidden data and each case's config."""

    data: Data  # {split: (x (N, L, 4), y (N, L))}, float32
    cases: dict[str, dict]  # probe id -> the configuration it trains


class Q2TrainSweep(Question):
    """q2: ``train_sweep`` on hidden data with a recording logger."""

    name = "q2"
    names = ("train_sweep",)
    adapters = LOGGER_ADAPTERS

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        # Odd split sizes: no batch size divides them, so the last batch is short
        # and an unweighted mean of batch losses differs from the epoch's loss.
        sizes = tuple(
            int(2 * rng.integers(lo, hi) + 1)
            for lo, hi in ((120, 150), (35, 45), (45, 55))
        )
        data = hidden_data(rng, sizes)
        cases = q2_cases(rng)
        plan = Plan(facts=Facts(data=data, cases=cases))
        argument = register_data(plan, "d", data)
        for case, config in cases.items():
            # On the CPU even where a GPU is present: the replay runs there too.
            plan.call(
                case,
                "train_sweep",
                config,
                logger_arg(case),
                data=argument,
                device="cpu",
            )
            plan.call_method(f"{case}_records", logger_arg(case), "records")
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        runs = {
            case: Q2Run(run, case, config, plan.facts.data)
            for case, config in plan.facts.cases.items()
        }

        def each(check: Callable[[Q2Run], None]) -> Callable[[], None]:
            return lambda: [check(r) for r in runs.values()]

        return [
            guarded(RETURNS, each(q2_returns)),
            guarded(WATCH_FINISH, each(q2_watch_finish)),
            guarded(EPOCH_LOGS, each(q2_epoch_logs)),
            guarded(WHILE_TRAINING, each(q2_logs_while_training)),
            guarded(FINAL_LOGS, each(q2_final_logs)),
            guarded(EVAL_MODE, each(q2_eval_mode)),
            guarded(VAL_LOSS, each(q2_val_loss)),
            guarded(TEST_METRICS, each(q2_test_metrics)),
            guarded(REPLAY, each(q2_replay), weight=2.0),
        ]


def q2_cases(rng: np.random.Generator) -> dict[str, dict]:
    """Two configurations: SGD with the sigmoid, Adam without (both sensitive to
    every knob: see the module docstring)."""

    def draw(name: str, options: list) -> Any:
        return options[int(rng.integers(len(options)))]

    cases = {}
    for case, optimizer, sigmoid in (("sgd", "SGD", True), ("adam", "Adam", False)):
        cases[case] = {
            "num_filters": draw("num_filters", [4, 16]),
            "kernel_size": draw("kernel_size", COURSE_VALUES["kernel_size"]),
            "add_sigmoid": sigmoid,
            "learning_rate": draw("learning_rate", COURSE_VALUES["learning_rate"]),
            "batch_size": draw("batch_size", [16, 32]),
            "optimizer": optimizer,
            "epochs": Q2_EPOCHS,
            "seed": int(rng.integers(2**31)),
        }
    return cases


class Q2Run:
    """One probed run: the returned value, the logger's record, and lazily the
    reference replay and an independent evaluation of the final weights."""

    def __init__(self, run: QuestionRun, case: str, config: dict, data: Data) -> None:
        self.run, self.case, self.config, self.data = run, case, config, data
        self.what = (
            f"train_sweep with optimizer {config['optimizer']!r}, "
            f"add_sigmoid={config['add_sigmoid']}"
        )
        self._replay: tuple[float, History] | None = None
        self._evaluation: dict | None = None

    # ---- what came back
    def value(self) -> Value:
        return outcome_value(self.run, self.case, self.what)

    def records(self) -> dict:
        self.value()  # the call's own error comes first
        raw = outcome_value(self.run, f"{self.case}_records", "the logger's record")
        if raw.kind != "dict":
            raise Mismatch("the grader's logger record did not come back")
        return raw.data

    def calls(self) -> list[dict]:
        calls = self.records().get("calls")
        return [plain(c) for c in calls.data] if calls is not None else []

    def logs(self) -> list[tuple[int, Any]]:
        """(position in the call sequence, metrics) of every ``log`` call."""
        return [
            (i, c.get("metrics"))
            for i, c in enumerate(self.calls())
            if c.get("method") == "log"
        ]

    def epoch_logs(self) -> list[tuple[int, dict]]:
        return [
            (i, m) for i, m in self.logs() if isinstance(m, dict) and "train_loss" in m
        ]

    def final_value(self, key: str) -> float:
        found = [m[key] for _, m in self.logs() if isinstance(m, dict) and key in m]
        if len(found) != 1 or not is_number(found[0]):
            raise Mismatch(f"{self.what} should log {key} once, as a number")
        return float(found[0])

    def state(self) -> dict[str, np.ndarray]:
        record = self.records()
        state = record.get("state")
        if state is None or state.kind != "dict":
            raise Mismatch(
                f"{self.what}: the logger never saw the model: call "
                "logger.watch(model) right after building it, so the "
                "trained model can be evaluated independently"
            )
        return {k: np.asarray(v.data) for k, v in state.data.items() if v.is_array_like}

    # ---- trusted recomputations
    def replay(self) -> tuple[float, History]:
        if self._replay is None:
            self._replay = reference_run(self.config, self.data)
        return self._replay

    def evaluation(self) -> dict:
        """The final weights (as the logger saw them at finish) evaluated here."""
        if self._evaluation is None:
            self._evaluation = evaluate_state(
                self.state(), self.config, self.data, self.what
            )
        return self._evaluation


def evaluate_state(
    state: dict[str, np.ndarray], config: dict, data: Data, what: str
) -> dict:
    """Validation MSE and per-window test r of ``state`` in the reference model."""
    x_train, y_train = data["train"]
    config = dict(config)
    expected = ref.build_model(config, data).state_dict()
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    wanted = {k: tuple(v.shape) for k, v in expected.items()}
    if shapes != wanted:
        conv = shapes.get("conv.weight")
        hint = (
            f" (conv.weight {conv}: num_filters and kernel_size come from the "
            f"config, ({config['num_filters']}, 4, {config['kernel_size']}))"
            if conv and conv != wanted["conv.weight"]
            else ""
        )
        raise Mismatch(
            f"{what}: the watched model is not build_model(config, data)'s "
            f"architecture{hint}"
        )
    out = {}
    for sigmoid in (config["add_sigmoid"], not config["add_sigmoid"]):
        model = ref.TFBindingCNN(
            x_train.shape[1],
            config["num_filters"],
            config["kernel_size"],
            y_train.shape[1],
            sigmoid,
        )
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
        model.eval()
        out[sigmoid] = {
            split: predict(model, data[split][0]) for split in ("train", "val", "test")
        }
    return {
        "preds": out[config["add_sigmoid"]],
        "other": out[not config["add_sigmoid"]],
    }


def predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).double().numpy()  # (N, L)


def mse(preds: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((preds - y.astype(np.float64)) ** 2))


def batch_mean(preds: np.ndarray, y: np.ndarray, batch_size: int) -> float:
    """The unweighted mean of per-batch MSEs (a wrong epoch loss)."""
    starts = range(0, len(y), batch_size)
    return float(
        np.mean([mse(preds[s : s + batch_size], y[s : s + batch_size]) for s in starts])
    )


# ---- q2 checks (each raises Mismatch naming the case and the likely mistake)
def q2_returns(r: Q2Run) -> None:
    value = r.value()
    got = plain(value)
    if not is_float_scalar(value):
        hint = (
            " (convert with float(...))"
            if value.is_array_like
            else " (return the score, not the logger or a list)"
        )
        raise Mismatch(f"{r.what} should return a Python float; got {value.type}{hint}")
    logged = {
        k: v
        for _, m in r.logs()
        if isinstance(m, dict)
        for k, v in m.items()
        if k in FINAL_KEYS and is_number(v)
    }
    target = logged.get("test_avg_pearsonr")
    if target is None:
        target = q2_independent_score(r)
    got = keep_precision(value, got)  # a float32 score is graded at float32 precision
    if matches(got, target, 0.0, 1e-9):
        return
    hint = ""
    if "best_pearsonr" in logged and matches(got, logged["best_pearsonr"], 0, 1e-9):
        hint = (
            ": that is best_pearsonr (the best single window); return the mean, "
            "test_avg_pearsonr"
        )
    raise Mismatch(f"{r.what} should return the test_avg_pearsonr it logged{hint}")


def q2_independent_score(r: Q2Run) -> float:
    r_test = ref.pearson_per_sequence(
        r.evaluation()["preds"]["test"], r.data["test"][1].astype(np.float64)
    )
    return float(np.nanmean(r_test))


def q2_watch_finish(r: Q2Run) -> None:
    methods = [c.get("method") for c in r.calls()]
    if "watch" not in methods:
        raise Mismatch(
            f"{r.what} never called logger.watch(model): call it once the "
            "model is built"
        )
    logs = [i for i, m in enumerate(methods) if m == "log"]
    if logs and methods.index("watch") > logs[0]:
        raise Mismatch(
            f"{r.what} called logger.watch(model) after logging: watch the "
            "model before training it"
        )
    finishes = methods.count("finish")
    if finishes != 1 or methods[-1] != "finish":
        raise Mismatch(
            f"{r.what} should call logger.finish() exactly once, as its last "
            f"step; it was called {finishes} time(s)"
            + (" and something was logged after it" if finishes else "")
        )


def q2_epoch_logs(r: Q2Run) -> None:
    epochs = r.config["epochs"]
    logs = [m for _, m in r.logs()]
    lists = [
        m
        for m in logs
        if isinstance(m, dict) and any(isinstance(m.get(k), list) for k in EPOCH_KEYS)
    ]
    if lists:
        raise Mismatch(
            f"{r.what} logged whole lists: log one number per key, once per "
            "epoch, inside the epoch loop"
        )
    rows = [m for _, m in r.epoch_logs()]
    if len(rows) != epochs:
        hint = {
            0: ": log {'epoch', 'train_loss', 'val_loss'} after every epoch",
            1: ": only once: log inside the epoch loop, after each epoch",
            epochs + 1: ": one too many (an extra log before or after the loop?)",
        }
        raise Mismatch(
            f"config['epochs'] = {epochs}: {r.what} should make {epochs} log "
            f"calls with train_loss; it made {len(rows)}" + hint.get(len(rows), "")
        )
    for row in rows:
        missing = [k for k in EPOCH_KEYS if k not in row]
        if missing:
            raise Mismatch(
                f"each epoch's log call needs {list(EPOCH_KEYS)}; "
                f"{r.what} left out {missing}"
            )
        bad = [k for k in EPOCH_KEYS if not is_number(row[k])]
        if bad:
            raise Mismatch(
                f"{r.what} logged {bad} as {[type(row[k]).__name__ for k in bad]}"
                ": log plain numbers (loss.item(), float(...))"
            )
    numbers = [row["epoch"] for row in rows]
    if numbers not in (list(range(1, epochs + 1)), list(range(epochs))):
        raise Mismatch(
            f"{r.what} logged epochs {numbers}; count them 1, 2, ..., {epochs}"
        )


def q2_logs_while_training(r: Q2Run) -> None:
    calls = r.calls()
    prints = [calls[i].get("fingerprint") for i, _ in r.epoch_logs()]
    if not prints or any(p is None for p in prints):
        raise Mismatch(
            f"{r.what}: the logger could not see the model while logging: "
            "call logger.watch(model) before the epoch loop"
        )
    if len(prints) > 1 and len(set(prints)) == 1:
        raise Mismatch(
            f"{r.what} logged every epoch after training had finished (the "
            "weights were the same at every log call): call logger.log inside "
            "the epoch loop, right after each epoch's validation pass"
        )


def q2_final_logs(r: Q2Run) -> None:
    logs = r.logs()
    for key in FINAL_KEYS:
        found = [i for i, m in logs if isinstance(m, dict) and key in m]
        if len(found) != 1:
            raise Mismatch(
                f"{r.what} should log {key} exactly once (after the last "
                f"epoch); it logged it {len(found)} time(s)"
            )
        epochs = [i for i, _ in r.epoch_logs()]
        if epochs and found[0] < epochs[-1]:
            raise Mismatch(
                f"{r.what} logged {key} before the last epoch: test once, "
                "after training"
            )
        value = next(m[key] for i, m in logs if i == found[0])
        if not is_number(value):
            raise Mismatch(
                f"{r.what} logged {key} as {type(value).__name__}: log a float"
            )


def q2_eval_mode(r: Q2Run) -> None:
    calls = r.calls()
    modes = [calls[i].get("training") for i, _ in r.epoch_logs()]
    if not modes or any(m is None for m in modes):
        raise Mismatch(
            f"{r.what}: call logger.watch(model) so the grader can see the model's mode"
        )
    if any(modes):
        raise Mismatch(
            f"{r.what}: the model was in training mode when the epoch was "
            "logged, so the validation pass did not run in eval mode: call "
            "model.eval() (and use torch.no_grad()) before the validation "
            "pass, and model.train() at the start of each training pass. "
            "(No numerical difference for this model, which has no dropout "
            "or batch norm; for most models there is.)"
        )


def q2_val_loss(r: Q2Run) -> None:
    rows = [m for _, m in r.epoch_logs()]
    if not rows or not is_number(rows[-1].get("val_loss")):
        raise Mismatch(f"{r.what} logged no numeric val_loss")
    got = float(rows[-1]["val_loss"])
    preds, data = r.evaluation()["preds"], r.data
    expected = mse(preds["val"], data["val"][1])
    if close(np.float64(got), np.float64(expected), CURVE_RTOL, 0.0):
        return
    bs = r.config["batch_size"]
    other = r.evaluation()["other"]
    candidates: list[Candidate] = [
        (
            "it is the MSE on the training set: evaluate loaders['val']",
            lambda: mse(preds["train"], data["train"][1]),
        ),
        (
            (
                "it is an unweighted mean of the batch losses: weight each batch by "
                "its size "
                "(the last batch is smaller)"
            ),
            lambda: batch_mean(preds["val"], data["val"][1], bs),
        ),
        (
            "it is the sum over batches: divide by the number of windows",
            lambda: (
                batch_mean(preds["val"], data["val"][1], bs)
                * math.ceil(len(data["val"][1]) / bs)
            ),
        ),
        (
            (
                "it matches a model without the sigmoid: build the model with "
                "build_model(config, data), which honours config['add_sigmoid']"
            ),
            lambda: mse(other["val"], data["val"][1]),
        ),
    ]
    hint = first_match(np.array(got), candidates, CURVE_RTOL)
    raise Mismatch(
        f"the last val_loss of {r.what} is not the final model's MSE on the "
        f"validation set ({rel_diff(np.array(got), np.array(expected)):.2g} "
        "relative difference)"
        + (
            f": {hint}"
            if hint
            else ": measure it after the epoch's training "
            "pass, over the whole validation loader"
        )
    )


def q2_test_metrics(r: Q2Run) -> None:
    preds, data = r.evaluation()["preds"], r.data
    obs = data["test"][1].astype(np.float64)
    pearson = ref.pearson_per_sequence(preds["test"], obs)  # (N_test,) with NaNs
    expected = {
        "test_avg_pearsonr": float(np.nanmean(pearson)),
        "best_pearsonr": float(np.nanmax(pearson)),
    }
    for key, want in expected.items():
        got = r.final_value(key)
        if math.isnan(got):
            raise Mismatch(f"{r.what}: {nan_metric_message(key)}")
        if math.isfinite(got) and abs(got - want) <= METRIC_ATOL:
            continue
        raise Mismatch(
            f"{r.what}: the logged {key} is not that of the trained model on "
            f"the test set ({q2_metric_hint(key, got, pearson, preds, r)})"
        )


def nan_metric_message(key: str) -> str:
    """Why a logged ``key`` is NaN, and what to do (every hidden window holds a site,
    so no window of a correct run is undefined)."""
    return (
        f"your logged {key} is NaN: one window whose Pearson r is undefined makes a "
        "mean or max over windows NaN (e.g. a window with a constant score track or "
        "prediction). Every hidden test window holds a site, so its scores vary: "
        "look for predictions that came out constant, or a Pearson r computed over "
        "the wrong axis; np.nanmean and np.nanmax skip undefined windows"
    )


def q2_metric_hint(
    key: str, got: float, pearson: np.ndarray, preds: dict, r: Q2Run
) -> str:
    data = r.data
    val_r = ref.pearson_per_sequence(preds["val"], data["val"][1].astype(np.float64))
    other_r = ref.pearson_per_sequence(
        r.evaluation()["other"]["test"], data["test"][1].astype(np.float64)
    )
    swapped = "best_pearsonr" if key == "test_avg_pearsonr" else "test_avg_pearsonr"
    stat = np.nanmean if key == "test_avg_pearsonr" else np.nanmax
    candidates: list[Candidate] = [
        (
            f"it is the {swapped} value: the two keys are swapped",
            lambda: (np.nanmax if stat is np.nanmean else np.nanmean)(pearson),
        ),
        (
            "it is measured on the validation set: use loaders['test']",
            lambda: stat(val_r),
        ),
        (
            (
                "it matches a model without the sigmoid: build the model with "
                "build_model(config, data)"
            ),
            lambda: stat(other_r),
        ),
        (
            (
                "it is one Pearson r over all positions pooled; compute r per window "
                "(test_model returns them) and average"
            ),
            lambda: np.corrcoef(preds["test"].ravel(), data["test"][1].ravel())[0, 1],
        ),
    ]
    hint = first_match(np.array(got), candidates, 1e-6)
    return hint or "use the third value test_model returns, with np.nanmean / np.nanmax"


def q2_replay(r: Q2Run) -> None:
    rows = [m for _, m in r.epoch_logs()]
    keys_ok = rows and all(is_number(m.get(k)) for m in rows for k in EPOCH_KEYS[1:])
    if not keys_ok:
        raise Mismatch(f"{r.what}: no per-epoch train_loss / val_loss to compare")
    got = np.array([[m["train_loss"], m["val_loss"]] for m in rows], dtype=np.float64)
    _, history = r.replay()
    expected = np.array(
        [[m["train_loss"], m["val_loss"]] for m in history.rows if "train_loss" in m]
    )
    if got.shape == expected.shape and close(got, expected, CURVE_RTOL, 0.0):
        return
    hint = (
        first_match(got, q2_variants(r), CURVE_RTOL)
        if got.shape == expected.shape
        else ""
    )
    raise Mismatch(
        f"the learning curves of {r.what} differ from a replay of its configuration"
        + (
            f" ({rel_diff(got, expected):.2g} relative difference)"
            if got.shape == expected.shape
            else ""
        )
        + (
            f": {hint}"
            if hint
            else ": build the loaders with make_loaders(data, config['batch_size'], "
            "seed=config['seed']) and the model with build_model(config, data); use "
            "the "
            "optimizer and learning rate the config names; train_loss is the "
            "batch-size-weighted mean of the epoch's batch losses"
        )
    )


def q2_variants(r: Q2Run) -> list[Candidate]:
    c, data = r.config, r.data
    other = "SGD" if c["optimizer"] == "Adam" else "Adam"
    batch = 64 if c["batch_size"] != 64 else 32
    return [
        (
            f"this is what {other} gives: use config['optimizer']",
            lambda: replay_curves(c, data, optimizer=other),
        ),
        (
            "this is what a learning rate of 0.01 gives: use config['learning_rate']",
            lambda: replay_curves(c, data, learning_rate=0.01),
        ),
        (
            f"this is what batch_size={batch} gives: use config['batch_size']",
            lambda: replay_curves(c, data, batch_size=batch),
        ),
        (
            "add_sigmoid was ignored: build the model with build_model(config, data)",
            lambda: replay_curves(c, data, add_sigmoid=not c["add_sigmoid"]),
        ),
        (
            (
                "train_loss is an unweighted mean of the batch losses: weight each "
                "batch by "
                "its size"
            ),
            lambda: replay_curves(c, data, weighted=False),
        ),
        (
            (
                "train_loss is measured after each epoch in eval mode; average the "
                "losses of "
                "the epoch's training batches instead"
            ),
            lambda: replay_curves(c, data, after=True),
        ),
    ]


def replay_curves(
    config: dict, data: Data, weighted: bool = True, after: bool = False, **changes: Any
) -> np.ndarray:
    """A training run with one known mistake; its (epochs, 2) train/val curve."""
    config = {**config, **changes}
    return memo(
        "variant",
        config,
        data,
        lambda: variant_curves(config, data, weighted, after),
        weighted=weighted,
        after=after,
    )


def variant_curves(config: dict, data: Data, weighted: bool, after: bool) -> np.ndarray:
    loaders = ref.make_loaders(data, config["batch_size"], seed=config["seed"])
    model = ref.build_model(config, data)
    kind = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam}[config["optimizer"]]
    optimizer = kind(model.parameters(), lr=config["learning_rate"])
    loss_fn, curve = nn.MSELoss(), []
    for _ in range(config["epochs"]):
        model.train()
        losses, sizes = [], []
        for x, y in loaders["train"]:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            sizes.append(len(x))
        train = np.average(losses, weights=sizes) if weighted else np.mean(losses)
        model.eval()
        if after:
            train = mse(predict(model, data["train"][0]), data["train"][1])
        curve.append([train, mse(predict(model, data["val"][0]), data["val"][1])])
    return np.array(curve)


# ------------------------------------------------------------------ known wrong
def make_train_sweep(**mistakes: Any) -> Callable[..., float]:
    """A ``train_sweep`` written like the reference with the named mistakes switched
    on (none: a correct one). For ``known_wrong`` and tests/test_checks_week3b.py."""

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


def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``train_sweep`` answers and what their feedback says (each
    trains two 3-epoch runs on about 300 hidden windows)."""

    def wrong(**mistake: Any) -> dict[str, Callable[..., float]]:
        return {"train_sweep": make_train_sweep(**mistake)}

    return [
        KnownWrong(
            wrong(log_at_end=True),
            "after training had finished",
            "log-at-end",
            check=WHILE_TRAINING,
        ),
        KnownWrong(
            wrong(no_watch=True),
            "never called logger.watch",
            "no-watch",
            check=WATCH_FINISH,
        ),
        KnownWrong(
            wrong(no_finish=True), "exactly once", "no-finish", check=WATCH_FINISH
        ),
        KnownWrong(
            wrong(finish_twice=True), "2 time(s)", "finish-twice", check=WATCH_FINISH
        ),
        KnownWrong(
            wrong(train_mode_log=True),
            "model.eval()",
            "train-mode-log",
            check=EVAL_MODE,
        ),
        KnownWrong(
            wrong(return_best=True), "best_pearsonr", "return-best", check=RETURNS
        ),
        KnownWrong(
            wrong(nan_metric=True),
            (
                "your logged test_avg_pearsonr is NaN",
                "constant score track or prediction",
            ),
            "nan-metric",
            check=TEST_METRICS,
        ),
        KnownWrong(wrong(swapped=True), "swapped", "swapped", check=TEST_METRICS),
        KnownWrong(
            wrong(val_on_train=True), "training set", "val-on-train", check=VAL_LOSS
        ),
        KnownWrong(
            wrong(val_unweighted=True),
            "unweighted mean",
            "val-unweighted",
            check=VAL_LOSS,
        ),
        KnownWrong(
            wrong(unweighted=True), "unweighted mean", "unweighted", check=REPLAY
        ),
        KnownWrong(
            wrong(always_sgd=True),
            "config['optimizer']",
            "always-sgd",
            check=REPLAY,
        ),
        KnownWrong(
            wrong(fixed_lr=True), "config['learning_rate']", "fixed-lr", check=REPLAY
        ),
        KnownWrong(
            wrong(batch_64=True), "config['batch_size']", "batch-64", check=REPLAY
        ),
        KnownWrong(
            wrong(no_sigmoid=True),
            "without the sigmoid",
            "no-sigmoid",
            check=TEST_METRICS,
        ),
        KnownWrong(
            wrong(no_sigmoid=True),
            "add_sigmoid was ignored",
            "no-sigmoid-2",
            check=REPLAY,
        ),
        KnownWrong(wrong(fewer=1), "config['epochs'] = 3", "fewer", check=EPOCH_LOGS),
    ]
