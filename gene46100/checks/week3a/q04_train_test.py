"""week3a q4: ``train_model`` and ``test_model``. train_model, from the grader's
initial weights on small hidden problems, returns two lists of per-epoch float losses
that match the reference's learning curves (a TFBindingCNN, and a BatchNorm CNN whose
curves show train/eval mode), and the model it trains on a larger problem reaches a
held-out mean per-sequence r of ``Q4_MIN_R``; test_model returns predictions and
observations in the loader's order and the per-sequence Pearson r (NaN where a side
is constant)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader as _GraderDataLoader
from torch.utils.data import TensorDataset as _GraderTensorDataset

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    adapter_source,
    close,
    expect_array,
    guarded,
    outcome_value,
)
from gene46100.checks.helpers import (
    Candidate,
    curve_values,
    expect_tensor,
    first_match,
    is_float_scalar,
    register_state,
    wrong,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.week3a.common import (
    ADAPTER_HEADER,
    Q4_MIN_R,
    _grader_model,
    _grader_test,
    _grader_train,
    _GraderBNNet,
    dict_items,
    load_model,
    new_model,
    onehot_batch,
    pearson_zero_nan,
    reference_cnn,
    simulate,
    state_arrays,
    targets,
)
from gene46100.contract.results import QuestionRun, Value
from gene46100_ref import week3a as ref
from gene46100_ref.seeding import seeded_torch

# Small problems: windows of 60 bp, a short last batch, three epochs.
Q4_CURVE = {
    "cnn": {"args": [60, 6, 8, 60], "n": (70, 30), "lr": 0.02},
    "bn": {"args": [6, 5], "n": (70, 30), "lr": 0.05},
}


Q4_LEARN = {
    "args": [100, 16, 8, 100],
    "n": (400, 100, 200),
    "lr": 0.05,
    "epochs": 10,
    "batch_size": 32,
}


CURVE_RTOL = 1e-4


@dataclass(frozen=True)
class Training:
    """One train_model probe: the model and its initial weights, the settings, and
    the hidden windows split into training, validation and held-out test sets."""

    kind: str  # "cnn" (the reference TFBindingCNN) or "bn" (_GraderBNNet)
    args: list[int]  # the model's constructor arguments
    state: dict[str, np.ndarray]  # its initial weights
    lr: float
    epochs: int
    batch_size: int
    x_tr: np.ndarray  # float32 (n, L, 4) one-hot windows
    y_tr: np.ndarray  # float32 (n, L) scores
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray  # float64 (n, L)


@dataclass(frozen=True)
class Testing:
    """One test_model probe: a TFBindingCNN's arguments and weights, and the data."""

    args: list[int]
    state: dict[str, np.ndarray]
    x: np.ndarray  # float32 (n, L, 4)
    y: np.ndarray  # float32 (n, L); some rows all zero


@dataclass
class Facts:
    """What scoring reads (trusted-only): every train_model and test_model probe."""

    curves: dict[str, Training] = field(default_factory=dict)  # "cnn", "bn"
    learn: Training | None = None  # the behaviour probe (held-out r)
    tests: dict[str, Testing] = field(default_factory=dict)  # "test", "flat"


