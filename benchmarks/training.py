"""Training budgets: each graded training question against the course's own settings.

For every graded training question the reference answer is graded in this process
(``checks.run_inprocess``: the grader's hidden cases, the grading seed, the question's
own bar) and timed; that is the compute the question asks for to reach its threshold
here. Where the bar is an epoch-by-epoch quantity (week 1 q9's held-out MSE, week 2
q7's R^2) the note adds the epoch at which the reference first clears it.

The baseline of each week is the course's own training run for that model (week 1:
MLP 1-1024-1, SGD lr 0.001, 10,000 full-batch epochs; week 2: the 8-mer DNA_CNN, 50
epochs of 41,942 at batch 128; week 3a: the TF-binding CNN, 100 epochs of 14,808
windows at batch 64; week 3b: 10 sweep runs of 30 epochs each). Long course runs are
timed for a few epochs and extrapolated (their rows say so). On a CUDA GPU the course
MLP is timed there too.

Week 2 and 3 modules are still being written: a missing module or a reference that
fails gives a skipped row naming why, not a failed benchmark.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from types import ModuleType

import numpy as np

from benchmarks.common import Context, Row, Stat, skipped

NAME = "training"
DESCRIPTION = (
    "graded training questions: reference time to the bar vs the course's settings"
)
COURSE_MLP_EPOCHS = 10_000
# The graded questions whose probes train a model, per assignment.
TRAINING_QUESTIONS = {
    "week1": ("q9", "q10"),
    "week2": ("q7",),
    "week3a": ("q4", "q6"),
    "week3b": ("q2", "q3"),
}


class Skip(Exception):
    """Cannot run yet (a module or name is missing, or the reference fails)."""


def module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise Skip(
            f"{name} cannot be imported yet ({type(exc).__name__}: {exc})"
        ) from exc


def need(mod: ModuleType, *names: str) -> None:
    missing = [n for n in names if not hasattr(mod, n)]
    if missing:
        raise Skip(f"{mod.__name__} lacks {', '.join(missing)}")


def seconds_of(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


# ---------------------------------------------------------------- the course's runs
def course_mlp(ctx: Context, device: str = "cpu") -> tuple[Stat, str]:
    """The course's MLP: 1-1024-1, SGD lr 0.001, full batch on 1,000 cubic points."""
    import torch

    from benchmarks import course_data as data
    from gene46100_ref import week1

    epochs = 300 if ctx.quick else COURSE_MLP_EPOCHS
    x, y = data.make_cubic_data(1000, seed=42)
    xt = torch.tensor(x, dtype=torch.float32)[:, None].to(device)
    yt = torch.tensor(y, dtype=torch.float32).to(device)
    values, curve = [], []
    for rep in range(ctx.repeats):
        torch.manual_seed(rep)
        model = week1.MLP(1, 1024, 1).to(device)
        sync(device)
        start = time.perf_counter()
        curve = week1.train(model, xt, yt, lr=1e-3, n_epochs=epochs, optimizer="sgd")
        sync(device)
        values.append((time.perf_counter() - start) * COURSE_MLP_EPOCHS / epochs)
    below = next((i for i, v in enumerate(curve) if v <= 1.0), None)
    note = (
        f"final MSE {curve[-1]:.3g} after {epochs:,} epochs; MSE <= 1 first at epoch "
        f"{below if below is not None else f'none of {epochs}'}"
    )
    if epochs != COURSE_MLP_EPOCHS:
        note = f"extrapolated from {epochs} epochs; " + note
    return Stat(values), note


