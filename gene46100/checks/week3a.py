"""Hidden tests for week 3a, the TF-binding project (trusted side).

See ``gene46100.checks`` for the API. The student's functions take and return
pandas DataFrames, Datasets and DataLoaders, which cannot cross the sandbox boundary,
so each question sends small grader-written *adapters* (``Question.adapters``, names
starting ``_grader_``) that build those objects in the sandbox from hidden arrays or
files and return plain arrays. The adapters below are defined as ordinary functions
so that their source is the one thing both sides agree on; they are never called on
the trusted side.

CPU budgets per question live in the course registry (``gene46100/course.py``).

Thresholds (re-measured by tests/test_checks_week3a.py; "seeds" = the grading seed
46100 and 1-5 of ``question_rng``):
- q4 behaviour: the model trained by the student's ``train_model`` from the grader's
  initial weights must reach a held-out mean per-sequence r of ``Q4_MIN_R`` = 0.35.
  The reference reaches 0.674-0.708 over the 6 seeds from the same starting point
  (about 2x the bar); the untrained model -0.014-0.012.
- q5: held-out mean per-sequence r (constant predictions count as 0) of at least
  ``Q5_MIN_R`` = 0.30. The notebook's baseline recipe (``TFBindingCNN``, SGD lr 0.05,
  8 epochs on the 2,560 training windows of the release data) reaches 0.47-0.48 on the
  held-out files of 3 seeds (4 training seeds), the reference ``predict.py``
  (``TFBindingFCN``) about 0.95, a randomly initialised ``TFBindingCNN`` about 0.00.
- q6: held-out AUROC of at least ``Q6_MIN_AUROC`` = 0.90 and above the POU5F1 scan.
  The reference reaches 0.989-0.995 over the 6 seeds (its errors would have to grow
  tenfold to fail); the scan 0.61-0.69, GC content alone about 0.77.
"""

from __future__ import annotations

import gzip
import io
import math

import numpy as np
import pandas as _grader_pd
import torch
from torch import nn
from torch.utils.data import DataLoader as _GraderDataLoader
from torch.utils.data import Dataset as _GraderDataset
from torch.utils.data import TensorDataset as _GraderTensorDataset

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    adapter_source,
    close,
    expect_array,
    expect_raises,
    guarded,
    outcome_value,
    script_output,
)
from gene46100.checks.helpers import (
    Candidate,
    curve_values,
    expect_tensor,
    first_match,
    is_float_scalar,
    keep_precision,
    matches,
    register_state,
    wrong,
)
from gene46100.contract.results import QuestionRun, Value
from gene46100_ref import tfdata
from gene46100_ref import week3a as ref
from gene46100_ref.seeding import seeded_torch

Q4_MIN_R = 0.35
Q5_MIN_R = 0.30
Q6_MIN_AUROC = 0.90
SEQ_LEN = 300
ACGT = np.frombuffer(b"ACGT", dtype=np.uint8)


# ================================================================== adapters
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


# ================================================================== helpers
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


# ================================================================== q1
class Q1LoadTFData(Question):
    """q1: ``load_tf_data`` reads the two files; malformed files raise ValueError."""

    name = "q1"
    names = ("load_tf_data",)
    adapters = adapter_source(
        _grader_frame_summary, _grader_load_tf_data, header=ADAPTER_HEADER
    )

    def plan(self, rng: np.random.Generator) -> Plan:
        plan = Plan()
        seq_df, scores_df = simulate(rng, int(rng.integers(30, 60)))
        # The score columns come in another order than the sequences: reading must not
        # depend on the two files listing windows alike.
        scores_df = scores_df[list(rng.permutation(scores_df.columns))]
        names = list(seq_df["window_name"])
        cases = {
            "good": (seq_df, scores_df),
            "missing_column": (
                seq_df.rename(columns={"window_name": "name"}),
                scores_df,
            ),
            "wrong_length": (self._truncated(seq_df, rng), scores_df),
            "no_scores": (
                seq_df,
                scores_df.drop(columns=[names[rng.integers(len(names))]]),
            ),
        }
        for case, (s, c) in cases.items():
            plan.call(
                case,
                "_grader_load_tf_data",
                plan.file(f"{case}_sequences.txt.gz", tsv_gz(s)),
                plan.file(f"{case}_scores.txt.gz", tsv_gz(c)),
            )
        plan.context.update(seq_df=seq_df, scores_df=scores_df, cases=cases)
        return plan

    @staticmethod
    def _truncated(seq_df, rng) -> _grader_pd.DataFrame:
        """One window one base short (the scores file still has 300 rows)."""
        out = seq_df.copy()
        row = int(rng.integers(len(out)))
        out.loc[row, "sequence"] = out.loc[row, "sequence"][:-1]
        out.attrs["bad"] = out.loc[row, "window_name"]
        return out

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        ctx = plan.context
        return [
            guarded(
                "reads both files in the course's layout",
                lambda: self._check_good(run, ctx),
                weight=2.0,
            ),
            guarded(
                "a missing 'window_name' column raises ValueError naming it",
                lambda: self._check_error(
                    run, "missing_column", "window_name", "the column"
                ),
            ),
            guarded(
                "a sequence of the wrong length raises ValueError naming its window",
                lambda: self._check_error(
                    run,
                    "wrong_length",
                    ctx["cases"]["wrong_length"][0].attrs["bad"],
                    "the window",
                ),
            ),
            guarded(
                "a window without scores raises ValueError naming it",
                lambda: self._check_error(
                    run, "no_scores", self._orphan(ctx), "the window"
                ),
            ),
        ]

    @staticmethod
    def _orphan(ctx: dict) -> str:
        scores = ctx["cases"]["no_scores"][1]
        return next(n for n in ctx["seq_df"]["window_name"] if n not in scores.columns)

    def _check_good(self, run: QuestionRun, ctx: dict) -> None:
        what = "load_tf_data on a hidden pair of files"
        out = dict_items(outcome_value(run, "good", what), what)
        seq_df, scores_df = ctx["seq_df"], ctx["scores_df"]
        self._check_seq(out, seq_df, what)
        summary = dict_items(out["scores"], what)
        if summary["type"].data != "DataFrame":
            raise Mismatch(
                f"{what}: scores_df should be a pandas DataFrame; got "
                f"{summary['type'].data}"
            )
        shape = tuple(v.data for v in summary["shape"].data)
        n = len(seq_df)
        if shape != (SEQ_LEN, n):
            raise Mismatch(
                f"{what}: scores_df should have shape (300 positions, {n} "
                f"windows); got {shape}" + scores_shape_hint(shape, n)
            )
        columns = [v.data for v in summary["columns"].data]
        if columns != list(scores_df.columns):
            raise Mismatch(
                f"{what}: scores_df's columns should be the window names in "
                "the file's order (read the header as it is)"
            )
        if "values" not in summary:
            raise Mismatch(f"{what}: scores_df should hold numbers only")
        values = summary["values"]
        got = keep_precision(values, expect_array(values, "scores_df's values"))
        expected = scores_df.to_numpy()  # float64 (300, n)
        if not matches(got, expected, rtol=1e-9, atol=1e-9):
            # The shape and the columns are right here, so the separator and the
            # index are too: only a change to the numbers is left to name.
            raise wrong(
                "scores_df's values",
                got,
                expected,
                first_match(got, q1_candidates(expected), rtol=1e-9, atol=1e-9),
                "they differ from the file's numbers: return the scores as read, "
                "without rescaling, rounding or binarising them",
            )

    @staticmethod
    def _check_seq(out: dict, seq_df, what: str) -> None:
        summary = dict_items(out["seq"], what)
        if summary["type"].data != "DataFrame":
            raise Mismatch(
                f"{what}: seq_df should be a pandas DataFrame; got "
                f"{summary['type'].data}"
            )
        columns = [v.data for v in summary["columns"].data]
        if "window_name" not in out or "sequence" not in out:
            hint = (
                " (one column only: the file is tab-separated, pass sep='\\t')"
                if len(columns) == 1
                else ""
            )
            raise Mismatch(
                f"{what}: seq_df should have the columns 'sequence' and "
                f"'window_name'; got {columns[:4]}{hint}"
            )
        names = [v.data for v in out["window_name"].data]
        seqs = [v.data for v in out["sequence"].data]
        if names != list(seq_df["window_name"]) or seqs != list(seq_df["sequence"]):
            raise Mismatch(
                f"{what}: seq_df should hold every window of the sequences "
                "file, in file order, unchanged "
                f"({len(names)} rows back, {len(seq_df)} expected)"
            )

    @staticmethod
    def _check_error(run: QuestionRun, case: str, needle: str, thing: str) -> None:
        what = {
            "missing_column": "load_tf_data on a sequences file without a "
            "'window_name' column",
            "wrong_length": "load_tf_data when one sequence is 299 bp but the "
            "scores have 300 rows",
            "no_scores": "load_tf_data when one window has no scores column",
        }[case]
        returned = (
            f"{what} returned DataFrames; it should raise ValueError: bad input "
            "must stop here, not as a confusing error (or silent misalignment) "
            "later"
        )
        outcome = run.outcomes.get(case)
        if outcome is not None and outcome.error_type in ("NameError", "MissingName"):
            raise Mismatch(f"{what}: {outcome.error_message}")
        if outcome is not None and outcome.error_type == "KeyError":
            raise Mismatch(
                f"{what} raised pandas' KeyError; check the files yourself "
                "and raise ValueError with a message saying what is wrong"
            )
        expect_raises(run, case, what, ("ValueError",), returned)
        if needle not in outcome.error_message:
            raise Mismatch(
                f"{what} raised ValueError, but its message does not name "
                f"{thing} that is wrong; say which, so the user can fix it"
            )


