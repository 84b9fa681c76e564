"""Train the reference model of q5 and save ``solutions/week3a/model_weights.pt``.

Usage (from the repository root):
``.venv/bin/python solutions/week3a/make_model_weights.py``

The recipe is the notebook's (Part 5), on the notebook's data (the release's
``data/`` files: 4,000 windows, seed 46100): ``TFBindingFCN`` (2,433 parameters,
about 10 kB on disk) trained with Adam (lr 0.01, 4 epochs, batch 64) on the 64 %
training split. On one CPU thread the result is the same on every run; the script
prints the held-out mean per-sequence r, as the grader measures it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from gene46100_ref import tfdata
from gene46100_ref import week3a as ref

HERE = Path(__file__).resolve().parent
N_WINDOWS, DATA_SEED = 4000, 46100  # the notebook's data (assignments/week3a/data/)


def train_reference() -> torch.nn.Module:
    """The notebook's Part 5 model, trained exactly as the notebook trains it."""
    seq_df, scores_df = tfdata.simulate_tf_windows(N_WINDOWS, DATA_SEED)
    parts = ref.split_windows(seq_df, seed=42)
    train_dl, _, _ = ref.build_dataloaders(parts, scores_df, batch_size=64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = ref.TFBindingFCN()
    return ref.train_adam(model, train_dl, lr=0.01, epochs=4, device="cpu")


def heldout_r(model: torch.nn.Module, seed: int = 7, n: int = 400) -> float:
    """Mean per-sequence r on fresh windows (constant rows count as 0, as in q5)."""
    seq_df, scores_df = tfdata.simulate_tf_windows(n, seed)
    x = torch.from_numpy(np.stack([ref.one_hot_encode(s) for s in seq_df["sequence"]]))
    with torch.no_grad():
        preds = model(x).numpy().astype(np.float64)
    obs = scores_df[list(seq_df["window_name"])].to_numpy().T
    return float(np.mean(np.nan_to_num(ref.pearson_per_row(preds, obs), nan=0.0)))


def main() -> None:
    torch.set_num_threads(1)
    model = train_reference()
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    with tempfile.TemporaryDirectory() as tmp:  # write, then move: never half a file
        path = Path(tmp) / "model_weights.pt"
        torch.save(state, path)
        (HERE / "model_weights.pt").write_bytes(path.read_bytes())
    print(f"wrote {HERE / 'model_weights.pt'}; held-out mean r {heldout_r(model):.3f}")


if __name__ == "__main__":
    main()
