"""week3a q2: ``SeqDatasetOHE`` on hidden windows (aligned, scores columns in another
order, a shuffled subset with index labels that are not 0..n-1): a torch Dataset with
one item per row, x the float32 (L, 4) one-hot of the row's sequence, y the scores
column named by its window_name, and items a DataLoader batches."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    adapter_source,
    guarded,
    outcome_value,
)
from gene46100.checks.helpers import (
    expect_tensor,
    wrong,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.week3a.common import (
    ADAPTER_HEADER,
    _grader_dataset,
    _grader_frames,
    dict_items,
    encode_codes,
    onehot_batch,
    simulate,
    targets,
)
from gene46100.contract.results import QuestionRun, Value


@dataclass(frozen=True)
class Tables:
    """One case's hidden tables: the rows given to the dataset and every score."""

    seq_df: pd.DataFrame
    scores_df: pd.DataFrame


@dataclass
class Facts:
    """What scoring reads (trusted-only): each case's tables, by probe id."""

    cases: dict[str, Tables] = field(default_factory=dict)


class Q2Dataset(Question):
    """q2: ``SeqDatasetOHE`` items are one-hot windows with their scores, by name."""

    name = "q2"
    names = ("SeqDatasetOHE",)
    provides = ("one_hot_encode",)
    adapters = adapter_source(_grader_frames, _grader_dataset, header=ADAPTER_HEADER)

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        plan = Plan(facts=Facts())
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
            plan.facts.cases[case] = Tables(seq_df, scores)
            plan.call(
                case,
                "_grader_dataset",
                plan.array(f"{case}_codes", encode_codes(list(seq_df["sequence"]))),
                list(seq_df["window_name"]),
                [int(i) for i in seq_df.index],
                plan.array(f"{case}_scores", scores.to_numpy()),
                list(scores.columns),
            )
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        cases = plan.facts.cases
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
    def _what(case: str, c: Tables) -> str:
        return {
            "aligned": "SeqDatasetOHE on hidden windows",
            "shuffled": "SeqDatasetOHE when the scores columns are in another order",
            "subset": "SeqDatasetOHE on a shuffled subset of the windows (as after "
            "a split: seq_df's index labels are not 0..n-1) with the full "
            "scores table",
        }[case]

    def _result(self, run: QuestionRun, case: str, c: Tables) -> dict[str, Value]:
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

    def _check_len(self, run: QuestionRun, cases: dict[str, Tables]) -> None:
        for case, c in cases.items():
            out = self._result(run, case, c)
            if not out["is_dataset"].data:
                raise Mismatch("SeqDatasetOHE should subclass torch.utils.data.Dataset")
            if out["len"].data != len(c.seq_df):
                raise Mismatch(
                    f"{self._what(case, c)}: len(ds) should be the number of "
                    f"rows of seq_df ({len(c.seq_df)}); got "
                    f"{out['len'].data}"
                    + (
                        " (that is the number of score columns)"
                        if out["len"].data == c.scores_df.shape[1]
                        else ""
                    )
                )

    def _items(
        self, run: QuestionRun, case: str, c: Tables
    ) -> list[tuple[Value, Value]]:
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

    def _check_x(self, run: QuestionRun, cases: dict[str, Tables]) -> None:
        for case, c in cases.items():
            what = f"x of {self._what(case, c)}"
            expected = onehot_batch(list(c.seq_df["sequence"]))  # (n, L, 4)
            for i, (x, _) in enumerate(self._items(run, case, c)):
                got = expect_item_tensor(
                    x, what, expected[i].shape, transposed_hint=True
                )
                if not np.array_equal(got, expected[i]):
                    raise Mismatch(
                        f"{what}: item {i} is not the one-hot of row {i}'s "
                        "sequence" + x_hint(got, expected, i)
                    )

    def _check_y(self, run: QuestionRun, cases: dict[str, Tables]) -> None:
        for case, c in cases.items():
            what = f"y of {self._what(case, c)}"
            expected = targets(c.seq_df, c.scores_df)  # (n, L)
            positional = c.scores_df.to_numpy(np.float32).T  # column i for row i
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

    def _check_batch(self, run: QuestionRun, cases: dict[str, Tables]) -> None:
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
        n, length = 4, c.scores_df.shape[0]
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


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``SeqDatasetOHE`` answers and what their feedback says."""
    import torch

    from gene46100_ref import week3a as ref

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

    positional = dataset(
        get_y=lambda ds, i, y: torch.tensor(
            ds.scores_df.iloc[:, i].to_numpy(np.float32)
        )
    )
    channels_first = dataset(get_x=lambda ds, i, x: x.T.contiguous())
    float64_y = dataset(get_y=lambda ds, i, y: y.double())
    numpy_x = dataset(get_x=lambda ds, i, x: x.numpy())
    loc_lookup = dataset(
        get_y=lambda ds, i, y: torch.tensor(
            ds.scores_df[ds.seq_df.loc[i, "window_name"]].to_numpy(np.float32)
        )
    )
    return [
        KnownWrong({"SeqDatasetOHE": positional}, "select them by name", "positional"),
        KnownWrong(
            {"SeqDatasetOHE": channels_first},
            "(4, L) is what Conv1d wants",
            "channels-first",
        ),
        KnownWrong({"SeqDatasetOHE": float64_y}, "should be float32", "float64-y"),
        KnownWrong({"SeqDatasetOHE": numpy_x}, "should be a torch tensor", "numpy-x"),
        KnownWrong({"SeqDatasetOHE": loc_lookup}, ".iloc[i]", "loc-lookup"),
    ]