class Q4TrainTest(Question):
    """q4: ``train_model`` (curves vs the reference, behaviour) and ``test_model``."""

    name = "q4"
    names = ("train_model", "test_model")
    slow_reference = True  # the reference trains models for seconds
    provides = ("TFBindingCNN",)
    adapters = adapter_source(
        _GraderBNNet, _grader_model, _grader_train, _grader_test, header=ADAPTER_HEADER
    )

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        plan = Plan(facts=Facts())
        for kind, spec in Q4_CURVE.items():
            c = q4_case(
                rng,
                kind,
                spec["args"],
                *spec["n"],
                10,
                lr=spec["lr"],
                epochs=3,
                batch_size=16,
                seq_len=60,
            )
            plan.facts.curves[kind] = c
            self._train_probe(plan, kind, c)
        learn = q4_case(
            rng,
            "cnn",
            Q4_LEARN["args"],
            *Q4_LEARN["n"],
            lr=Q4_LEARN["lr"],
            epochs=Q4_LEARN["epochs"],
            batch_size=Q4_LEARN["batch_size"],
            seq_len=100,
        )
        plan.facts.learn = learn
        self._train_probe(plan, "learn", learn)
        plan.facts.tests = self._test_probes(plan, rng)
        return plan

    @staticmethod
    def _train_probe(plan: Plan, key: str, c: Training) -> None:
        plan.call(
            key,
            "_grader_train",
            c.kind,
            c.args,
            register_state(plan, key, c.state),
            plan.tensor(f"{key}_xtr", c.x_tr),
            plan.tensor(f"{key}_ytr", c.y_tr),
            plan.tensor(f"{key}_xval", c.x_val),
            plan.tensor(f"{key}_yval", c.y_val),
            c.lr,
            c.epochs,
            c.batch_size,
            plan.tensor(f"{key}_xtest", c.x_test),
        )

    @staticmethod
    def _test_probes(plan: Plan, rng: np.random.Generator) -> dict[str, Testing]:
        args = [60, 6, 8, 60]
        seq_df, scores_df = simulate(rng, 25, 60)
        x, y = onehot_batch(list(seq_df["sequence"])), targets(seq_df, scores_df)
        y[rng.choice(25, size=2, replace=False)] = 0.0  # windows with nothing observed
        with seeded_torch(int(rng.integers(2**31))):
            state = state_arrays(ref.TFBindingCNN(*args))
        flat = {k: v.copy() for k, v in state.items()}
        flat["fc.weight"][:] = 0.0
        flat["fc.bias"][:] = 1.5  # the same prediction at every position
        tests = {
            "test": Testing(args, state, x, y),
            "flat": Testing(args, flat, x, y),
        }
        for key, t in tests.items():
            plan.call(
                key,
                "_grader_test",
                "cnn",
                args,
                register_state(plan, key, t.state),
                plan.tensor(f"{key}_x", x),
                plan.tensor(f"{key}_y", y),
                8,
            )
        return tests

    def prepare(self, plan: Plan[Facts]) -> None:
        self.references(plan)

    @staticmethod
    def references(plan: Plan[Facts]) -> dict[str, np.ndarray]:
        """The reference's training of every curve case (once per plan)."""
        curves = plan.facts.curves
        return plan.memo(
            "references",
            lambda: {k: reference_training(c) for k, c in curves.items()},
        )

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        cases, tests = plan.facts.curves, plan.facts.tests
        refs = self.references(plan)
        return [
            guarded(
                "train_model returns two lists of epochs floats",
                lambda: self._check_types(run, cases),
            ),
            guarded(
                "learning curves match the reference from the same weights",
                lambda: self._check_curves(run, cases, refs),
                weight=2.0,
            ),
            guarded(
                "validation in eval mode, training in train mode (BatchNorm model)",
                lambda: self._check_curves(run, cases, refs, kinds=("bn",)),
            ),
            guarded(
                f"the trained model reaches held-out mean r >= {Q4_MIN_R}",
                lambda: self._check_learns(run, plan.facts.learn),
            ),
            guarded(
                "test_model: predictions and observations in the loader's order",
                lambda: self._check_test_arrays(run, tests["test"]),
            ),
            guarded(
                "test_model: per-sequence Pearson r, NaN where a side is constant",
                lambda: self._check_pearson(run, tests),
                weight=2.0,
            ),
        ]

    @staticmethod
    def _what(c: Training) -> str:
        model = "TFBindingCNN" if c.kind == "cnn" else "a BatchNorm CNN"
        return (
            f"train_model({model}, {len(c.x_tr)} training windows, lr={c.lr}, "
            f"epochs={c.epochs}, batch_size {c.batch_size})"
        )

    def _losses(
        self, run: QuestionRun, key: str, c: Training
    ) -> tuple[np.ndarray, ...]:
        what = self._what(c)
        out = dict_items(outcome_value(run, key, what), what)
        losses = out["losses"]
        if losses.kind not in ("tuple", "list") or len(losses.data) != 2:
            raise Mismatch(
                f"{what} should return (train_losses, val_losses); got {losses.type}"
            )
        curves = tuple(curve_values(v, what) for v in losses.data)
        for name, curve in zip(("train_losses", "val_losses"), curves, strict=True):
            if curve.size != c.epochs:
                raise Mismatch(
                    f"{name} of {what} should hold {c.epochs} losses (one "
                    f"per epoch); got {curve.size}"
                    + (
                        " (one per batch? average each epoch's batches)"
                        if curve.size > c.epochs
                        else ""
                    )
                )
        return curves

    def _check_types(self, run: QuestionRun, cases: dict[str, Training]) -> None:
        for key in ("cnn", "bn"):
            c = cases[key]
            what = self._what(c)
            out = dict_items(outcome_value(run, key, what), what)
            self._losses(run, key, c)
            for curve in out["losses"].data:
                if curve.kind != "list":
                    raise Mismatch(f"{what} should return two lists; got {curve.type}")
                for item in curve.data:
                    if item.kind == "tensor":
                        raise Mismatch(
                            f"{what} returned tensors: append loss.item() "
                            "(a float; a tensor keeps its graph alive)"
                        )
                    if not is_float_scalar(item):
                        raise Mismatch(
                            f"each loss of {what} should be a float; got {item.type}"
                        )

    def _check_curves(
        self,
        run: QuestionRun,
        cases: dict[str, Training],
        refs: dict[str, np.ndarray],
        kinds: tuple[str, ...] = ("cnn",),
    ) -> None:
        for key in kinds:
            c, expected = cases[key], refs[key]
            what = self._what(c)
            got = np.concatenate(self._losses(run, key, c))
            if close(got, expected, rtol=CURVE_RTOL, atol=1e-7):
                continue
            hint = first_match(got, q4_candidates(c), rtol=CURVE_RTOL, atol=1e-7)
            if not hint and np.allclose(got[: c.epochs], got[c.epochs :]):
                hint = (
                    "train and validation losses are identical: use val_dl for "
                    "validation"
                )
            raise wrong(
                f"the learning curves of {what}",
                got,
                expected,
                hint,
                "each epoch: model.train(), zero_grad/forward/backward/step per "
                "batch; then model.eval() and the validation loss under "
                "torch.no_grad(); weight each batch's loss by its size",
            )

    def _check_learns(self, run: QuestionRun, c: Training) -> None:
        what = self._what(c)
        out = dict_items(outcome_value(run, "learn", what), what)
        preds = expect_tensor(
            out["preds"],
            "the trained model's held-out predictions",
            shape=c.y_test.shape,
        )
        r = float(np.mean(pearson_zero_nan(preds, c.y_test)))
        if math.isfinite(r) and r >= Q4_MIN_R:
            return
        untrained = reference_cnn(c.args, c.state, c.x_test)
        hint = (
            "the model did not change: train the model passed in, in place"
            if np.allclose(preds, untrained, rtol=1e-6, atol=1e-6)
            else "the predictions are not finite: training diverged"
            if not np.isfinite(preds).all()
            else (
                "check the update loop: zero_grad, loss, backward, step for every batch"
            )
        )
        raise Mismatch(
            f"after {what}, the held-out mean per-sequence r is {r:.3f}; the "
            f"threshold is {Q4_MIN_R} (the reference reaches about 0.7 from "
            f"the same weights): {hint}"
        )

    @staticmethod
    def _test_result(run: QuestionRun, key: str) -> list[Value]:
        what = (
            "test_model on a hidden loader"
            if key == "test"
            else (
                "test_model with a model that predicts the same value at every position"
            )
        )
        outcome = run.outcomes.get(key)
        if (
            outcome is not None
            and not outcome.ok
            and not outcome.not_implemented
            and key == "flat"
            and outcome.error_type != "MissingName"
        ):
            raise Mismatch(
                f"{what} raised {outcome.error_type}: a constant prediction "
                "has no Pearson correlation; return NaN for it instead of "
                "failing (e.g. compute r yourself and divide only where both "
                "standard deviations are > 0)"
            )
        value = outcome_value(run, key, what)
        if value.kind not in ("tuple", "list") or len(value.data) != 3:
            raise Mismatch(
                f"{what} should return (preds, obs, pearson_per_seq); got {value.type}"
            )
        return value.data

    def _check_test_arrays(self, run: QuestionRun, t: Testing) -> None:
        preds, obs, _ = self._test_result(run, "test")
        expected = reference_cnn(t.args, t.state, t.x)
        for name, value, exp in (("preds", preds, expected), ("obs", obs, t.y)):
            got = expect_numpy(value, f"{name} of test_model", exp.shape)
            if not close(got, exp, rtol=1e-4, atol=1e-5):
                raise wrong(
                    f"{name} of test_model",
                    got,
                    exp,
                    "" if name == "preds" else "obs are the loader's targets",
                    "collect every batch in the loader's order, in eval mode",
                )

    def _check_pearson(self, run: QuestionRun, tests: dict[str, Testing]) -> None:
        for key, t in tests.items():
            r = self._test_result(run, key)[2]
            n = len(t.x)
            what = "pearson_per_seq of test_model" + (
                "" if key == "test" else " for constant predictions"
            )
            got = expect_numpy(r, what, None)
            if got.shape != (n,):
                raise Mismatch(
                    f"{what} should have shape (N,) = ({n},); got {got.shape}"
                    + pearson_shape_hint(got.shape, t.x.shape[1])
                )
            model_preds = reference_cnn(t.args, t.state, t.x)
            expected = ref.pearson_per_row(model_preds, t.y.astype(np.float64))
            if close(got, expected, rtol=1e-4, atol=1e-6):
                continue
            hint = first_match(
                got, q4_pearson_candidates(model_preds, t.y), rtol=1e-4, atol=1e-6
            )
            raise wrong(
                what,
                got,
                expected,
                hint,
                "r_i = cov(preds_i, obs_i) / (std(preds_i) std(obs_i)) over the "
                "positions of sequence i; NaN when a std is 0",
            )


