"""What several of week3b's question modules share: helpers, adapters and the
reference stand-in (each question's own check is its module, ``q<NN>_*.py``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import numpy as np
from torch import nn

from gene46100.checks import (
    Plan,
    adapter_call,
    adapter_source,
)
from gene46100.contract.results import Value
from gene46100_ref import week3b as ref
from gene46100_ref.tfdata import simulate_tf_windows

SEQ_LEN = 100  # hidden windows: as long as the notebook's crops (each holds a site)


# The course's sweep (notebook 6): the oracle for q1, the search space for q3.
COURSE_VALUES: dict[str, list] = {
    "num_filters": [4, 16, 32],
    "kernel_size": [4, 6, 10],
    "add_sigmoid": [True, False],
    "learning_rate": [0.1, 0.05],
    "batch_size": [16, 32, 64],
    "optimizer": ["SGD", "Adam"],
}


VALUE_TYPES = {
    "num_filters": int,
    "kernel_size": int,
    "add_sigmoid": bool,
    "learning_rate": float,
    "batch_size": int,
    "optimizer": str,
}


CONFIG_KEYS = (*COURSE_VALUES, "epochs", "seed")


EPOCH_KEYS = ("epoch", "train_loss", "val_loss")


FINAL_KEYS = ("test_avg_pearsonr", "best_pearsonr")


Data = dict[str, tuple[np.ndarray, np.ndarray]]


def hidden_data(
    rng: np.random.Generator, sizes: tuple[int, int, int], seq_len: int = SEQ_LEN
) -> Data:
    """Fresh simulated windows split into train/val/test of the given sizes.

    Returns ``{split: (x float32 (N, seq_len, 4), y float32 (N, seq_len))}``; every
    window holds a site (the simulator plants 1-3 whole sites in each).
    """
    n = sum(sizes)
    seq_df, scores_df = simulate_tf_windows(
        n, int(rng.integers(2**31)), "easy", seq_len
    )
    dataset = ref.SeqDatasetOHE(seq_df, scores_df)
    x, y = dataset.x.numpy().copy(), dataset.y.numpy().copy()  # (n, L, 4), (n, L)
    require_sites(y)
    a, b = sizes[0], sizes[0] + sizes[1]
    return {"train": (x[:a], y[:a]), "val": (x[a:b], y[a:b]), "test": (x[b:], y[b:])}


def require_sites(y: np.ndarray) -> None:
    """Refuse hidden windows (scores float ``(N, L)``) whose score track is constant:
    their Pearson r is undefined, and a correct plain ``.mean()`` would be NaN."""
    flat = int((y.max(axis=1) <= y.min(axis=1)).sum())
    if flat:
        raise RuntimeError(f"{flat} hidden windows hold no site (simulator changed?)")


def register_data(plan: Plan, prefix: str, data: Data) -> dict:
    """Send a data set as hidden arrays; return the ``data`` argument form."""
    return {
        split: [
            plan.array(f"{prefix}_{split}_x", x),
            plan.array(f"{prefix}_{split}_y", y),
        ]
        for split, (x, y) in data.items()
    }


def plain(value: Value | None) -> Any:
    """A ``Value`` as plain Python data (numbers, str, bool, None, lists, dicts).

    numpy scalars and 0-d arrays/tensors become Python numbers; anything that is not
    plain data becomes the marker ``("other", type name)``.
    """
    if value is None:
        return None
    if value.kind == "py":
        return value.data
    if value.kind in ("list", "tuple"):
        return [plain(v) for v in value.data]
    if value.kind == "dict":
        return {k: plain(v) for k, v in value.data.items()}
    if value.is_array_like and value.data.size == 1:
        return np.asarray(value.data).reshape(()).item()
    return ("other", value.type)


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def rel_diff(got: np.ndarray, expected: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        return float(np.nanmax(np.abs(got / expected - 1.0)))


# Sandbox side (``Question.adapters``): grader-owned experiment loggers that only
# record, defined in the student's namespace for one question. A logger's name picks
# the same logger within the question, so a later probe reads its record back.
class _GraderLoggers:
    """This question's grader loggers by name (the namespace is fresh per question)."""

    by_name: dict = {}


def _grader_state_arrays(model) -> dict:
    """A module's state_dict as float numpy arrays (plain data for the trusted side)."""
    state = getattr(model, "state_dict", None)
    if state is None:
        return {}
    return {str(k): v.detach().cpu().numpy().copy() for k, v in state().items()}


def _grader_fingerprint(model) -> float | None:
    """Sum of all parameters: it changes whenever the model is trained."""
    try:
        return float(sum(p.detach().double().sum() for p in model.parameters()))
    except Exception:  # noqa: BLE001 - not a torch module: no fingerprint
        return None


