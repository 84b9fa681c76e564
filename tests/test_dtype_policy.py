"""The course's dtype policy, judged on answers whose grade we know (every week).

The policy (``gene46100/checks/helpers.py``; stated to students in each notebook's
conventions and in ``assignments/README.md``): a dtype is graded only where it is the
point of the question; elsewhere a float32 answer equal to the reference at float32
precision earns full points, and a float32 answer that is really wrong still loses,
told its real mistake (never a dtype, separator or index it did not get wrong).

Graded by dtype, so not here: week 2 q3 (``one_hot_encode`` is float32 by contract),
week 3a q2 (dataset items are float32 tensors by contract), and the models (week 1 q7,
week 2 q6, week 3a q3: float32 tensors, what the course trains). Integer answers
(week 1 q8, week 2 q2) have no float32 form. Week 3a q5 grades ``predict.py``'s CSV,
which is text.
"""

from __future__ import annotations

import gzip
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import in_float32

from gene46100.checks import Check, helpers, questions, run_inprocess
from gene46100.checks.week2.q04_scoring_task import motif_score
from gene46100_ref import week1 as ref1
from gene46100_ref import week2 as ref2
from gene46100_ref import week3a as ref3a
from gene46100_ref import week3b as ref3b

REFERENCES = {
    "week1": dict(vars(ref1)),
    "week2": dict(vars(ref2)),
    "week3a": dict(vars(ref3a)),
    "week3b": dict(vars(ref3b)),
}


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def grade(week: str, question: str, **overrides: object) -> list[Check]:
    """Grade the week's reference namespace with some names replaced."""
    return run_inprocess(week, question, {**REFERENCES[week], **overrides})


def failures(result: list[Check]) -> str:
    return "\n".join(f"[{c.name}] {c.message}" for c in result if not c.passed)


# ================================================================== float32 forms
def f32(*arrays: Any) -> list[np.ndarray]:
    return [np.asarray(a, dtype=np.float32) for a in arrays]


