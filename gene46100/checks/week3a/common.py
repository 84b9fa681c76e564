"""What several of week3a's question modules share: helpers, adapters and the
reference stand-in (each question's own check is its module, ``q<NN>_*.py``)."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as _grader_pd
import torch
from torch import nn
from torch.utils.data import DataLoader as _GraderDataLoader
from torch.utils.data import Dataset as _GraderDataset
from torch.utils.data import TensorDataset as _GraderTensorDataset

from gene46100.checks import Mismatch
from gene46100.contract.results import Value
from gene46100_ref import tfdata
from gene46100_ref import week3a as ref
from gene46100_ref.seeding import seeded_torch

Q4_MIN_R = 0.35


Q5_MIN_R = 0.30


Q6_MIN_AUROC = 0.90


SEQ_LEN = 300


ACGT = np.frombuffer(b"ACGT", dtype=np.uint8)


# Sandbox side. They run in the student's namespace (so ``load_tf_data`` etc. are the
# student's) with numpy as ``np`` and torch as ``torch``; they return plain data only.
def _grader_frame_summary(frame) -> dict:
    """Columns, shape and values of a DataFrame as plain data (or its type)."""
    if not isinstance(frame, _grader_pd.DataFrame):
        return {"type": type(frame).__module__ + "." + type(frame).__qualname__}
    out = {
        "type": "DataFrame",
        "columns": [str(c) for c in frame.columns[:400]],
        "shape": list(frame.shape),
    }
    numeric = frame.select_dtypes("number")
    if numeric.shape == frame.shape:
        # float32 scores (the course reads them with dtype='float32') go as they are,
        # so that the trusted side grades them at float32 precision; the rest as float64
        values = numeric.to_numpy()
        if values.dtype != np.float32:
            values = numeric.to_numpy(dtype=np.float64)
        out["values"] = values
    return out


def _grader_load_tf_data(seq_path, score_path) -> dict:
    seq_df, scores_df = load_tf_data(seq_path, score_path)  # noqa: F821 - student's
    out = {
        "seq": _grader_frame_summary(seq_df),
        "scores": _grader_frame_summary(scores_df),
    }
    if isinstance(seq_df, _grader_pd.DataFrame):
        for column in ("window_name", "sequence"):
            if column in seq_df.columns:
                out[column] = [str(v)[:400] for v in seq_df[column].tolist()[:400]]
    return out


def _grader_frames(codes, names, index, scores, score_names):
    """Rebuild ``seq_df`` (with these index labels) and ``scores_df`` from arrays."""
    seqs = [bytes(row).decode("ascii") for row in np.asarray(codes, dtype=np.uint8)]
    seq_df = _grader_pd.DataFrame(
        {"sequence": seqs, "window_name": list(names)}, index=list(index)
    )
    scores_df = _grader_pd.DataFrame(np.asarray(scores), columns=list(score_names))
    return seq_df, scores_df


def _grader_dataset(codes, names, index, scores, score_names) -> dict:
    seq_df, scores_df = _grader_frames(codes, names, index, scores, score_names)
    ds = SeqDatasetOHE(seq_df, scores_df)  # noqa: F821 - student's
    out = {
        "is_dataset": isinstance(ds, _GraderDataset),
        "len": len(ds),
        "items": [tuple(ds[i]) for i in range(len(seq_df))],
    }
    try:
        out["batch"] = tuple(next(iter(_GraderDataLoader(ds, batch_size=4))))
    except Exception as exc:  # noqa: BLE001 - reported as data, graded separately
        out["batch_error"] = f"{type(exc).__name__}: {exc}"[:200]
    return out


def _grader_param_report(model) -> dict:
    return {
        "count": int(sum(p.numel() for p in model.parameters())),
        "shapes": {k: list(v.shape) for k, v in model.state_dict().items()},
    }


class _GraderBNNet(nn.Module):
    """``(N, L, 4) -> (N, L)`` with BatchNorm, whose output depends on train/eval mode:
    a validation pass in the wrong mode (or training left in eval mode) shows."""

    def __init__(self, num_filters: int = 6, kernel_size: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, num_filters, kernel_size, padding=kernel_size // 2)
        self.bn = nn.BatchNorm1d(num_filters)
        self.out = nn.Conv1d(num_filters, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn(self.conv(x.permute(0, 2, 1))))  # (N, F, L)
        return self.out(h).squeeze(1)  # (N, L)


def _grader_model(kind, args, state):
    """A grader-chosen model with grader-chosen weights (reference TFBindingCNN)."""
    model = TFBindingCNN(*args) if kind == "cnn" else _GraderBNNet(*args)  # noqa: F821
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    return model


def _grader_train(
    kind, args, state, x_tr, y_tr, x_val, y_val, lr, epochs, batch_size, x_test
) -> dict:
    model = _grader_model(kind, args, state)
    train_dl = _GraderDataLoader(
        _GraderTensorDataset(x_tr, y_tr), batch_size=batch_size
    )
    val_dl = _GraderDataLoader(
        _GraderTensorDataset(x_val, y_val), batch_size=batch_size
    )
    losses = train_model(  # noqa: F821 - the student's
        model, train_dl, val_dl, lr=lr, epochs=epochs, device="cpu"
    )
    model.cpu().eval()
    with torch.no_grad():
        preds = model(x_test)
    return {"losses": losses, "preds": preds}


def _grader_test(kind, args, state, x, y, batch_size):
    model = _grader_model(kind, args, state)
    loader = _GraderDataLoader(_GraderTensorDataset(x, y), batch_size=batch_size)
    return test_model(model, loader, device="cpu")  # noqa: F821 - student's


def _grader_score_peaks(train_codes, train_labels, test_codes, seed):
    def decode(codes):
        return [bytes(row).decode("ascii") for row in np.asarray(codes, dtype=np.uint8)]

    return score_peaks(  # noqa: F821 - the student's
        decode(train_codes),
        np.asarray(train_labels),
        decode(test_codes),
        seed=seed,
    )


ADAPTER_HEADER = (
    "import pandas as _grader_pd\n"
    "from torch.utils.data import DataLoader as _GraderDataLoader\n"
    "from torch.utils.data import Dataset as _GraderDataset\n"
    "from torch.utils.data import TensorDataset as _GraderTensorDataset\n"
)


def encode_codes(seqs: list[str]) -> np.ndarray:
    """Equal-length DNA strings as a uint8 ``(n, L)`` array of their ASCII codes."""
    return (
        np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)
        .reshape(len(seqs), -1)
        .copy()
    )


def onehot_batch(seqs: list[str]) -> np.ndarray:
    """float32 ``(n, L, 4)`` (A, C, G, T; anything else zeros)."""
    codes = encode_codes(seqs)
    return (codes[:, :, None] == ACGT).astype(np.float32)


def tsv_gz(frame: _grader_pd.DataFrame) -> bytes:
    """A DataFrame as the course's files store it: gzip TSV, no index, mtime 0."""
    text = frame.to_csv(sep="\t", index=False).encode()
    return gzip.compress(text, mtime=0)