def q1_candidates(scores: np.ndarray) -> list[Candidate]:
    """Known changes to the file's scores (float64 ``(300, n)``)."""
    return [
        (
            "the scores are binarised (0/1); load_tf_data returns them as in the "
            "file (binarise later, in the dataset, if you want to)",
            lambda: (scores > 0).astype(np.float64),
        ),
    ]


def scores_shape_hint(shape: tuple, n: int) -> str:
    if shape == (SEQ_LEN, n - 1):
        return (
            ": one window is missing; index_col=0 turned the first window's column "
            "into the index, but the file has no index column"
        )
    if shape == (n, SEQ_LEN):
        return ": transposed; keep the file's layout, one row per position"
    if shape == (SEQ_LEN + 1, n):
        return (
            ": header=None read the header line as data; the first line is the header"
        )
    if len(shape) == 2 and shape[1] == 1:
        return ": one column only: the file is tab-separated, pass sep='\\t'"
    return ""


# ================================================================== q2
class Q2Dataset(Question):
    """q2: ``SeqDatasetOHE`` items are one-hot windows with their scores, by name."""

    name = "q2"
    names = ("SeqDatasetOHE",)
    provides = ("one_hot_encode",)
    adapters = adapter_source(_grader_frames, _grader_dataset, header=ADAPTER_HEADER)

    def plan(self, rng: np.random.Generator) -> Plan:
        plan = Plan()
        cases = {}
        for case, n_all, n_rows in (
            ("aligned", 8, 8),
            ("shuffled", 12, 12),
            ("subset", 20, 9),
        ):
            seq_all, scores_all = simulate(rng, n_all)
            rows = np.arange(n_all)
            if case != "aligned":
                rows = np.sort(rng.choice(n_all, size=n_rows, replace=False))
                rows = rng.permutation(rows) if case == "subset" else rows
            seq_df = seq_all.iloc[rows]  # "subset" keeps labels that are not 0..n-1
            order = np.arange(n_all) if case == "aligned" else rng.permutation(n_all)
            scores = scores_all.iloc[:, order]
            cases[case] = {"seq_df": seq_df, "scores_df": scores}
            plan.call(
                case,
                "_grader_dataset",
                plan.array(f"{case}_codes", encode_codes(list(seq_df["sequence"]))),
                list(seq_df["window_name"]),
                [int(i) for i in seq_df.index],
                plan.array(f"{case}_scores", scores.to_numpy()),
                list(scores.columns),
            )
        plan.context["cases"] = cases
        return plan

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        cases = plan.context["cases"]
        return [
            guarded(
                "a torch Dataset with one item per row of seq_df",
                lambda: self._check_len(run, cases),
            ),
            guarded(
                "x is the float32 (L, 4) one-hot of the row's sequence",
                lambda: self._check_x(run, cases),
            ),
            guarded(
                "y is the scores column named by the row's window_name",
                lambda: self._check_y(run, cases),
                weight=2.0,
            ),
            guarded(
                "a DataLoader batches items into (B, L, 4) and (B, L)",
                lambda: self._check_batch(run, cases),
            ),
        ]

    @staticmethod
    def _what(case: str, c: dict) -> str:
        return {
            "aligned": "SeqDatasetOHE on hidden windows",
            "shuffled": "SeqDatasetOHE when the scores columns are in another order",
            "subset": "SeqDatasetOHE on a shuffled subset of the windows (as after "
            "a split: seq_df's index labels are not 0..n-1) with the full "
            "scores table",
        }[case]

    def _result(self, run: QuestionRun, case: str, c: dict) -> dict[str, Value]:
        what = self._what(case, c)
        outcome = run.outcomes.get(case)
        if (
            outcome is not None
            and outcome.error_type == "KeyError"
            and case == "subset"
        ):
            raise Mismatch(
                f"{what} raised KeyError: after a split, seq_df's index "
                "labels are not 0..n-1; read row i with .iloc[i] (or "
                "iterate over the columns) instead of [i] / .loc[i]"
            )
        return dict_items(outcome_value(run, case, what), what)

    def _check_len(self, run: QuestionRun, cases: dict) -> None:
        for case, c in cases.items():
            out = self._result(run, case, c)
            if not out["is_dataset"].data:
                raise Mismatch("SeqDatasetOHE should subclass torch.utils.data.Dataset")
            if out["len"].data != len(c["seq_df"]):
                raise Mismatch(
                    f"{self._what(case, c)}: len(ds) should be the number of "
                    f"rows of seq_df ({len(c['seq_df'])}); got "
                    f"{out['len'].data}"
                    + (
                        " (that is the number of score columns)"
                        if out["len"].data == c["scores_df"].shape[1]
                        else ""
                    )
                )

    def _items(self, run, case, c) -> list[tuple[Value, Value]]:
        out = self._result(run, case, c)
        items = []
        for item in out["items"].data:
            if item.kind not in ("tuple", "list") or len(item.data) != 2:
                raise Mismatch(
                    f"{self._what(case, c)}: ds[i] should be a tuple (x, y); "
                    f"got {item.type}"
                )
            items.append(tuple(item.data))
        return items

    def _check_x(self, run: QuestionRun, cases: dict) -> None:
        for case, c in cases.items():
            what = f"x of {self._what(case, c)}"
            expected = onehot_batch(list(c["seq_df"]["sequence"]))  # (n, L, 4)
            for i, (x, _) in enumerate(self._items(run, case, c)):
                got = expect_item_tensor(
                    x, what, expected[i].shape, transposed_hint=True
                )
                if not np.array_equal(got, expected[i]):
                    raise Mismatch(
                        f"{what}: item {i} is not the one-hot of row {i}'s "
                        "sequence" + x_hint(got, expected, i)
                    )

    def _check_y(self, run: QuestionRun, cases: dict) -> None:
        for case, c in cases.items():
            what = f"y of {self._what(case, c)}"
            expected = targets(c["seq_df"], c["scores_df"])  # (n, L)
            positional = c["scores_df"].to_numpy(np.float32).T  # column i for row i
            for i, (_, y) in enumerate(self._items(run, case, c)):
                got = expect_item_tensor(y, what, expected[i].shape)
                if np.allclose(got, expected[i], rtol=1e-6, atol=1e-6):
                    continue
                hint = ""
                if i < len(positional) and np.allclose(got, positional[i]):
                    hint = (
                        ": it is the scores column at position i "
                        "(scores_df.iloc[:, i]); the columns are not in seq_df's "
                        "order: select them by name, scores_df[window_name]"
                    )
                raise wrong(
                    f"{what} (item {i})",
                    got,
                    expected[i],
                    hint,
                    "y must be scores_df[seq_df['window_name'] of row i]",
                )

    def _check_batch(self, run: QuestionRun, cases: dict) -> None:
        c = cases["shuffled"]
        out = self._result(run, "shuffled", c)
        if "batch_error" in out:
            raise Mismatch(
                f"DataLoader(ds, batch_size=4) failed: {out['batch_error'].data}"
            )
        batch = out["batch"]
        if batch.kind not in ("list", "tuple") or len(batch.data) != 2:
            raise Mismatch(
                "a DataLoader batch of the dataset should be a pair (x, y) of "
                f"tensors; got a {batch.type}: each item, ds[i], should return "
                "(x, y)"
            )
        x, y = batch.data
        n, length = 4, c["scores_df"].shape[0]
        expect_item_tensor(x, "a batch of x", (n, length, 4))
        expect_item_tensor(y, "a batch of y", (n, length))


