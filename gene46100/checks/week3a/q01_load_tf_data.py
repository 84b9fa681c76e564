"""week3a q1: ``load_tf_data`` reads a hidden pair of gzipped TSV files (sequences
and per-position scores, the score columns in another order) into the course's two
DataFrames, values as in the file; a missing 'window_name' column, a sequence of the
wrong length and a window without scores each raise ValueError naming what is wrong."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    adapter_source,
    expect_array,
    expect_raises,
    guarded,
    outcome_value,
)
from gene46100.checks.helpers import (
    Candidate,
    first_match,
    keep_precision,
    matches,
    wrong,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.week3a.common import (
    ADAPTER_HEADER,
    SEQ_LEN,
    _grader_frame_summary,
    _grader_load_tf_data,
    dict_items,
    simulate,
    tsv_gz,
)
from gene46100.contract.results import QuestionRun


@dataclass
class Facts:
    """What scoring reads (trusted-only): the hidden tables and the bad windows."""

    seq_df: pd.DataFrame  # the sequences file of the good case
    scores_df: pd.DataFrame  # its scores file (columns in another order)
    bad_window: str  # the window one base short in the "wrong_length" case
    orphan: str  # the window without a scores column in the "no_scores" case


class Q1LoadTFData(Question):
    """q1: ``load_tf_data`` reads the two files; malformed files raise ValueError."""

    name = "q1"
    names = ("load_tf_data",)
    adapters = adapter_source(
        _grader_frame_summary, _grader_load_tf_data, header=ADAPTER_HEADER
    )

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        seq_df, scores_df = simulate(rng, int(rng.integers(30, 60)))
        # The score columns come in another order than the sequences: reading must not
        # depend on the two files listing windows alike.
        scores_df = scores_df[list(rng.permutation(scores_df.columns))]
        names = list(seq_df["window_name"])
        truncated, bad_window = self._truncated(seq_df, rng)
        no_scores = scores_df.drop(columns=[names[rng.integers(len(names))]])
        cases = {
            "good": (seq_df, scores_df),
            "missing_column": (
                seq_df.rename(columns={"window_name": "name"}),
                scores_df,
            ),
            "wrong_length": (truncated, scores_df),
            "no_scores": (seq_df, no_scores),
        }
        plan = Plan(
            facts=Facts(
                seq_df=seq_df,
                scores_df=scores_df,
                bad_window=bad_window,
                orphan=next(n for n in names if n not in no_scores.columns),
            )
        )
        for case, (s, c) in cases.items():
            plan.call(
                case,
                "_grader_load_tf_data",
                plan.file(f"{case}_sequences.txt.gz", tsv_gz(s)),
                plan.file(f"{case}_scores.txt.gz", tsv_gz(c)),
            )
        return plan

    @staticmethod
    def _truncated(
        seq_df: pd.DataFrame, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, str]:
        """One window one base short (the scores file still has 300 rows), and its
        name."""
        out = seq_df.copy()
        row = int(rng.integers(len(out)))
        out.loc[row, "sequence"] = out.loc[row, "sequence"][:-1]
        return out, out.loc[row, "window_name"]

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        facts = plan.facts
        return [
            guarded(
                "reads both files in the course's layout",
                lambda: self._check_good(run, facts.seq_df, facts.scores_df),
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
                    facts.bad_window,
                    "the window",
                ),
            ),
            guarded(
                "a window without scores raises ValueError naming it",
                lambda: self._check_error(run, "no_scores", facts.orphan, "the window"),
            ),
        ]

    def _check_good(
        self, run: QuestionRun, seq_df: pd.DataFrame, scores_df: pd.DataFrame
    ) -> None:
        what = "load_tf_data on a hidden pair of files"
        out = dict_items(outcome_value(run, "good", what), what)
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
    def _check_seq(out: dict, seq_df: pd.DataFrame, what: str) -> None:
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


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``load_tf_data`` answers and what their feedback says."""
    from gene46100_ref import week3a as ref

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

    return [
        KnownWrong(
            {"load_tf_data": load_no_checks},
            "should raise ValueError",
            "load-no-checks",
        ),
        KnownWrong({"load_tf_data": load_index_col}, "index_col=0", "load-index-col"),
        KnownWrong(
            {"load_tf_data": load_key_error},
            "raised pandas' KeyError",
            "load-key-error",
        ),
        KnownWrong({"load_tf_data": load_vague}, "does not name", "load-vague"),
        KnownWrong({"load_tf_data": load_transposed}, "transposed", "load-transposed"),
    ]
