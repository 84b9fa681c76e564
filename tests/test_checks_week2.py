"""The week 2 hidden tests, judged on answers whose grade we know.

Every question: the reference gets full marks (twice, identically); a
``NotImplementedError`` stub and an empty namespace fail every check with a message
saying so; at least three typical wrong answers per question fail and are told which
mistake they made; an independent completion (examples/answers/week2_independent.py)
gets full marks. q7's behaviour threshold is justified by the reference's numbers over
several seeds (see ``test_q7_threshold_has_a_margin_over_seeds``).
"""

from __future__ import annotations

import copy
import json
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gene46100.checks import (
    GRADING_SEED,
    Check,
    question_rng,
    questions,
    run_inprocess,
)
from gene46100.checks import week2 as checks
from gene46100_ref import week2 as ref
from gene46100_ref.seeding import seeded_torch

QUESTIONS = [f"q{i}" for i in range(1, 9)]
NAMES = (
    "conv1d_valid",
    "conv_output_length",
    "conv1d_param_count",
    "one_hot_encode",
    "kmers",
    "score_seqs_motif",
    "pwm_scan",
    "DNA_CNN",
    "train_model",
    "get_filter_activations",
)
REFERENCE = {name: getattr(ref, name) for name in NAMES}
INDEPENDENT = (
    Path(__file__).resolve().parent.parent / "examples/answers/week2_independent.py"
)


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def grade(question: str, **overrides: object) -> list[Check]:
    """Grade the reference namespace with some names replaced."""
    return run_inprocess("week2", question, {**REFERENCE, **overrides})


def failures(checks_: list[Check]) -> str:
    return "\n".join(f"[{c.name}] {c.message}" for c in checks_ if not c.passed)


@pytest.fixture()
def small_q7(monkeypatch):
    """A short behaviour run for q7 variants whose mistake shows in curves or modes."""
    monkeypatch.setitem(checks.BEHAVIOUR, "n_train", 1_000)
    monkeypatch.setitem(checks.BEHAVIOUR, "epochs", 1)


# ========================================================== registry and plans
def test_all_eight_questions_are_registered_in_order_with_budgets():
    registered = questions("week2")
    assert list(registered) == QUESTIONS
    budgets = {q: registered[q].timeout_s for q in QUESTIONS}
    assert budgets == {**{q: 10.0 for q in QUESTIONS}, "q7": 60.0, "q8": 20.0}


def probe_names(plan) -> set[str]:
    names = {p["call"] for p in plan.probes if "call" in p}
    return names | {
        p["object"]["$new"] for p in plan.probes if "$new" in p.get("object", {})
    }


@pytest.mark.parametrize("question", QUESTIONS)
def test_plan_crosses_the_boundary_as_json_and_arrays_only(question):
    plan = questions("week2")[question].plan(question_rng("week2", question))
    json.dumps(plan.probes)  # numpy scalars would break the sandbox's job.json
    assert plan.probes and all(isinstance(a, np.ndarray) for a in plan.arrays.values())
    assert probe_names(plan) == set(questions("week2")[question].names)


def differs(one, two) -> bool:
    if (
        json.dumps(one.probes) != json.dumps(two.probes)
        or one.arrays.keys() != two.arrays.keys()
    ):
        return True
    return any(not np.array_equal(one.arrays[k], two.arrays[k]) for k in one.arrays)


@pytest.mark.parametrize("question", QUESTIONS)
def test_plan_draws_fresh_inputs_from_the_grading_rng(question):
    q = questions("week2")[question]
    one = q.plan(question_rng("week2", question, seed=1))
    assert differs(one, q.plan(question_rng("week2", question, seed=2)))
    assert not differs(one, q.plan(question_rng("week2", question, seed=1)))


# ========================================================== reference, stubs
@pytest.mark.parametrize("question", QUESTIONS)
def test_reference_gets_full_marks_and_grading_is_deterministic(question):
    first = grade(question)
    assert all(c.passed for c in first), failures(first)
    assert grade(question) == first


