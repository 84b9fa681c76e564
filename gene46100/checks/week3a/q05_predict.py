"""week3a q5: the submission's ``predict.py`` (with its ``model_weights.pt``), run on
a hidden held-out sequences file, writes a predictions CSV with one row per window
(index 'window_name', columns 0..299, rows matched by name) whose held-out mean
per-sequence Pearson r reaches ``Q5_MIN_R`` (constant rows count as 0)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    guarded,
    script_output,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.week3a.common import (
    Q5_MIN_R,
    SEQ_LEN,
    pearson_zero_nan,
    simulate,
    targets,
    tsv_gz,
)
from gene46100.contract.results import QuestionRun

Q5_WINDOWS = 400


Q5_FILE = "heldout_sequences.txt.gz"


Q5_OUT = "predictions.csv"


@dataclass
class Facts:
    """What scoring reads (trusted-only): the held-out windows and their scores."""

    names: list[str]  # the windows of the --data file, in its (shuffled) order
    scores: np.ndarray  # float64 (n, 300): their true scores, in ``names`` order


class Q5Predict(Question):
    """q5: ``predict.py`` + ``model_weights.pt`` on a held-out file, by mean r."""

    name = "q5"
    names = ()
    slow_reference = True  # runs predict.py (torch, the weights) for seconds

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        seq_df, scores_df = simulate(rng, Q5_WINDOWS)
        # Shuffle the rows: a script that sorts, or mislabels, shows.
        seq_df = seq_df.iloc[rng.permutation(len(seq_df))].reset_index(drop=True)
        plan = Plan(
            facts=Facts(
                names=list(seq_df["window_name"]),
                scores=targets(seq_df, scores_df).astype(np.float64),
            )
        )
        data = plan.file(Q5_FILE, tsv_gz(seq_df))  # sequences only: never the scores
        plan.run_script(
            "predict",
            "predict.py",
            ["--data", data, "--out", {"$outfile": Q5_OUT}],
            timeout_s=self.timeout_s,
        )
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        facts = plan.facts
        parsed: dict = {}

        def layout() -> None:
            data = script_output(
                run,
                "predict",
                Q5_OUT,
                "python predict.py --data HELDOUT --out preds.csv",
            )
            parsed.update(parse_predictions(data, facts.names, SEQ_LEN))

        def accuracy() -> None:
            if "preds" not in parsed:
                raise Mismatch("no predictions to score (see the layout check)")
            check_heldout_r(parsed, facts.scores)

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
        table = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
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


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Broken copies of the reference's ``predict.py`` (graded on the submission's
    files: each edits the reference folder) and what their feedback says."""
    from pathlib import Path

    from gene46100_ref import tfdata

    def edited(old: str, new: str, own_data: bool = False):
        """The reference predict.py with ``old`` replaced by ``new`` (``own_data``:
        the folder also holds a data file of the student's own, which the script
        reads)."""

        def edit(folder: Path) -> None:
            script = folder / "predict.py"
            text = script.read_text()
            assert old in text, old
            script.write_text(text.replace(old, new))
            if own_data:
                tfdata.write_tf_files(folder, 20, seed=1)
                (folder / "chr22_sequences.txt.gz").rename(folder / "own.txt.gz")

        return edit

    head = (
        'table = pd.DataFrame(preds, index=pd.Index(window_names, name="window_name"),'
    )
    return [
        KnownWrong(
            {},
            "carry the wrong window names",
            "mislabeled",
            workdir=edited(
                head,
                "table = pd.DataFrame(preds, index=pd.Index(sorted(window_names), "
                'name="window_name"),',
            ),
            slow=True,
        ),
        KnownWrong(
            {},
            "have no row",
            "missing-rows",
            workdir=edited("    table.to_csv(out)", "    table.iloc[:-3].to_csv(out)"),
            slow=True,
        ),
        KnownWrong(
            {},
            "no window_name column",
            "no-index",
            workdir=edited(
                "    table.to_csv(out)", "    table.to_csv(out, index=False)"
            ),
            slow=True,
        ),
        KnownWrong(
            {},
            "numbered from 1",
            "one-based",
            workdir=edited(
                "columns=range(preds.shape[1]))",
                "columns=range(1, preds.shape[1] + 1))",
            ),
            slow=True,
        ),
        KnownWrong(
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
            {},
            "300 columns named 0..299",
            "short-rows",
            workdir=edited(
                "    table.to_csv(out)", "    table.iloc[:, :299].to_csv(out)"
            ),
            slow=True,
        ),
        KnownWrong(
            {},
            "looks transposed",
            "transposed",
            workdir=edited("    table.to_csv(out)", "    table.T.to_csv(out)"),
            slow=True,
        ),
        KnownWrong(
            {},
            "index column has no name",
            "unnamed-index",
            workdir=edited(
                head, "table = pd.DataFrame(preds, index=list(window_names),"
            ),
            slow=True,
        ),
        KnownWrong(
            {},
            "the mean per-sequence Pearson r",
            "untrained",
            workdir=edited("    model.load_state_dict(state)", "    pass"),
            slow=True,
        ),
    ]
