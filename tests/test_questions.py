"""The contract of every graded question of every week, read from the registry.

For each (week, question) of ``course.WEEKS`` and ``checks.questions(week)``: it is
registered in the master's order with the master's budget; its plan crosses the
sandbox boundary as plain data and draws fresh inputs per grading seed; the
reference earns full marks, twice identically; a ``NotImplementedError`` stub and
an empty namespace earn zero, saying so; garbage answers never crash scoring nor
earn full marks; every known-wrong answer (``known_wrong()`` in the question's own
module, ``gene46100/checks/<week>/q<NN>_*.py``) fails and is told its mistake, and
every question has at least ``MIN_KNOWN_WRONG`` of them.

Nothing here lists questions, counts or budgets: a question added to a master and
built is covered. A question with no ``names`` is graded on the submission's files
(week 3a's predict.py): its reference, stub and empty submissions are folders, made
from the week's example submissions (``course.Week.examples``).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from gene46100 import course
from gene46100.build.examples import companion_bytes
from gene46100.checks import (
    Check,
    question_modules,
    question_rng,
    questions,
    run_inprocess,
    week_modules,
)
from gene46100.checks.known import KnownWrong

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py

MIN_KNOWN_WRONG = 3  # every question of every week


def known_wrong(week: str, question: str) -> list[KnownWrong]:
    """The known-wrong answers a question's module lists (``known_wrong()``)."""
    module = question_modules(week)[question]
    return module.known_wrong() if hasattr(module, "known_wrong") else []


def graded() -> list[tuple[str, str]]:
    return [(w, q) for w in course.WEEKS for q in questions(w)]


def params(
    *, slow: bool = True, keep=lambda week, q: True
) -> list[pytest.ParameterSet]:
    """One parameter per graded question; ``slow``: those whose reference trains for
    seconds (``Question.slow_reference``) are marked slow."""
    return [
        pytest.param(
            w,
            q,
            id=f"{w}-{q}",
            marks=[pytest.mark.slow] if slow and questions(w)[q].slow_reference else [],
        )
        for w, q in graded()
        if keep(w, q)
    ]


def on_files(week: str, question: str) -> bool:
    """Graded on the submission's files (a script), not on notebook names."""
    return not questions(week)[question].names


def with_names(week: str, question: str) -> bool:
    return not on_files(week, question)


def reference(week: str) -> dict:
    """The reference module's definitions, as a notebook's globals hold them."""
    module = importlib.import_module(f"gene46100_ref.{week}")
    return {n: v for n, v in vars(module).items() if not n.startswith("__")}


def grade(
    week: str,
    question: str,
    overrides: dict | None = None,
    workdir: Path | None = None,
) -> list[Check]:
    """Grade the reference namespace with some names replaced."""
    return run_inprocess(
        week,
        question,
        {**reference(week), **(overrides or {})},
        workdir=str(workdir) if workdir else None,
    )


def failures(result: list[Check]) -> str:
    return "\n".join(f"[{c.name}] {c.message}" for c in result if not c.passed)


def submission_folder(week: str, folder: Path, *, complete: bool = True) -> Path:
    """The companion files of the week's complete example with full marks
    (``complete``), else of its untouched release, written to ``folder``."""
    example = next(
        e
        for e in course.week(week).examples
        if e.files and e.answers == complete and not e.loses
    )
    for name, source in example.files.items():
        (folder / name).write_bytes(
            companion_bytes(source, week, course.REPO, course.REPO)
        )
    return folder


# ========================================================== registry and plans
@pytest.mark.parametrize("week", course.WEEKS)
def test_questions_are_registered_in_the_masters_order_with_its_budgets(week):
    built = course.autograded(week)  # autograder/<week>/assignment.json
    registered = questions(week)
    assert list(registered) == [q["name"] for q in built]
    assert {n: q.timeout_s for n, q in registered.items()} == {
        q["name"]: float(q["budget"]) for q in built
    }
    assert all(not q.manual for q in registered.values())


def probe_names(plan) -> set[str]:
    names = {p["call"] for p in plan.probes if "call" in p}
    return names | {
        p["object"]["$new"] for p in plan.probes if "$new" in p.get("object", {})
    }