def expect_item_tensor(
    value: Value, what: str, shape: tuple, transposed_hint: bool = False
) -> np.ndarray:
    """A float32 torch tensor of ``shape``, with hints for the usual slips."""
    if value.type == "numpy.ndarray":
        raise Mismatch(
            f"{what} should be a torch tensor; got a numpy array (wrap it "
            "with torch.from_numpy or torch.tensor)"
        )
    if value.kind == "tensor" and value.dtype == "float64":
        raise Mismatch(
            f"{what} should be float32; got torch.float64 (models work in "
            "float32: use .float() or np.float32)"
        )
    if (
        transposed_hint
        and value.kind == "tensor"
        and len(shape) == 2
        and tuple(value.shape) == shape[::-1]
    ):
        raise Mismatch(
            f"{what} should have shape {shape} (L, 4); got "
            f"{tuple(value.shape)}: (4, L) is what Conv1d wants, but the "
            "dataset returns (L, 4) as the course draws it and the model "
            "permutes"
        )
    return expect_tensor(value, what, shape)


def x_hint(got: np.ndarray, expected: np.ndarray, i: int) -> str:
    matches = [j for j in range(len(expected)) if np.array_equal(got, expected[j])]
    if matches:
        return f": it is the one-hot of row {matches[0]}'s sequence"
    return ": use one_hot_encode on seq_df's 'sequence' of that row"


# ================================================================== q3
CNN_CASES = {"small": (40, 5, 6, 40, 7), "one": (25, 3, 4, 10, 1)}


