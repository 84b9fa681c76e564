"""Week 3a's known-wrong answers: typical mistakes and what their feedback says.

Read by tests/test_questions.py (the reference namespace with ``overrides``
swapped in, or the reference's submission folder edited by ``workdir``, must fail
and name its mistake).
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from gene46100_ref import tfdata
from gene46100_ref import week3a as ref
from known_wrong import KnownWrong

SLOW = {"q4", "q5", "q6"}  # they train, or run predict.py, for seconds


# ========================================================== wrong answers: q1-q3
def load_no_checks(seq_path, score_path):
    return pd.read_csv(seq_path, sep="\t"), pd.read_csv(score_path, sep="\t")


def load_index_col(seq_path, score_path):
    return ref.load_tf_data(seq_path, score_path)[0], pd.read_csv(
        score_path, sep="\t", index_col=0
    )


def load_key_error(seq_path, score_path):
    seq_df, scores_df = load_no_checks(seq_path, score_path)
    names = seq_df["window_name"]  # KeyError when the column is missing
    return seq_df, scores_df[list(names)]  # KeyError for a window without scores


def load_vague(seq_path, score_path):
    try:
        return ref.load_tf_data(seq_path, score_path)
    except ValueError:
        raise ValueError("malformed input") from None


def load_transposed(seq_path, score_path):
    seq_df, scores_df = ref.load_tf_data(seq_path, score_path)
    return seq_df, scores_df.T


def dataset(get_x=None, get_y=None):
    """A SeqDatasetOHE with one piece done wrong."""

    class Variant(torch.utils.data.Dataset):
        def __init__(self, seq_df, scores_df):
            self.seq_df, self.scores_df = seq_df, scores_df
            self.good = ref.SeqDatasetOHE(seq_df, scores_df)

        def __len__(self):
            return len(self.seq_df)

        def __getitem__(self, i):
            x, y = self.good[i]
            x = get_x(self, i, x) if get_x else x
            y = get_y(self, i, y) if get_y else y
            return x, y

    return Variant


POSITIONAL = dataset(
    get_y=lambda ds, i, y: torch.tensor(ds.scores_df.iloc[:, i].to_numpy(np.float32))
)
CHANNELS_FIRST = dataset(get_x=lambda ds, i, x: x.T.contiguous())
FLOAT64_Y = dataset(get_y=lambda ds, i, y: y.double())
NUMPY_X = dataset(get_x=lambda ds, i, x: x.numpy())
LOC_LOOKUP = dataset(
    get_y=lambda ds, i, y: torch.tensor(
        ds.scores_df[ds.seq_df.loc[i, "window_name"]].to_numpy(np.float32)
    )
)


class CNNView(ref.TFBindingCNN):
    def forward(self, x):
        n, length, _ = x.shape
        return self.fc(torch.relu(self.conv(x.reshape(n, 4, length))).flatten(1))


class CNNNoReLU(ref.TFBindingCNN):
    def forward(self, x):
        return self.fc(self.conv(x.permute(0, 2, 1)).flatten(1))


class CNNReLUOut(ref.TFBindingCNN):
    def forward(self, x):
        return torch.relu(super().forward(x))


class CNNSqueeze(ref.TFBindingCNN):
    def forward(self, x):
        return super().forward(x).squeeze()


class CNNNoPositions(nn.Module):
    def __init__(self, seq_len=300, num_filters=32, kernel_size=8, num_outputs=300):
        super().__init__()
        self.conv = nn.Conv1d(4, num_filters, kernel_size, padding="same")
        self.fc = nn.Linear(num_filters * seq_len, num_outputs)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x.permute(0, 2, 1))).flatten(1))


# ========================================================== wrong answers: q4
def make_train(
    zero_grad=True,
    eval_val=True,
    retrain=True,
    weighted=True,
    optimizer=torch.optim.SGD,
):
    def train_model(model, train_dl, val_dl, lr=0.01, epochs=10, device=None):
        opt, loss_fn = optimizer(model.parameters(), lr=lr), nn.MSELoss()
        out = ([], [])
        model.train()
        for _ in range(epochs):
            if retrain:
                model.train()
            for losses_of, loader, update in (
                (out[0], train_dl, True),
                (out[1], val_dl, False),
            ):
                if not update and eval_val:
                    model.eval()
                losses, sizes = [], []
                for xb, yb in loader:
                    with torch.set_grad_enabled(update):
                        loss = loss_fn(model(xb), yb)
                    if update:
                        if zero_grad:
                            opt.zero_grad()
                        loss.backward()
                        opt.step()
                    losses.append(loss.item())
                    sizes.append(len(xb))
                losses_of.append(
                    float(np.average(losses, weights=sizes if weighted else None))
                )
        return out

    return train_model


def make_test(nan_to_zero=False, per_position=False, crash=False, tensors=False):
    def test_model(model, loader, device=None):
        preds, obs, r = ref.test_model(model, loader, device="cpu")
        if crash:
            r = np.array(
                [
                    statistics.correlation(list(p), list(o))
                    for p, o in zip(preds, obs, strict=True)
                ]
            )
        if nan_to_zero:
            r = np.nan_to_num(r, nan=0.0)
        if per_position:
            r = ref.pearson_per_row(preds.T, obs.T)
        if tensors:
            return torch.tensor(preds), torch.tensor(obs), r
        return preds, obs, r

    return test_model


# ========================================================== wrong answers: q6
def gc_scores(train_seqs, train_labels, test_seqs, seed=0):
    return np.array([(s.count("G") + s.count("C")) / len(s) for s in test_seqs])


_TRAINED: dict = {}  # one reference training serves both calls of a grading run


def reversed_scores(train_seqs, train_labels, test_seqs, seed=0):
    key = (len(train_seqs), train_seqs[0], test_seqs[0], seed)
    if key not in _TRAINED:
        _TRAINED[key] = ref.score_peaks(train_seqs, train_labels, test_seqs, seed)
    return -_TRAINED[key]


def unseeded(train_seqs, train_labels, test_seqs, seed=0):
    return gc_scores(train_seqs, train_labels, test_seqs) + np.random.random(
        len(test_seqs)
    )


def column_scores(train_seqs, train_labels, test_seqs, seed=0):
    return gc_scores(train_seqs, train_labels, test_seqs)[:, None]


def constant_scores(train_seqs, train_labels, test_seqs, seed=0):
    return np.zeros(len(test_seqs))


# ========================================================== wrong answers: q5
def edited(old: str, new: str, own_data: bool = False):
    """The reference predict.py with ``old`` replaced by ``new`` (``own_data``: the
    folder also holds a data file of the student's own, which the script reads)."""

    def edit(folder: Path) -> None:
        script = folder / "predict.py"
        text = script.read_text()
        assert old in text, old
        script.write_text(text.replace(old, new))
        if own_data:
            tfdata.write_tf_files(folder, 20, seed=1)
            (folder / "chr22_sequences.txt.gz").rename(folder / "own.txt.gz")

    return edit


HEAD = 'table = pd.DataFrame(preds, index=pd.Index(window_names, name="window_name"),'


KNOWN_WRONG = [
    KnownWrong(
        "q1",
        {"load_tf_data": load_no_checks},
        "should raise ValueError",
        "load-no-checks",
    ),
    KnownWrong("q1", {"load_tf_data": load_index_col}, "index_col=0", "load-index-col"),
    KnownWrong(
        "q1",
        {"load_tf_data": load_key_error},
        "raised pandas' KeyError",
        "load-key-error",
    ),
    KnownWrong("q1", {"load_tf_data": load_vague}, "does not name", "load-vague"),
    KnownWrong(
        "q1", {"load_tf_data": load_transposed}, "transposed", "load-transposed"
    ),
    KnownWrong(
        "q2", {"SeqDatasetOHE": POSITIONAL}, "select them by name", "positional"
    ),
    KnownWrong(
        "q2",
        {"SeqDatasetOHE": CHANNELS_FIRST},
        "(4, L) is what Conv1d wants",
        "channels-first",
    ),
    KnownWrong("q2", {"SeqDatasetOHE": FLOAT64_Y}, "should be float32", "float64-y"),
    KnownWrong("q2", {"SeqDatasetOHE": NUMPY_X}, "should be a torch tensor", "numpy-x"),
    KnownWrong("q2", {"SeqDatasetOHE": LOC_LOOKUP}, ".iloc[i]", "loc-lookup"),
    KnownWrong(
        "q3", {"TFBindingCNN": CNNView}, "x.permute(0, 2, 1)", "view-not-permute"
    ),
    KnownWrong(
        "q3",
        {"TFBindingCNN": CNNNoReLU},
        "ReLU after the convolution is missing",
        "no-relu",
    ),
    KnownWrong("q3", {"TFBindingCNN": CNNReLUOut}, "ReLU after fc", "relu-on-output"),
    KnownWrong(
        "q3", {"TFBindingCNN": CNNSqueeze}, "removed the batch dimension", "squeezed"
    ),
    KnownWrong(
        "q3",
        {"TFBindingCNN": CNNNoPositions},
        "seq_len - kernel_size + 1 positions",
        "no-positions",
    ),
    KnownWrong(
        "q4",
        {"train_model": make_train(zero_grad=False)},
        "opt.zero_grad()",
        "train-zero-grad",
        slow=True,
    ),
    KnownWrong(
        "q4",
        {"train_model": make_train(eval_val=False)},
        "computed in training mode",
        "train-eval-val",
        slow=True,
    ),
    KnownWrong(
        "q4",
        {"train_model": make_train(retrain=False)},
        "call model.train()",
        "train-retrain",
        slow=True,
    ),
    KnownWrong(
        "q4",
        {"train_model": make_train(weighted=False)},
        "plain mean of its batch",
        "train-weighted",
        slow=True,
    ),
    KnownWrong(
        "q4",
        {"train_model": make_train(optimizer=torch.optim.Adam)},
        "use torch.optim.SGD",
        "train-optimizer-adam",
        slow=True,
    ),
    KnownWrong(
        "q4",
        {"test_model": make_test(nan_to_zero=True)},
        "gave 0 instead of NaN",
        "test-nan-to-zero",
        slow=True,
    ),
    KnownWrong(
        "q4",
        {"test_model": make_test(crash=True)},
        "raised StatisticsError",
        "test-crash",
        slow=True,
    ),
    KnownWrong(
        "q4",
        {"test_model": make_test(per_position=True)},
        "one r per position",
        "test-per-position",
        slow=True,
    ),
    KnownWrong(
        "q4",
        {"test_model": make_test(tensors=True)},
        "got a torch tensor",
        "test-tensors",
        slow=True,
    ),
    KnownWrong(
        "q6",
        {"score_peaks": reversed_scores},
        "the ranking is reversed",
        "reversed-scores",
        slow=True,
    ),
    KnownWrong(
        "q6",
        {"score_peaks": unseeded},
        "seed the initial weights",
        "unseeded",
        slow=True,
    ),
    KnownWrong(
        "q6", {"score_peaks": column_scores}, "squeeze", "column-scores", slow=True
    ),
    KnownWrong(
        "q6",
        {"score_peaks": constant_scores},
        "the same score",
        "constant-scores",
        slow=True,
    ),
    KnownWrong(
        "q6", {"score_peaks": gc_scores}, "should reach 0.9", "gc-scores", slow=True
    ),
    # q5 is graded on the submission's predict.py: these edit the reference's.
    KnownWrong(
        "q5",
        {},
        "carry the wrong window names",
        "mislabeled",
        workdir=edited(
            HEAD,
            "table = pd.DataFrame(preds, index=pd.Index(sorted(window_names), "
            'name="window_name"),',
        ),
        slow=True,
    ),
    KnownWrong(
        "q5",
        {},
        "have no row",
        "missing-rows",
        workdir=edited("    table.to_csv(out)", "    table.iloc[:-3].to_csv(out)"),
        slow=True,
    ),
    KnownWrong(
        "q5",
        {},
        "no window_name column",
        "no-index",
        workdir=edited("    table.to_csv(out)", "    table.to_csv(out, index=False)"),
        slow=True,
    ),
    KnownWrong(
        "q5",
        {},
        "numbered from 1",
        "one-based",
        workdir=edited(
            "columns=range(preds.shape[1]))", "columns=range(1, preds.shape[1] + 1))"
        ),
        slow=True,
    ),
    KnownWrong(
        "q5",
        {},
        "must read the file given by --data",
        "own-data-path",
        workdir=edited(
            '    seq_df = pd.read_csv(args.data, sep="\\t")',
            "    seq_df = pd.read_csv('own.txt.gz', sep=\"\\t\")",
            own_data=True,
        ),
        slow=True,
    ),
    KnownWrong(
        "q5",
        {},
        "positions are reversed",
        "reversed-positions",
        workdir=edited(
            "    table.to_csv(out)",
            "    table.iloc[:, ::-1].set_axis(table.columns, axis=1).to_csv(out)",
        ),
        slow=True,
    ),
    KnownWrong(
        "q5",
        {},
        "300 columns named 0..299",
        "short-rows",
        workdir=edited("    table.to_csv(out)", "    table.iloc[:, :299].to_csv(out)"),
        slow=True,
    ),
    KnownWrong(
        "q5",
        {},
        "looks transposed",
        "transposed",
        workdir=edited("    table.to_csv(out)", "    table.T.to_csv(out)"),
        slow=True,
    ),
    KnownWrong(
        "q5",
        {},
        "index column has no name",
        "unnamed-index",
        workdir=edited(HEAD, "table = pd.DataFrame(preds, index=list(window_names),"),
        slow=True,
    ),
    KnownWrong(
        "q5",
        {},
        "the mean per-sequence Pearson r",
        "untrained",
        workdir=edited("    model.load_state_dict(state)", "    pass"),
        slow=True,
    ),
]