@pytest.mark.parametrize(("week", "question"), params(slow=False))
def test_plan_crosses_the_boundary_as_plain_data_and_calls_its_names(week, question):
    q = questions(week)[question]
    plan = q.plan(question_rng(week, question))
    json.dumps(plan.probes)  # numpy scalars would break the sandbox's job.json
    assert plan.probes
    assert all(isinstance(a, np.ndarray) for a in plan.arrays.values())
    assert all(isinstance(b, bytes) for b in plan.files.values())
    called = probe_names(plan)
    adapters = {n for n in called if n.startswith("_grader_")}
    assert called - adapters <= set(q.names), (called, q.names)
    # A name no probe calls is called by the question's grader adapters.
    for name in set(q.names) - called:
        assert adapters and re.search(rf"\b{name}\b", q.adapters), name


def differs(one, two) -> bool:
    """Whether two plans send different probes, arrays or files."""
    if (
        json.dumps(one.probes) != json.dumps(two.probes)
        or one.arrays.keys() != two.arrays.keys()
        or one.files != two.files
    ):
        return True
    return any(not np.array_equal(one.arrays[k], two.arrays[k]) for k in one.arrays)


def has_inputs(plan) -> bool:
    """Whether a plan sends anything hidden (q1 of week 3b asks for a config only)."""
    return bool(
        plan.arrays
        or plan.files
        or any(p.get("args") or p.get("kwargs") for p in plan.probes)
    )


@pytest.mark.parametrize(("week", "question"), params(slow=False))
def test_plan_draws_fresh_inputs_from_the_grading_rng(week, question):
    q = questions(week)[question]
    one = q.plan(question_rng(week, question, seed=1))
    assert not differs(one, q.plan(question_rng(week, question, seed=1)))
    if has_inputs(one):
        assert differs(one, q.plan(question_rng(week, question, seed=2)))


# ========================================================== reference, stubs
@pytest.mark.parametrize(("week", "question"), params())
def test_reference_gets_full_marks_and_grading_is_deterministic(
    week, question, tmp_path
):
    workdir = submission_folder(week, tmp_path) if on_files(week, question) else None
    first = grade(week, question, workdir=workdir)
    assert first and all(c.passed for c in first), failures(first)
    assert grade(week, question, workdir=workdir) == first


def stub(question: str, name: str, original: object) -> object:
    """What the release holds for ``name``: a function that raises
    ``NotImplementedError``, or a class (same bases as the reference's, nothing of
    its own) whose constructor raises it."""
    message = f"{question}: implement {name}"

    def not_yet(*args, **kwargs):
        raise NotImplementedError(message)

    if isinstance(original, type):
        return type(name, original.__bases__, {"__init__": not_yet})
    return not_yet


@pytest.mark.parametrize(("week", "question"), params())
def test_stub_fails_every_check_with_not_implemented_yet(week, question, tmp_path):
    if on_files(week, question):  # the released script template
        folder = submission_folder(week, tmp_path, complete=False)
        result = grade(week, question, workdir=folder)
        assert result and not any(c.passed for c in result)
        assert "NotImplementedError" in failures(result), failures(result)
        return
    ref = reference(week)
    names = questions(week)[question].names
    result = grade(week, question, {n: stub(question, n, ref[n]) for n in names})
    assert result and not any(c.passed for c in result)
    assert all("not implemented yet" in c.message for c in result), failures(result)


@pytest.mark.parametrize(("week", "question"), params(slow=False))
def test_empty_namespace_fails_every_check_with_not_defined(week, question, tmp_path):
    result = run_inprocess(week, question, {}, workdir=str(tmp_path))
    assert result and not any(c.passed for c in result)
    if on_files(week, question):  # nothing handed in beside the notebook
        assert "was not found" in failures(result), failures(result)
    else:
        assert all("not defined" in c.message for c in result), failures(result)


# ========================================================== garbage
GARBAGE = [
    None,
    "x",
    [1.0, 2.0],
    np.zeros((5, 5, 5)),
    np.array([np.nan]),
    torch.tensor(1.0),
    {"a": 1},
    {"linear_mse": 1.0, "mlp_mse": [1]},
    10**30,
    (1, 2),
]


def returning(value: object, original: object) -> object:
    """An answer that returns ``value``: a function, or a subclass of the reference
    class whose own methods (forward, __getitem__...) all return it."""
    if isinstance(original, type):
        own = {
            n: (lambda *args, **kwargs: value)
            for n, v in vars(original).items()
            if callable(v) and n not in ("__init__", "__len__")
        }
        return type(f"Garbage{original.__name__}", (original,), own)
    return lambda *args, **kwargs: value


