"""Week 2's known-wrong answers: typical mistakes and what their feedback says.

Read by tests/test_questions.py (the reference namespace with ``overrides``
swapped in must fail and name its mistake).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gene46100.checks import week2 as checks
from gene46100_ref import week2 as ref
from known_wrong import KnownWrong

SLOW = {"q7"}  # its reference trains for seconds
# A short behaviour run for q7 mistakes that show in the curves or in the spy's record.
SHORT_Q7 = {"BEHAVIOUR": {"n_train": 1_000, "epochs": 1}}


# ========================================================== wrong answers: q1, q2
def conv_flipped(signal, kernel):
    return np.convolve(signal, kernel, "valid").astype(float)


def conv_short(signal, kernel):
    k = len(kernel)
    return np.array([signal[i : i + k] @ kernel for i in range(len(signal) - k)])


def conv_same(signal, kernel):
    return np.correlate(signal, kernel, "same").astype(float)


def conv_mean(signal, kernel):
    return ref.conv1d_valid(signal, kernel) / len(kernel)


def length_no_plus_one(L, k, stride=1, padding=0):
    return (L + 2 * padding - k) // stride


def length_padding_once(L, k, stride=1, padding=0):
    return (L + padding - k) // stride + 1


def length_float(L, k, stride=1, padding=0):
    return (L + 2 * padding - k) / stride + 1


def length_ignores_stride(L, k, stride=1, padding=0):
    return L + 2 * padding - k + 1


def params_no_bias(in_ch, out_ch, k, bias=True):
    return out_ch * in_ch * k


def params_bias_per_input(in_ch, out_ch, k, bias=True):
    return out_ch * in_ch * k + (in_ch if bias else 0)


def params_always_bias(in_ch, out_ch, k, bias=True):
    return out_ch * in_ch * k + out_ch


# ========================================================== wrong answers: q3
def onehot_with(
    alphabet: str = "ACGT",
    n_value: float = 0.0,
    lower: bool = True,
    message: str = "positions",
    dtype=np.float32,
    transpose: bool = False,
):
    """A one-hot encoder with switchable mistakes."""

    def one_hot_encode(seq):
        bad = [
            (i, c)
            for i, c in enumerate(seq)
            if (c.upper() if lower else c) not in alphabet + "N"
        ]
        if bad:
            text = {
                "positions": f"bad {[c for _, c in bad]} at {[i for i, _ in bad]}",
                "chars": f"invalid characters {[c for _, c in bad]}",
                "one-based": f"bad {[c for _, c in bad]} at {[i + 1 for i, _ in bad]}",
            }[message]
            raise ValueError(text)
        out = np.zeros((len(seq), 4), dtype=dtype)
        for i, c in enumerate(seq):
            c = c.upper()
            if c == "N":
                out[i] = n_value
            else:
                out[i, alphabet.index(c)] = 1
        return out.T if transpose else out

    return one_hot_encode


def onehot_zero_for_bad(seq):
    return np.array(
        [[float(c == b) for b in "ACGT"] for c in seq.upper()], dtype=np.float32
    ).reshape(len(seq), 4)


def onehot_keyerror(seq):
    table = {"A": 0, "C": 1, "G": 2, "T": 3}
    out = np.zeros((len(seq), 4), dtype=np.float32)
    for i, c in enumerate(seq.upper()):
        if c != "N":
            out[i, table[c]] = 1.0
    return out


# ========================================================== wrong answers: q4
def kmers_first_fastest(k):
    return ["".join(reversed(p)) for p in ref.kmers(k)]


def kmers_atgc(k):
    import itertools

    return ["".join(p) for p in itertools.product("ATGC", repeat=k)]


def kmers_tuples(k):
    import itertools

    return list(itertools.product("ACGT", repeat=k))


def score_per_copy(seqs):
    return checks.motif_score(seqs, bonus=lambda s, m: float(s.count(m)))


def score_gcg_plus(seqs):
    return checks.motif_score(seqs, gcg=10.0)


def score_sum(seqs):
    return checks.motif_score(seqs, mean=False)


# ========================================================== wrong answers: q5
def scan_flipped(seq, pwm):
    return ref.pwm_scan(seq, np.asarray(pwm)[::-1])


def scan_atgc(seq, pwm):
    return ref.pwm_scan(seq, np.asarray(pwm)[:, checks.ATGC_COLUMNS])


def scan_n_average(seq, pwm):
    pwm = np.asarray(pwm, float)
    x = ref.one_hot_encode(seq).astype(float)
    x[[c in "Nn" for c in seq]] = 0.25
    k = len(pwm)
    return np.array([np.sum(x[i : i + k] * pwm) for i in range(len(seq) - k + 1)])


def scan_short(seq, pwm):
    return ref.pwm_scan(seq, pwm)[:-1]


# ========================================================== wrong answers: q6
class VariantCNN(nn.Module):
    """The right layers; subclasses change one step of forward."""

    def __init__(self, seq_len, num_filters=32, kernel_size=3):
        super().__init__()
        self.conv = nn.Conv1d(4, num_filters, kernel_size)
        self.fc = nn.Linear(num_filters * (seq_len - kernel_size + 1), 1)

    def arrange(self, x):
        return x.permute(0, 2, 1)

    def act(self, h):
        return torch.relu(h)

    def finish(self, z):
        return z

    def forward(self, x):
        h = self.act(self.conv(self.arrange(x)))
        return self.finish(self.fc(h.flatten(1)))


class CNNReshape(VariantCNN):
    def arrange(self, x):
        return x.reshape(x.shape[0], 4, x.shape[1])


class CNNNoPermute(VariantCNN):
    def arrange(self, x):
        return x


class CNNNoReLU(VariantCNN):
    def act(self, h):
        return h


class CNNSqueezed(VariantCNN):
    def finish(self, z):
        return z.squeeze(1)


class CNNFlattenByPosition(VariantCNN):
    def forward(self, x):
        h = torch.relu(self.conv(x.permute(0, 2, 1)))
        return self.fc(h.permute(0, 2, 1).flatten(1))


class CNNMaxPool(VariantCNN):
    def __init__(self, seq_len, num_filters=32, kernel_size=3):
        super().__init__(seq_len, num_filters, kernel_size)
        self.fc = nn.Linear(num_filters * ((seq_len - kernel_size + 1) // 2), 1)

    def forward(self, x):
        h = F.max_pool1d(torch.relu(self.conv(x.permute(0, 2, 1))), 2)
        return self.fc(h.flatten(1))


class CNNWrongNames(nn.Module):
    def __init__(self, seq_len, num_filters=32, kernel_size=3):
        super().__init__()
        self.conv1 = nn.Conv1d(4, num_filters, kernel_size)
        self.linear = nn.Linear(num_filters * (seq_len - kernel_size + 1), 1)

    def forward(self, x):
        return self.linear(torch.relu(self.conv1(x.permute(0, 2, 1))).flatten(1))


# ========================================================== wrong answers: q7
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
    copy_model=False,
    fixed_lr=None,
):
    """A training loop with switchable mistakes."""
    if copy_model:
        model = copy.deepcopy(model)
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
                curve.append(sum(v * n for v, n in items) / sum(n for _, n in items))
            else:
                curve.append(sum(v for v, _ in items) / len(items))
    return train_losses, val_losses


def train_variant(**flags):
    def train_model(model, train_dl, val_dl, lr=0.01, epochs=10, device=None):
        return train_loop(model, train_dl, val_dl, lr, epochs, device, **flags)

    return train_model


def train_tensor_losses(model, train_dl, val_dl, lr=0.01, epochs=10, device=None):
    curves = ref.train_model(model, train_dl, val_dl, lr, epochs, device)
    return [torch.tensor(v) for v in curves[0]], curves[1]


# ========================================================== wrong answers: q8
def activations_variant(**flags):
    def get_filter_activations(seqs, conv_layer, act_thresh=0):
        state = {k: v.detach().numpy() for k, v in conv_layer.state_dict().items()}
        return checks.activation_counts(seqs, state, act_thresh, **flags)

    return get_filter_activations


def activations_transposed(seqs, conv_layer, act_thresh=0):
    return ref.get_filter_activations(seqs, conv_layer, act_thresh).transpose(0, 2, 1)


KNOWN_WRONG = [
    KnownWrong(
        "q1", {"conv1d_valid": conv_flipped}, "true convolution", "flipped-kernel"
    ),
    KnownWrong(
        "q1", {"conv1d_valid": conv_short}, "one output short", "length-off-by-one"
    ),
    KnownWrong("q1", {"conv1d_valid": conv_same}, "'same' padding", "same-mode"),
    KnownWrong("q1", {"conv1d_valid": conv_mean}, "averaged", "mean-not-sum"),
    KnownWrong(
        "q2", {"conv_output_length": length_no_plus_one}, "off by one", "length-no-+1"
    ),
    KnownWrong(
        "q2", {"conv_output_length": length_padding_once}, "both ends", "padding-once"
    ),
    KnownWrong(
        "q2", {"conv_output_length": length_float}, "should be an int", "true-division"
    ),
    KnownWrong(
        "q2",
        {"conv_output_length": length_ignores_stride},
        "stride is ignored",
        "ignores-stride",
    ),
    KnownWrong(
        "q2", {"conv1d_param_count": params_no_bias}, "biases are missing", "no-bias"
    ),
    KnownWrong(
        "q2",
        {"conv1d_param_count": params_bias_per_input},
        "per input channel",
        "bias-per-input",
    ),
    KnownWrong(
        "q2",
        {"conv1d_param_count": params_always_bias},
        "bias=False was ignored",
        "ignores-bias-flag",
    ),
    KnownWrong(
        "q3",
        {"one_hot_encode": onehot_with(alphabet="ATGC")},
        "A, T, G, C order",
        "atgc-order",
    ),
    KnownWrong(
        "q3",
        {"one_hot_encode": onehot_with(transpose=True)},
        "that is (4, L)",
        "transposed",
    ),
    KnownWrong(
        "q3", {"one_hot_encode": onehot_with(n_value=0.25)}, "0.25", "n-quarter"
    ),
    KnownWrong(
        "q3",
        {"one_hot_encode": onehot_with(lower=False)},
        "accept lowercase",
        "no-lowercase",
    ),
    KnownWrong(
        "q3",
        {"one_hot_encode": onehot_with(message="chars")},
        "0-based positions",
        "message-without-positions",
    ),
    KnownWrong(
        "q3",
        {"one_hot_encode": onehot_with(message="one-based")},
        "1-based",
        "one-based-positions",
    ),
    KnownWrong(
        "q3",
        {"one_hot_encode": onehot_zero_for_bad},
        "must raise ValueError",
        "silent-zeros",
    ),
    KnownWrong("q3", {"one_hot_encode": onehot_keyerror}, "KeyError", "keyerror"),
    KnownWrong(
        "q3", {"one_hot_encode": onehot_with(dtype=np.float64)}, "float32", "float64"
    ),
    KnownWrong(
        "q4",
        {"kmers": kmers_first_fastest},
        "first letter changes fastest",
        "kmers-order",
    ),
    KnownWrong("q4", {"kmers": kmers_atgc}, "A, T, G, C alphabet", "kmers-atgc"),
    KnownWrong("q4", {"kmers": kmers_tuples}, "''.join", "kmers-tuples"),
    KnownWrong(
        "q4", {"score_seqs_motif": score_per_copy}, "at most once", "bonus-per-copy"
    ),
    KnownWrong(
        "q4", {"score_seqs_motif": score_gcg_plus}, "should subtract 10", "gcg-sign"
    ),
    KnownWrong("q4", {"score_seqs_motif": score_sum}, "summed", "sum-not-mean"),
    KnownWrong("q5", {"pwm_scan": scan_flipped}, "flipped", "flipped-pwm"),
    KnownWrong("q5", {"pwm_scan": scan_atgc}, "A, T, G, C order", "atgc-columns"),
    KnownWrong("q5", {"pwm_scan": scan_n_average}, "adds 0", "n-average"),
    KnownWrong(
        "q5", {"pwm_scan": scan_short}, "last window is missing", "windows-off-by-one"
    ),
    KnownWrong("q6", {"DNA_CNN": CNNReshape}, "permute", "reshape-not-permute"),
    KnownWrong("q6", {"DNA_CNN": CNNNoPermute}, "Permute the input", "no-permute"),
    KnownWrong(
        "q6", {"DNA_CNN": CNNNoReLU}, "ReLU between conv and fc is missing", "no-relu"
    ),
    KnownWrong("q6", {"DNA_CNN": CNNSqueezed}, "squeezed", "squeezed"),
    KnownWrong(
        "q6", {"DNA_CNN": CNNFlattenByPosition}, "h.flatten(1)", "flatten-order"
    ),
    KnownWrong(
        "q6", {"DNA_CNN": CNNMaxPool}, "fc has the wrong number of inputs", "maxpool"
    ),
    KnownWrong(
        "q6", {"DNA_CNN": CNNWrongNames}, "self.conv and self.fc", "wrong-names"
    ),
    KnownWrong(
        "q8",
        {
            "get_filter_activations": activations_variant(
                fires=lambda a, t: np.maximum(a, 0) > t
            )
        },
        "after the ReLU",
        "post-relu",
    ),
    KnownWrong(
        "q8",
        {"get_filter_activations": activations_variant(fires=lambda a, t: a >= t)},
        "(>, not >=)",
        "greater-equal",
    ),
    KnownWrong(
        "q8",
        {"get_filter_activations": activations_variant(bias=False)},
        "bias was left out",
        "no-bias",
    ),
    KnownWrong(
        "q8",
        {"get_filter_activations": activations_variant(rows=checks.ATGC_COLUMNS)},
        "A, T, G, C order",
        "atgc-rows",
    ),
    KnownWrong(
        "q8",
        {"get_filter_activations": activations_transposed},
        "that is (num_filters, k, 4)",
        "transposed",
    ),
    # q7's mistakes show in the curves or in the spy's record, so a short behaviour
    # run keeps these quick; "copies the model" is a behaviour mistake and runs in
    # full (tests/test_checks_week2.py, with its partial credit).
    KnownWrong(
        "q7",
        {"train_model": train_variant(zero_grad=False)},
        "opt.zero_grad()",
        "no-zero-grad",
        settings=SHORT_Q7,
    ),
    KnownWrong(
        "q7",
        {"train_model": train_variant(weighted=False)},
        "batch-size-weighted",
        "unweighted-means",
        settings=SHORT_Q7,
    ),
    KnownWrong(
        "q7",
        {"train_model": train_variant(val_eval=False)},
        "validation pass ran in training mode",
        "val-train-mode",
        settings=SHORT_Q7,
    ),
    KnownWrong(
        "q7",
        {"train_model": train_variant(val_no_grad=False)},
        "with gradients enabled",
        "val-with-grad",
        settings=SHORT_Q7,
    ),
    KnownWrong(
        "q7",
        {"train_model": train_variant(reset_train=False)},
        "model.train() at the start of every epoch",
        "no-train-reset",
        settings=SHORT_Q7,
    ),
    KnownWrong(
        "q7",
        {"train_model": train_variant(fixed_lr=0.01)},
        "learning rate argument was ignored",
        "ignores-lr",
        settings=SHORT_Q7,
    ),
    KnownWrong(
        "q7",
        {"train_model": train_tensor_losses},
        "loss.item()",
        "tensor-losses",
        settings=SHORT_Q7,
    ),
]
