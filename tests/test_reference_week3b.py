"""The week 3b reference (provided code, loggers, solutions) vs independent oracles."""

from __future__ import annotations

import importlib
import json
import math
import re
import sys
import types

import nbformat
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from gene46100 import course
from gene46100.checks.week3b.common import COURSE_VALUES, History
from gene46100.checks.week3b.q02_train_sweep import variant_curves
from gene46100_ref import tfdata
from gene46100_ref import week3b as ref

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def tiny_data(seed: int = 0, sizes=(30, 9, 11), seq_len: int = 60) -> dict:
    seq_df, scores_df = tfdata.simulate_tf_windows(sum(sizes), seed, seq_len=seq_len)
    return ref.make_splits(ref.SeqDatasetOHE(seq_df, scores_df), seed=seed)


CONFIG = {
    "num_filters": 4,
    "kernel_size": 6,
    "add_sigmoid": False,
    "learning_rate": 0.05,
    "batch_size": 16,
    "optimizer": "SGD",
    "epochs": 2,
    "seed": 3,
}


# ========================================================== provided data code
def test_one_hot_encode_matches_a_plain_loop_and_the_conventions():
    seq = "ACGTNacgtn"
    expected = np.array(
        [[1 if b == c else 0 for c in "ACGT"] for b in seq.upper()], dtype=np.float32
    )
    got = ref.one_hot_encode(seq)
    assert got.dtype == np.float32 and got.shape == (10, 4)
    np.testing.assert_array_equal(got, expected)
    assert ref.one_hot_encode("").shape == (0, 4)
    with pytest.raises(ValueError, match=r"\['X', 'é'\] at positions \[2, 4\]"):
        ref.one_hot_encode("ACXGé")
    from gene46100_ref import week2

    assert ref.one_hot_encode is week2.one_hot_encode  # one one_hot_encode


def test_dataset_aligns_scores_by_window_name_whatever_the_column_order():
    seq_df, scores_df = tfdata.simulate_tf_windows(12, 5, seq_len=60)
    shuffled = scores_df[list(reversed(scores_df.columns))]
    ds = ref.SeqDatasetOHE(seq_df, shuffled)
    x, y = ds[3]
    assert x.dtype == torch.float32 and tuple(x.shape) == (60, 4)
    np.testing.assert_array_equal(
        y.numpy(), scores_df[seq_df["window_name"][3]].to_numpy(np.float32)
    )
    assert ds.y.numpy().flags.writeable


def test_load_tf_data_reads_the_course_layout_and_refuses_orphans(tmp_path):
    seq_path, score_path = tfdata.write_tf_files(tmp_path, 20, seed=1)
    seq_df, scores_df = ref.load_tf_data(seq_path, score_path)
    assert seq_df.shape == (20, 2) and scores_df.shape == (300, 20)
    pd.DataFrame({"sequence": ["ACGT"], "window_name": ["nowhere"]}).to_csv(
        tmp_path / "s.tsv", sep="\t", index=False
    )
    with pytest.raises(ValueError, match="nowhere"):
        ref.load_tf_data(tmp_path / "s.tsv", score_path)


def test_splits_are_the_course_proportions_disjoint_and_complete():
    seq_df, scores_df = tfdata.simulate_tf_windows(100, 2, seq_len=60)
    ds = ref.SeqDatasetOHE(seq_df, scores_df)
    data = ref.make_splits(ds, seed=4)
    assert [len(data[s][0]) for s in ("train", "val", "test")] == [64, 16, 20]
    rows = np.concatenate([data[s][0].reshape(len(data[s][0]), -1) for s in data])
    assert len(np.unique(rows, axis=0)) == 100  # every window exactly once
    cropped, starts = ref.crop_windows(data, 20, seed=1), ref.crop_starts(data, 20, 1)
    for i, start in enumerate(starts["val"]):
        expected = data["val"][1][i, start : start + 20]
        np.testing.assert_array_equal(cropped["val"][1][i], expected)
    assert (cropped["val"][1].max(axis=1) > 0).all()  # every crop keeps a site


def test_make_loaders_same_seed_same_batches_and_only_train_shuffles():
    data = tiny_data()
    first = [y for _, y in ref.make_loaders(data, 8, seed=1)["train"]]
    again = [y for _, y in ref.make_loaders(data, 8, seed=1)["train"]]
    other = [y for _, y in ref.make_loaders(data, 8, seed=2)["train"]]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))
    val = torch.cat([y for _, y in ref.make_loaders(data, 4, seed=1)["val"]])
    np.testing.assert_array_equal(val.numpy(), data["val"][1])


# ========================================================== provided model code
def test_model_shapes_parameter_count_and_sigmoid():
    model = ref.TFBindingCNN()
    assert sum(p.numel() for p in model.parameters()) == 2_814_156  # the course's
    x = torch.from_numpy(ref.one_hot_encode("ACGT" * 25))[None]  # (1, 100, 4)
    squashed = ref.TFBindingCNN(100, 4, 10, 100, add_sigmoid=True)(x)
    assert squashed.shape == (1, 100) and bool(((squashed > 0) & (squashed < 1)).all())