class _GraderRecordingLogger:
    """An experiment logger (``watch``, ``log``, ``finish``) that only records.

    Each ``log`` notes whether the watched model was in training mode and a
    fingerprint of its weights at that moment (so the trusted side can tell
    per-epoch logging from logging everything after training); ``finish`` keeps a
    copy of the watched model's weights for an independent evaluation.
    """

    def __init__(self, config=None) -> None:
        self.config = config
        self.calls: list[dict] = []
        self.model = None
        self.state: dict | None = None

    def watch(self, model, *args, **kwargs) -> None:
        self.model = model
        self.calls.append({"method": "watch"})

    def log(self, metrics, *args, **kwargs) -> None:
        call = {
            "method": "log",
            "metrics": dict(metrics) if isinstance(metrics, dict) else metrics,
        }
        if self.model is not None:
            call["training"] = bool(getattr(self.model, "training", False))
            call["fingerprint"] = _grader_fingerprint(self.model)
        self.calls.append(call)

    def finish(self, *args, **kwargs) -> None:
        self.calls.append({"method": "finish"})
        if self.model is not None:
            self.state = _grader_state_arrays(self.model)

    def records(self) -> dict:
        """The calls, the config and the weights at ``finish`` (else now)."""
        state = self.state
        if state is None and self.model is not None:
            state = _grader_state_arrays(self.model)
        return {
            "config": self.config,
            "calls": self.calls,
            "state": state,
            "finished": self.state is not None,
        }


class _GraderLoggerFactory:
    """``make_logger(config)`` for a sweep: a fresh recording logger per run."""

    def __init__(self) -> None:
        self.loggers: list[_GraderRecordingLogger] = []

    def __call__(self, config=None, *args, **kwargs) -> _GraderRecordingLogger:
        config = dict(config) if isinstance(config, dict) else config
        self.loggers.append(_GraderRecordingLogger(config))
        return self.loggers[-1]

    def count(self) -> int:
        return len(self.loggers)

    def run_records(self, i: int) -> dict | None:
        """Run ``i``'s config and calls (no weights: a sweep has many runs)."""
        if not 0 <= i < len(self.loggers):
            return None
        logger = self.loggers[i]
        return {"config": logger.config, "calls": logger.calls}


def _grader_logger(name: str) -> _GraderRecordingLogger:
    return _GraderLoggers.by_name.setdefault(f"one:{name}", _GraderRecordingLogger())


def _grader_logger_factory(name: str) -> _GraderLoggerFactory:
    return _GraderLoggers.by_name.setdefault(f"factory:{name}", _GraderLoggerFactory())


LOGGER_ADAPTERS = adapter_source(
    _GraderLoggers,
    _grader_state_arrays,
    _grader_fingerprint,
    _GraderRecordingLogger,
    _GraderLoggerFactory,
    _grader_logger,
    _grader_logger_factory,
)


def logger_arg(name: str) -> dict:
    """A grader-owned recording logger; read it back with
    ``plan.call_method(id, logger_arg(name), "records")``."""
    return adapter_call("_grader_logger", name)


def logger_factory_arg(name: str) -> dict:
    """A grader-owned ``make_logger(config)``: one recording logger per run; read
    back with its methods ``count`` and ``run_records(i)``."""
    return adapter_call("_grader_logger_factory", name)


class History:
    """A trusted logger: keeps what ``log`` receives (for reference replays)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.model: nn.Module | None = None

    def watch(self, model: nn.Module) -> None:
        self.model = model

    def log(self, metrics: dict) -> None:
        self.rows.append(dict(metrics))

    def finish(self) -> None:
        pass


# Reference runs are deterministic functions of (config, data), and a batch grades
# every submission on the same hidden data: remember them (bounded) so the default
# configuration and the replays are trained once per batch, not once per student.
_MEMO: dict[tuple, Any] = {}


MEMO_SIZE = 256


def data_key(data: Data) -> str:
    digest = hashlib.sha1()
    for split in sorted(data):
        for array in data[split]:
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def memo(
    kind: str, config: dict, data: Data, compute: Callable[[], Any], **options: Any
) -> Any:
    key = (
        kind,
        json.dumps(config, sort_keys=True, default=repr),
        json.dumps(options, sort_keys=True),
        data_key(data),
    )
    if key not in _MEMO:
        if len(_MEMO) >= MEMO_SIZE:
            _MEMO.clear()
        _MEMO[key] = compute()
    return _MEMO[key]


def reference_run(config: dict, data: Data) -> tuple[float, History]:
    """The reference ``train_sweep`` on CPU; its score and what it logged."""

    def compute() -> tuple[float, History]:
        history = History()
        score = ref.train_sweep(dict(config), history, data=data, device="cpu")
        history.model = None  # keep the rows, not the weights
        return score, history

    return memo("reference", config, data, compute)


def course_value(v: Any, expected: list) -> Any:
    """The course's value that float ``v`` equals at float32 precision, else ``v``
    (dtype policy: ``np.float32(0.1)`` in a config is the course's 0.1)."""
    if type(v) is float:
        for e in expected:
            if type(e) is float and np.float32(v) == np.float32(e):
                return e
    return v