class Q3TFBindingCNN(Question):
    """q3: ``TFBindingCNN`` loads the reference state_dict and matches its outputs."""

    name = "q3"
    names = ("TFBindingCNN",)
    adapters = adapter_source(_grader_param_report, header=ADAPTER_HEADER)

    def plan(self, rng: np.random.Generator) -> Plan:
        plan = Plan()
        plan.call("default", "_grader_param_report", {"$new": "TFBindingCNN"})
        cases = {}
        for case, (length, filters, k, outputs, n) in CNN_CASES.items():
            args = [length, filters, k, outputs]
            with seeded_torch(int(rng.integers(2**31))):
                state = state_arrays(ref.TFBindingCNN(*args))
            seqs = ["".join(rng.choice(list("ACGT"), size=length)) for _ in range(n)]
            x = onehot_batch(seqs)
            obj = {
                "$new": "TFBindingCNN",
                "args": args,
                "state": register_state(plan, case, state),
            }
            plan.call_method(case, obj, "forward", plan.tensor(f"{case}_x", x))
            cases[case] = {"args": args, "state": state, "x": x}
        plan.context["cases"] = cases
        return plan

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        cases = plan.context["cases"]
        return [
            guarded(
                "TFBindingCNN() has 2,814,156 parameters in layers conv and fc",
                lambda: self._check_count(run),
            ),
            guarded(
                "forward matches the reference from the same weights",
                lambda: self._check_values(run, cases),
                weight=2.0,
            ),
            guarded(
                "output shape (N, num_outputs), also for a batch of one",
                lambda: self._check_shapes(run, cases),
            ),
        ]

    def _check_count(self, run: QuestionRun) -> None:
        what = "TFBindingCNN() with the default arguments"
        out = dict_items(outcome_value(run, "default", what), what)
        shapes = {
            k: tuple(v.data for v in s.data) for k, s in out["shapes"].data.items()
        }
        expected = {
            k: tuple(v.shape) for k, v in ref.TFBindingCNN().state_dict().items()
        }
        count = out["count"].data
        if count == 2_814_156 and shapes == expected:
            return
        if set(shapes) != set(expected):
            raise Mismatch(
                f"{what} has the parameters {sorted(shapes)}; expected "
                f"{sorted(expected)}: name the layers self.conv and self.fc "
                "and add no others"
            )
        raise Mismatch(
            f"{what} has {count:,} parameters; expected 2,814,156" + count_hint(shapes)
        )

    def _output(self, run: QuestionRun, case: str, c: dict) -> tuple[str, np.ndarray]:
        what = f"TFBindingCNN{tuple(c['args'])} on a batch of {len(c['x'])}"
        outcome = run.outcomes.get(case)
        if outcome is not None and "state_dict" in outcome.error_message:
            raise Mismatch(
                f"{what} could not load the reference weights: use exactly "
                "self.conv = nn.Conv1d(4, num_filters, kernel_size) and "
                "self.fc = nn.Linear(num_filters * (seq_len - kernel_size + "
                "1), num_outputs)"
            )
        return what, expect_tensor(outcome_value(run, case, what), what)

    def _check_values(self, run: QuestionRun, cases: dict) -> None:
        for case, c in cases.items():
            what, got = self._output(run, case, c)
            expected = reference_cnn(c)
            if got.size != expected.size:
                raise Mismatch(
                    f"{what} gave {got.size} numbers; expected "
                    f"{expected.size} (num_outputs per sequence)"
                )
            got = got.reshape(expected.shape)
            if not close(got, expected, rtol=1e-4, atol=1e-5):
                raise wrong(
                    what,
                    got,
                    expected,
                    first_match(got, q3_candidates(c), rtol=1e-4, atol=1e-5),
                    "permute (N, L, 4) -> (N, 4, L), conv, ReLU, flatten, fc",
                )

    def _check_shapes(self, run: QuestionRun, cases: dict) -> None:
        for case, c in cases.items():
            what, got = self._output(run, case, c)
            expected = (len(c["x"]), c["args"][3])
            if got.shape != expected:
                hint = (
                    ": .squeeze() removed the batch dimension of a batch of one"
                    if got.shape == expected[1:]
                    else ""
                )
                raise Mismatch(
                    f"{what} should return shape {expected}; got {got.shape}{hint}"
                )


def count_hint(shapes: dict[str, tuple]) -> str:
    fc_in = shapes.get("fc.weight", (0, 0))[1]
    if fc_in == 32 * 300:
        return (
            ": fc takes num_filters * seq_len inputs, but a convolution without "
            "padding leaves seq_len - kernel_size + 1 positions"
        )
    if fc_in == 32 * 292:
        return ": the conv output has seq_len - kernel_size + 1 positions (off by one)"
    return ""


def reference_cnn(c: dict, model: nn.Module | None = None) -> np.ndarray:
    model = model or load_model("cnn", c["args"], c["state"])
    with torch.no_grad():
        return model(torch.from_numpy(c["x"])).numpy().astype(np.float64)


def cnn_variant(
    c: dict, activation=torch.relu, out=lambda z: z, layout: str = "permute"
) -> np.ndarray:
    """The reference network with one known mistake."""
    model = load_model("cnn", c["args"], c["state"])
    x = torch.from_numpy(c["x"])
    n, length, _ = x.shape
    x = x.permute(0, 2, 1) if layout == "permute" else x.reshape(n, 4, length)
    with torch.no_grad():
        h = activation(model.conv(x))
        return out(model.fc(h.flatten(1))).numpy().astype(np.float64)


def q3_candidates(c: dict) -> list[Candidate]:
    return [
        (
            (
                "view/reshape to (N, 4, L) keeps the memory order and scrambles bases "
                "and positions: use x.permute(0, 2, 1)"
            ),
            lambda: cnn_variant(c, layout="reshape"),
        ),
        (
            "the ReLU after the convolution is missing",
            lambda: cnn_variant(c, activation=lambda z: z),
        ),
        (
            "there is a ReLU after fc: scores are not bounded, leave the output linear",
            lambda: cnn_variant(c, out=torch.relu),
        ),
        (
            (
                "there is a sigmoid after fc: the targets are scores far above 1, "
                "leave the output linear"
            ),
            lambda: cnn_variant(c, out=torch.sigmoid),
        ),
    ]


# ================================================================== q4
# Small problems: windows of 60 bp, a short last batch, three epochs.
Q4_CURVE = {
    "cnn": {"args": [60, 6, 8, 60], "n": (70, 30), "lr": 0.02},
    "bn": {"args": [6, 5], "n": (70, 30), "lr": 0.05},
}
Q4_LEARN = {
    "args": [100, 16, 8, 100],
    "n": (400, 100, 200),
    "lr": 0.05,
    "epochs": 10,
    "batch_size": 32,
}
CURVE_RTOL = 1e-4


