"""The week 3a reference (generated from the master) vs oracles and hand examples."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from gene46100.build.markup import strip_assign_markup, student_script
from gene46100_ref import tfdata
from gene46100_ref import week3a as ref

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tf_files(tmp_path_factory) -> tuple[Path, Path]:
    return tfdata.write_tf_files(tmp_path_factory.mktemp("tf"), 60, seed=21)


def write_pair(folder: Path, seq_df: pd.DataFrame, scores_df: pd.DataFrame):
    seq_path, score_path = folder / "s.txt.gz", folder / "c.txt.gz"
    seq_df.to_csv(seq_path, sep="\t", index=False)
    scores_df.to_csv(score_path, sep="\t", index=False)
    return seq_path, score_path


# ------------------------------------------------------------------ provided code
def test_one_hot_encode_is_week2s_own():
    """One one_hot_encode in the reference: week 3a imports week 2's (d2l's pattern),
    one behaviour and one error message across the unit."""
    from gene46100_ref import week2

    assert ref.one_hot_encode is week2.one_hot_encode
    assert ref.get_device is week2.get_device
    x = ref.one_hot_encode("ACGTNacgtn")
    assert x.dtype == np.float32 and x.shape == (10, 4)
    np.testing.assert_array_equal(x[:4], np.eye(4))
    np.testing.assert_array_equal(x[5:9], np.eye(4))
    assert not x[4].any() and not x[9].any()
    assert ref.one_hot_encode("").shape == (0, 4)
    with pytest.raises(ValueError, match=r"\['X', 'é'\] at positions \[2, 4\]"):
        ref.one_hot_encode("ACXGé")


def test_pwm_scan_equals_conv1d_with_that_filter():
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGT"), size=50))
    pwm = rng.normal(size=(7, 4))
    x = torch.from_numpy(ref.one_hot_encode(seq)).T[None].double()  # (1, 4, L)
    expected = F.conv1d(x, torch.from_numpy(pwm.T.copy())[None]).numpy().ravel()
    got = ref.pwm_scan(seq, pwm)
    assert got.dtype == np.float64 and got.shape == (44,)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_auroc_is_the_pairwise_win_rate_with_half_ties():
    scores, labels = np.array([0.1, 0.4, 0.35, 0.8, 0.4]), np.array([0, 0, 1, 1, 1])
    wins = [
        (p > n) + 0.5 * (p == n)
        for p in scores[labels == 1]
        for n in scores[labels == 0]
    ]
    assert ref.auroc(scores, labels) == pytest.approx(np.mean(wins))
    assert ref.auroc(np.arange(4.0), np.array([0, 0, 1, 1])) == 1.0


def test_split_windows_is_a_seeded_64_16_20_partition():
    seq_df, _ = tfdata.simulate_tf_windows(100, seed=1)
    parts = ref.split_windows(seq_df, seed=42)
    assert [len(p) for p in parts] == [64, 16, 20]
    names = sorted(n for p in parts for n in p["window_name"])
    assert names == sorted(seq_df["window_name"])
    again = ref.split_windows(seq_df, seed=42)
    assert all(a.equals(b) for a, b in zip(parts, again, strict=True))


# ------------------------------------------------------------------ q1
def test_load_tf_data_reads_the_generated_files(tf_files):
    seq_df, scores_df = ref.load_tf_data(*tf_files)
    assert seq_df.shape == (60, 2) and scores_df.shape == (300, 60)
    assert list(scores_df.columns) == list(seq_df["window_name"])
    assert (scores_df.to_numpy() >= 0).all() and (scores_df.to_numpy() > 0).any(
        axis=0
    ).all()


@pytest.mark.parametrize("mistake", ["missing_column", "wrong_length", "no_scores"])
def test_load_tf_data_names_what_is_wrong(mistake, tmp_path, tf_files):
    seq_df, scores_df = (pd.read_csv(p, sep="\t") for p in tf_files)
    name = seq_df.loc[3, "window_name"]
    if mistake == "missing_column":
        seq_df, needle = seq_df.drop(columns=["sequence"]), "sequence"
    elif mistake == "wrong_length":
        seq_df.loc[3, "sequence"] += "A"
        needle = name
    else:
        scores_df, needle = scores_df.drop(columns=[name]), name
    with pytest.raises(ValueError, match=needle):
        ref.load_tf_data(*write_pair(tmp_path, seq_df, scores_df))


# ------------------------------------------------------------------ q2
def test_dataset_items_are_aligned_by_name_whatever_the_column_order():
    seq_df, scores_df = tfdata.simulate_tf_windows(10, seed=2)
    subset = seq_df.iloc[[7, 2, 5]]  # index labels 7, 2, 5
    shuffled = scores_df[list(np.random.default_rng(0).permutation(scores_df.columns))]
    ds = ref.SeqDatasetOHE(subset, shuffled)
    assert len(ds) == 3
    for i, row in enumerate(subset.itertuples()):
        x, y = ds[i]
        assert x.dtype == torch.float32 and x.shape == (300, 4)
        np.testing.assert_array_equal(x.numpy(), ref.one_hot_encode(row.sequence))
        np.testing.assert_array_equal(
            y.numpy(), scores_df[row.window_name].to_numpy(np.float32)
        )
    xb, yb = next(iter(DataLoader(ds, batch_size=2)))
    assert xb.shape == (2, 300, 4) and yb.shape == (2, 300)


# ------------------------------------------------------------------ q3
def test_tfbinding_cnn_has_the_courses_parameter_count_and_shapes():
    model = ref.TFBindingCNN()
    assert sum(p.numel() for p in model.parameters()) == 2_814_156
    assert (4 * 8 + 1) * 32 + (32 * 293 + 1) * 300 == 2_814_156  # conv + fc by hand
    assert model(torch.zeros(3, 300, 4)).shape == (3, 300)


def test_tfbinding_cnn_equals_the_functional_formula():
    torch.manual_seed(0)
    model = ref.TFBindingCNN(seq_len=30, num_filters=4, kernel_size=5, num_outputs=7)
    x = torch.rand(2, 30, 4)
    h = torch.relu(F.conv1d(x.permute(0, 2, 1), model.conv.weight, model.conv.bias))
    expected = h.reshape(2, -1) @ model.fc.weight.T + model.fc.bias
    torch.testing.assert_close(model(x), expected)


# ------------------------------------------------------------------ q4
def loaders(n=22, length=30, seed=0, batch_size=8):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, length, 4, generator=g)
    y = torch.rand(n, length, generator=g)
    dl = DataLoader(TensorDataset(x, y), batch_size=batch_size)
    return dl, x, y


def test_train_model_matches_a_hand_written_loop(device):
    dl, x, y = loaders()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        model = ref.TFBindingCNN(30, 3, 5, 30)
    twin = ref.TFBindingCNN(30, 3, 5, 30)
    twin.load_state_dict(model.state_dict())
    train, val = ref.train_model(model, dl, dl, lr=0.05, epochs=3, device=device)
    opt = torch.optim.SGD(twin.parameters(), lr=0.05)
    for epoch in range(3):
        total = 0.0
        for xb, yb in dl:
            opt.zero_grad()
            loss = F.mse_loss(twin(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        with torch.no_grad():
            full = F.mse_loss(twin(x), y).item()  # one batch = the weighted mean
        tol = 1e-5 if device == "cpu" else 1e-3
        assert train[epoch] == pytest.approx(total / len(x), rel=tol)
        assert val[epoch] == pytest.approx(full, rel=tol)
    assert all(isinstance(v, float) for v in train + val)


def test_test_model_returns_pearson_per_sequence_and_nan_for_constant_rows(device):
    dl, x, y = loaders()
    y[3] = 0.0
    dl = DataLoader(TensorDataset(x, y), batch_size=8)
    model = ref.TFBindingCNN(30, 3, 5, 30)
    preds, obs, r = ref.test_model(model, dl, device=device)
    assert preds.shape == obs.shape == (22, 30) and r.shape == (22,)
    assert preds.dtype == obs.dtype == r.dtype == np.float64
    for i in range(22):
        if i == 3:
            assert np.isnan(r[i])
        else:
            assert r[i] == pytest.approx(np.corrcoef(preds[i], obs[i])[0, 1], abs=1e-9)


def test_pearson_per_row_never_warns_on_constant_rows():
    a = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    with np.errstate(all="raise"):
        r = ref.pearson_per_row(a, np.array([[2.0, 4.0, 7.0], [1.0, 2.0, 3.0]]))
    assert r[0] == pytest.approx(np.corrcoef([1, 2, 3], [2, 4, 7])[0, 1])
    assert np.isnan(r[1])


# ------------------------------------------------------------------ q5 / predict.py
def test_reference_predict_script_writes_the_required_csv(tmp_path):
    shutil.copy(REPO / "solutions/week3a/model_weights.pt", tmp_path)
    (tmp_path / "predict.py").write_text(
        strip_assign_markup((REPO / "solutions/week3a/predict.py").read_text())
    )
    seq_path, score_path = tfdata.write_tf_files(tmp_path / "data", 40, seed=5)
    out = tmp_path / "preds.csv"
    subprocess.run(
        [sys.executable, "predict.py", "--data", str(seq_path), "--out", str(out)],
        cwd=tmp_path,
        check=True,
        timeout=300,
    )
    table = pd.read_csv(out, index_col=0)
    names = list(pd.read_csv(seq_path, sep="\t")["window_name"])
    assert table.index.name == "window_name" and list(table.index) == names
    assert list(table.columns) == [str(j) for j in range(300)]
    scores = pd.read_csv(score_path, sep="\t")[names].to_numpy().T
    assert np.nanmean(ref.pearson_per_row(table.to_numpy(), scores)) > 0.85


def test_reference_weights_are_a_small_plain_state_dict():
    path = REPO / "solutions/week3a/model_weights.pt"
    assert path.stat().st_size < 50_000
    state = torch.load(path, weights_only=True)
    model = ref.TFBindingFCN()
    model.load_state_dict(state)
    assert all(v.device.type == "cpu" for v in state.values())


def test_student_template_keeps_the_io_and_drops_the_solution():
    template = (REPO / "assignments/week3a/predict.py").read_text()
    assert "TFBindingFCN" not in template and "BEGIN" not in template
    assert 'raise NotImplementedError("q5: build your model' in template
    assert "def main()" in template and "--data" in template
    assert template == student_script(
        (REPO / "solutions/week3a/predict.py").read_text()
    )


@pytest.mark.slow
def test_committed_weights_are_reproduced_by_their_script():
    """make_model_weights.py is deterministic on one CPU thread, and its model predicts
    held-out windows as well as the committed one does. Bit-for-bit equality with the
    committed tensors holds only on the CPU that made them: other vector units round
    differently and four epochs of Adam amplify that (90 % of the elements differed,
    by up to 0.06, on an AVX-512 EPYC), while the held-out r agreed to 1e-4."""
    sys.path.insert(0, str(REPO / "solutions/week3a"))
    try:
        import make_model_weights
    finally:
        sys.path.pop(0)
    torch.set_num_threads(1)
    fresh = make_model_weights.train_reference()
    again = make_model_weights.train_reference().state_dict()
    for key, value in fresh.state_dict().items():
        torch.testing.assert_close(value, again[key], rtol=0, atol=0)
    committed = ref.TFBindingFCN()
    committed.load_state_dict(
        torch.load(REPO / "solutions/week3a/model_weights.pt", weights_only=True)
    )
    for seed in (7, 8):
        fresh_r = make_model_weights.heldout_r(fresh, seed=seed)
        committed_r = make_model_weights.heldout_r(committed, seed=seed)
        assert abs(fresh_r - committed_r) < 0.01, (seed, fresh_r, committed_r)
        assert committed_r > 0.9, (seed, committed_r)


# ------------------------------------------------------------------ q6
def test_score_peaks_is_seeded_and_beats_the_pwm_scan_on_janggus_test_file():
    train_seqs, train_labels = tfdata.load_janggu_peaks("oct4", "train")
    test_seqs, test_labels = tfdata.load_janggu_peaks("oct4", "test")
    pick = np.random.default_rng(0).permutation(len(train_seqs))[:2000]
    train = [train_seqs[i] for i in pick]
    one = ref.score_peaks(train, train_labels[pick], test_seqs, seed=3)
    two = ref.score_peaks(train, train_labels[pick], test_seqs, seed=3)
    np.testing.assert_array_equal(one, two)
    assert one.dtype == np.float64 and one.shape == (200,)
    pwm = tfdata.log_odds(tfdata.jaspar_pwm("MA1115.2"))
    scan = [
        max(ref.pwm_scan(s, pwm).max(), ref.pwm_scan(s, pwm[::-1, ::-1]).max())
        for s in test_seqs
    ]
    assert ref.auroc(one, test_labels) > 0.95
    assert ref.auroc(np.array(scan), test_labels) < 0.75
