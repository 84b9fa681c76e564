"""An independent completion of week 2, written apart from the reference.

Each top-level definition replaces the student-notebook answer cell that defines the
same name (see gene46100_ref/examples.py). Different code, same contract.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view
from torch import nn


def conv1d_valid(signal, kernel):
    signal = np.asarray(signal, dtype=float).ravel()
    kernel = np.asarray(kernel, dtype=float).ravel()
    if kernel.size == 0 or kernel.size > signal.size:
        raise ValueError("the kernel must be non-empty and no longer than the signal")
    return sliding_window_view(signal, kernel.size) @ kernel


def conv_output_length(L, k, stride=1, padding=0):
    span = L + 2 * padding - k
    if span < 0:
        raise ValueError("kernel larger than the padded input")
    return int(math.floor(span / stride)) + 1


def conv1d_param_count(in_ch, out_ch, k, bias=True):
    per_filter = in_ch * k + (1 if bias else 0)
    return int(per_filter * out_ch)


def one_hot_encode(seq):
    table = {"A": 0, "C": 1, "G": 2, "T": 3, "N": -1}
    codes, problems = [], []
    for position, letter in enumerate(seq):
        code = table.get(letter.upper()) if len(letter.upper()) == 1 else None
        if code is None:
            problems.append(f"{letter!r} at position {position}")
        codes.append(code)
    if problems:
        raise ValueError("not DNA: " + ", ".join(problems))
    codes = np.array([c for c in codes], dtype=np.int64).reshape(-1)
    identity = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), np.float32)])
    return identity[codes].reshape(len(seq), 4)  # code -1 picks the zero row


def kmers(k):
    words = [""]
    for _ in range(k):
        words = [w + base for w in words for base in "ACGT"]
    return words


def score_seqs_motif(seqs):
    weight = {"A": 20, "C": 17, "G": 14, "T": 11}
    out = []
    for s in seqs:
        total = float(np.mean([weight[b] for b in s]))
        if s.find("TAT") >= 0:
            total = total + 10
        if s.find("GCG") >= 0:
            total = total - 10
        out.append(total)
    return np.asarray(out, dtype=np.float64)


def pwm_scan(seq, pwm):
    pwm = np.asarray(pwm, dtype=np.float64)
    onehot = one_hot_encode(seq).astype(np.float64)  # (L, 4)
    windows = sliding_window_view(onehot, pwm.shape[0], axis=0)  # (W, 4, k)
    return np.einsum("wck,kc->w", windows, pwm)


class DNA_CNN(nn.Module):
    def __init__(self, seq_len, num_filters=32, kernel_size=3):
        super().__init__()
        n_windows = seq_len - kernel_size + 1
        self.conv = nn.Conv1d(
            in_channels=4, out_channels=num_filters, kernel_size=kernel_size
        )
        self.fc = nn.Linear(in_features=num_filters * n_windows, out_features=1)

    def forward(self, x):
        h = F.relu(self.conv(torch.transpose(x, 1, 2)))
        return self.fc(h.reshape(h.shape[0], -1))


def train_model(model, train_dl, val_dl, lr=0.01, epochs=10, device=None):
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    model = model.to(device)
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    history = ([], [])
    for _ in range(epochs):
        model.train(True)
        sse, seen = 0.0, 0
        for xb, yb in train_dl:
            xb, yb = xb.to(device), yb.to(device)
            pred = model(xb)
            loss = F.mse_loss(pred, yb)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            sse += float(loss.detach()) * xb.shape[0]
            seen += xb.shape[0]
        history[0].append(sse / seen)
        model.train(False)
        sse, seen = 0.0, 0
        with torch.inference_mode():
            for xb, yb in val_dl:
                xb, yb = xb.to(device), yb.to(device)
                sse += F.mse_loss(model(xb), yb, reduction="sum").item()
                seen += yb.numel()
        history[1].append(sse / seen)
    return history


def get_filter_activations(seqs, conv_layer, act_thresh=0):
    weight = conv_layer.weight.detach()
    bias = conv_layer.bias.detach() if conv_layer.bias is not None else None
    n_filters, _, width = weight.shape
    total = np.zeros((n_filters, 4, width), dtype=np.float64)
    for seq in seqs:
        onehot = torch.tensor(one_hot_encode(seq).T, device=weight.device)  # (4, L)
        with torch.no_grad():
            act = F.conv1d(onehot.unsqueeze(0), weight, bias)[0].cpu().numpy()
        onehot = onehot.cpu().numpy()
        for f in range(n_filters):
            for start in range(act.shape[1]):
                if act[f, start] > act_thresh:
                    total[f] += onehot[:, start : start + width]
    return total
