"""Predict per-base TF-binding scores for every window of a sequences file.

Usage:  python predict.py --data SEQUENCES.txt.gz --out predictions.csv

Reads a gzip, tab-separated file with columns ``sequence`` and ``window_name`` (the
layout of ``chr22_sequences.txt.gz``; a scores file is never needed), loads the model
weights from ``model_weights.pt`` next to this script, and writes a CSV whose index
column is ``window_name`` and whose 300 columns ``0..299`` are the predicted scores of
each position. Self-contained: it needs only numpy, pandas and torch, not the notebook.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

WEIGHTS = Path(__file__).resolve().parent / "model_weights.pt"


def one_hot_encode(seq: str) -> np.ndarray:
    """float32 ``(L, 4)``, columns A, C, G, T (either case); N is an all-zero row.

    The notebook's own ``one_hot_encode``: any other character raises ``ValueError``
    naming it and its 0-based position (a silent zero row would hide a bad file).
    """
    raw = seq.encode("latin-1", "replace")  # one byte per character
    codes = np.frombuffer(raw, dtype=np.uint8)  # (L,)
    letters = b"ACGTNacgtn"
    if raw.translate(None, letters):
        allowed = np.zeros(256, dtype=bool)
        allowed[np.frombuffer(letters, dtype=np.uint8)] = True
        bad = np.flatnonzero(~np.take(allowed, codes))
        shown = bad[:20].tolist() + (["..."] if bad.size > 20 else [])
        raise ValueError(
            f"invalid characters {sorted({seq[i] for i in bad})} at positions {shown} "
            "(allowed: A, C, G, T and N, in either case)"
        )
    table = np.zeros((256, 4), dtype=np.float32)  # N and n rows stay all zero
    for column, base in enumerate(b"ACGT"):
        table[base, column] = table[base + 32, column] = 1.0  # upper and lower case
    return np.take(table, codes, axis=0)  # (L, 4) float32
class TFBindingFCN(nn.Module):
    """Fully convolutional: (N, L, 4) -> (N, L), one output per position.

    conv1 finds motif-like words; conv2 spreads each hit over the positions it covers.
    Both convolutions are padded to keep the length, so every position gets a score.
    """

    def __init__(self, num_filters: int = 32, kernel_size: int = 15) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(4, num_filters, kernel_size, padding=kernel_size // 2)
        self.conv2 = nn.Conv1d(num_filters, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv1(x.permute(0, 2, 1)))  # (N, num_filters, L)
        return self.conv2(h).squeeze(1)  # (N, L)


def build_model() -> nn.Module:
    """The trained model with its weights loaded, in eval mode."""
    model = TFBindingFCN()
    state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()


def write_predictions(preds: np.ndarray, window_names: list[str], out: str) -> None:
    """``preds`` float ``(N, L)`` -> CSV indexed by ``window_name``, columns 0..L-1."""
    table = pd.DataFrame(preds, index=pd.Index(window_names, name="window_name"),
                         columns=range(preds.shape[1]))
    table.to_csv(out)
def predict(model: nn.Module, seqs: list[str], batch_size: int = 256) -> np.ndarray:
    """float32 ``(N, L)`` predictions, in the order of ``seqs``."""
    outputs = []
    with torch.no_grad():
        for start in range(0, len(seqs), batch_size):
            chunk = seqs[start : start + batch_size]
            batch = np.stack([one_hot_encode(s) for s in chunk])  # (B, L, 4)
            outputs.append(model(torch.from_numpy(batch)).numpy())  # (B, L)
    return np.concatenate(outputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", required=True, help="sequences .txt.gz (tab-separated)"
    )
    parser.add_argument("--out", required=True, help="where to write the CSV")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seq_df = pd.read_csv(args.data, sep="\t")
    preds = predict(build_model(), list(seq_df["sequence"]))
    write_predictions(preds, list(seq_df["window_name"]), args.out)


if __name__ == "__main__":
    main()