def expect_numpy(value: Value, what: str, shape: tuple | None) -> np.ndarray:
    if value.kind == "tensor":
        raise Mismatch(
            f"{what} should be a numpy array; got a torch tensor (.cpu().numpy())"
        )
    return expect_array(value, what, shape, kinds="f")


def pearson_shape_hint(shape: tuple, length: int) -> str:
    if shape == (length,):
        return (
            ": one r per position: correlate each sequence's row across its "
            "positions, not each position across sequences"
        )
    if shape == ():
        return ": one r for everything: compute one r per sequence"
    return ""


def q4_pearson_candidates(preds: np.ndarray, obs: np.ndarray) -> list[Candidate]:
    r = ref.pearson_per_row(preds, obs.astype(np.float64))
    return [
        (
            (
                "a constant side gave 0 instead of NaN: there is no correlation to "
                "report, return NaN (and summarise with np.nanmean)"
            ),
            lambda: np.nan_to_num(r, nan=0.0),
        ),
        ("that is r squared; return r itself (its sign matters)", lambda: r**2),
    ]


def q4_case(
    rng: np.random.Generator,
    kind: str,
    args: list,
    n_tr: int,
    n_val: int,
    n_test: int,
    lr: float,
    epochs: int,
    batch_size: int,
    seq_len: int,
) -> Training:
    """Fresh windows and initial weights for one training probe."""
    seq_df, scores_df = simulate(rng, n_tr + n_val + n_test, seq_len)
    x = onehot_batch(list(seq_df["sequence"]))
    y = targets(seq_df, scores_df)
    parts = np.split(np.arange(len(x)), [n_tr, n_tr + n_val])
    state = state_arrays(new_model(kind, args, int(rng.integers(2**31))))
    return Training(
        kind=kind,
        args=args,
        state=state,
        lr=lr,
        epochs=epochs,
        batch_size=batch_size,
        x_tr=x[parts[0]],
        y_tr=y[parts[0]],
        x_val=x[parts[1]],
        y_val=y[parts[1]],
        x_test=x[parts[2]],
        y_test=y[parts[2]].astype(np.float64),
    )