# Scoring that crashes on some garbage today: a bug in the week's checks module, to
# fix there (the test then passes, and strict xfail says to remove the entry).
# Questions whose scoring is known to crash on garbage (none now; week 3a q2's
# batch check did, and was fixed when this suite found it).
CRASHES_ON_GARBAGE: dict[tuple[str, str], str] = {}


def garbage_params() -> list[pytest.ParameterSet]:
    out = []
    for p in params(keep=with_names):
        reason = CRASHES_ON_GARBAGE.get(tuple(p.values))
        marks = [*p.marks]
        if reason:
            marks.append(
                pytest.mark.xfail(reason=reason, raises=ValueError, strict=True)
            )
        out.append(pytest.param(*p.values, id=p.id, marks=marks))
    return out


@pytest.mark.parametrize(("week", "question"), garbage_params())
def test_garbage_answers_never_crash_scoring_or_score_full_marks(week, question):
    ref = reference(week)
    names = questions(week)[question].names
    for value in GARBAGE:
        wrong = {n: returning(value, ref[n]) for n in names}
        result = grade(week, question, wrong)  # a crash would lose the whole question
        assert not all(c.passed for c in result), (question, value)
        assert all(c.message for c in result if not c.passed)


# ========================================================== known-wrong answers
def wrong_params() -> list[pytest.ParameterSet]:
    return [
        pytest.param(
            w,
            q,
            entry,
            id=f"{w}-{q}-{entry.id}",
            marks=[pytest.mark.slow] if entry.slow else [],
        )
        for w, q in graded()
        for entry in known_wrong(w, q)
    ]


def hidden_values(week: str, question: str) -> list[str]:
    """Renderings of hidden inputs that feedback must never quote: the first values
    of each hidden array (6 digits) and the first strings of hidden tables."""
    plan = questions(week)[question].plan(question_rng(week, question))
    out = []
    for array in plan.arrays.values():
        if array.dtype.kind in "fiu":
            for value in np.asarray(array, dtype=float).ravel()[:50]:
                if abs(value) > 1e-3 and value != round(value):
                    out.append(f"{value:.6g}")
    facts = plan.facts
    tables = (
        [getattr(facts, f.name) for f in dataclasses.fields(facts)]
        if (dataclasses.is_dataclass(facts))
        else []
    )
    for table in [*tables, *plan.context.values()]:
        if isinstance(table, pd.DataFrame):
            for column in table.select_dtypes(include="object"):
                out += [str(v) for v in table[column].iloc[:50]]
    return out


@pytest.mark.parametrize(("week", "question", "wrong"), wrong_params())
def test_known_wrong_answer_fails_and_is_told_its_mistake(
    week, question, wrong, tmp_path, monkeypatch
):
    modules = [question_modules(week)[question], *week_modules(week)]
    for attr, value in wrong.settings.items():
        for module in [m for m in modules if hasattr(m, attr)]:
            current = getattr(module, attr)
            if isinstance(current, dict) and isinstance(value, dict):
                for key, item in value.items():
                    monkeypatch.setitem(current, key, item)
            else:
                monkeypatch.setattr(module, attr, value)
    workdir = None
    if on_files(week, question) or wrong.workdir:
        workdir = submission_folder(week, tmp_path)
        if wrong.workdir:
            wrong.workdir(workdir)
    result = grade(week, question, wrong.overrides, workdir)
    text = failures(result)
    assert not all(c.passed for c in result), wrong.id
    phrases = (wrong.phrase,) if isinstance(wrong.phrase, str) else wrong.phrase
    if wrong.check is None:
        said = text
    else:
        by_name = {c.name: c for c in result}
        assert wrong.check in by_name, f"no check {wrong.check!r}: {sorted(by_name)}"
        assert not by_name[wrong.check].passed, f"{wrong.check!r} passed\n{text}"
        said = by_name[wrong.check].message
    for phrase in phrases:
        assert phrase in said, f"{phrase!r} not in:\n{said}"
    for value in hidden_values(week, question):
        assert value not in text, (question, value)


@pytest.mark.parametrize(("week", "question"), params(slow=False))
def test_every_question_has_known_wrong_answers_about_its_names(week, question):
    entries = known_wrong(week, question)
    assert len(entries) >= MIN_KNOWN_WRONG, (week, question, len(entries))
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids)), ids
    names = set(questions(week)[question].names)
    for entry in entries:
        assert set(entry.overrides) <= names, entry.id