def course_dna_cnn(ctx: Context) -> tuple[Stat, str]:
    """The course's 8-mer DNA_CNN: 50 epochs of 41,942 (batch 128, SGD lr 0.01)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    ref = module("gene46100_ref.week2")
    need(ref, "kmers", "score_seqs_motif", "one_hot_encode", "DNA_CNN", "train_model")
    seqs = list(ref.kmers(8))
    x = torch.from_numpy(np.stack([ref.one_hot_encode(s) for s in seqs]))  # (N, 8, 4)
    y = torch.from_numpy(np.asarray(ref.score_seqs_motif(seqs), np.float32))[:, None]
    order = torch.from_numpy(np.random.default_rng(42).permutation(len(seqs)))
    n_train, n_val = 41_942, 10_486  # the course's split of the 65,536 8-mers
    scale = 0.2 if ctx.quick else 1.0
    train = order[: int(n_train * scale)]
    val = order[n_train : n_train + int(n_val * scale)]
    train_dl = DataLoader(
        TensorDataset(x[train], y[train]), batch_size=128, shuffle=True
    )
    val_dl = DataLoader(TensorDataset(x[val], y[val]), batch_size=128)
    epochs = 1 if ctx.quick else 2
    values = []
    for rep in range(ctx.repeats):
        torch.manual_seed(17 + rep)
        model = ref.DNA_CNN(8)
        spent = seconds_of(
            lambda model=model: ref.train_model(
                model, train_dl, val_dl, lr=0.01, epochs=epochs, device="cpu"
            )
        )
        values.append(spent / epochs / scale * 50)
    return Stat(values), (
        f"extrapolated from {epochs} epoch(s) on {len(train):,} training 8-mers"
    )


def course_tf_epoch(ctx: Context) -> tuple[float, str]:
    """Seconds of one course TF-binding epoch (14,808 + 3,703 windows, batch 64)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    ref = module("gene46100_ref.week3a")
    need(ref, "TFBindingCNN", "train_model", "one_hot_encode")
    tfdata = module("gene46100_ref.tfdata")
    n_train, n_val = (600, 150) if ctx.quick else (14_808, 3_703)
    seq_df, scores_df = tfdata.simulate_tf_windows(n_train + n_val, seed=22)
    x = torch.from_numpy(np.stack([ref.one_hot_encode(s) for s in seq_df["sequence"]]))
    y = torch.from_numpy(
        scores_df[list(seq_df["window_name"])].to_numpy(np.float32).T.copy()
    )
    train_dl = DataLoader(
        TensorDataset(x[:n_train], y[:n_train]), batch_size=64, shuffle=True
    )
    val_dl = DataLoader(TensorDataset(x[n_train:], y[n_train:]), batch_size=64)
    torch.manual_seed(42)
    model = ref.TFBindingCNN()
    spent = seconds_of(
        lambda: ref.train_model(
            model, train_dl, val_dl, lr=0.01, epochs=1, device="cpu"
        )
    )
    return spent * 14_808 / n_train, f"extrapolated from 1 epoch on {n_train:,} windows"


def course_baselines(
    ctx: Context,
) -> tuple[dict[str, tuple[Stat, str, str]], list[Row]]:
    """Per assignment: (seconds, label, note) of the course's run; plus their rows."""
    import torch

    baselines: dict[str, tuple[Stat, str, str]] = {}
    rows: list[Row] = []
    ctx.log("  training: the course's own runs")
    mlp, note = course_mlp(ctx)
    baselines["week1"] = (mlp, "course MLP, 10k epochs", note)
    rows.append(
        Row(
            NAME,
            "course: MLP 1-1024-1, SGD lr 0.001, 10,000 epochs",
            "s",
            mlp,
            note=note,
        )
    )
    if torch.cuda.is_available():
        cuda, cuda_note = course_mlp(ctx, "cuda")
        rows.append(
            Row(
                NAME,
                "course: the same MLP on CUDA",
                "s",
                cuda,
                mlp,
                "on CPU",
                note=f"{torch.cuda.get_device_name(0)}; {cuda_note}",
            )
        )
    for week, label, make in (
        ("week2", "course: 8-mer DNA_CNN, 50 epochs (batch 128)", course_dna_cnn),
        ("week3a", "course: TF-binding CNN, 100 epochs (batch 64)", None),
    ):
        try:
            if make is not None:
                stat, note = make(ctx)
            else:
                epoch, note = course_tf_epoch(ctx)
                stat = Stat([epoch * 100])
                # 3b: 10 W&B runs of 30 epochs, sized like the default CNN (roughly).
                baselines["week3b"] = (
                    Stat([epoch * 300]),
                    "course sweep, ~10x30 epochs",
                    note,
                )
                rows.append(
                    Row(
                        NAME,
                        "course: W&B sweep, 10 runs x 30 epochs (approx.)",
                        "s",
                        Stat([epoch * 300]),
                        note="300 epochs of the default TF CNN; " + note,
                    )
                )
            short = {
                "week2": "course DNA_CNN, 50 epochs",
                "week3a": "course TF CNN, 100 epochs",
            }[week]
            baselines[week] = (stat, short, note)
            rows.append(Row(NAME, label, "s", stat, note=note))
        except Skip as exc:
            rows.append(skipped(NAME, label, str(exc)))
        except Exception as exc:  # noqa: BLE001 - a reference being written may fail
            rows.append(
                skipped(
                    NAME,
                    label,
                    f"reference failed: {type(exc).__name__}: {str(exc)[:150]}",
                )
            )
    return baselines, rows


# ---------------------------------------------------------------- graded questions
def reference_namespace(week: str) -> dict:
    """The reference's names, as a notebook that answers everything holds them."""
    mod = module(f"gene46100_ref.{week}")
    return {k: v for k, v in vars(mod).items() if not k.startswith("__")}


def grade_reference(week: str, question: str, repeats: int) -> tuple[Stat, float, list]:
    """Seconds (and CPU seconds) to grade the reference's answer in-process."""
    from gene46100 import checks

    namespace = reference_namespace(week)
    values, cpu, result = [], 0.0, []
    for _ in range(repeats):
        cpu_start, start = time.process_time(), time.perf_counter()
        result = checks.run_inprocess(week, question, dict(namespace))
        values.append(time.perf_counter() - start)
        cpu = time.process_time() - cpu_start
    return Stat(values), cpu, result


