"""week2 q7: ``train_model``, the course's mini-batch SGD loop with validation.

A small run on a grader-built ``DNA_CNN`` that records its forward calls (the
"spy"): the loop returns two lists of per-epoch losses, both curves match the
reference's from the same weights and batches, and validation runs in eval mode
without gradients while training runs in train mode. A full run (``BEHAVIOUR``) on
fresh 8-mers: the ``DNA_CNN`` it trains reaches ``R2_THRESHOLD`` on held-out 8-mers
and beats the best linear model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    close,
    guarded,
    outcome_then,
    outcome_value,
)
from gene46100.checks.helpers import (
    Candidate,
    curve_values,
    expect_float,
    expect_tensor,
    first_match,
    register_state,
    wrong,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.week2.common import (
    ADAPTERS,
    BASES,
    _grader_SpyCNN,
    cnn_forward,
    cnn_state,
    load,
    loader_arg,
    make_loader,
    ref,
)
from gene46100.contract.results import QuestionRun
from gene46100_ref.seeding import seeded_torch

# Curves from the same weights and batches agree to float32 rounding (an independent
# loop differs by ~1e-7 relative after 3 epochs); 1e-4 accepts that and rejects every
# known mistake (each changes the curves by 1 % or more).
CURVE_RTOL = 1e-4


# Behaviour: DNA_CNN(8) trained by the student's loop on 16,000 fresh 8-mers (batch 32,
# lr 0.01, 10 epochs, the grader's initial weights), R^2 on 4,000 held-out 8-mers.
# The reference over 17 seeds (the grading seed and 0-15): 0.833-0.954, median 0.935
# (one seed at 0.833, all others >= 0.906); the best linear model: 0.251-0.290.
# SGD at lr 0.01 oscillates from epoch to epoch, so a correct loop whose rounding
# differs can land on a worse epoch: 0.75 leaves a margin of 0.08 below the worst
# seed and stays far above anything linear. tests/test_checks_week2.py re-measures it.
R2_THRESHOLD = 0.75


BEHAVIOUR = {
    "n_train": 16_000,
    "n_val": 2_000,
    "n_test": 4_000,
    "batch": 32,
    "val_batch": 500,
    "lr": 0.01,
    "epochs": 10,
}


@dataclass(frozen=True)
class Spy:
    """The small run on the recording ``_grader_SpyCNN``: data, loaders, settings."""

    x: np.ndarray  # training one-hot 8-mers, float32 (n, 8, 4)
    y: np.ndarray  # their scores, float32 (n, 1)
    xv: np.ndarray  # validation 8-mers
    yv: np.ndarray  # their scores
    batch: int  # training batch size (its short last batch differs from val's)
    val_batch: int  # validation batch size
    lr: float
    epochs: int
    state: dict[str, np.ndarray]  # the initial weights (DNA_CNN(8, 8, 3))


@dataclass(frozen=True)
class Fit:
    """The behaviour run (``BEHAVIOUR``): train/validation/test 8-mers, weights."""

    x: np.ndarray  # training one-hot 8-mers, float32 (n, 8, 4)
    y: np.ndarray  # their scores, float32 (n, 1)
    xv: np.ndarray  # validation 8-mers
    yv: np.ndarray  # their scores
    xt: np.ndarray  # held-out 8-mers the trained model predicts
    yt: np.ndarray  # their scores, float64 (n,)
    state: dict[str, np.ndarray]  # the initial weights (DNA_CNN(8))


@dataclass(frozen=True)
class Facts:
    """What scoring reads (trusted-only): the spy run and the behaviour run."""

    spy: Spy
    fit: Fit


class Q7TrainModel(Question):
    """q7: ``train_model``: curves, train/eval modes and what the trained CNN learns."""

    name = "q7"
    names = ("train_model",)
    provides = ("DNA_CNN",)  # a q6 slip must not cost q7
    adapters = ADAPTERS
    slow_reference = True  # the behaviour run trains for seconds

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        spy = spy_case(rng)
        fit = behaviour_case(rng)  # drawn after the spy case
        plan = Plan(facts=Facts(spy=spy, fit=fit))
        plan.call(
            "spy",
            "train_model",
            {
                "$new": "_grader_SpyCNN",
                "args": [8, 8, 3],
                "state": register_state(plan, "spy", spy.state),
            },
            loader_arg(plan, "spy_train", spy.x, spy.y, spy.batch),
            loader_arg(plan, "spy_val", spy.xv, spy.yv, spy.val_batch),
            lr=spy.lr,
            epochs=spy.epochs,
            device="cpu",
            then={"arg": 0, "method": "records", "args": []},
        )
        b = BEHAVIOUR
        plan.call(
            "fit",
            "train_model",
            {
                "$new": "DNA_CNN",
                "args": [8],
                "state": register_state(plan, "fit", fit.state),
            },
            loader_arg(plan, "fit_train", fit.x, fit.y, b["batch"]),
            loader_arg(plan, "fit_val", fit.xv, fit.yv, b["val_batch"]),
            lr=b["lr"],
            epochs=b["epochs"],
            device="cpu",
            then={
                "arg": 0,
                "method": "forward",
                "args": [plan.tensor("fit_test", fit.xt)],
            },
        )
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        spy, fit = plan.facts.spy, plan.facts.fit
        return [
            guarded(
                "returns (train_losses, val_losses), two lists of epochs floats",
                lambda: self._curves(run, spy),
            ),
            guarded(
                "both curves match the reference from the same weights",
                lambda: self._check_curves(run, spy),
                weight=2.0,
            ),
            guarded(
                "validation in eval mode without gradients; training in train mode",
                lambda: self._check_modes(run, spy),
            ),
            guarded(
                f"a DNA_CNN it trains reaches R^2 >= {R2_THRESHOLD} on held-out 8-mers",
                lambda: self._check_r2(run, fit),
                weight=2.0,
            ),
            guarded(
                "the trained CNN beats the best linear model",
                lambda: self._check_linear(run, fit),
            ),
        ]

    @staticmethod
    def _what(spy: Spy) -> str:
        return (
            f"train_model(model, train_dl, val_dl, lr={spy.lr:.4g}, "
            f"epochs={spy.epochs})"
        )

    def _curves(self, run: QuestionRun, spy: Spy) -> tuple[np.ndarray, np.ndarray]:
        what = self._what(spy)
        value = outcome_value(run, "spy", what)
        if value.kind not in ("tuple", "list") or len(value.data) != 2:
            raise Mismatch(
                f"{what} should return a tuple (train_losses, val_losses); "
                f"got {value.type}"
            )
        curves = []
        for name, item in zip(("train_losses", "val_losses"), value.data, strict=True):
            if item.kind != "list":
                raise Mismatch(f"{name} from {what} should be a list; got {item.type}")
            for entry in item.data:
                if entry.kind == "tensor":
                    raise Mismatch(
                        f"{name} holds tensors: append loss.item(), a Python "
                        "float (a kept tensor also keeps its graph)"
                    )
                expect_float(entry, f"each entry of {name}")
            curve = curve_values(item, f"{name} from {what}")
            if curve.size != spy.epochs:
                raise Mismatch(
                    f"{name} from {what} should hold {spy.epochs} losses "
                    f"(one per epoch); got {curve.size}"
                )
            curves.append(curve)
        return curves[0], curves[1]

    def _check_curves(self, run: QuestionRun, spy: Spy) -> None:
        got = np.concatenate(self._curves(run, spy))
        expected = np.concatenate(reference_curves(spy))
        if close(got, expected, rtol=CURVE_RTOL, atol=1e-6):
            return
        hint = first_match(got, q7_candidates(spy), rtol=CURVE_RTOL, atol=1e-6)
        if not hint and np.ptp(got[: spy.epochs]) == 0:
            hint = (
                "the training loss never changes: give the optimizer "
                "model.parameters() and call opt.step() after every backward()"
            )
        raise wrong(
            f"the curves of {self._what(spy)}",
            got,
            expected,
            hint,
            "per batch: zero_grad, MSELoss, backward, step; per epoch: the "
            "batch-size-weighted mean training loss, then the validation loss",
        )

    def _check_modes(self, run: QuestionRun, spy: Spy) -> None:
        records = outcome_then(
            run, "spy", f"{self._what(spy)}, then the model's record"
        )
        calls = [[item.data for item in call.data] for call in records.data]
        val_sizes = {spy.val_batch, len(spy.yv) % spy.val_batch}
        train_sizes = {spy.batch, len(spy.y) % spy.batch}
        val = [c for c in calls if c[2] in val_sizes]
        # Update passes: training-sized batches with gradients (a student's extra
        # evaluation pass over the training set is judged by the curves instead).
        updates = [c for c in calls if c[2] in train_sizes and c[1]]
        if not val:
            raise Mismatch(
                "the model never saw a validation batch: compute the "
                "validation loss with model(x) on every batch of val_dl"
            )
        if any(c[0] for c in val):
            raise Mismatch(
                "the validation pass ran in training mode: call "
                "model.eval() before it (dropout and batch norm behave "
                "differently in evaluation)"
            )
        if any(c[1] for c in val):
            raise Mismatch(
                "the validation pass ran with gradients enabled: wrap it in "
                "torch.no_grad() (no graph is built: faster, less memory, "
                "and no accidental updates)"
            )
        if not updates:
            raise Mismatch(
                "training batches ran without gradients (torch.no_grad() "
                "around the updates?)"
            )
        if any(not c[0] for c in updates):
            raise Mismatch(
                "training batches ran in eval mode: call model.train() at the "
                "start of every epoch (model.eval() from the validation pass "
                "stays on until you do)"
            )

    def _check_r2(self, run: QuestionRun, fit: Fit) -> None:
        r2 = self._r2(run, fit)
        if math.isfinite(r2) and r2 >= R2_THRESHOLD:
            return
        initial = r2_score(fit.yt, cnn_forward(fit.state, fit.xt).ravel())
        if math.isclose(r2, initial, rel_tol=1e-6, abs_tol=1e-9):
            hint = (
                "the model did not change: train the model passed in, in place "
                "(no copy, no new model)"
            )
        elif not math.isfinite(r2):
            hint = "the predictions are not finite: training diverged"
        else:
            hint = (
                "check the loop against the reference curves (SGD with lr, every "
                "batch, every epoch)"
            )
        b = BEHAVIOUR
        raise Mismatch(
            f"after train_model(DNA_CNN(8), ...) on {b['n_train']:,} fresh 8-mers "
            f"(batch {b['batch']}, lr {b['lr']}, {b['epochs']} epochs), R^2 on "
            f"{b['n_test']:,} held-out 8-mers is {r2:.3f}; it should be at least "
            f"{R2_THRESHOLD}: {hint}"
        )

    def _check_linear(self, run: QuestionRun, fit: Fit) -> None:
        r2, linear = self._r2(run, fit), linear_r2(fit)
        if math.isfinite(r2) and r2 > linear:
            return
        raise Mismatch(
            f"the trained CNN's held-out R^2 ({r2:.3f}) is no better than the best "
            f"linear model's ({linear:.3f}): the CNN should learn the motifs a linear "
            "model cannot see"
        )

    @staticmethod
    def _r2(run: QuestionRun, fit: Fit) -> float:
        n = len(fit.yt)
        what = f"the trained DNA_CNN's predictions on {n:,} held-out 8-mers"
        preds = expect_tensor(outcome_then(run, "fit", what), what)
        if preds.size != n:
            raise Mismatch(f"{what} should be {n} numbers; got shape {preds.shape}")
        return r2_score(fit.yt, preds.ravel())


def r2_score(y: np.ndarray, y_hat: np.ndarray) -> float:
    y, y_hat = np.asarray(y, np.float64), np.asarray(y_hat, np.float64)
    with np.errstate(all="ignore"):
        return float(1.0 - np.sum((y - y_hat) ** 2) / np.sum((y - y.mean()) ** 2))


def eightmer_data(
    rng: np.random.Generator, sizes: Sequence[int]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Disjoint random sets of 8-mers.

    Each set: one-hot float32 (n, 8, 4), scores float32 (n, 1).
    """
    order = rng.permutation(4**8)
    out, start = [], 0
    for size in sizes:
        idx = order[start : start + size]
        start += size
        x = np.eye(4, dtype=np.float32)[digits(idx)]  # (n, 8, 4)
        seqs = ["".join(BASES[d] for d in row) for row in digits(idx)]
        y = ref.score_seqs_motif(seqs).astype(np.float32)[:, None]
        out.append((x, y))
    return out