def q4_loaders(c: Training) -> tuple[_GraderDataLoader, _GraderDataLoader]:
    def loader(x, y):
        data = _GraderTensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        return _GraderDataLoader(data, batch_size=c.batch_size)

    return loader(c.x_tr, c.y_tr), loader(c.x_val, c.y_val)


def reference_training(c: Training) -> np.ndarray:
    """The reference's train and validation curves, concatenated."""
    model = load_model(c.kind, c.args, c.state)
    train, val = ref.train_model(
        model, *q4_loaders(c), lr=c.lr, epochs=c.epochs, device="cpu"
    )
    return np.array(train + val)


def train_variant(
    c: Training,
    zero_grad: bool = True,
    eval_val: bool = True,
    retrain_mode: bool = True,
    weighted: bool = True,
    val_first: bool = False,
    optimizer=torch.optim.SGD,
    swap: bool = False,
) -> np.ndarray:
    """A training loop with one known mistake; returns its curves concatenated."""
    model = load_model(c.kind, c.args, c.state)
    train_dl, val_dl = q4_loaders(c)
    opt, loss_fn = optimizer(model.parameters(), lr=c.lr), nn.MSELoss()

    def epoch_loss(loader, update: bool) -> float:
        losses, sizes = [], []
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            if update:
                if zero_grad:
                    opt.zero_grad()
                loss.backward()
                opt.step()
            losses.append(loss.item())
            sizes.append(len(xb))
        return float(np.average(losses, weights=sizes if weighted else None))

    def validate() -> float:
        if eval_val:
            model.eval()
        with torch.no_grad():
            return epoch_loss(val_dl, update=False)

    train, val = [], []
    model.train()
    for _ in range(c.epochs):
        if retrain_mode:
            model.train()
        if val_first:
            val.append(validate())
        train.append(epoch_loss(train_dl, update=True))
        if not val_first:
            val.append(validate())
    return np.array(val + train if swap else train + val)