class Q4TrainTest(Question):
    """q4: ``train_model`` (curves vs the reference, behaviour) and ``test_model``."""

    name = "q4"
    names = ("train_model", "test_model")
    provides = ("TFBindingCNN",)
    adapters = adapter_source(
        _GraderBNNet, _grader_model, _grader_train, _grader_test, header=ADAPTER_HEADER
    )

    def plan(self, rng: np.random.Generator) -> Plan:
        plan = Plan()
        cases = {}
        for kind, spec in Q4_CURVE.items():
            c = q4_case(
                rng,
                kind,
                spec["args"],
                *spec["n"],
                10,
                lr=spec["lr"],
                epochs=3,
                batch_size=16,
                seq_len=60,
            )
            cases[kind] = c
            self._train_probe(plan, kind, c)
        learn = q4_case(
            rng,
            "cnn",
            Q4_LEARN["args"],
            *Q4_LEARN["n"],
            lr=Q4_LEARN["lr"],
            epochs=Q4_LEARN["epochs"],
            batch_size=Q4_LEARN["batch_size"],
            seq_len=100,
        )
        cases["learn"] = learn
        self._train_probe(plan, "learn", learn)
        plan.context["cases"] = cases
        plan.context["tests"] = self._test_probes(plan, rng)
        return plan

    @staticmethod
    def _train_probe(plan: Plan, key: str, c: dict) -> None:
        plan.call(
            key,
            "_grader_train",
            c["kind"],
            c["args"],
            register_state(plan, key, c["state"]),
            plan.tensor(f"{key}_xtr", c["x_tr"]),
            plan.tensor(f"{key}_ytr", c["y_tr"]),
            plan.tensor(f"{key}_xval", c["x_val"]),
            plan.tensor(f"{key}_yval", c["y_val"]),
            c["lr"],
            c["epochs"],
            c["batch_size"],
            plan.tensor(f"{key}_xtest", c["x_test"]),
        )

    @staticmethod
    def _test_probes(plan: Plan, rng: np.random.Generator) -> dict:
        args = [60, 6, 8, 60]
        seq_df, scores_df = simulate(rng, 25, 60)
        x, y = onehot_batch(list(seq_df["sequence"])), targets(seq_df, scores_df)
        y[rng.choice(25, size=2, replace=False)] = 0.0  # windows with nothing observed
        with seeded_torch(int(rng.integers(2**31))):
            state = state_arrays(ref.TFBindingCNN(*args))
        flat = {k: v.copy() for k, v in state.items()}
        flat["fc.weight"][:] = 0.0
        flat["fc.bias"][:] = 1.5  # the same prediction at every position
        tests = {
            "test": {"args": args, "state": state, "x": x, "y": y},
            "flat": {"args": args, "state": flat, "x": x, "y": y},
        }
        for key, t in tests.items():
            plan.call(
                key,
                "_grader_test",
                "cnn",
                args,
                register_state(plan, key, t["state"]),
                plan.tensor(f"{key}_x", x),
                plan.tensor(f"{key}_y", y),
                8,
            )
        return tests

    def prepare(self, plan: Plan) -> None:
        self.references(plan)

    @staticmethod
    def references(plan: Plan) -> dict[str, np.ndarray]:
        """The reference's training of every case but ``learn`` (once per plan)."""
        cases = plan.context["cases"]
        return plan.memo(
            "references",
            lambda: {
                k: reference_training(c) for k, c in cases.items() if k != "learn"
            },
        )

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        cases, tests = plan.context["cases"], plan.context["tests"]
        refs = self.references(plan)
        return [
            guarded(
                "train_model returns two lists of epochs floats",
                lambda: self._check_types(run, cases),
            ),
            guarded(
                "learning curves match the reference from the same weights",
                lambda: self._check_curves(run, cases, refs),
                weight=2.0,
            ),
            guarded(
                "validation in eval mode, training in train mode (BatchNorm model)",
                lambda: self._check_curves(run, cases, refs, kinds=("bn",)),
            ),
            guarded(
                f"the trained model reaches held-out mean r >= {Q4_MIN_R}",
                lambda: self._check_learns(run, cases["learn"]),
            ),
            guarded(
                "test_model: predictions and observations in the loader's order",
                lambda: self._check_test_arrays(run, tests["test"]),
            ),
            guarded(
                "test_model: per-sequence Pearson r, NaN where a side is constant",
                lambda: self._check_pearson(run, tests),
                weight=2.0,
            ),
        ]

    @staticmethod
    def _what(c: dict) -> str:
        model = "TFBindingCNN" if c["kind"] == "cnn" else "a BatchNorm CNN"
        return (
            f"train_model({model}, {len(c['x_tr'])} training windows, lr={c['lr']}, "
            f"epochs={c['epochs']}, batch_size {c['batch_size']})"
        )

    def _losses(self, run: QuestionRun, key: str, c: dict) -> tuple[np.ndarray, ...]:
        what = self._what(c)
        out = dict_items(outcome_value(run, key, what), what)
        losses = out["losses"]
        if losses.kind not in ("tuple", "list") or len(losses.data) != 2:
            raise Mismatch(
                f"{what} should return (train_losses, val_losses); got {losses.type}"
            )
        curves = tuple(curve_values(v, what) for v in losses.data)
        for name, curve in zip(("train_losses", "val_losses"), curves, strict=True):
            if curve.size != c["epochs"]:
                raise Mismatch(
                    f"{name} of {what} should hold {c['epochs']} losses (one "
                    f"per epoch); got {curve.size}"
                    + (
                        " (one per batch? average each epoch's batches)"
                        if curve.size > c["epochs"]
                        else ""
                    )
                )
        return curves

    def _check_types(self, run: QuestionRun, cases: dict) -> None:
        for key in ("cnn", "bn"):
            c = cases[key]
            what = self._what(c)
            out = dict_items(outcome_value(run, key, what), what)
            self._losses(run, key, c)
            for curve in out["losses"].data:
                if curve.kind != "list":
                    raise Mismatch(f"{what} should return two lists; got {curve.type}")
                for item in curve.data:
                    if item.kind == "tensor":
                        raise Mismatch(
                            f"{what} returned tensors: append loss.item() "
                            "(a float; a tensor keeps its graph alive)"
                        )
                    if not is_float_scalar(item):
                        raise Mismatch(
                            f"each loss of {what} should be a float; got {item.type}"
                        )

    def _check_curves(
        self,
        run: QuestionRun,
        cases: dict,
        refs: dict,
        kinds: tuple[str, ...] = ("cnn",),
    ) -> None:
        for key in kinds:
            c, expected = cases[key], refs[key]
            what = self._what(c)
            got = np.concatenate(self._losses(run, key, c))
            if close(got, expected, rtol=CURVE_RTOL, atol=1e-7):
                continue
            hint = first_match(got, q4_candidates(c), rtol=CURVE_RTOL, atol=1e-7)
            if not hint and np.allclose(got[: c["epochs"]], got[c["epochs"] :]):
                hint = (
                    "train and validation losses are identical: use val_dl for "
                    "validation"
                )
            raise wrong(
                f"the learning curves of {what}",
                got,
                expected,
                hint,
                "each epoch: model.train(), zero_grad/forward/backward/step per "
                "batch; then model.eval() and the validation loss under "
                "torch.no_grad(); weight each batch's loss by its size",
            )

    def _check_learns(self, run: QuestionRun, c: dict) -> None:
        what = self._what(c)
        out = dict_items(outcome_value(run, "learn", what), what)
        preds = expect_tensor(
            out["preds"],
            "the trained model's held-out predictions",
            shape=c["y_test"].shape,
        )
        r = float(np.mean(pearson_zero_nan(preds, c["y_test"])))
        if math.isfinite(r) and r >= Q4_MIN_R:
            return
        untrained = reference_cnn(
            {"args": c["args"], "state": c["state"], "x": c["x_test"]}
        )
        hint = (
            "the model did not change: train the model passed in, in place"
            if np.allclose(preds, untrained, rtol=1e-6, atol=1e-6)
            else "the predictions are not finite: training diverged"
            if not np.isfinite(preds).all()
            else (
                "check the update loop: zero_grad, loss, backward, step for every batch"
            )
        )
        raise Mismatch(
            f"after {what}, the held-out mean per-sequence r is {r:.3f}; the "
            f"threshold is {Q4_MIN_R} (the reference reaches about 0.7 from "
            f"the same weights): {hint}"
        )

    @staticmethod
    def _test_result(run: QuestionRun, key: str) -> list[Value]:
        what = (
            "test_model on a hidden loader"
            if key == "test"
            else (
                "test_model with a model that predicts the same value at every position"
            )
        )
        outcome = run.outcomes.get(key)
        if (
            outcome is not None
            and not outcome.ok
            and not outcome.not_implemented
            and key == "flat"
            and outcome.error_type != "MissingName"
        ):
            raise Mismatch(
                f"{what} raised {outcome.error_type}: a constant prediction "
                "has no Pearson correlation; return NaN for it instead of "
                "failing (e.g. compute r yourself and divide only where both "
                "standard deviations are > 0)"
            )
        value = outcome_value(run, key, what)
        if value.kind not in ("tuple", "list") or len(value.data) != 3:
            raise Mismatch(
                f"{what} should return (preds, obs, pearson_per_seq); got {value.type}"
            )
        return value.data

    def _check_test_arrays(self, run: QuestionRun, t: dict) -> None:
        preds, obs, _ = self._test_result(run, "test")
        expected = reference_cnn(t)
        for name, value, exp in (("preds", preds, expected), ("obs", obs, t["y"])):
            got = expect_numpy(value, f"{name} of test_model", exp.shape)
            if not close(got, exp, rtol=1e-4, atol=1e-5):
                raise wrong(
                    f"{name} of test_model",
                    got,
                    exp,
                    "" if name == "preds" else "obs are the loader's targets",
                    "collect every batch in the loader's order, in eval mode",
                )

    def _check_pearson(self, run: QuestionRun, tests: dict) -> None:
        for key, t in tests.items():
            r = self._test_result(run, key)[2]
            n = len(t["x"])
            what = "pearson_per_seq of test_model" + (
                "" if key == "test" else " for constant predictions"
            )
            got = expect_numpy(r, what, None)
            if got.shape != (n,):
                raise Mismatch(
                    f"{what} should have shape (N,) = ({n},); got {got.shape}"
                    + pearson_shape_hint(got.shape, t["x"].shape[1])
                )
            model_preds = reference_cnn(t)
            expected = ref.pearson_per_row(model_preds, t["y"].astype(np.float64))
            if close(got, expected, rtol=1e-4, atol=1e-6):
                continue
            hint = first_match(
                got, q4_pearson_candidates(model_preds, t["y"]), rtol=1e-4, atol=1e-6
            )
            raise wrong(
                what,
                got,
                expected,
                hint,
                "r_i = cov(preds_i, obs_i) / (std(preds_i) std(obs_i)) over the "
                "positions of sequence i; NaN when a std is 0",
            )