def simulate(
    rng: np.random.Generator, n: int, seq_len: int = SEQ_LEN
) -> tuple[_grader_pd.DataFrame, _grader_pd.DataFrame]:
    """Fresh windows with planted CTCF sites (a new seed from the grading RNG)."""
    return tfdata.simulate_tf_windows(n, int(rng.integers(2**31)), "easy", seq_len)


def targets(seq_df, scores_df) -> np.ndarray:
    """float32 ``(n, L)``: each window's scores, in ``seq_df``'s row order."""
    return scores_df[list(seq_df["window_name"])].to_numpy(np.float32).T.copy()


def state_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def new_model(kind: str, args: list, seed: int) -> nn.Module:
    with seeded_torch(seed):
        return ref.TFBindingCNN(*args) if kind == "cnn" else _GraderBNNet(*args)


def load_model(kind: str, args: list, state: dict[str, np.ndarray]) -> nn.Module:
    model = new_model(kind, args, 0)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    return model


def pearson_zero_nan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-row Pearson r where an undefined r (a constant row) counts as 0."""
    return np.nan_to_num(ref.pearson_per_row(a, b), nan=0.0)


def dict_items(value: Value, what: str) -> dict[str, Value]:
    if value.kind != "dict":
        raise Mismatch(f"{what}: unexpected result {value.type}")
    return value.data


def reference_cnn(
    args: list,
    state: dict[str, np.ndarray],
    x: np.ndarray,
    model: nn.Module | None = None,
) -> np.ndarray:
    """The reference ``TFBindingCNN(*args)`` with weights ``state`` (or ``model``)
    on the batch ``x``, as float64."""
    model = model or load_model("cnn", args, state)
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy().astype(np.float64)
