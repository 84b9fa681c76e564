"""An independent completion of week 3a (written apart from the reference).

Same contract, different code: validation by looping over the rows, a Dataset that
maps names to column indices, ``transpose``/``reshape`` instead of ``permute``/
``flatten``, a per-row Pearson loop, a training loop that accumulates sums, and a peak
model with average + max pooling that returns probabilities. Each top-level
definition replaces the student notebook's answer cell that defines the same name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset


def load_tf_data(seq_path, score_path):
    seqs = pd.read_csv(seq_path, sep="\t", dtype={"sequence": str})
    scores = pd.read_csv(score_path, sep="\t")
    for column in ("sequence", "window_name"):
        if column not in seqs:
            raise ValueError(f"column {column!r} not found in {seq_path}")
    n_positions = scores.shape[0]
    for name, seq in zip(seqs["window_name"], seqs["sequence"]):
        if len(seq) != n_positions:
            raise ValueError(
                f"window {name}: {len(seq)} bases, but {n_positions} score rows"
            )
    known = set(scores.columns)
    for name in seqs["window_name"]:
        if name not in known:
            raise ValueError(f"no scores for window {name}")
    return seqs, scores


class SeqDatasetOHE(Dataset):
    def __init__(self, seq_df, scores_df):
        column = {name: j for j, name in enumerate(scores_df.columns)}
        values = scores_df.to_numpy(dtype=np.float32)  # (L, n_all)
        picks = [column[name] for name in seq_df["window_name"]]
        self.targets = torch.tensor(values[:, picks].T)  # (N, L)
        self.inputs = torch.tensor(
            np.array(
                [
                    one_hot_encode(s)  # noqa: F821
                    for s in seq_df["sequence"]
                ]
            )
        )

    def __len__(self):
        return self.targets.shape[0]

    def __getitem__(self, index):
        return self.inputs[index], self.targets[index]


class TFBindingCNN(nn.Module):
    def __init__(self, seq_len=300, num_filters=32, kernel_size=8, num_outputs=300):
        super().__init__()
        positions = seq_len - kernel_size + 1
        self.conv = nn.Conv1d(
            in_channels=4, out_channels=num_filters, kernel_size=kernel_size
        )
        self.fc = nn.Linear(
            in_features=num_filters * positions, out_features=num_outputs
        )

    def forward(self, x):
        h = nn.functional.relu(self.conv(x.transpose(1, 2)))
        return self.fc(h.reshape(h.shape[0], -1))


def train_model(model, train_dl, val_dl, lr=0.01, epochs=10, device=None):
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    criterion = nn.MSELoss()
    history = ([], [])
    for _ in range(epochs):
        model.train()
        sums = [0.0, 0]
        for xb, yb in train_dl:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            sums[0] += float(loss) * xb.shape[0]
            sums[1] += xb.shape[0]
        history[0].append(sums[0] / sums[1])
        model.eval()
        sums = [0.0, 0]
        with torch.no_grad():
            for xb, yb in val_dl:
                xb, yb = xb.to(device), yb.to(device)
                sums[0] += float(criterion(model(xb), yb)) * xb.shape[0]
                sums[1] += xb.shape[0]
        history[1].append(sums[0] / sums[1])
    return history


def test_model(model, loader, device=None):
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device).eval()
    predicted, observed = [], []
    with torch.no_grad():
        for xb, yb in loader:
            predicted.append(model(xb.to(device)).double().cpu())
            observed.append(yb.double())
    preds = torch.cat(predicted).numpy()
    obs = torch.cat(observed).numpy()
    r = np.full(len(preds), np.nan)
    for i, (p, o) in enumerate(zip(preds, obs)):
        sp, so = p.std(), o.std()
        if sp > 0 and so > 0:
            r[i] = np.mean((p - p.mean()) * (o - o.mean())) / (sp * so)
    return preds, obs, r


def score_peaks(train_seqs, train_labels, test_seqs, seed=0):
    class PeakNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(4, 24, 13)
            self.head = nn.Linear(48, 1)

        def forward(self, x):
            h = torch.relu(self.conv(x.transpose(1, 2)))
            pooled = torch.cat([h.max(dim=2).values, h.mean(dim=2)], dim=1)
            return self.head(pooled)[:, 0]

    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = PeakNet()

    def encode(seqs):
        return torch.tensor(np.array([one_hot_encode(s) for s in seqs]))  # noqa: F821

    x = encode(train_seqs)
    x = torch.cat([x, torch.flip(x, dims=(1, 2))])
    y = torch.tensor(np.concatenate([train_labels, train_labels]), dtype=torch.float32)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=gen)
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    for _ in range(5):
        for xb, yb in loader:
            optimizer.zero_grad()
            nn.functional.binary_cross_entropy_with_logits(net(xb), yb).backward()
            optimizer.step()
    net.eval()
    with torch.no_grad():
        xt = encode(test_seqs)
        probs = torch.sigmoid(net(xt)) + torch.sigmoid(net(torch.flip(xt, dims=(1, 2))))
    return probs.double().numpy()