def expect_numpy(value: Value, what: str, shape: tuple | None) -> np.ndarray:
    if value.kind == "tensor":
        raise Mismatch(
            f"{what} should be a numpy array; got a torch tensor (.cpu().numpy())"
        )
    return expect_array(value, what, shape, kinds="f")


def pearson_shape_hint(shape: tuple, length: int) -> str:
    if shape == (length,):
        return (
            ": one r per position: correlate each sequence's row across its "
            "positions, not each position across sequences"
        )
    if shape == ():
        return ": one r for everything: compute one r per sequence"
    return ""


def q4_pearson_candidates(preds: np.ndarray, obs: np.ndarray) -> list[Candidate]:
    r = ref.pearson_per_row(preds, obs.astype(np.float64))
    return [
        (
            (
                "a constant side gave 0 instead of NaN: there is no correlation to "
                "report, return NaN (and summarise with np.nanmean)"
            ),
            lambda: np.nan_to_num(r, nan=0.0),
        ),
        ("that is r squared; return r itself (its sign matters)", lambda: r**2),
    ]


def q4_case(
    rng: np.random.Generator,
    kind: str,
    args: list,
    n_tr: int,
    n_val: int,
    n_test: int,
    lr: float,
    epochs: int,
    batch_size: int,
    seq_len: int,
) -> dict:
    """Fresh windows and initial weights for one training probe."""
    seq_df, scores_df = simulate(rng, n_tr + n_val + n_test, seq_len)
    x = onehot_batch(list(seq_df["sequence"]))
    y = targets(seq_df, scores_df)
    parts = np.split(np.arange(len(x)), [n_tr, n_tr + n_val])
    state = state_arrays(new_model(kind, args, int(rng.integers(2**31))))
    return {
        "kind": kind,
        "args": args,
        "state": state,
        "lr": lr,
        "epochs": epochs,
        "batch_size": batch_size,
        "x_tr": x[parts[0]],
        "y_tr": y[parts[0]],
        "x_val": x[parts[1]],
        "y_val": y[parts[1]],
        "x_test": x[parts[2]],
        "y_test": y[parts[2]].astype(np.float64),
    }


def q4_loaders(c: dict) -> tuple[_GraderDataLoader, _GraderDataLoader]:
    def loader(x, y):
        data = _GraderTensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        return _GraderDataLoader(data, batch_size=c["batch_size"])

    return loader(c["x_tr"], c["y_tr"]), loader(c["x_val"], c["y_val"])


def reference_training(c: dict) -> np.ndarray:
    """The reference's train and validation curves, concatenated."""
    model = load_model(c["kind"], c["args"], c["state"])
    train, val = ref.train_model(
        model, *q4_loaders(c), lr=c["lr"], epochs=c["epochs"], device="cpu"
    )
    return np.array(train + val)


def train_variant(
    c: dict,
    zero_grad: bool = True,
    eval_val: bool = True,
    retrain_mode: bool = True,
    weighted: bool = True,
    val_first: bool = False,
    optimizer=torch.optim.SGD,
    swap: bool = False,
) -> np.ndarray:
    """A training loop with one known mistake; returns its curves concatenated."""
    model = load_model(c["kind"], c["args"], c["state"])
    train_dl, val_dl = q4_loaders(c)
    opt, loss_fn = optimizer(model.parameters(), lr=c["lr"]), nn.MSELoss()

    def epoch_loss(loader, update: bool) -> float:
        losses, sizes = [], []
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            if update:
                if zero_grad:
                    opt.zero_grad()
                loss.backward()
                opt.step()
            losses.append(loss.item())
            sizes.append(len(xb))
        return float(np.average(losses, weights=sizes if weighted else None))

    def validate() -> float:
        if eval_val:
            model.eval()
        with torch.no_grad():
            return epoch_loss(val_dl, update=False)

    train, val = [], []
    model.train()
    for _ in range(c["epochs"]):
        if retrain_mode:
            model.train()
        if val_first:
            val.append(validate())
        train.append(epoch_loss(train_dl, update=True))
        if not val_first:
            val.append(validate())
    return np.array(val + train if swap else train + val)


