"""The week 2 reference against independent oracles (PyTorch, loops, the course)."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gene46100_ref import week2 as ref
from gene46100_ref.seeding import seeded_torch

SEEDS = [0, 1, 2]


def random_dna(rng: np.random.Generator, n: int, alphabet: str = "ACGT") -> str:
    return "".join(rng.choice(list(alphabet), size=n))


# ========================================================== q1, q2
@pytest.mark.parametrize("seed", SEEDS)
def test_conv1d_valid_equals_torch_conv1d(seed):
    rng = np.random.default_rng(seed)
    for L, k in ((30, 5), (12, 1), (9, 9)):
        signal, kernel = rng.normal(size=L), rng.normal(size=k)
        expected = F.conv1d(
            torch.tensor(signal)[None, None], torch.tensor(kernel)[None, None]
        )[0, 0].numpy()
        got = ref.conv1d_valid(signal, kernel)
        assert got.dtype == np.float64 and got.shape == (L - k + 1,)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(
            got, np.correlate(signal, kernel, "valid"), rtol=1e-12
        )


def test_conv1d_valid_course_example_and_its_flip():
    signal = np.array([0, 0.2, 0.8, 1.0, 0.9, 0.3, 0.1, 0])
    edge = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(
        ref.conv1d_valid(signal, edge), [0.8, 0.8, 0.1, -0.7, -0.8, -0.3], atol=1e-12
    )
    # True convolution flips the kernel: here that negates the edge detector.
    np.testing.assert_allclose(
        np.convolve(signal, edge, "valid"), -ref.conv1d_valid(signal, edge), atol=1e-12
    )
    np.testing.assert_allclose(
        ref.conv1d_valid(signal, np.ones(3)), [1.0, 2.0, 2.7, 2.2, 1.3, 0.4], atol=1e-12
    )


def test_conv1d_valid_rejects_a_kernel_longer_than_the_signal():
    with pytest.raises(ValueError, match="kernel"):
        ref.conv1d_valid(np.zeros(3), np.zeros(4))


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", [0, 1, 4])
def test_conv_output_length_equals_a_real_conv1d(stride, padding):
    for L, k in ((50, 10), (50, 5), (23, 4), (8, 3), (7, 7)):
        layer = nn.Conv1d(1, 2, k, stride=stride, padding=padding)
        expected = layer(torch.zeros(1, 1, L)).shape[-1]
        got = ref.conv_output_length(L, k, stride, padding)
        assert type(got) is int and got == expected, (L, k, stride, padding)


@pytest.mark.parametrize(
    ("c_in", "c_out", "k", "bias"),
    [
        (1, 8, 10, True),
        (1, 4, 5, True),
        (4, 32, 3, True),
        (4, 32, 3, False),
        (7, 3, 11, True),
    ],
)
def test_conv1d_param_count_equals_a_real_conv1d(c_in, c_out, k, bias):
    layer = nn.Conv1d(c_in, c_out, k, bias=bias)
    expected = sum(p.numel() for p in layer.parameters())
    assert ref.conv1d_param_count(c_in, c_out, k, bias) == expected


def test_course_exercise_shape_and_count():
    """Conv1d(1 -> 8, k 10) on a length-50 signal: (1, 8, 41) and 88 parameters."""
    layer = nn.Conv1d(1, 8, 10)
    assert tuple(layer(torch.zeros(1, 1, 50)).shape) == (
        1,
        8,
        ref.conv_output_length(50, 10),
    )
    assert (1, 8, ref.conv_output_length(50, 10)) == (1, 8, 41)
    assert ref.conv1d_param_count(1, 8, 10) == 88


# ========================================================== q3
def one_hot_loop(seq: str) -> np.ndarray:
    """The slow, obvious oracle: one row per character."""
    rows = []
    for ch in seq:
        base = ch.upper()
        rows.append([1.0 if base == b else 0.0 for b in "ACGT"])
    return np.array(rows, dtype=np.float32).reshape(len(seq), 4)


@pytest.mark.parametrize("seed", SEEDS)
def test_one_hot_equals_a_per_character_loop(seed):
    rng = np.random.default_rng(seed)
    for alphabet in ("ACGT", "ACGTN", "acgtnACGTN"):
        seq = random_dna(rng, int(rng.integers(1, 200)), alphabet)
        got = ref.one_hot_encode(seq)
        assert got.dtype == np.float32 and got.shape == (len(seq), 4)
        np.testing.assert_array_equal(got, one_hot_loop(seq))


def test_one_hot_edge_cases():
    assert ref.one_hot_encode("").shape == (0, 4)
    assert ref.one_hot_encode("").dtype == np.float32
    np.testing.assert_array_equal(ref.one_hot_encode("NnN"), np.zeros((3, 4)))
    np.testing.assert_array_equal(ref.one_hot_encode("ACGT"), np.eye(4))


@pytest.mark.parametrize(
    ("seq", "chars", "positions"),
    [
        ("ACXT", {"X"}, {2}),
        ("A-CG*T", {"-", "*"}, {1, 4}),
        ("ACGU", {"U"}, {3}),
        ("acgr", {"r"}, {3}),
    ],
)
def test_one_hot_error_names_characters_and_zero_based_positions(seq, chars, positions):
    with pytest.raises(ValueError) as info:
        ref.one_hot_encode(seq)
    message = str(info.value)
    assert all(ch in message for ch in chars), message
    assert positions <= {int(n) for n in re.findall(r"\d+", message)}, message


def test_one_hot_error_message_stays_short_for_long_garbage():
    with pytest.raises(ValueError) as info:
        ref.one_hot_encode("X" * 10_000)
    assert len(str(info.value)) < 300


# ========================================================== q4
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_kmers_are_itertools_product_order(k):
    assert ref.kmers(k) == ["".join(p) for p in itertools.product("ACGT", repeat=k)]


def test_score_course_values_and_counts():
    scores = ref.score_seqs_motif(["AAAAAAAA", "AAAAAAAC", "CCCCCTAT", "TGCGTTTT"])
    assert scores.dtype == np.float64
    np.testing.assert_array_equal(scores, [20.0, 19.625, 25.875, 2.5])
    seqs = ref.kmers(8)
    assert len(seqs) == 65_536
    all_scores = ref.score_seqs_motif(seqs)
    tat = np.array(["TAT" in s for s in seqs])
    gcg = np.array(["GCG" in s for s in seqs])
    assert (tat.sum(), gcg.sum(), (tat & gcg).sum()) == (5802, 5802, 188)
    assert (all_scores.min(), all_scores.max()) == (2.5, 27.75)


def test_score_counts_each_motif_at_most_once():
    once, twice = ref.score_seqs_motif(["TATCCC", "TATTAT"])
    assert once == pytest.approx((11 + 20 + 11 + 3 * 17) / 6 + 10)
    assert twice == pytest.approx((4 * 11 + 2 * 20) / 6 + 10)
    assert ref.score_seqs_motif(["GCGCG"])[0] == pytest.approx(
        (3 * 14 + 2 * 17) / 5 - 10
    )


# ========================================================== q5
@pytest.mark.parametrize("seed", SEEDS)
def test_pwm_scan_equals_a_conv1d_with_the_pwm_as_its_filter(seed):
    rng = np.random.default_rng(seed)
    seq = random_dna(rng, 60, "ACGTNacgt")
    pwm = rng.normal(size=(7, 4))
    layer = nn.Conv1d(4, 1, 7, bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(pwm.T)[None])  # (1, 4, 7)
        x = torch.tensor(ref.one_hot_encode(seq).T, dtype=torch.float64)[None]
        expected = layer(x)[0, 0].numpy()
    got = ref.pwm_scan(seq, pwm)
    assert got.dtype == np.float64 and got.shape == (54,)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    by_hand = [
        sum(
            pwm[j, "ACGT".index(seq[i + j].upper())]
            for j in range(7)
            if seq[i + j] not in "Nn"
        )
        for i in range(54)
    ]
    np.testing.assert_allclose(got, by_hand, rtol=1e-12, atol=1e-12)


def test_pwm_scan_finds_a_planted_motif():
    pwm = ref.one_hot_encode("GAT").astype(float)  # +1 per matching base
    np.testing.assert_array_equal(ref.pwm_scan("CGATAG", pwm), [0, 3, 0, 1])


# ========================================================== q6
def test_dna_cnn_has_the_course_shapes_and_609_parameters():
    with seeded_torch(0):
        model = ref.DNA_CNN(8)
    assert sum(p.numel() for p in model.parameters()) == 609
    assert set(model.state_dict()) == {
        "conv.weight",
        "conv.bias",
        "fc.weight",
        "fc.bias",
    }
    assert model(torch.zeros(5, 8, 4)).shape == (5, 1)
    assert model(torch.zeros(1, 8, 4)).shape == (1, 1)
    count = ref.conv1d_param_count(4, 32, 3) + 32 * ref.conv_output_length(8, 3) + 1
    assert count == 609


def test_dna_cnn_forward_equals_a_functional_oracle():
    with seeded_torch(1):
        model = ref.DNA_CNN(12, num_filters=5, kernel_size=4)
    x = torch.randn(7, 12, 4, generator=torch.Generator().manual_seed(2))
    h = F.relu(F.conv1d(x.transpose(1, 2), model.conv.weight, model.conv.bias))
    expected = F.linear(h.reshape(7, -1), model.fc.weight, model.fc.bias)
    torch.testing.assert_close(model(x), expected)


# ========================================================== q7
def loaders(seed: int, n: int = 203, n_val: int = 61):
    rng = np.random.default_rng(seed)
    idx = rng.choice(4**8, n + n_val, replace=False)
    seqs = [ref.kmers(8)[i] for i in idx]
    x = torch.from_numpy(np.stack([ref.one_hot_encode(s) for s in seqs]))
    y = torch.from_numpy(ref.score_seqs_motif(seqs).astype(np.float32))[:, None]
    return (
        DataLoader(TensorDataset(x[:n], y[:n]), batch_size=32),
        DataLoader(TensorDataset(x[n:], y[n:]), batch_size=25),
    )


def test_train_model_with_lr_zero_reports_the_exact_weighted_mse():
    train_dl, val_dl = loaders(0)
    with seeded_torch(3):
        model = ref.DNA_CNN(8, num_filters=4)
    with torch.no_grad():
        expected = [
            float(F.mse_loss(model(dl.dataset.tensors[0]), dl.dataset.tensors[1]))
            for dl in (train_dl, val_dl)
        ]
    train, val = ref.train_model(
        model, train_dl, val_dl, lr=0.0, epochs=2, device="cpu"
    )
    assert all(type(v) is float for v in train + val)
    np.testing.assert_allclose(train, [expected[0]] * 2, rtol=1e-6)
    np.testing.assert_allclose(val, [expected[1]] * 2, rtol=1e-6)


def test_train_model_trains_in_place_and_validates_after_each_epoch():
    train_dl, val_dl = loaders(1)
    with seeded_torch(4):
        model = ref.DNA_CNN(8, num_filters=8)
    before = [p.detach().clone() for p in model.parameters()]
    train, val = ref.train_model(
        model, train_dl, val_dl, lr=0.005, epochs=4, device="cpu"
    )
    assert len(train) == len(val) == 4
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert not model.training  # the last thing it did was the validation pass
    x, y = val_dl.dataset.tensors
    with torch.no_grad():
        assert val[-1] == pytest.approx(float(F.mse_loss(model(x), y)), rel=1e-5)
    assert train[-1] < train[0] and val[-1] < val[0]


# ========================================================== q8
def activations_by_brute_force(seqs, layer, thresh):
    w = layer.weight.detach().double().numpy()
    b = layer.bias.detach().double().numpy()
    nf, _, k = w.shape
    counts = np.zeros((nf, 4, k))
    for seq in seqs:
        x = ref.one_hot_encode(seq).T.astype(float)
        for i in range(len(seq) - k + 1):
            window = x[:, i : i + k]
            for f in range(nf):
                if np.sum(window * w[f]) + b[f] > thresh:
                    counts[f] += window
    return counts


@pytest.mark.parametrize("thresh", [-0.3, 0.0, 0.6])
def test_filter_activations_equal_brute_force(thresh):
    rng = np.random.default_rng(5)
    seqs = [random_dna(rng, int(rng.integers(6, 14)), "ACGTN") for _ in range(40)]
    with seeded_torch(5):
        layer = nn.Conv1d(4, 6, 4)
    got = ref.get_filter_activations(seqs, layer, thresh)
    assert got.shape == (6, 4, 4) and got.dtype == np.float64
    np.testing.assert_allclose(
        got, activations_by_brute_force(seqs, layer, thresh), atol=1e-9
    )


def test_a_tat_filter_finds_exactly_the_tat_windows():
    layer = nn.Conv1d(4, 1, 3)
    tat = ref.one_hot_encode("TAT").T  # (4, 3)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(tat)[None])
        layer.bias.fill_(-2.5)
    seqs = ref.kmers(5)
    n_tat = sum(s[i : i + 3] == "TAT" for s in seqs for i in range(3))
    counts = ref.get_filter_activations(seqs, layer, 0.0)
    np.testing.assert_array_equal(counts[0], n_tat * tat)


# ========================================================== GPU
# On CUDA, float32 convolutions use other kernels (cuDNN), so one forward pass agrees
# with the CPU to ~1e-6 relative; SGD feeds that rounding back through 4 epochs of
# mini-batch updates, so curves agree to 1e-3 (a real mistake, such as unweighted
# batch means or a missing zero_grad, changes them by far more).
GPU_FORWARD_TOL = {"rtol": 1e-4, "atol": 1e-5}
GPU_CURVE_RTOL = 1e-3
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.gpu
@cuda
def test_dna_cnn_and_train_model_on_cuda_match_cpu():
    train_dl, val_dl = loaders(2)
    with seeded_torch(6):
        cpu = ref.DNA_CNN(8)
    gpu = ref.DNA_CNN(8)
    gpu.load_state_dict(cpu.state_dict())
    gpu = gpu.to("cuda")
    x = train_dl.dataset.tensors[0]
    with torch.no_grad():
        torch.testing.assert_close(gpu(x.cuda()).cpu(), cpu(x), **GPU_FORWARD_TOL)
    cpu_curves = ref.train_model(
        cpu, train_dl, val_dl, lr=0.005, epochs=4, device="cpu"
    )
    gpu_curves = ref.train_model(gpu, train_dl, val_dl, lr=0.005, epochs=4)  # default
    assert next(gpu.parameters()).device.type == "cuda"
    for got, expected in zip(gpu_curves, cpu_curves, strict=True):
        np.testing.assert_allclose(got, expected, rtol=GPU_CURVE_RTOL)


@pytest.mark.gpu
@cuda
def test_filter_activations_with_a_layer_on_cuda_match_cpu():
    rng = np.random.default_rng(7)
    seqs = [random_dna(rng, 10) for _ in range(50)]
    with seeded_torch(7):
        layer = nn.Conv1d(4, 5, 3)
    cpu = ref.get_filter_activations(seqs, layer, 0.2)
    gpu = ref.get_filter_activations(seqs, layer.to("cuda"), 0.2)
    np.testing.assert_array_equal(gpu, cpu)
