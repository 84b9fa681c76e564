"""The week 3a hidden tests, judged on answers whose grade we know.

Every question: the reference gets full marks (twice, identically) and so does an
independent completion; a ``NotImplementedError`` stub and an empty namespace fail
every check saying so; typical wrong answers fail and are told which mistake they made
(at least three per question). q5 runs real ``predict.py`` scripts (the reference and
broken copies of it). The thresholds are re-measured against the reference.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from gene46100 import course
from gene46100.build.markup import strip_assign_markup
from gene46100.checks import (
    GRADING_SEED,
    Check,
    Mismatch,
    question_rng,
    questions,
    run_inprocess,
)
from gene46100.checks import week3a as checks
from gene46100_ref import tfdata
from gene46100_ref import week3a as ref

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = [f"q{i}" for i in range(1, 7)]
REFERENCE = dict(vars(ref))


def grade(question: str, workdir: Path | None = None, **overrides) -> list[Check]:
    return run_inprocess(
        "week3a",
        question,
        {**REFERENCE, **overrides},
        workdir=str(workdir) if workdir else None,
    )


def failures(result: list[Check]) -> str:
    return "\n".join(f"[{c.name}] {c.message}" for c in result if not c.passed)


def independent() -> dict:
    namespace = {"one_hot_encode": ref.one_hot_encode}
    source = (REPO / "examples/answers/week3a_independent.py").read_text()
    exec(compile(source, "week3a_independent.py", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture
def reference_dir(tmp_path) -> Path:
    """A submission folder with the reference predict.py and model_weights.pt."""
    source = strip_assign_markup((REPO / "solutions/week3a/predict.py").read_text())
    (tmp_path / "predict.py").write_text(source)
    shutil.copy(REPO / "solutions/week3a/model_weights.pt", tmp_path)
    return tmp_path


# ========================================================== registry and plans
def test_six_questions_are_registered_in_order_with_budgets():
    registered = questions("week3a")
    assert list(registered) == QUESTIONS
    budgets = {q: registered[q].timeout_s for q in QUESTIONS}
    assert budgets == {
        "q1": 10.0,
        "q2": 10.0,
        "q3": 10.0,
        "q4": 60.0,
        "q5": 60.0,
        "q6": 60.0,
    }
    assert course.week("week3a").companions == ("model_weights.pt", "predict.py")


@pytest.mark.parametrize("question", QUESTIONS)
def test_plan_crosses_the_boundary_as_json_arrays_and_files_only(question):
    plan = questions("week3a")[question].plan(question_rng("week3a", question))
    json.dumps(plan.probes)
    assert plan.probes
    assert all(isinstance(a, np.ndarray) for a in plan.arrays.values())
    assert all(isinstance(b, bytes) for b in plan.files.values())


def test_q5_sends_sequences_only_never_the_scores():
    plan = questions("week3a")["q5"].plan(question_rng("week3a", "q5"))
    assert list(plan.files) == [checks.Q5_FILE]
    table = pd.read_csv(
        io.BytesIO(gzip.decompress(plan.files[checks.Q5_FILE])), sep="\t"
    )
    assert list(table.columns) == ["sequence", "window_name"]
    assert len(table) == checks.Q5_WINDOWS and not plan.arrays
    assert list(table["window_name"]) != sorted(table["window_name"])  # rows shuffled


@pytest.mark.parametrize("question", QUESTIONS)
def test_plans_are_fresh_for_another_grading_seed(question):
    q = questions("week3a")[question]
    one, two = (
        q.plan(question_rng("week3a", question)),
        q.plan(question_rng("week3a", question, seed=7)),
    )
    same_arrays = one.arrays.keys() == two.arrays.keys() and all(
        np.array_equal(one.arrays[k], two.arrays[k]) for k in one.arrays
    )
    same_files = one.files == two.files
    assert not (
        same_arrays and same_files and json.dumps(one.probes) == json.dumps(two.probes)
    )


# ========================================================== reference, stubs
@pytest.mark.parametrize("question", ["q1", "q2", "q3", "q4", "q6"])
def test_reference_gets_full_marks_and_grading_is_deterministic(question):
    first = grade(question)
    assert all(c.passed for c in first), failures(first)
    if question != "q6":  # q6 trains twice per grading and checks repeatability itself
        assert grade(question) == first


def test_reference_predict_script_gets_full_marks(reference_dir):
    result = grade("q5", workdir=reference_dir)
    assert all(c.passed for c in result), failures(result)


@pytest.mark.parametrize("question", ["q1", "q2", "q3", "q4", "q6"])
def test_independent_completion_gets_full_marks(question):
    result = grade(
        question, **{n: independent()[n] for n in questions("week3a")[question].names}
    )
    assert all(c.passed for c in result), failures(result)


def stub(question: str, name: str):
    def not_yet(*args, **kwargs):
        raise NotImplementedError(f"{question}: implement {name}")

    return not_yet


class StubModule(nn.Module):
    def __init__(self, *args, **kwargs) -> None:
        raise NotImplementedError("not yet")


class StubDataset(torch.utils.data.Dataset):
    def __init__(self, *args, **kwargs) -> None:
        raise NotImplementedError("q2: implement SeqDatasetOHE.__init__")


STUBS = {"SeqDatasetOHE": StubDataset, "TFBindingCNN": StubModule}


@pytest.mark.parametrize("question", ["q1", "q2", "q3", "q4", "q6"])
def test_stub_fails_every_check_with_not_implemented_yet(question):
    names = questions("week3a")[question].names
    result = grade(question, **{n: STUBS.get(n, stub(question, n)) for n in names})
    assert result and not any(c.passed for c in result)
    assert all("not implemented yet" in c.message for c in result), failures(result)


@pytest.mark.parametrize("question", ["q1", "q2", "q3", "q4", "q6"])
def test_empty_namespace_fails_every_check_with_not_defined(question):
    result = run_inprocess("week3a", question, {})
    assert result and not any(c.passed for c in result)
    assert all("not defined" in c.message for c in result), failures(result)


def test_the_released_predict_template_fails_q5_saying_what_to_do(tmp_path):
    shutil.copy(REPO / "assignments/week3a/predict.py", tmp_path)
    shutil.copy(REPO / "solutions/week3a/model_weights.pt", tmp_path)
    result = grade("q5", workdir=tmp_path)
    assert not any(c.passed for c in result)
    assert "exited with status 1" in failures(result), failures(result)


def test_a_missing_predict_script_fails_q5_saying_so(tmp_path):
    result = grade("q5", workdir=tmp_path)
    assert not any(c.passed for c in result)
    assert "predict.py was not found" in failures(result), failures(result)


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


WRONG = [
    ("q1", {"load_tf_data": load_no_checks}, "should raise ValueError"),
    ("q1", {"load_tf_data": load_index_col}, "index_col=0"),
    ("q1", {"load_tf_data": load_key_error}, "raised pandas' KeyError"),
    ("q1", {"load_tf_data": load_vague}, "does not name"),
    ("q1", {"load_tf_data": load_transposed}, "transposed"),
    ("q2", {"SeqDatasetOHE": POSITIONAL}, "select them by name"),
    ("q2", {"SeqDatasetOHE": CHANNELS_FIRST}, "(4, L) is what Conv1d wants"),
    ("q2", {"SeqDatasetOHE": FLOAT64_Y}, "should be float32"),
    ("q2", {"SeqDatasetOHE": NUMPY_X}, "should be a torch tensor"),
    ("q2", {"SeqDatasetOHE": LOC_LOOKUP}, ".iloc[i]"),
    ("q3", {"TFBindingCNN": CNNView}, "x.permute(0, 2, 1)"),
    ("q3", {"TFBindingCNN": CNNNoReLU}, "ReLU after the convolution is missing"),
    ("q3", {"TFBindingCNN": CNNReLUOut}, "ReLU after fc"),
    ("q3", {"TFBindingCNN": CNNSqueeze}, "removed the batch dimension"),
    ("q3", {"TFBindingCNN": CNNNoPositions}, "seq_len - kernel_size + 1 positions"),
    ("q4", {"train_model": make_train(zero_grad=False)}, "opt.zero_grad()"),
    ("q4", {"train_model": make_train(eval_val=False)}, "computed in training mode"),
    ("q4", {"train_model": make_train(retrain=False)}, "call model.train()"),
    ("q4", {"train_model": make_train(weighted=False)}, "plain mean of its batch"),
    (
        "q4",
        {"train_model": make_train(optimizer=torch.optim.Adam)},
        "use torch.optim.SGD",
    ),
    ("q4", {"test_model": make_test(nan_to_zero=True)}, "gave 0 instead of NaN"),
    ("q4", {"test_model": make_test(crash=True)}, "raised StatisticsError"),
    ("q4", {"test_model": make_test(per_position=True)}, "one r per position"),
    ("q4", {"test_model": make_test(tensors=True)}, "got a torch tensor"),
    ("q6", {"score_peaks": reversed_scores}, "the ranking is reversed"),
    ("q6", {"score_peaks": unseeded}, "seed the initial weights"),
    ("q6", {"score_peaks": column_scores}, "squeeze"),
    ("q6", {"score_peaks": constant_scores}, "the same score"),
    ("q6", {"score_peaks": gc_scores}, "should reach 0.9"),
]


@pytest.mark.parametrize(
    ("question", "overrides", "phrase"),
    [pytest.param(q, o, p, id=f"{q}-{i}") for i, (q, o, p) in enumerate(WRONG)],
)
def test_wrong_answer_fails_and_is_told_its_mistake(question, overrides, phrase):
    result = grade(question, **overrides)
    assert not all(c.passed for c in result)
    assert phrase in failures(result), failures(result)
    assert_no_hidden_names(question, failures(result))


def assert_no_hidden_names(question: str, text: str) -> None:
    """Feedback never quotes a hidden window name."""
    plan = questions("week3a")[question].plan(question_rng("week3a", question))
    for key in ("seq_df",):
        if key in plan.context:
            for name in plan.context[key]["window_name"]:
                assert name not in text


def test_every_question_has_at_least_three_diagnosed_wrong_answers():
    counts = {q: sum(1 for w in WRONG if w[0] == q) for q in QUESTIONS if q != "q5"}
    assert min(counts.values()) >= 3, counts
    assert len(PREDICT_VARIANTS) >= 3


def test_a_q4_mistake_in_train_model_keeps_test_model_credit():
    result = {
        c.name: c.passed for c in grade("q4", train_model=make_train(zero_grad=False))
    }
    assert not result["learning curves match the reference from the same weights"]
    assert result["test_model: per-sequence Pearson r, NaN where a side is constant"]


# ========================================================== q5: predict.py variants
HEAD = 'table = pd.DataFrame(preds, index=pd.Index(window_names, name="window_name"),'
PREDICT_VARIANTS = {
    # (text to replace, replacement, passes?, phrase)
    "rows_reordered": (
        "    table.to_csv(out)",
        "    table.sample(frac=1.0, random_state=0).to_csv(out)",
        True,
        "",
    ),
    "mislabeled": (
        HEAD,
        (
            "table = pd.DataFrame(preds, index=pd.Index(sorted(window_names), "
            'name="window_name"),'
        ),
        False,
        "carry the wrong window names",
    ),
    "no_index": (
        "    table.to_csv(out)",
        "    table.to_csv(out, index=False)",
        False,
        "no window_name column",
    ),
    "unnamed_index": (
        HEAD,
        "table = pd.DataFrame(preds, index=list(window_names),",
        False,
        "index column has no name",
    ),
    "transposed": (
        "    table.to_csv(out)",
        "    table.T.to_csv(out)",
        False,
        "looks transposed",
    ),
    "short_rows": (
        "    table.to_csv(out)",
        "    table.iloc[:, :299].to_csv(out)",
        False,
        "300 columns named 0..299",
    ),
    "one_based": (
        "columns=range(preds.shape[1]))",
        "columns=range(1, preds.shape[1] + 1))",
        False,
        "numbered from 1",
    ),
    "missing_rows": (
        "    table.to_csv(out)",
        "    table.iloc[:-3].to_csv(out)",
        False,
        "have no row",
    ),
    "own_data_path": (
        '    seq_df = pd.read_csv(args.data, sep="\\t")',
        "    seq_df = pd.read_csv('own.txt.gz', sep=\"\\t\")",
        False,
        "must read the file given by --data",
    ),
    "untrained": (
        "    model.load_state_dict(state)",
        "    pass",
        False,
        "the mean per-sequence Pearson r",
    ),
    "reversed_positions": (
        "    table.to_csv(out)",
        ("    table.iloc[:, ::-1].set_axis(table.columns, axis=1).to_csv(out)"),
        False,
        "positions are reversed",
    ),
}


@pytest.mark.parametrize("variant", sorted(PREDICT_VARIANTS))
def test_predict_script_variants_are_graded_and_diagnosed(variant, reference_dir):
    old, new, passes, phrase = PREDICT_VARIANTS[variant]
    script = reference_dir / "predict.py"
    text = script.read_text()
    assert old in text, old
    script.write_text(text.replace(old, new))
    if variant == "own_data_path":
        tfdata.write_tf_files(reference_dir, 20, seed=1)
        (reference_dir / "chr22_sequences.txt.gz").rename(reference_dir / "own.txt.gz")
    result = grade("q5", workdir=reference_dir)
    if passes:
        assert all(c.passed for c in result), failures(result)
    else:
        assert not all(c.passed for c in result)
        assert phrase in failures(result), failures(result)


def test_missing_weights_fail_q5_with_the_scripts_error(reference_dir):
    (reference_dir / "model_weights.pt").unlink()
    result = grade("q5", workdir=reference_dir)
    assert not any(c.passed for c in result)
    assert "exited with status" in failures(result), failures(result)


def csv_bytes(preds: np.ndarray, names: list[str]) -> bytes:
    table = pd.DataFrame(preds, index=pd.Index(names, name="window_name"))
    return table.to_csv().encode()


def test_parse_predictions_matches_rows_by_name_in_any_order():
    rng = np.random.default_rng(0)
    names = [f"w{i}" for i in range(6)]
    preds = rng.normal(size=(6, 5))
    order = rng.permutation(6)
    parsed = checks.parse_predictions(
        csv_bytes(preds[order], [names[i] for i in order]), names, 5
    )
    np.testing.assert_allclose(parsed["preds"], preds)
    np.testing.assert_allclose(parsed["file_order"], preds[order])


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        (b"window_name,0,1\nw0,1,2\nw0,1,2\n", "more than once"),
        (b"window_name,0,1\nw0,1,x\nw1,1,2\n", "must be numbers"),
        (b"window_name,0,1\nw0,1,nan\nw1,1,2\n", "NaN or infinite"),
        (b"window_name,0,1\nw0,1,2\nw1,1,2\nw9,1,2\n", "not in the --data"),
        (b"window_name,0,1\nw8,1,2\nw9,1,2\n", "must read the file given by --data"),
        (b"\xff\xfe\x00garbage", "not a readable CSV"),
        (b"", "not a readable CSV"),
    ],
)
def test_parse_predictions_refuses_malformed_files(data, phrase):
    with pytest.raises(Mismatch, match=phrase):
        checks.parse_predictions(data, ["w0", "w1"], 2)


def test_heldout_r_counts_constant_rows_as_zero():
    scores = np.zeros((4, 10))
    scores[:, 2:5] = 7.0
    good = scores + 0.1 * np.arange(10)
    half_constant = good.copy()
    half_constant[:2] = 1.0  # nanmean would ignore these rows and pass
    checks.check_heldout_r({"preds": good, "file_order": good}, scores)
    with pytest.raises(Mismatch):
        checks.check_heldout_r(
            {
                "preds": half_constant[:, ::1] * 0 + 1.0,
                "file_order": half_constant * 0 + 1.0,
            },
            scores,
        )
    r = np.mean(checks.pearson_zero_nan(half_constant, scores))
    assert r == pytest.approx(0.5 * np.mean(checks.pearson_zero_nan(good, scores)))


# ========================================================== thresholds
def test_q4_threshold_is_half_what_the_reference_reaches_and_far_above_untrained():
    """Measured over the grading seed and 1-5: reference 0.674-0.708, untrained
    -0.014-0.012 (bar 0.35). Two seeds here."""
    for seed in (GRADING_SEED, 1):
        plan = checks.Q4TrainTest().plan(question_rng("week3a", "q4", seed))
        c = plan.context["cases"]["learn"]
        model = checks.load_model("cnn", c["args"], c["state"])
        untrained = checks.reference_cnn({**c, "x": c["x_test"]})
        ref.train_model(
            model, *checks.q4_loaders(c), lr=c["lr"], epochs=c["epochs"], device="cpu"
        )
        trained = checks.reference_cnn({**c, "x": c["x_test"]}, model)
        r = np.mean(checks.pearson_zero_nan(trained, c["y_test"]))
        r0 = np.mean(checks.pearson_zero_nan(untrained, c["y_test"]))
        assert r >= 1.8 * checks.Q4_MIN_R and abs(r0) < 0.1, (seed, r, r0)


def test_q5_reference_weights_clear_the_bar_by_far(reference_dir):
    """The committed weights reach about 0.95 on the graded file (bar 0.30)."""
    plan = checks.Q5Predict().plan(question_rng("week3a", "q5"))
    model = ref.TFBindingFCN()
    model.load_state_dict(
        torch.load(reference_dir / "model_weights.pt", weights_only=True)
    )
    table = pd.read_csv(
        io.BytesIO(gzip.decompress(plan.files[checks.Q5_FILE])), sep="\t"
    )
    x = torch.from_numpy(np.stack([ref.one_hot_encode(s) for s in table["sequence"]]))
    with torch.no_grad():
        preds = model.eval()(x).numpy().astype(np.float64)
    assert np.mean(checks.pearson_zero_nan(preds, plan.context["scores"])) > 0.9


@pytest.mark.slow
def test_q5_bar_is_met_by_the_notebooks_baseline_recipe():
    """The course's baseline, trained as the notebook does, clears 0.30 with margin.

    Measured: 0.469-0.539 over training seeds 0-2 on the files of 3 grading seeds.
    """
    seq_df, scores_df = tfdata.simulate_tf_windows(4000, 46100)
    train_dl, val_dl, _ = ref.build_dataloaders(ref.split_windows(seq_df), scores_df)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = ref.TFBindingCNN()
    ref.train_model(model, train_dl, val_dl, lr=0.05, epochs=8, device="cpu")
    plan = checks.Q5Predict().plan(question_rng("week3a", "q5"))
    table = pd.read_csv(
        io.BytesIO(gzip.decompress(plan.files[checks.Q5_FILE])), sep="\t"
    )
    x = torch.from_numpy(np.stack([ref.one_hot_encode(s) for s in table["sequence"]]))
    with torch.no_grad():
        preds = model.eval()(x).numpy().astype(np.float64)
    r = np.mean(checks.pearson_zero_nan(preds, plan.context["scores"]))
    assert r >= 1.4 * checks.Q5_MIN_R, r


def test_q6_threshold_has_margin_and_the_pwm_scan_fails_it():
    """Measured over the grading seed and 1-5: reference 0.989-0.995, POU5F1 scan
    0.61-0.69 (bar 0.90). One seed here."""
    train, test = checks.janggu_split(question_rng("week3a", "q6"))
    scores = ref.score_peaks(train["seqs"], train["labels"], test["seqs"], seed=0)
    assert ref.auroc(scores, test["labels"]) >= checks.Q6_MIN_AUROC + 0.07
    assert checks.pou5f1_auroc(test) < checks.Q6_MIN_AUROC - 0.15


def test_q6_split_is_disjoint_and_balanced():
    train, test = checks.janggu_split(question_rng("week3a", "q6"))
    rc = {checks.reverse_complement(s) for s in train["seqs"]}
    assert not (set(test["seqs"]) & (set(train["seqs"]) | rc))
    assert (
        train["labels"].sum() == checks.Q6_TRAIN
        and test["labels"].sum() == checks.Q6_TEST
    )