def q4_candidates(c: dict) -> list[Candidate]:
    return [
        (
            (
                "gradients accumulate across batches: call opt.zero_grad() before "
                "every backward()"
            ),
            lambda: train_variant(c, zero_grad=False),
        ),
        (
            (
                "the validation loss was computed in training mode: call model.eval() "
                "before validating (BatchNorm and Dropout behave differently in eval "
                "mode)"
            ),
            lambda: train_variant(c, eval_val=False),
        ),
        (
            (
                "after the first validation the model stays in eval mode: call "
                "model.train() at the start of every epoch"
            ),
            lambda: train_variant(c, retrain_mode=False),
        ),
        (
            (
                "each epoch's loss is the plain mean of its batch losses; weight each "
                "batch by its size (the last batch is shorter)"
            ),
            lambda: train_variant(c, weighted=False),
        ),
        (
            (
                "the validation loss was measured before the epoch's updates; measure "
                "it after"
            ),
            lambda: train_variant(c, val_first=True),
        ),
        (
            "that is what Adam gives: use torch.optim.SGD",
            lambda: train_variant(c, optimizer=torch.optim.Adam),
        ),
        (
            "the two lists are swapped: return (train_losses, val_losses)",
            lambda: train_variant(c, swap=True),
        ),
    ]


# ================================================================== q5
Q5_WINDOWS = 400
Q5_FILE = "heldout_sequences.txt.gz"
Q5_OUT = "predictions.csv"


class Q5Predict(Question):
    """q5: ``predict.py`` + ``model_weights.pt`` on a held-out file, by mean r."""

    name = "q5"
    names = ()

    def plan(self, rng: np.random.Generator) -> Plan:
        plan = Plan()
        seq_df, scores_df = simulate(rng, Q5_WINDOWS)
        # Shuffle the rows: a script that sorts, or mislabels, shows.
        seq_df = seq_df.iloc[rng.permutation(len(seq_df))].reset_index(drop=True)
        data = plan.file(Q5_FILE, tsv_gz(seq_df))  # sequences only: never the scores
        plan.run_script(
            "predict",
            "predict.py",
            ["--data", data, "--out", {"$outfile": Q5_OUT}],
            timeout_s=self.timeout_s,
        )
        plan.context.update(
            names=list(seq_df["window_name"]),
            scores=targets(seq_df, scores_df).astype(np.float64),
        )
        return plan

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        ctx = plan.context
        parsed: dict = {}

        def layout() -> None:
            data = script_output(
                run,
                "predict",
                Q5_OUT,
                "python predict.py --data HELDOUT --out preds.csv",
            )
            parsed.update(parse_predictions(data, ctx["names"], SEQ_LEN))

        def accuracy() -> None:
            if "preds" not in parsed:
                raise Mismatch("no predictions to score (see the layout check)")
            check_heldout_r(parsed, ctx["scores"])

        return [
            guarded("predict.py writes one row per window, columns 0..299", layout),
            guarded(
                f"held-out mean per-sequence r >= {Q5_MIN_R}", accuracy, weight=2.0
            ),
        ]


def parse_predictions(data: bytes, names: list[str], seq_len: int) -> dict:
    """Strictly parse a predictions CSV; rows returned in ``names`` order.

    Returns ``{"preds": float64 (n, seq_len), "file_order": float64 (n, seq_len) or
    None}`` where ``file_order`` holds the rows as written (for diagnostics).
    """
    try:
        table = _grader_pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Mismatch(
            f"the predictions file is not a readable CSV ({type(exc).__name__})"
        ) from exc
    header = [str(c) for c in table.columns]
    check_header(header, names, seq_len)
    labels = table.iloc[:, 0].tolist()
    check_rows(labels, names)
    try:
        values = table.iloc[:, 1:].to_numpy(dtype=np.float64)  # (n, seq_len)
    except ValueError as exc:
        raise Mismatch("the predictions must be numbers; some cells are not") from exc
    if not np.isfinite(values).all():
        raise Mismatch("some predictions are NaN or infinite")
    row_of = {name: i for i, name in enumerate(labels)}
    return {"preds": values[[row_of[n] for n in names]], "file_order": values}


def check_header(header: list[str], names: list[str], seq_len: int) -> None:
    columns = [str(j) for j in range(seq_len)]
    if set(header[:3]) & set(names):
        raise Mismatch(
            "the CSV looks transposed (its header holds window names): "
            "write one row per window and one column per position"
        )
    if header[:1] != ["window_name"]:
        if header == columns:
            raise Mismatch(
                "the CSV has no window_name column, so its rows cannot be "
                "matched to windows: write the window names as the index "
                "(index=pd.Index(window_names, name='window_name'))"
            )
        if header[:1] == ["Unnamed: 0"]:
            raise Mismatch(
                "the CSV's index column has no name: name it 'window_name' "
                "(pd.Index(window_names, name='window_name'), or "
                "to_csv(out, index_label='window_name'))"
            )
        raise Mismatch(
            f"the CSV's first column should be the index 'window_name'; got "
            f"{header[0][:30]!r}"
        )
    if header[1:] != columns:
        got = header[1:]
        hint = (
            " (numbered from 1: use 0..299)"
            if got == [str(j + 1) for j in range(seq_len)]
            else ""
        )
        raise Mismatch(
            f"after window_name the CSV should have {seq_len} columns named "
            f"0..{seq_len - 1}; got {len(got)} columns"
            + (f" starting {got[:2]}" if got else "")
            + hint
        )


def check_rows(labels: list[str], names: list[str]) -> None:
    expected = set(names)
    unknown = [n for n in labels if n not in expected]
    if len(unknown) >= len(labels) / 2:  # other files may share a few window names
        raise Mismatch(
            "most rows are not windows of the --data file: predict.py "
            "must read the file given by --data (not a path of its own)"
        )
    if unknown:
        raise Mismatch(
            f"{len(unknown)} rows name windows that are not in the --data file"
        )
    if len(set(labels)) != len(labels):
        raise Mismatch(
            f"{len(labels) - len(set(labels))} windows appear more than once;"
            " write one row per window"
        )
    if len(labels) != len(names):
        raise Mismatch(
            f"{len(names) - len(labels)} of the {len(names)} windows of the "
            "--data file have no row"
        )