def stub(question: str, name: str):
    def not_yet(*args, **kwargs):
        raise NotImplementedError(f"{question}: implement {name}")

    return not_yet


class StubCNN(nn.Module):
    def __init__(self, *args, **kwargs) -> None:
        raise NotImplementedError("q6: implement DNA_CNN")


@pytest.mark.parametrize("question", QUESTIONS)
def test_stub_fails_every_check_with_not_implemented_yet(question):
    names = questions("week2")[question].names
    stubs = {n: StubCNN if n == "DNA_CNN" else stub(question, n) for n in names}
    result = grade(question, **stubs)
    assert result and not any(c.passed for c in result)
    assert all("not implemented yet" in c.message for c in result), failures(result)


@pytest.mark.parametrize("question", QUESTIONS)
def test_empty_namespace_fails_every_check_with_not_defined(question):
    result = run_inprocess("week2", question, {})
    assert result and not any(c.passed for c in result)
    assert all("not defined" in c.message for c in result), failures(result)


# ========================================================== wrong answers: q1, q2
def conv_flipped(signal, kernel):
    return np.convolve(signal, kernel, "valid").astype(float)


def conv_short(signal, kernel):
    k = len(kernel)
    return np.array([signal[i : i + k] @ kernel for i in range(len(signal) - k)])


def conv_same(signal, kernel):
    return np.correlate(signal, kernel, "same").astype(float)


def conv_mean(signal, kernel):
    return ref.conv1d_valid(signal, kernel) / len(kernel)


def length_no_plus_one(L, k, stride=1, padding=0):
    return (L + 2 * padding - k) // stride


def length_padding_once(L, k, stride=1, padding=0):
    return (L + padding - k) // stride + 1


def length_float(L, k, stride=1, padding=0):
    return (L + 2 * padding - k) / stride + 1


def length_ignores_stride(L, k, stride=1, padding=0):
    return L + 2 * padding - k + 1


def params_no_bias(in_ch, out_ch, k, bias=True):
    return out_ch * in_ch * k


def params_bias_per_input(in_ch, out_ch, k, bias=True):
    return out_ch * in_ch * k + (in_ch if bias else 0)


def params_always_bias(in_ch, out_ch, k, bias=True):
    return out_ch * in_ch * k + out_ch


# ========================================================== wrong answers: q3
def onehot_with(
    alphabet: str = "ACGT",
    n_value: float = 0.0,
    lower: bool = True,
    message: str = "positions",
    dtype=np.float32,
    transpose: bool = False,
):
    """A one-hot encoder with switchable mistakes."""

    def one_hot_encode(seq):
        bad = [
            (i, c)
            for i, c in enumerate(seq)
            if (c.upper() if lower else c) not in alphabet + "N"
        ]
        if bad:
            text = {
                "positions": f"bad {[c for _, c in bad]} at {[i for i, _ in bad]}",
                "chars": f"invalid characters {[c for _, c in bad]}",
                "one-based": f"bad {[c for _, c in bad]} at {[i + 1 for i, _ in bad]}",
            }[message]
            raise ValueError(text)
        out = np.zeros((len(seq), 4), dtype=dtype)
        for i, c in enumerate(seq):
            c = c.upper()
            if c == "N":
                out[i] = n_value
            else:
                out[i, alphabet.index(c)] = 1
        return out.T if transpose else out

    return one_hot_encode


def onehot_zero_for_bad(seq):
    return np.array(
        [[float(c == b) for b in "ACGT"] for c in seq.upper()], dtype=np.float32
    ).reshape(len(seq), 4)


def onehot_keyerror(seq):
    table = {"A": 0, "C": 1, "G": 2, "T": 3}
    out = np.zeros((len(seq), 4), dtype=np.float32)
    for i, c in enumerate(seq.upper()):
        if c != "N":
            out[i, table[c]] = 1.0
    return out


