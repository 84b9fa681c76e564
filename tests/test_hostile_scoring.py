"""Whatever the sandbox sends back, against the trusted reader and scorers.

The sandbox encodes any value a student returns, and hostile code (see
``hostile_corpus.py``) can write anything where results go. The reader must refuse
links, FIFOs, compression bombs and JSON nested too deep, quickly and as malformed
results (the submission is then flagged); every week-1 scorer must turn any
schema-valid value into failed checks with a message, never raise (a crash would
cost the whole submission an ``internal_error``) and never pass everything.
"""

from __future__ import annotations

import json
import os
import time
import zipfile

import numpy as np
import pytest

from gene46100 import checks
from gene46100.checks import Check
from gene46100.contract.results import (
    Outcome,
    QuestionRun,
    ResultFormatError,
    Value,
    read_question_results,
)

QUESTIONS = checks.questions("week1")


def array(data, type_="numpy.ndarray", kind="ndarray", dtype=None) -> Value:
    data = np.asarray(data)
    return Value(kind, type_, data, dtype=dtype or str(data.dtype), shape=data.shape)


FAKES: dict[str, Value] = {
    "none": Value("py", "NoneType", None),
    "string": Value("py", "str", "the answer"),
    "huge_float": Value("py", "float", 1e308),
    "nan": Value("py", "float", float("nan")),
    "other_object": Value("other", "__main__.AlwaysEqual"),
    "empty_list": Value("list", "list", []),
    "list_of_objects": Value("list", "list", [Value("other", "x")] * 3),
    "nested_tuple": Value(
        "tuple", "tuple", [Value("tuple", "tuple", [Value("py", "float", 1.0)])]
    ),
    "dict_of_junk": Value(
        "dict",
        "dict",
        {"linear_mse": Value("other", "x"), "mlp_mse": Value("py", "str", "0")},
    ),
    "dict_of_infinities": Value(
        "dict",
        "dict",
        {
            "linear_mse": Value("py", "float", float("inf")),
            "mlp_mse": Value("py", "float", float("-inf")),
        },
    ),
    "empty_array": array(np.zeros((0,))),
    "complex_array": array(np.ones(3, complex)),
    "bool_array": array(np.ones(3, bool)),
    "big_matrix": array(np.ones((300, 300))),
    "nan_array": array(np.full(3, np.nan)),
    "tensor_with_bad_dtype": Value(
        "tensor",
        "torch.Tensor",
        np.ones(3, np.float32),
        dtype="not-a-dtype",
        shape=(3,),
        device=None,
    ),
    "spoofed_scalar": array(2.0, "numpy.Spoof", "npscalar"),
}
ERRORS = {
    "MemoryError": "",
    "SystemExit": "0",
    "KeyboardInterrupt": "",
    "MissingName": "f is not defined",
    "ValueError": "x" * 300,
}


def outcomes(question: str, fake: Value | str) -> dict[str, Outcome]:
    plan = PLANS[question]
    if isinstance(fake, str):  # an error type
        return {
            p["id"]: Outcome(
                p["id"], False, error_type=fake, error_message=ERRORS[fake]
            )
            for p in plan.probes
        }
    return {p["id"]: Outcome(p["id"], True, fake, fake) for p in plan.probes}


PLANS = {n: q.plan(checks.question_rng("week1", n)) for n, q in QUESTIONS.items()}
HEAVY = {"q9"}  # its scorer trains the reference model on every call


@pytest.mark.parametrize(
    "question",
    [
        pytest.param(q, marks=[pytest.mark.slow] if q in HEAVY else [])
        for q in QUESTIONS
    ],
)
def test_scorers_turn_any_result_into_failed_checks(question):
    q = QUESTIONS[question]
    for name, fake in [*FAKES.items(), *((e, e) for e in ERRORS)]:
        results = q.score(QuestionRun("ok", outcomes(question, fake)), PLANS[question])
        assert results and all(isinstance(c, Check) for c in results), name
        assert not all(c.passed for c in results), f"{question} passes on {name}"
        assert all(c.message for c in results if not c.passed), name
    missing = q.score(QuestionRun("ok", {}), PLANS[question])
    assert not any(c.passed for c in missing)


# ------------------------------------------------------------------ the reader
GOOD = {
    "question": "q1",
    "outcomes": [
        {
            "id": "a",
            "ok": True,
            "value": {
                "kind": "ndarray",
                "type": "numpy.ndarray",
                "dtype": "float64",
                "shape": [2],
                "key": "a.value",
            },
        }
    ],
}