def q9_detail() -> str:
    """Week 1 q9: the epoch at which the reference first clears the held-out bar."""
    import torch
    from torch import nn

    from gene46100 import checks
    from gene46100.checks.week1 import common, q09_train

    plan = checks.questions("week1")["q9"].plan(checks.question_rng("week1", "q9"))
    parts = []
    for name, case in plan.facts.cases.items():
        bar = q09_train.HELDOUT_MARGIN * q09_train.reference_training(case)["heldout"]
        model = common.reference_mlp(case.state)
        opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[case.optimizer](
            model.parameters(), lr=case.lr
        )
        x, y, xtest = (torch.from_numpy(v) for v in (case.x, case.y, case.xtest))
        first = None
        for epoch in range(1, case.n_epochs + 1):  # the same updates as week1.train
            opt.zero_grad()
            nn.MSELoss()(model(x), y).backward()
            opt.step()
            with torch.no_grad():
                mse = float(np.mean((model(xtest).double().numpy() - case.ytest) ** 2))
            if mse <= bar:
                first = epoch
                break
        parts.append(f"{name} bar at epoch {first} of {case.n_epochs}")
    return "; ".join(parts)


def q7_detail() -> str:
    """Week 2 q7: the epoch at which the reference CNN first reaches ``R2_THRESHOLD``
    with the question's settings (``BEHAVIOUR``) on fresh 8-mers."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    ref = module("gene46100_ref.week2")
    checks2 = module("gene46100.checks.week2.q07_train_model")
    need(checks2, "R2_THRESHOLD", "BEHAVIOUR")
    b = checks2.BEHAVIOUR
    seqs = list(ref.kmers(8))
    x = torch.from_numpy(np.stack([ref.one_hot_encode(s) for s in seqs]))
    y = torch.from_numpy(np.asarray(ref.score_seqs_motif(seqs), np.float32))[:, None]
    order = torch.from_numpy(np.random.default_rng(7).permutation(len(seqs)))
    train, val = order[: b["n_train"]], order[b["n_train"] : b["n_train"] + b["n_val"]]
    test = order[-b["n_test"] :]
    train_dl = DataLoader(
        TensorDataset(x[train], y[train]), batch_size=b["batch"], shuffle=True
    )
    val_dl = DataLoader(TensorDataset(x[val], y[val]), batch_size=b["val_batch"])
    torch.manual_seed(0)
    model = ref.DNA_CNN(8)
    r2 = float("nan")
    for epoch in range(1, b["epochs"] + 1):
        ref.train_model(model, train_dl, val_dl, lr=b["lr"], epochs=1, device="cpu")
        model.eval()
        with torch.no_grad():
            pred = model(x[test]).numpy().ravel()
        obs = y[test].numpy().ravel()
        r2 = 1.0 - float(np.sum((obs - pred) ** 2) / np.sum((obs - obs.mean()) ** 2))
        if r2 >= checks2.R2_THRESHOLD:
            return (
                f"R^2 bar {checks2.R2_THRESHOLD:g} reached at epoch {epoch} of "
                f"{b['epochs']} ({b['n_train']:,} 8-mers, batch {b['batch']})"
            )
    bar = checks2.R2_THRESHOLD
    return f"R^2 {r2:.3f} after {b['epochs']} epochs: bar {bar:g} NOT reached"


DETAILS = {("week1", "q9"): q9_detail, ("week2", "q7"): q7_detail}


def question_row(
    ctx: Context, week: str, question: str, baseline: tuple[Stat, str, str] | None
) -> Row:
    from gene46100 import checks

    q = checks.questions(week)[question]
    stat, cpu, result = grade_reference(week, question, ctx.repeats)
    passed = sum(c.passed for c in result)
    note = (
        f"reference passes {passed}/{len(result)} checks; CPU {cpu:.2f} s of a "
        f"{q.timeout_s:g} CPU s budget"
    )
    if (week, question) in DETAILS:
        note += "; " + DETAILS[(week, question)]()
    metric = f"{week} {question}: grade the reference ({', '.join(q.names)})"
    if baseline is None:
        return Row(NAME, metric, "s", stat, note=note)
    return Row(NAME, metric, "s", stat, baseline[0], baseline[1], note=note)


def run(ctx: Context) -> list[Row]:
    baselines, rows = course_baselines(ctx)
    for week, questions in TRAINING_QUESTIONS.items():
        ctx.log(f"  training: {week} {', '.join(questions)}")
        for question in questions:
            try:
                from gene46100 import course

                if week not in course.COURSE:
                    raise Skip(f"gene46100.checks has no {week} yet")
                rows.append(question_row(ctx, week, question, baselines.get(week)))
            except Skip as exc:
                rows.append(skipped(NAME, f"{week} {question}", str(exc)))
            except Exception as exc:
                if week == "week1":
                    raise  # week 1 is finished: a failure there is a real failure
                rows.append(
                    skipped(
                        NAME,
                        f"{week} {question}",
                        (
                            f"reference failed (module still being written?): "
                            f"{type(exc).__name__}: {str(exc)[:150]}"
                        ),
                    )
                )
    return rows