# ========================================================== wrong answers: q4
def kmers_first_fastest(k):
    return ["".join(reversed(p)) for p in ref.kmers(k)]


def kmers_atgc(k):
    import itertools

    return ["".join(p) for p in itertools.product("ATGC", repeat=k)]


def kmers_tuples(k):
    import itertools

    return list(itertools.product("ACGT", repeat=k))


def score_per_copy(seqs):
    return checks.motif_score(seqs, bonus=lambda s, m: float(s.count(m)))


def score_gcg_plus(seqs):
    return checks.motif_score(seqs, gcg=10.0)


def score_sum(seqs):
    return checks.motif_score(seqs, mean=False)


# ========================================================== wrong answers: q5
def scan_flipped(seq, pwm):
    return ref.pwm_scan(seq, np.asarray(pwm)[::-1])


def scan_atgc(seq, pwm):
    return ref.pwm_scan(seq, np.asarray(pwm)[:, checks.ATGC_COLUMNS])


def scan_n_average(seq, pwm):
    pwm = np.asarray(pwm, float)
    x = ref.one_hot_encode(seq).astype(float)
    x[[c in "Nn" for c in seq]] = 0.25
    k = len(pwm)
    return np.array([np.sum(x[i : i + k] * pwm) for i in range(len(seq) - k + 1)])


def scan_short(seq, pwm):
    return ref.pwm_scan(seq, pwm)[:-1]


# ========================================================== wrong answers: q6
class VariantCNN(nn.Module):
    """The right layers; subclasses change one step of forward."""

    def __init__(self, seq_len, num_filters=32, kernel_size=3):
        super().__init__()
        self.conv = nn.Conv1d(4, num_filters, kernel_size)
        self.fc = nn.Linear(num_filters * (seq_len - kernel_size + 1), 1)

    def arrange(self, x):
        return x.permute(0, 2, 1)

    def act(self, h):
        return torch.relu(h)

    def finish(self, z):
        return z

    def forward(self, x):
        h = self.act(self.conv(self.arrange(x)))
        return self.finish(self.fc(h.flatten(1)))


class CNNReshape(VariantCNN):
    def arrange(self, x):
        return x.reshape(x.shape[0], 4, x.shape[1])


class CNNNoPermute(VariantCNN):
    def arrange(self, x):
        return x


class CNNNoReLU(VariantCNN):
    def act(self, h):
        return h


class CNNSqueezed(VariantCNN):
    def finish(self, z):
        return z.squeeze(1)


class CNNFlattenByPosition(VariantCNN):
    def forward(self, x):
        h = torch.relu(self.conv(x.permute(0, 2, 1)))
        return self.fc(h.permute(0, 2, 1).flatten(1))


