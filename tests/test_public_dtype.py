"""The students' public tests follow the course's dtype policy.

The policy (``gene46100/selfcheck/README.md``, "dtypes"; the hidden checks in
``gene46100/checks/helpers.py``): a dtype is graded only where it is the point of the
question (one-hot matrices and week 3a's dataset items are float32, model outputs are
float32 tensors); elsewhere a float32 answer equal to the reference at float32
precision earns full points. So the self-check (``grader.check("qN")`` and
``pytest <week>``, both ``voice.check_question`` on ``assignments/<week>/tests/qN.py``)
must pass the reference whose answers come back in float32, as it passes the plain
reference: a public test that demands float64 (or a Python ``float`` where a numpy
float32 scalar is as good) contradicts the grade the student will get.

Not here, graded by dtype on purpose: week 2 q3 (one-hot float32), week 3a q2
(dataset items float32 tensors) and the models (week 1 q7, week 2 q6, week 3a q3).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import in_float32

from gene46100.selfcheck import voice
from gene46100_ref import week1 as ref1
from gene46100_ref import week2 as ref2
from gene46100_ref import week3a as ref3a

REPO = Path(__file__).resolve().parent.parent
REFERENCES = {"week1": ref1, "week2": ref2, "week3a": ref3a}

# (week, question): every public test whose answer has a float32 form.
QUESTIONS = [
    ("week1", "q1"),  # normal_equation: array
    ("week1", "q2"),  # mse_loss: scalar
    ("week1", "q3"),  # mse_gradient: array
    ("week1", "q4"),  # gradient_descent: array
    ("week1", "q5"),  # max_stable_lr: scalar
    ("week1", "q6"),  # sgd: array
    ("week1", "q9"),  # train: list of scalars
    ("week1", "q10"),  # fit_linear_vs_mlp: dict of scalars
    ("week2", "q1"),  # conv1d_valid: array
    ("week2", "q4"),  # score_seqs_motif: array (kmers: strings, unchanged)
    ("week2", "q5"),  # pwm_scan: array
    ("week2", "q7"),  # train_model: two lists of scalars
    ("week2", "q8"),  # get_filter_activations: array
    ("week3a", "q4"),  # train_model: lists of scalars; test_model: arrays
    ("week3a", "q6"),  # score_peaks: array
]


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def public_test(week: str, question: str) -> Path:
    return REPO / "assignments" / week / "tests" / f"{question}.py"


def env_for(week: str, question: str, wrap: Callable[[Callable], Callable]) -> dict:
    """The names the public test takes, from the week's reference, each ``wrap``-ped."""
    from otter.test_files import ExceptionTestFile

    cases = ExceptionTestFile.from_file(str(public_test(week, question))).test_cases
    names = {name for case in cases for name in case.body._get_func_params()}
    module = REFERENCES[week]
    env = {name: getattr(module, name) for name in names}
    assert env, f"{week} {question}: the public test takes no names"
    return {
        name: func if inspect.isclass(func) else wrap(func)
        for name, func in env.items()
    }


def plain(func: Callable) -> Callable:
    return func


@pytest.mark.parametrize(
    "form", [pytest.param(plain, id="float64"), pytest.param(in_float32, id="float32")]
)
@pytest.mark.parametrize(("week", "question"), QUESTIONS)
def test_public_test_passes_the_reference_in_float64_and_float32(
    week: str, question: str, form: Callable
):
    env = env_for(week, question, form)
    result = voice.check_question(str(public_test(week, question)), env)
    assert result["status"] == "passed", voice.verdict(question, result)


def test_float32_answers_really_come_back_in_float32():
    """The wrapper does what the test above relies on (arrays, scalars, containers)."""
    gd = env_for("week1", "q4", in_float32)["gradient_descent"]
    assert gd(np.eye(2), np.ones(2), lr=0.25, n_steps=2).dtype == np.float32
    loss = env_for("week1", "q2", in_float32)["mse_loss"](np.ones(2), np.zeros(2))
    assert isinstance(loss, np.float32) and not isinstance(loss, float)


def conv1d_flipped_f32(signal: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """True convolution (the kernel flipped), in float32: wrong, whatever its dtype."""
    return np.convolve(signal, kernel, mode="valid").astype(np.float32)


# (week, question, env, words the failure message must hold): answers the loosened
# public tests still refuse, each told its real mistake.
STILL_REFUSED = [
    pytest.param(
        "week1",
        "q1",
        {"normal_equation": lambda X, y: np.array([1, 2])},
        ["float64 (numpy's default) or float32", "got dtype int64"],
        id="integer-array",
    ),
    pytest.param(
        "week1",
        "q2",
        {"mse_loss": lambda y_hat, y: torch.tensor(4.0 / 3.0)},
        ["should return a float", "got Tensor"],
        id="tensor-loss",
    ),
    pytest.param(
        "week1",
        "q2",
        {"mse_loss": lambda y_hat, y: np.float32(2.0 / 3.0)},
        ["that is half of it"],
        id="float32-half-loss",
    ),
    pytest.param(
        "week2",
        "q1",
        {"conv1d_valid": conv1d_flipped_f32},
        ["flipped kernel"],
        id="float32-flipped-kernel",
    ),
]


@pytest.mark.parametrize(("week", "question", "env", "words"), STILL_REFUSED)
def test_public_test_still_refuses_wrong_answers_and_names_the_mistake(
    week: str, question: str, env: dict, words: list[str]
):
    result = voice.check_question(str(public_test(week, question)), env)
    assert result["status"] == "failed", result
    for word in words:
        assert word in result["message"], result["message"]