def check_heldout_r(parsed: dict, scores: np.ndarray) -> None:
    preds = parsed["preds"]
    r = float(np.mean(pearson_zero_nan(preds, scores)))
    if r >= Q5_MIN_R:
        return
    hint = "train longer or try a better model (the notebook's Part 5)"
    file_r = float(np.mean(pearson_zero_nan(parsed["file_order"], scores)))
    if file_r >= Q5_MIN_R:
        hint = (
            "the rows are in the --data file's order but carry the wrong window "
            "names: label row i with window_names[i] of the same file"
        )
    elif np.ptp(preds, axis=1).max() == 0:
        hint = (
            "every prediction is constant across positions: does build_model load "
            "model_weights.pt into the class you trained?"
        )
    elif float(np.mean(pearson_zero_nan(preds[:, ::-1], scores))) >= Q5_MIN_R:
        hint = "the positions are reversed: column j must be position j of the window"
    raise Mismatch(
        f"the mean per-sequence Pearson r on the held-out windows is {r:.3f}; "
        f"it should reach {Q5_MIN_R} (constant rows count as 0): {hint}"
    )


# ================================================================== q6
Q6_TRAIN, Q6_TEST = 1200, 300  # peaks per class


class Q6ScorePeaks(Question):
    """q6: ``score_peaks`` ranks held-out Oct4 peaks above MafK peaks."""

    name = "q6"
    names = ("score_peaks",)
    provides = ("one_hot_encode",)
    adapters = adapter_source(_grader_score_peaks, header=ADAPTER_HEADER)

    def plan(self, rng: np.random.Generator) -> Plan:
        plan = Plan()
        train, test = janggu_split(rng)
        seed = int(rng.integers(1000))
        args = (
            plan.array("train_codes", encode_codes(train["seqs"])),
            plan.array("train_labels", train["labels"]),
            plan.array("test_codes", encode_codes(test["seqs"])),
            seed,
        )
        plan.call("scores", "_grader_score_peaks", *args)
        plan.call("again", "_grader_score_peaks", *args)
        plan.context.update(test=test, seed=seed, baseline=pou5f1_auroc(test))
        return plan

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        test = plan.context["test"]
        return [
            guarded(
                "returns a numpy array, one finite score per test peak",
                lambda: self._scores(run, "scores", test),
            ),
            guarded(
                f"held-out AUROC >= {Q6_MIN_AUROC} and above the POU5F1 scan",
                lambda: self._check_auroc(run, test, plan.context["baseline"]),
                weight=2.0,
            ),
            guarded(
                "the same inputs and seed give the same scores",
                lambda: self._check_repeatable(run, test),
                weight=0.5,
            ),
        ]

    @staticmethod
    def _scores(run: QuestionRun, key: str, test: dict) -> np.ndarray:
        n = len(test["seqs"])
        what = f"score_peaks on {2 * Q6_TRAIN} hidden training peaks and {n} test peaks"
        value = outcome_value(run, key, what)
        if value.kind == "tensor":
            raise Mismatch(
                f"{what} should return a numpy array; got a torch tensor "
                "(.detach().cpu().numpy())"
            )
        got = expect_array(value, what)  # any real dtype ranks (dtype policy)
        if got.shape != (n,):
            hint = " (squeeze the model's (N, 1) output)" if got.shape == (n, 1) else ""
            raise Mismatch(f"{what} should have shape ({n},); got {got.shape}{hint}")
        if not np.isfinite(got).all():
            raise Mismatch(
                f"{what} returned NaN or infinite scores: training diverged?"
            )
        return got

    def _check_auroc(self, run: QuestionRun, test: dict, baseline: float) -> None:
        got = self._scores(run, "scores", test)
        value = ref.auroc(got, test["labels"])
        if value >= Q6_MIN_AUROC and value > baseline:
            return
        if np.ptp(got) == 0:
            hint = "every peak got the same score: the model did not learn"
        elif value <= 1.0 - Q6_MIN_AUROC:
            hint = (
                "the ranking is reversed: higher must mean label 1 (return the "
                "logit or probability of label 1, not of label 0)"
            )
        else:
            hint = (
                "train longer, use max pooling over positions, add reverse "
                "complements (see the suggestion in the question)"
            )
        raise Mismatch(
            f"the AUROC on held-out peaks is {value:.3f}; it should reach "
            f"{Q6_MIN_AUROC} and beat the POU5F1 scan ({baseline:.3f}); "
            f"the reference reaches about 0.99: {hint}"
        )

    def _check_repeatable(self, run: QuestionRun, test: dict) -> None:
        one = self._scores(run, "scores", test)
        two = self._scores(run, "again", test)
        if not close(one, two, rtol=1e-5, atol=1e-6):
            raise Mismatch(
                "two calls with the same inputs and seed gave different "
                "scores: seed the initial weights (torch.manual_seed(seed) "
                "before building the model) and the shuffling (a "
                "torch.Generator seeded with seed)"
            )


def reverse_complement(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGTN", "TGCAN"))


def janggu_split(rng: np.random.Generator) -> tuple[dict, dict]:
    """Disjoint random train/test peaks from janggu's Oct4 and MafK training files,
    half of them reverse-complemented (a peak has no strand; lookups fail)."""
    seqs, labels = tfdata.load_janggu_peaks("oct4", "train")
    parts: dict[str, list] = {"train": [], "test": []}
    for label in (1, 0):
        ids = rng.permutation(np.flatnonzero(labels == label))
        parts["train"] += list(ids[:Q6_TRAIN])
        parts["test"] += list(ids[Q6_TRAIN : Q6_TRAIN + Q6_TEST])
    out = []
    for key in ("train", "test"):
        ids = rng.permutation(parts[key])
        flip = rng.random(len(ids)) < 0.5
        chosen = [
            reverse_complement(seqs[i]) if f else seqs[i]
            for i, f in zip(ids, flip, strict=True)
        ]
        out.append({"seqs": chosen, "labels": labels[ids].astype(np.int64)})
    return out[0], out[1]


def pou5f1_auroc(test: dict) -> float:
    """AUROC of the best POU5F1 (MA1115.2) log-odds window on either strand."""
    pwm = tfdata.log_odds(tfdata.jaspar_pwm("MA1115.2"))
    best = [
        max(ref.pwm_scan(s, pwm).max(), ref.pwm_scan(s, pwm[::-1, ::-1]).max())
        for s in test["seqs"]
    ]
    return ref.auroc(np.array(best), test["labels"])


QUESTIONS = [
    Q1LoadTFData,
    Q2Dataset,
    Q3TFBindingCNN,
    Q4TrainTest,
    Q5Predict,
    Q6ScorePeaks,
]