# Answers computed in float32 from start to end, as a student who casts the inputs
# (or the course, which loads and averages in float32) would write them.
def normal_equation_f32(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    X, y = f32(X, y)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("X has dependent columns: X^T X is singular")
    return np.linalg.solve(X.T @ X, X.T @ y)  # float32 (p,)


def mse_loss_f32(y_hat: np.ndarray, y: np.ndarray) -> np.float32:
    y_hat, y = f32(y_hat, y)
    if y_hat.shape != y.shape:
        raise ValueError(f"shapes differ: {y_hat.shape} vs {y.shape}")
    return np.mean((y_hat - y) ** 2)  # numpy float32 scalar


def mse_gradient_f32(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> np.ndarray:
    X, y, beta = f32(X, y, beta)
    return np.float32(2 / len(y)) * X.T @ (X @ beta - y)


def gradient_descent_f32(X, y, lr, n_steps, beta0=None) -> np.ndarray:
    X, y = f32(X, y)
    beta = np.zeros(X.shape[1], np.float32) if beta0 is None else f32(beta0)[0]
    path = [beta.copy()]
    with np.errstate(all="ignore"):  # the diverging case overflows float32
        for _ in range(n_steps):
            beta = beta - np.float32(lr) * mse_gradient_f32(X, y, beta)
            path.append(beta.copy())
    return np.stack(path)  # float32 (n_steps + 1, p)


def conv1d_valid_f32(signal: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    signal, kernel = f32(signal, kernel)
    return np.correlate(signal, kernel, mode="valid")  # float32 (L - k + 1,)


def score_seqs_motif_f32(seqs: list[str]) -> np.ndarray:
    """The course's own form: ``np.mean(..., dtype=np.float32)`` per sequence."""
    value = {"A": 20, "C": 17, "G": 14, "T": 11}
    scores = []
    for seq in seqs:
        score = np.mean([value[b] for b in seq], dtype=np.float32)
        scores.append(score + 10 * ("TAT" in seq) - 10 * ("GCG" in seq))
    return np.array(scores, dtype=np.float32)


def pwm_scan_f32(seq: str, pwm: np.ndarray) -> np.ndarray:
    x = ref2.one_hot_encode(seq)  # float32 (L, 4)
    (pwm,) = f32(pwm)
    k = len(pwm)
    return np.array(
        [np.sum(x[i : i + k] * pwm) for i in range(len(seq) - k + 1)], np.float32
    )


def load_tf_data_pandas_f32(seq_path, score_path):
    """The course's loading with ``dtype='float32'`` (pandas)."""
    seq_df, _ = ref3a.load_tf_data(seq_path, score_path)
    return seq_df, pd.read_csv(score_path, sep="\t", dtype="float32")


def load_tf_data_loadtxt_f32(seq_path, score_path):
    """The course's ``np.loadtxt(..., dtype='float32')``, named by the header."""
    seq_df, _ = ref3a.load_tf_data(seq_path, score_path)
    with gzip.open(score_path, "rt") as f:
        header = f.readline().rstrip("\n").split("\t")
        values = np.loadtxt(f, delimiter="\t", dtype="float32", ndmin=2)
    return seq_df, pd.DataFrame(values, columns=header)


def run_sweep_f32(*args: Any, **kwargs: Any):
    """The reference's sweep with its best score as a numpy float32."""
    config, score = ref3b.run_sweep(*args, **kwargs)
    return config, np.float32(score)


# (week, question, overrides, id): every question whose answer has a float32 form.
FLOAT32_FORMS = [
    ("week1", "q1", {"normal_equation": in_float32(ref1.normal_equation)}, "cast"),
    ("week1", "q1", {"normal_equation": normal_equation_f32}, "computed"),
    ("week1", "q2", {"mse_loss": in_float32(ref1.mse_loss)}, "cast"),
    ("week1", "q2", {"mse_loss": mse_loss_f32}, "computed"),
    ("week1", "q3", {"mse_gradient": in_float32(ref1.mse_gradient)}, "cast"),
    ("week1", "q3", {"mse_gradient": mse_gradient_f32}, "computed"),
    ("week1", "q4", {"gradient_descent": in_float32(ref1.gradient_descent)}, "cast"),
    ("week1", "q4", {"gradient_descent": gradient_descent_f32}, "computed"),
    ("week1", "q5", {"max_stable_lr": in_float32(ref1.max_stable_lr)}, "cast"),
    ("week1", "q6", {"sgd": in_float32(ref1.sgd)}, "cast"),
    ("week1", "q9", {"train": in_float32(ref1.train)}, "cast"),
    ("week1", "q10", {"fit_linear_vs_mlp": in_float32(ref1.fit_linear_vs_mlp)}, "cast"),
    ("week2", "q1", {"conv1d_valid": in_float32(ref2.conv1d_valid)}, "cast"),
    ("week2", "q1", {"conv1d_valid": conv1d_valid_f32}, "computed"),
    ("week2", "q4", {"score_seqs_motif": in_float32(ref2.score_seqs_motif)}, "cast"),
    ("week2", "q4", {"score_seqs_motif": score_seqs_motif_f32}, "course-mean"),
    ("week2", "q5", {"pwm_scan": in_float32(ref2.pwm_scan)}, "cast"),
    ("week2", "q5", {"pwm_scan": pwm_scan_f32}, "computed"),
    ("week2", "q7", {"train_model": in_float32(ref2.train_model)}, "cast"),
    (
        "week2",
        "q8",
        {"get_filter_activations": in_float32(ref2.get_filter_activations)},
        "cast",
    ),
    ("week3a", "q1", {"load_tf_data": load_tf_data_pandas_f32}, "pandas-dtype"),
    ("week3a", "q1", {"load_tf_data": load_tf_data_loadtxt_f32}, "loadtxt-dtype"),
    (
        "week3a",
        "q4",
        {
            "train_model": in_float32(ref3a.train_model),
            "test_model": in_float32(ref3a.test_model),
        },
        "cast",
    ),
    ("week3a", "q6", {"score_peaks": in_float32(ref3a.score_peaks)}, "cast"),
    ("week3b", "q1", {"sweep_config": in_float32(ref3b.sweep_config)}, "cast"),
    ("week3b", "q2", {"train_sweep": in_float32(ref3b.train_sweep)}, "cast"),
    ("week3b", "q3", {"run_sweep": run_sweep_f32}, "cast-score"),
]


@pytest.mark.parametrize(
    ("week", "question", "overrides"),
    [pytest.param(w, q, o, id=f"{w}-{q}-{i}") for w, q, o, i in FLOAT32_FORMS],
)
def test_float32_form_of_the_reference_gets_full_marks(week, question, overrides):
    result = grade(week, question, **overrides)
    assert all(c.passed for c in result), failures(result)


def test_every_question_without_a_dtype_contract_has_a_float32_form():
    """The forms above cover the weeks' questions but the ones the module
    docstring names (graded by dtype, integer-valued, or text)."""
    graded_by_dtype_or_without_floats = {
        ("week1", "q7"),
        ("week1", "q8"),
        ("week2", "q2"),
        ("week2", "q3"),
        ("week2", "q6"),
        ("week3a", "q2"),
        ("week3a", "q3"),
        ("week3a", "q5"),
    }
    covered = {(w, q) for w, q, _, _ in FLOAT32_FORMS}
    every = {(w, q) for w in REFERENCES for q in questions(w)}
    assert covered == every - graded_by_dtype_or_without_floats


# ================================================================== wrong, in float32
def scores_doubled_f32(seq_path, score_path):
    seq_df, scores_df = load_tf_data_pandas_f32(seq_path, score_path)
    return seq_df, scores_df * np.float32(2)


def scores_binarised_f32(seq_path, score_path):
    seq_df, scores_df = load_tf_data_pandas_f32(seq_path, score_path)
    return seq_df, (scores_df > 0).astype("float32")


def normal_equation_intercept_f32(X, y):
    ones = np.ones((len(X), 1))
    beta = np.linalg.lstsq(np.hstack([X, ones]), y, rcond=None)[0]
    return beta[: X.shape[1]].astype(np.float32)


def gradient_half_f32(X, y, beta):
    return (0.5 * ref1.mse_gradient(X, y, beta)).astype(np.float32)


def conv_flipped_f32(signal, kernel):
    return np.convolve(signal, kernel, "valid").astype(np.float32)


def score_per_copy_f32(seqs):
    bonus = lambda s, m: float(s.count(m))  # noqa: E731 - a one-line variant
    return motif_score(seqs, bonus=bonus).astype(np.float32)


def scan_flipped_f32(seq, pwm):
    return ref2.pwm_scan(seq, np.asarray(pwm)[::-1]).astype(np.float32)


def score_int(seqs):
    return ref2.score_seqs_motif(seqs).astype(np.int64)  # truncates 19.625 to 19


def conv_float16(signal, kernel):
    return ref2.conv1d_valid(signal, kernel).astype(np.float16)


def reversed_peaks_f32(train_seqs, train_labels, test_seqs, seed=0):
    return -ref3a.score_peaks(train_seqs, train_labels, test_seqs, seed).astype(
        np.float32
    )


def train_sweep_best_f32(config, logger, data=None, device=None):
    """Returns best_pearsonr (in float32) instead of test_avg_pearsonr."""

    class Spy:
        def __init__(self, inner):
            self.inner, self.best = inner, None

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def log(self, metrics, *args, **kwargs):
            if isinstance(metrics, dict) and "best_pearsonr" in metrics:
                self.best = metrics["best_pearsonr"]
            return self.inner.log(metrics, *args, **kwargs)

    spy = Spy(logger)
    ref3b.train_sweep(config, spy, data=data, device=device)
    return np.float32(spy.best)


# (week, question, overrides, phrase the message must hold, phrases it must not hold)
FORBIDDEN = ("dtype float32", "float64", "sep=", "index")
WRONG_IN_FLOAT32 = [
    ("week1", "q1", {"normal_equation": normal_equation_intercept_f32}, "intercept"),
    ("week1", "q3", {"mse_gradient": gradient_half_f32}, "exactly half"),
    ("week2", "q1", {"conv1d_valid": conv_flipped_f32}, "kernel is flipped"),
    ("week2", "q4", {"score_seqs_motif": score_per_copy_f32}, "at most once"),
    ("week2", "q5", {"pwm_scan": scan_flipped_f32}, "PWM is flipped"),
    ("week3a", "q1", {"load_tf_data": scores_binarised_f32}, "binarised"),
    ("week3a", "q1", {"load_tf_data": scores_doubled_f32}, "without rescaling"),
    ("week3a", "q6", {"score_peaks": reversed_peaks_f32}, "ranking is reversed"),
    ("week3b", "q2", {"train_sweep": train_sweep_best_f32}, "that is best_pearsonr"),
]


@pytest.mark.parametrize(
    ("week", "question", "overrides", "phrase"),
    [
        pytest.param(w, q, o, p, id=f"{w}-{q}-{i}")
        for i, (w, q, o, p) in enumerate(WRONG_IN_FLOAT32)
    ],
)
def test_wrong_answer_in_float32_loses_with_its_real_mistake(
    week, question, overrides, phrase
):
    result = grade(week, question, **overrides)
    text = failures(result)
    assert not all(c.passed for c in result)
    assert phrase in text, text
    assert not any(word in text for word in FORBIDDEN), text


def test_an_integer_answer_is_told_it_cannot_hold_fractions():
    text = failures(grade("week2", "q4", score_seqs_motif=score_int))
    assert "dtype int64, which cannot hold the fractional values" in text, text


def test_a_float16_answer_is_told_it_keeps_too_few_digits():
    text = failures(grade("week2", "q1", conv1d_valid=conv_float16))
    assert "float16, which keeps about 3 significant digits" in text, text


def test_the_one_hot_dtype_is_still_graded_where_the_contract_fixes_it():
    def one_hot_f64(seq):
        return ref2.one_hot_encode(seq).astype(np.float64)

    text = failures(grade("week2", "q3", one_hot_encode=one_hot_f64))
    assert "one-hot matrices are float32" in text, text


# ================================================================== the helper
def test_tolerance_is_loosened_for_float32_only():
    expected = np.array([0.0, 1e-3, 250.0])
    tolerance, rtol32 = helpers.tolerance, helpers.FLOAT32_RTOL
    assert tolerance(False, expected, 1e-9, 1e-12) == (1e-9, 1e-12)
    rtol, atol = tolerance(True, expected, 1e-9, 1e-12)
    assert rtol == rtol32 and math.isclose(atol, rtol32 * 250.0)
    assert tolerance(True, expected, 1e-3, 1.0) == (1e-3, 1.0)  # already looser


def test_matches_grades_float32_at_float32_precision_and_nothing_looser():
    expected = np.random.default_rng(0).normal(scale=10.0, size=1000)
    matches = helpers.matches
    assert matches(expected.astype(np.float32), expected, 1e-12, 1e-12)
    assert not matches(
        expected.astype(np.float32).astype(np.float64), expected, 1e-9, 0
    )
    assert not matches((expected * (1 + 1e-4)).astype(np.float32), expected, 1e-9, 0)
    assert matches(np.float32(0.1), 0.1, 1e-12, 0.0)