def test_model_agrees_with_week3a_reference_when_present():
    try:
        week3a = importlib.import_module("gene46100_ref.week3a")
    except ImportError:
        pytest.skip("week 3a's reference is not built")
    theirs = week3a.TFBindingCNN(50, 3, 5, 50)
    ours = ref.TFBindingCNN(50, 3, 5, 50)
    ours.load_state_dict(theirs.state_dict())
    x = torch.from_numpy(np.stack([ref.one_hot_encode("ACGTT" * 10)] * 2))
    torch.testing.assert_close(ours(x), theirs(x))
    np.testing.assert_array_equal(
        ref.one_hot_encode("ACGTNa"), week3a.one_hot_encode("ACGTNa")
    )


def test_build_model_depends_on_the_seed_alone_and_keeps_global_state():
    data = tiny_data()
    state = torch.random.get_rng_state()
    one, two = ref.build_model(CONFIG, data), ref.build_model(CONFIG, data)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(
        torch.equal(a, b)
        for a, b in zip(one.state_dict().values(), two.state_dict().values())
    )
    other = ref.build_model({**CONFIG, "seed": 4}, data)
    assert not torch.equal(one.fc.weight, other.fc.weight)


def test_pearson_per_sequence_equals_corrcoef_and_is_nan_when_constant():
    rng = np.random.default_rng(0)
    preds, obs = rng.normal(size=(5, 30)), rng.normal(size=(5, 30))
    obs[2] = 1.5  # constant scores: r undefined
    r = ref.pearson_per_sequence(preds, obs)
    for i in (0, 1, 3, 4):
        assert r[i] == pytest.approx(np.corrcoef(preds[i], obs[i])[0, 1], abs=1e-12)
    assert math.isnan(r[2])


def test_test_model_returns_predictions_observations_and_per_window_r():
    data = tiny_data()
    model = ref.build_model(CONFIG, data)
    preds, obs, r = ref.test_model(model, ref.make_loaders(data, 4, 0)["test"])
    n, length = data["test"][1].shape
    assert preds.shape == obs.shape == (n, length) and r.shape == (n,)
    assert not model.training


# ========================================================== loggers
def test_local_logger_keeps_history_and_writes_json_lines(tmp_path):
    logger = ref.make_logger(
        {"seed": 1}, name="demo", backend="local", run_dir=tmp_path
    )
    assert type(logger) is ref.LocalLogger
    logger.watch(nn.Linear(1, 1))
    logger.log({"epoch": 1, "loss": torch.tensor(2.5), "r": np.float32(0.25)})
    logger.finish()
    assert logger.history == [{"epoch": 1, "loss": 2.5, "r": 0.25}] and logger.finished
    lines = [
        json.loads(line) for line in (tmp_path / "demo.jsonl").read_text().splitlines()
    ]
    assert lines == [{"config": {"seed": 1}}, {"epoch": 1, "loss": 2.5, "r": 0.25}]
    silent = ref.make_logger({}, name="never", backend="local", run_dir=tmp_path)
    silent.finish()  # a run that never logged (e.g. a stub raised) leaves no file
    assert not (tmp_path / "never.jsonl").exists()


def test_make_logger_uses_wandb_offline_when_installed(monkeypatch, tmp_path):
    calls = []
    fake = types.ModuleType("wandb")

    class Run:
        def log(self, row):
            calls.append(("log", row))

        def finish(self):
            calls.append(("finish",))

    def init(**kwargs):
        calls.append(("init", kwargs, dict(ref.os.environ)))
        return Run()

    fake.init = init
    fake.watch = lambda model, **kwargs: calls.append(("watch", kwargs))
    fake.__spec__ = importlib.machinery.ModuleSpec("wandb", None)
    monkeypatch.setitem(sys.modules, "wandb", fake)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.chdir(tmp_path)
    logger = ref.make_logger({"seed": 2}, name="w")
    assert type(logger) is ref.WandbLogger
    logger.watch(nn.Linear(1, 1))
    logger.log({"epoch": 1, "train_loss": torch.tensor(1.0)})
    logger.finish()
    init_call = calls[0]
    assert init_call[1]["mode"] == "offline" and init_call[2]["WANDB_MODE"] == "offline"
    assert (
        init_call[1]["config"] == {"seed": 2}
        and init_call[1]["project"] == "TF-binding"
    )
    assert calls[2] == ("log", {"epoch": 1, "train_loss": 1.0}) and calls[-1] == (
        "finish",
    )
    assert logger.history == [{"epoch": 1, "train_loss": 1.0}]
    assert not (tmp_path / "runs").exists()  # W&B keeps the run, not our JSON lines


def test_make_logger_falls_back_to_local_without_wandb(monkeypatch, tmp_path):
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: (
            None if name == "wandb" else importlib.machinery.PathFinder.find_spec(name)
        ),
    )
    logger = ref.make_logger({}, run_dir=tmp_path)
    assert type(logger) is ref.LocalLogger and logger.name.startswith("run-")