def digits(idx: np.ndarray) -> np.ndarray:
    """Base-4 digits (most significant first): kmers(8) index -> base indices."""
    return (idx[:, None] // 4 ** np.arange(7, -1, -1)) % 4


def spy_case(rng: np.random.Generator) -> Spy:
    """Small data with short last batches whose sizes tell train from validation."""
    batch = int(rng.integers(16, 41))
    n = batch * int(rng.integers(3, 7)) + int(rng.integers(1, batch))
    while True:
        val_batch = int(rng.integers(16, 61))
        n_val = val_batch * int(rng.integers(2, 4)) + int(rng.integers(1, val_batch))
        sizes = {val_batch, n_val % val_batch}
        if not sizes & {batch, n % batch}:
            break
    (x, y), (xv, yv) = eightmer_data(rng, [n, n_val])
    return Spy(
        x=x,
        y=y,
        xv=xv,
        yv=yv,
        batch=batch,
        val_batch=val_batch,
        lr=float(rng.uniform(0.003, 0.008)),
        epochs=3,
        state=cnn_state(rng, 8, 8, 3),
    )


def behaviour_case(rng: np.random.Generator) -> Fit:
    b = BEHAVIOUR
    (x, y), (xv, yv), (xt, yt) = eightmer_data(
        rng, [b["n_train"], b["n_val"], b["n_test"]]
    )
    return Fit(
        x=x,
        y=y,
        xv=xv,
        yv=yv,
        xt=xt,
        yt=yt[:, 0].astype(np.float64),
        state=cnn_state(rng, 8, 32, 3),
    )


def spy_model(spy: Spy) -> nn.Module:
    with seeded_torch(0):
        return load(_grader_SpyCNN(8, 8, 3), spy.state)


def reference_curves(spy: Spy) -> tuple[list[float], list[float]]:
    return ref.train_model(
        spy_model(spy),
        make_loader(spy.x, spy.y, spy.batch),
        make_loader(spy.xv, spy.yv, spy.val_batch),
        lr=spy.lr,
        epochs=spy.epochs,
        device="cpu",
    )


def linear_r2(fit: Fit) -> float:
    """Held-out R^2 of least squares on the flattened one-hot (best linear model)."""
    design = np.column_stack(
        [fit.x.reshape(len(fit.x), -1), np.ones(len(fit.x))]
    ).astype(np.float64)
    coef, *_ = np.linalg.lstsq(design, fit.y[:, 0].astype(np.float64), rcond=None)
    test = np.column_stack([fit.xt.reshape(len(fit.xt), -1), np.ones(len(fit.xt))])
    return r2_score(fit.yt, test @ coef)


def train_variant(
    spy: Spy,
    zero_grad: bool = True,
    weighted: tuple[bool, bool] = (True, True),
    val_first: bool = False,
    remeasure: bool = False,
    reduction: str = "mean",
    lr: float | None = None,
    optimizer: type = torch.optim.SGD,
) -> np.ndarray:
    """A training loop with known mistakes; returns both curves, concatenated."""
    model = spy_model(spy)
    train_dl = make_loader(spy.x, spy.y, spy.batch)
    val_dl = make_loader(spy.xv, spy.yv, spy.val_batch)
    opt = optimizer(model.parameters(), lr=lr or spy.lr)
    loss_fn = nn.MSELoss(reduction=reduction)

    def mean_loss(loader: DataLoader, weigh: bool) -> float:
        with torch.no_grad():
            losses = [(loss_fn(model(x), y).item(), len(x)) for x, y in loader]
        if weigh:
            return sum(v * n for v, n in losses) / sum(n for _, n in losses)
        return sum(v for v, _ in losses) / len(losses)

    train, val = [], []
    for epoch in range(spy.epochs):
        if val_first:
            val.append(mean_loss(val_dl, weighted[1]))
        losses = []
        for i, (x, y) in enumerate(train_dl):
            if zero_grad or (epoch == 0 and i == 0):
                opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            losses.append((loss.item(), len(x)))
        if remeasure:
            train.append(mean_loss(train_dl, weighted[0]))
        elif weighted[0]:
            train.append(sum(v * n for v, n in losses) / sum(n for _, n in losses))
        else:
            train.append(sum(v for v, _ in losses) / len(losses))
        if not val_first:
            val.append(mean_loss(val_dl, weighted[1]))
    return np.array(train + val)


def q7_candidates(spy: Spy) -> list[Candidate]:
    unweighted = (
        "batch-size-weighted mean: add loss.item() * len(x) and divide by the "
        "number of samples (the short last batch must not count as much as a "
        "full one)"
    )
    return [
        (
            "gradients accumulate across batches: call opt.zero_grad() before every "
            "backward()",
            lambda: train_variant(spy, zero_grad=False),
        ),
        (
            (
                "the epoch losses are plain means of the batch means; use the "
                f"{unweighted}"
            ),
            lambda: train_variant(spy, weighted=(False, False)),
        ),
        (
            f"the validation loss is a plain mean of batch means; use the {unweighted}",
            lambda: train_variant(spy, weighted=(True, False)),
        ),
        (
            f"the training loss is a plain mean of batch means; use the {unweighted}",
            lambda: train_variant(spy, weighted=(False, True)),
        ),
        (
            "the validation loss is measured before the epoch's updates (off by one): "
            "validate after training on the epoch",
            lambda: train_variant(spy, val_first=True),
        ),
        (
            "the training loss comes from a second pass after the epoch; record it "
            "during the epoch's updates",
            lambda: train_variant(spy, remeasure=True),
        ),
        (
            "the loss is a sum over the batch; use nn.MSELoss() (the mean)",
            lambda: train_variant(spy, reduction="sum"),
        ),
        (
            "the learning rate argument was ignored (0.01 was used): pass lr to the "
            "optimizer",
            lambda: train_variant(spy, lr=0.01),
        ),
        (
            "that is Adam; the contract asks for torch.optim.SGD",
            lambda: train_variant(spy, optimizer=torch.optim.Adam),
        ),
    ]


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``train_model`` loops and what their feedback says.

    Their mistakes show in the curves or in the spy's record, so a short behaviour
    run keeps them quick; "trains a copy of the model" is a behaviour mistake and
    runs in full (tests/test_checks_week2.py, with its partial credit).
    """
    import torch.nn.functional as F

    short = {"BEHAVIOUR": {"n_train": 1_000, "epochs": 1}}

    def train_loop(
        model,
        train_dl,
        val_dl,
        lr=0.01,
        epochs=10,
        device=None,
        *,
        zero_grad=True,
        weighted=True,
        val_eval=True,
        val_no_grad=True,
        reset_train=True,
        fixed_lr=None,
    ):
        """A training loop with switchable mistakes."""
        opt = torch.optim.SGD(model.parameters(), lr=fixed_lr or lr)
        train_losses, val_losses = [], []
        model.train()
        for _ in range(epochs):
            if reset_train:
                model.train()
            batches = []
            for x, y in train_dl:
                if zero_grad:
                    opt.zero_grad()
                loss = F.mse_loss(model(x), y)
                loss.backward()
                opt.step()
                batches.append((loss.item(), len(x)))
            if val_eval:
                model.eval()
            with torch.set_grad_enabled(not val_no_grad):
                val = [(F.mse_loss(model(x), y).item(), len(x)) for x, y in val_dl]
            for curve, items in ((train_losses, batches), (val_losses, val)):
                if weighted:
                    curve.append(
                        sum(v * n for v, n in items) / sum(n for _, n in items)
                    )
                else:
                    curve.append(sum(v for v, _ in items) / len(items))
        return train_losses, val_losses

    def loop_with(**flags):
        def train_model(model, train_dl, val_dl, lr=0.01, epochs=10, device=None):
            return train_loop(model, train_dl, val_dl, lr, epochs, device, **flags)

        return train_model

    def tensor_losses(model, train_dl, val_dl, lr=0.01, epochs=10, device=None):
        curves = ref.train_model(model, train_dl, val_dl, lr, epochs, device)
        return [torch.tensor(v) for v in curves[0]], curves[1]

    return [
        KnownWrong(
            {"train_model": loop_with(zero_grad=False)},
            "opt.zero_grad()",
            "no-zero-grad",
            settings=short,
        ),
        KnownWrong(
            {"train_model": loop_with(weighted=False)},
            "batch-size-weighted",
            "unweighted-means",
            settings=short,
        ),
        KnownWrong(
            {"train_model": loop_with(val_eval=False)},
            "validation pass ran in training mode",
            "val-train-mode",
            settings=short,
        ),
        KnownWrong(
            {"train_model": loop_with(val_no_grad=False)},
            "with gradients enabled",
            "val-with-grad",
            settings=short,
        ),
        KnownWrong(
            {"train_model": loop_with(reset_train=False)},
            "model.train() at the start of every epoch",
            "no-train-reset",
            settings=short,
        ),
        KnownWrong(
            {"train_model": loop_with(fixed_lr=0.01)},
            "learning rate argument was ignored",
            "ignores-lr",
            settings=short,
        ),
        KnownWrong(
            {"train_model": tensor_losses},
            "loss.item()",
            "tensor-losses",
            settings=short,
        ),
    ]