def q4_candidates(c: Training) -> list[Candidate]:
    return [
        (
            (
                "gradients accumulate across batches: call opt.zero_grad() before "
                "every backward()"
            ),
            lambda: train_variant(c, zero_grad=False),
        ),
        (
            (
                "the validation loss was computed in training mode: call model.eval() "
                "before validating (BatchNorm and Dropout behave differently in eval "
                "mode)"
            ),
            lambda: train_variant(c, eval_val=False),
        ),
        (
            (
                "after the first validation the model stays in eval mode: call "
                "model.train() at the start of every epoch"
            ),
            lambda: train_variant(c, retrain_mode=False),
        ),
        (
            (
                "each epoch's loss is the plain mean of its batch losses; weight each "
                "batch by its size (the last batch is shorter)"
            ),
            lambda: train_variant(c, weighted=False),
        ),
        (
            (
                "the validation loss was measured before the epoch's updates; measure "
                "it after"
            ),
            lambda: train_variant(c, val_first=True),
        ),
        (
            "that is what Adam gives: use torch.optim.SGD",
            lambda: train_variant(c, optimizer=torch.optim.Adam),
        ),
        (
            "the two lists are swapped: return (train_losses, val_losses)",
            lambda: train_variant(c, swap=True),
        ),
    ]


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``train_model`` and ``test_model`` answers and what their
    feedback says (each trains for seconds: slow)."""
    import statistics

    def make_train(
        zero_grad=True,
        eval_val=True,
        retrain=True,
        weighted=True,
        optimizer=torch.optim.SGD,
    ):
        def train_model(model, train_dl, val_dl, lr=0.01, epochs=10, device=None):
            opt, loss_fn = optimizer(model.parameters(), lr=lr), nn.MSELoss()
            out = ([], [])
            model.train()
            for _ in range(epochs):
                if retrain:
                    model.train()
                for losses_of, loader, update in (
                    (out[0], train_dl, True),
                    (out[1], val_dl, False),
                ):
                    if not update and eval_val:
                        model.eval()
                    losses, sizes = [], []
                    for xb, yb in loader:
                        with torch.set_grad_enabled(update):
                            loss = loss_fn(model(xb), yb)
                        if update:
                            if zero_grad:
                                opt.zero_grad()
                            loss.backward()
                            opt.step()
                        losses.append(loss.item())
                        sizes.append(len(xb))
                    losses_of.append(
                        float(np.average(losses, weights=sizes if weighted else None))
                    )
            return out

        return train_model

    def make_test(nan_to_zero=False, per_position=False, crash=False, tensors=False):
        def test_model(model, loader, device=None):
            preds, obs, r = ref.test_model(model, loader, device="cpu")
            if crash:
                r = np.array(
                    [
                        statistics.correlation(list(p), list(o))
                        for p, o in zip(preds, obs, strict=True)
                    ]
                )
            if nan_to_zero:
                r = np.nan_to_num(r, nan=0.0)
            if per_position:
                r = ref.pearson_per_row(preds.T, obs.T)
            if tensors:
                return torch.tensor(preds), torch.tensor(obs), r
            return preds, obs, r

        return test_model

    return [
        KnownWrong(
            {"train_model": make_train(zero_grad=False)},
            "opt.zero_grad()",
            "train-zero-grad",
            slow=True,
        ),
        KnownWrong(
            {"train_model": make_train(eval_val=False)},
            "computed in training mode",
            "train-eval-val",
            slow=True,
        ),
        KnownWrong(
            {"train_model": make_train(retrain=False)},
            "call model.train()",
            "train-retrain",
            slow=True,
        ),
        KnownWrong(
            {"train_model": make_train(weighted=False)},
            "plain mean of its batch",
            "train-weighted",
            slow=True,
        ),
        KnownWrong(
            {"train_model": make_train(optimizer=torch.optim.Adam)},
            "use torch.optim.SGD",
            "train-optimizer-adam",
            slow=True,
        ),
        KnownWrong(
            {"test_model": make_test(nan_to_zero=True)},
            "gave 0 instead of NaN",
            "test-nan-to-zero",
            slow=True,
        ),
        KnownWrong(
            {"test_model": make_test(crash=True)},
            "raised StatisticsError",
            "test-crash",
            slow=True,
        ),
        KnownWrong(
            {"test_model": make_test(per_position=True)},
            "one r per position",
            "test-per-position",
            slow=True,
        ),
        KnownWrong(
            {"test_model": make_test(tensors=True)},
            "got a torch tensor",
            "test-tensors",
            slow=True,
        ),
    ]