def npz_bomb(path, expanded: int) -> None:
    """A small .npz whose one array declares ``expanded`` bytes of zeros."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = (expanded // 8,)
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf,
        zf.open("a.value.npy", "w", force_zip64=True) as member,
    ):
        np.lib.format.write_array_header_1_0(member, header)
        chunk = bytes(2**22)
        for _ in range(expanded // len(chunk)):
            member.write(chunk)


def plant(out, kind: str) -> None:
    json_path, npz_path = out / "q1.json", out / "q1.npz"
    if kind != "json_link" and kind != "json_fifo" and kind != "deep_json":
        json_path.write_text(json.dumps(GOOD))
    if kind not in ("npz_bomb", "npz_link", "npz_fifo", "npz_pickle"):
        np.savez(npz_path, **{"a.value": np.ones(2)})
    {
        "json_link": lambda: os.symlink("/dev/zero", json_path),
        "json_fifo": lambda: os.mkfifo(json_path),
        "deep_json": lambda: json_path.write_text("[" * 100_000 + "]" * 100_000),
        "npz_link": lambda: os.symlink("/dev/zero", npz_path),
        "npz_fifo": lambda: os.mkfifo(npz_path),
        "npz_bomb": lambda: npz_bomb(npz_path, 512 * 2**20),
        "npz_pickle": lambda: np.savez(npz_path, **{"a.value": np.array([{}, 1])}),
        "nested_values": lambda: json_path.write_text(
            json.dumps(
                {**GOOD, "outcomes": [{"id": "a", "ok": True, "value": deep_value(40)}]}
            )
        ),
    }.get(kind, lambda: None)()


def deep_value(depth: int) -> dict:
    value = {"kind": "py", "type": "float", "value": 1.0}
    for _ in range(depth):
        value = {"kind": "list", "type": "list", "items": [value]}
    return value


def test_reader_accepts_a_plain_result(tmp_path):
    plant(tmp_path, "plain")
    assert read_question_results(tmp_path, "q1")["a"].value.shape == (2,)


@pytest.mark.parametrize(
    "kind",
    [
        "json_link",
        "json_fifo",
        "deep_json",
        "npz_link",
        "npz_fifo",
        "npz_bomb",
        "npz_pickle",
        "nested_values",
    ],
)
def test_reader_refuses_traps_quickly(tmp_path, kind):
    plant(tmp_path, kind)
    started = time.monotonic()
    with pytest.raises(ResultFormatError):
        read_question_results(tmp_path, "q1")
    assert time.monotonic() - started < 5


def test_reader_redacts_decimals_in_student_error_text(tmp_path):
    message = (
        "X=[2.0661625574287847, -0.36, 1e-07] has shape (37, 3) at rows 3, 17, 42."
    )
    (tmp_path / "q1.json").write_text(
        json.dumps(
            {
                "question": "q1",
                "outcomes": [
                    {
                        "id": "a",
                        "ok": False,
                        "error": {"type": "ValueError", "message": message},
                    }
                ],
            }
        )
    )
    shown = read_question_results(tmp_path, "q1")["a"].error_message
    assert shown == "X=[<numbers>] has shape (37, 3) at rows 3, 17, 42."


# ------------------------------------------------------------------ static flags
ORDINARY = """beta: np.ndarray = np.zeros(3)
os.environ["OMP_NUM_THREADS"] = "1"
torch.backends.cudnn.deterministic = True
model.eval()
pattern = re.compile(r"\\d+")
if np.allclose(a, b) and x == np.pi:
    sys.path.append("..")
total = sum(p.numel() for p in model.parameters())"""

HOSTILE = {
    "json.dump = evil": "patches the interpreter",
    "frame = exc.__traceback__.tb_frame": "patches the interpreter",
    "torch.Tensor.__eq__ = lambda a, b: True": "fakes comparisons",
    "open('../job.json').read()": "reaches for the grader",
    "fd = int(sys.argv[2])": "reaches for the grader",
    "otter.Notebook.check = lambda *a: True": "reaches for the grader",
    "os.closerange(3, 99)": "controls the process",
    "getattr(__import__('o' + 's'), '_exit')(0)": "hides what it runs",
}


def test_tamper_scan_spares_ordinary_code_and_names_tricks():
    from gene46100.grader import tamper

    assert tamper.scan([{"index": 0, "source": ORDINARY}], set()) == []
    for line, what in HOSTILE.items():
        flags = tamper.scan([{"index": 3, "source": line}], set())
        assert any(what in f for f in flags), (line, flags)