# ========================================================== solutions
def test_sweep_config_is_the_course_sweep():
    config = ref.sweep_config()
    json.dumps(config)
    assert config["method"] == "random"
    assert config["metric"] == {"name": "test_avg_pearsonr", "goal": "maximize"}
    assert {k: v["values"] for k, v in config["parameters"].items()} == COURSE_VALUES
    assert math.prod(len(v["values"]) for v in config["parameters"].values()) == 216


def test_train_sweep_logs_each_epoch_then_the_test_metrics_and_returns_the_mean():
    data = tiny_data()
    history = History()
    score = ref.train_sweep(CONFIG, history, data=data, device="cpu")
    rows = history.rows
    assert [r["epoch"] for r in rows[:-1]] == [1, 2]
    assert set(rows[-1]) == {"test_avg_pearsonr", "best_pearsonr"}
    assert type(score) is float and score == rows[-1]["test_avg_pearsonr"]
    _, _, r = ref.test_model(history.model, ref.make_loaders(data, 5, 0)["test"])
    # float32 kernels may pick another algorithm for another batch size (seen on
    # AVX-512 machines): the same model agrees to float32 precision, not to 1e-12
    assert score == pytest.approx(np.nanmean(r), rel=1e-6)


def test_train_sweep_repeats_exactly_from_its_config():
    data = tiny_data()
    one, two = History(), History()
    ref.train_sweep(CONFIG, one, data=data, device="cpu")
    ref.train_sweep(CONFIG, two, data=data, device="cpu")
    assert one.rows == two.rows
    other = History()
    ref.train_sweep({**CONFIG, "seed": 9}, other, data=data, device="cpu")
    assert other.rows != one.rows


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_train_sweep_equals_an_independent_training_loop(optimizer):
    """The grader's variant trainer (no mistake switched on) is the same computation."""
    data = tiny_data(seed=3)
    config = {**CONFIG, "optimizer": optimizer, "add_sigmoid": optimizer == "SGD"}
    history = History()
    ref.train_sweep(config, history, data=data, device="cpu")
    got = np.array([[r["train_loss"], r["val_loss"]] for r in history.rows[:-1]])
    expected = variant_curves(config, data, weighted=True, after=False)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_train_sweep_ignores_windows_without_scores_in_its_mean():
    data = tiny_data()
    x, y = data["test"]
    y = y.copy()
    y[0] = 0.0  # a window with no scored site: r is NaN
    history = History()
    score = ref.train_sweep(
        CONFIG, history, data={**data, "test": (x, y)}, device="cpu"
    )
    assert math.isfinite(score) and math.isfinite(history.rows[-1]["best_pearsonr"])


def test_run_sweep_draws_from_the_seed_and_returns_the_best_run(monkeypatch):
    scripted = iter([0.2, float("nan"), 0.5, 0.5, 0.1])
    seen = []

    def fake_train_sweep(config, logger, data=None, device=None):
        seen.append(config)
        return next(scripted)

    monkeypatch.setattr(ref, "train_sweep", fake_train_sweep)
    best_config, best_score = ref.run_sweep(
        5, seed=7, data={}, make_logger=lambda c: None, epochs=2
    )
    assert best_score == 0.5 and best_config is seen[2]  # a tie: the earlier run wins
    for config in seen:
        assert set(config) == {*COURSE_VALUES, "epochs", "seed"}
        assert config["epochs"] == 2 and type(config["seed"]) is int
        for name, values in COURSE_VALUES.items():
            assert config[name] in values and type(config[name]) is type(values[0])
    scripted = iter([0.1] * 5)
    first = list(seen)
    seen.clear()
    ref.run_sweep(5, seed=7, data={}, make_logger=lambda c: None, epochs=2)
    assert seen == first


def test_run_sweep_nan_never_wins(monkeypatch):
    scores = iter([float("nan"), 0.05, float("nan")])
    monkeypatch.setattr(ref, "train_sweep", lambda *a, **k: next(scores))
    _config, score = ref.run_sweep(3, seed=0, data={}, make_logger=lambda c: None)
    assert score == 0.05


# ========================================================== release data
def test_the_notebook_and_the_build_agree_on_the_release_data(repo):
    master = nbformat.read(repo / "solutions/week3b/week3b.ipynb", as_version=4)
    source = next(
        c.source for c in master.cells if "DATA_WINDOWS, DATA_SEED =" in c.source
    )
    n, seed = map(
        int, re.search(r"DATA_WINDOWS, DATA_SEED = (\d+), (\d+)", source).groups()
    )
    assert course.week("week3b").release_data == (n, seed)


def test_release_data_files_are_the_generator_output(repo, tmp_path):
    released = repo / "assignments/week3b/data"
    tfdata.write_tf_files(tmp_path, *course.week("week3b").release_data)
    for name in (tfdata.SEQ_FILE, tfdata.SCORE_FILE):
        assert (released / name).read_bytes() == (tmp_path / name).read_bytes()
    size = sum(
        (released / n).stat().st_size for n in (tfdata.SEQ_FILE, tfdata.SCORE_FILE)
    )
    assert size < 400_000  # stated in the notebook: about 260 KB