class CNNMaxPool(VariantCNN):
    def __init__(self, seq_len, num_filters=32, kernel_size=3):
        super().__init__(seq_len, num_filters, kernel_size)
        self.fc = nn.Linear(num_filters * ((seq_len - kernel_size + 1) // 2), 1)

    def forward(self, x):
        h = F.max_pool1d(torch.relu(self.conv(x.permute(0, 2, 1))), 2)
        return self.fc(h.flatten(1))


class CNNWrongNames(nn.Module):
    def __init__(self, seq_len, num_filters=32, kernel_size=3):
        super().__init__()
        self.conv1 = nn.Conv1d(4, num_filters, kernel_size)
        self.linear = nn.Linear(num_filters * (seq_len - kernel_size + 1), 1)

    def forward(self, x):
        return self.linear(torch.relu(self.conv1(x.permute(0, 2, 1))).flatten(1))


# ========================================================== wrong answers: q7
def train_loop(
    model,
    train_dl,
    val_dl,
    lr=0.01,
    epochs=10,
    device=None,
    *,
    zero_grad=True,
    weighted=True,
    val_eval=True,
    val_no_grad=True,
    reset_train=True,
    copy_model=False,
    fixed_lr=None,
):
    """A training loop with switchable mistakes."""
    if copy_model:
        model = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=fixed_lr or lr)
    train_losses, val_losses = [], []
    model.train()
    for _ in range(epochs):
        if reset_train:
            model.train()
        batches = []
        for x, y in train_dl:
            if zero_grad:
                opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            batches.append((loss.item(), len(x)))
        if val_eval:
            model.eval()
        with torch.set_grad_enabled(not val_no_grad):
            val = [(F.mse_loss(model(x), y).item(), len(x)) for x, y in val_dl]
        for curve, items in ((train_losses, batches), (val_losses, val)):
            if weighted:
                curve.append(sum(v * n for v, n in items) / sum(n for _, n in items))
            else:
                curve.append(sum(v for v, _ in items) / len(items))
    return train_losses, val_losses


def train_variant(**flags):
    def train_model(model, train_dl, val_dl, lr=0.01, epochs=10, device=None):
        return train_loop(model, train_dl, val_dl, lr, epochs, device, **flags)

    return train_model


def train_tensor_losses(model, train_dl, val_dl, lr=0.01, epochs=10, device=None):
    curves = ref.train_model(model, train_dl, val_dl, lr, epochs, device)
    return [torch.tensor(v) for v in curves[0]], curves[1]


# ========================================================== wrong answers: q8
def activations_variant(**flags):
    def get_filter_activations(seqs, conv_layer, act_thresh=0):
        state = {k: v.detach().numpy() for k, v in conv_layer.state_dict().items()}
        return checks.activation_counts(seqs, state, act_thresh, **flags)

    return get_filter_activations


def activations_transposed(seqs, conv_layer, act_thresh=0):
    return ref.get_filter_activations(seqs, conv_layer, act_thresh).transpose(0, 2, 1)


WRONG = [
    ("q1", {"conv1d_valid": conv_flipped}, "true convolution", "flipped-kernel"),
    ("q1", {"conv1d_valid": conv_short}, "one output short", "length-off-by-one"),
    ("q1", {"conv1d_valid": conv_same}, "'same' padding", "same-mode"),
    ("q1", {"conv1d_valid": conv_mean}, "averaged", "mean-not-sum"),
    ("q2", {"conv_output_length": length_no_plus_one}, "off by one", "length-no-+1"),
    ("q2", {"conv_output_length": length_padding_once}, "both ends", "padding-once"),
    ("q2", {"conv_output_length": length_float}, "should be an int", "true-division"),
    (
        "q2",
        {"conv_output_length": length_ignores_stride},
        "stride is ignored",
        "ignores-stride",
    ),
    ("q2", {"conv1d_param_count": params_no_bias}, "biases are missing", "no-bias"),
    (
        "q2",
        {"conv1d_param_count": params_bias_per_input},
        "per input channel",
        "bias-per-input",
    ),
    (
        "q2",
        {"conv1d_param_count": params_always_bias},
        "bias=False was ignored",
        "ignores-bias-flag",
    ),
    (
        "q3",
        {"one_hot_encode": onehot_with(alphabet="ATGC")},
        "A, T, G, C order",
        "atgc-order",
    ),
    (
        "q3",
        {"one_hot_encode": onehot_with(transpose=True)},
        "that is (4, L)",
        "transposed",
    ),
    ("q3", {"one_hot_encode": onehot_with(n_value=0.25)}, "0.25", "n-quarter"),
    (
        "q3",
        {"one_hot_encode": onehot_with(lower=False)},
        "accept lowercase",
        "no-lowercase",
    ),
    (
        "q3",
        {"one_hot_encode": onehot_with(message="chars")},
        "0-based positions",
        "message-without-positions",
    ),
    (
        "q3",
        {"one_hot_encode": onehot_with(message="one-based")},
        "1-based",
        "one-based-positions",
    ),
    (
        "q3",
        {"one_hot_encode": onehot_zero_for_bad},
        "must raise ValueError",
        "silent-zeros",
    ),
    ("q3", {"one_hot_encode": onehot_keyerror}, "KeyError", "keyerror"),
    ("q3", {"one_hot_encode": onehot_with(dtype=np.float64)}, "float32", "float64"),
    (
        "q4",
        {"kmers": kmers_first_fastest},
        "first letter changes fastest",
        "kmers-order",
    ),
    ("q4", {"kmers": kmers_atgc}, "A, T, G, C alphabet", "kmers-atgc"),
    ("q4", {"kmers": kmers_tuples}, "''.join", "kmers-tuples"),
    ("q4", {"score_seqs_motif": score_per_copy}, "at most once", "bonus-per-copy"),
    ("q4", {"score_seqs_motif": score_gcg_plus}, "should subtract 10", "gcg-sign"),
    ("q4", {"score_seqs_motif": score_sum}, "summed", "sum-not-mean"),
    ("q5", {"pwm_scan": scan_flipped}, "flipped", "flipped-pwm"),
    ("q5", {"pwm_scan": scan_atgc}, "A, T, G, C order", "atgc-columns"),
    ("q5", {"pwm_scan": scan_n_average}, "adds 0", "n-average"),
    ("q5", {"pwm_scan": scan_short}, "last window is missing", "windows-off-by-one"),
    ("q6", {"DNA_CNN": CNNReshape}, "permute", "reshape-not-permute"),
    ("q6", {"DNA_CNN": CNNNoPermute}, "Permute the input", "no-permute"),
    ("q6", {"DNA_CNN": CNNNoReLU}, "ReLU between conv and fc is missing", "no-relu"),
    ("q6", {"DNA_CNN": CNNSqueezed}, "squeezed", "squeezed"),
    ("q6", {"DNA_CNN": CNNFlattenByPosition}, "h.flatten(1)", "flatten-order"),
    ("q6", {"DNA_CNN": CNNMaxPool}, "fc has the wrong number of inputs", "maxpool"),
    ("q6", {"DNA_CNN": CNNWrongNames}, "self.conv and self.fc", "wrong-names"),
    (
        "q8",
        {
            "get_filter_activations": activations_variant(
                fires=lambda a, t: np.maximum(a, 0) > t
            )
        },
        "after the ReLU",
        "post-relu",
    ),
    (
        "q8",
        {"get_filter_activations": activations_variant(fires=lambda a, t: a >= t)},
        "(>, not >=)",
        "greater-equal",
    ),
    (
        "q8",
        {"get_filter_activations": activations_variant(bias=False)},
        "bias was left out",
        "no-bias",
    ),
    (
        "q8",
        {"get_filter_activations": activations_variant(rows=checks.ATGC_COLUMNS)},
        "A, T, G, C order",
        "atgc-rows",
    ),
    (
        "q8",
        {"get_filter_activations": activations_transposed},
        "that is (num_filters, k, 4)",
        "transposed",
    ),
]

# q7's mistakes show in the curves or in the spy's record, so a short behaviour run
# (the ``small_q7`` fixture) keeps these tests quick; "copies the model" is a
# behaviour mistake and runs in full below.
WRONG_Q7 = [
    ({"zero_grad": False}, "opt.zero_grad()", "no-zero-grad"),
    ({"weighted": False}, "batch-size-weighted", "unweighted-means"),
    ({"val_eval": False}, "validation pass ran in training mode", "val-train-mode"),
    ({"val_no_grad": False}, "with gradients enabled", "val-with-grad"),
    (
        {"reset_train": False},
        "model.train() at the start of every epoch",
        "no-train-reset",
    ),
    ({"fixed_lr": 0.01}, "learning rate argument was ignored", "ignores-lr"),
]


@pytest.mark.parametrize(
    ("question", "overrides", "phrase"),
    [pytest.param(q, o, p, id=f"{q}-{name}") for q, o, p, name in WRONG],
)
def test_wrong_answer_fails_and_is_told_its_mistake(question, overrides, phrase):
    result = grade(question, **overrides)
    assert not all(c.passed for c in result)
    assert phrase in failures(result), failures(result)
    assert_no_hidden_values(question, failures(result))


@pytest.mark.parametrize(
    ("flags", "phrase"),
    [pytest.param(f, p, id=f"q7-{name}") for f, p, name in WRONG_Q7],
)
def test_wrong_training_loop_fails_and_is_told_its_mistake(small_q7, flags, phrase):
    result = grade("q7", train_model=train_variant(**flags))
    assert not all(c.passed for c in result)
    assert phrase in failures(result), failures(result)
    assert_no_hidden_values("q7", failures(result))


def test_tensor_losses_are_named(small_q7):
    result = grade("q7", train_model=train_tensor_losses)
    assert "loss.item()" in failures(result), failures(result)


def test_training_a_copy_fails_the_behaviour_checks_with_a_reason():
    result = {
        c.name: c for c in grade("q7", train_model=train_variant(copy_model=True))
    }
    r2 = result[
        f"a DNA_CNN it trains reaches R^2 >= {checks.R2_THRESHOLD} on held-out 8-mers"
    ]
    assert not r2.passed and "did not change" in r2.message
    assert not result["the trained CNN beats the best linear model"].passed
    # The curves come from the copy, so they are right: partial credit stays.
    assert result["both curves match the reference from the same weights"].passed


def assert_no_hidden_values(question: str, text: str) -> None:
    """No hidden input value appears in the feedback (as a 6-digit rendering)."""
    plan = questions("week2")[question].plan(question_rng("week2", question))
    for array in plan.arrays.values():
        for value in np.asarray(array, dtype=float).ravel()[:50]:
            if abs(value) > 1e-3 and value != round(value):
                assert f"{value:.6g}" not in text, (question, value)


GARBAGE = [
    None,
    "x",
    [1.0, 2.0],
    np.zeros((5, 5, 5)),
    np.array([np.nan]),
    torch.tensor(1.0),
    {"a": 1},
    10**30,
    (1, 2),
]


def returning(value: object):
    return lambda *args, **kwargs: value


def cnn_returning(value: object) -> type[nn.Module]:
    class GarbageCNN(VariantCNN):
        def forward(self, x):
            return value

    return GarbageCNN


@pytest.mark.parametrize("question", QUESTIONS)
def test_garbage_answers_never_crash_scoring_or_score_full_marks(question):
    names = questions("week2")[question].names
    for value in GARBAGE:
        wrong = {
            n: cnn_returning(value) if n == "DNA_CNN" else returning(value)
            for n in names
        }
        result = grade(question, **wrong)  # a crash here would lose the whole question
        assert not all(c.passed for c in result), (question, value)
        assert all(c.message for c in result if not c.passed)


def test_every_question_has_at_least_three_diagnosed_wrong_answers():
    counts = {q: sum(1 for w in WRONG if w[0] == q) for q in QUESTIONS}
    counts["q7"] = len(WRONG_Q7) + 2
    assert min(counts.values()) >= 3, counts


def test_a_wrong_one_hot_or_convolution_costs_only_its_own_question():
    """q5 and q8 swap in the reference one_hot_encode (and conv1d_valid)."""
    namespace: dict = {}
    exec(NOTEBOOK_WITH_WRONG_BASICS, namespace)  # functions share one namespace
    for question in ("q1", "q3"):
        assert not all(c.passed for c in run_inprocess("week2", question, namespace))
    for question in ("q5", "q8"):
        result = run_inprocess("week2", question, namespace)
        assert all(c.passed for c in result), failures(result)
    # The swap is undone afterwards: the student's own one_hot_encode is graded again.
    assert "A, T, G, C" in failures(run_inprocess("week2", "q3", namespace))


NOTEBOOK_WITH_WRONG_BASICS = """
import numpy as np
import torch


def conv1d_valid(signal, kernel):
    return np.convolve(signal, kernel, "valid").astype(float)  # flipped


def one_hot_encode(seq):
    out = np.zeros((len(seq), 4), dtype=np.float32)
    for i, c in enumerate(seq.upper()):
        if c in "ATGC":
            out[i, "ATGC".index(c)] = 1.0  # A, T, G, C order
        elif c != "N":
            raise ValueError(f"bad {c!r} at {i}")
    return out


def pwm_scan(seq, pwm):
    x = one_hot_encode(seq)
    return sum(conv1d_valid(x[:, c], pwm[:, c]) for c in range(4))


def get_filter_activations(seqs, conv_layer, act_thresh=0):
    w = conv_layer.weight
    nf, _, k = w.shape
    counts = np.zeros((nf, 4, k))
    for s in seqs:
        x = torch.tensor(one_hot_encode(s).T)[None]
        with torch.no_grad():
            act = conv_layer(x)[0].numpy()
        for f in range(nf):
            for i in range(act.shape[1]):
                if act[f, i] > act_thresh:
                    counts[f] += x[0, :, i : i + k].numpy()
    return counts
"""


# ========================================================== independent answers
def independent() -> dict:
    return runpy.run_path(str(INDEPENDENT))


@pytest.mark.parametrize("question", QUESTIONS)
def test_independent_completion_gets_full_marks(question):
    result = run_inprocess("week2", question, independent())
    assert all(c.passed for c in result), failures(result)


# ========================================================== thresholds
def reference_r2(seed: int) -> tuple[float, float]:
    """The reference's held-out R^2 and the best linear model's, as q7 measures them."""
    rng = question_rng("week2", "q7", seed)
    checks.spy_case(rng)  # the plan draws the spy case first
    fit = checks.behaviour_case(rng)
    b = checks.BEHAVIOUR
    with seeded_torch(0):
        model = checks.load(ref.DNA_CNN(8), fit["state"])
    ref.train_model(
        model,
        checks.make_loader(fit["x"], fit["y"], b["batch"]),
        checks.make_loader(fit["xv"], fit["yv"], b["val_batch"]),
        lr=b["lr"],
        epochs=b["epochs"],
        device="cpu",
    )
    with torch.no_grad():
        preds = model(torch.from_numpy(fit["xt"])).numpy().ravel()
    return checks.r2_score(fit["yt"], preds), checks.linear_r2(fit)


@pytest.mark.slow
def test_q7_threshold_has_a_margin_over_seeds():
    """R^2 >= 0.75 needs real training yet leaves room for correct loops.

    Measured with the reference (1 thread, 5,000 SGD steps, 5-10 CPU s each):
    grading seed 46100: R^2 0.954 (linear 0.287); seeds 0-15: 0.833, 0.932, 0.937,
    0.947, 0.938, 0.949, 0.906, 0.941, 0.941, 0.919, 0.910, 0.942, 0.928, 0.934,
    0.923, 0.936 (median 0.935; linear 0.251-0.290). SGD at lr
    0.01 oscillates from epoch to epoch (the course saw validation MSE swing between
    0.85 and 2.2), so the final R^2 of a correct loop varies by seed and by rounding;
    the worst seed still clears 0.75 by 0.08, while the best linear model stays
    below 0.3 (a CNN that learned nothing beyond base composition fails).
    Here: the grading seed and two others, each >= threshold + 0.05.
    """
    for seed in (GRADING_SEED, 1, 2):
        r2, linear = reference_r2(seed)
        assert r2 >= checks.R2_THRESHOLD + 0.05, (seed, r2)
        assert linear < checks.R2_THRESHOLD - 0.4, (seed, linear)


def test_q8_tat_filter_counts_exactly_the_tat_windows():
    seqs = ["TATATG", "CCTATC", "GGGGGG", "TTATTT"]
    state = checks.motif_layer()
    counts = checks.activation_counts(seqs, state, 2.0)
    n_tat = sum(s[i : i + 3] == "TAT" for s in seqs for i in range(len(s) - 2))
    np.testing.assert_array_equal(counts[0], n_tat * ref.one_hot_encode("TAT").T)
