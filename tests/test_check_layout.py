"""One question, one module: the registry finds a week's question modules by
themselves, and refuses, naming the file, a module that breaks the layout.

A question module added beside the others (here in a temporary folder appended to
the week's package path, so the checkout is never touched) is a graded question:
nothing else lists it. Its build problems, and the short form's grading of it, are
checked as an instructor adding week 1's ``relu`` would meet them.
"""

from __future__ import annotations

import importlib
import sys
import textwrap

import nbformat
import numpy as np
import pytest

from gene46100 import build, checks
from gene46100.checks import (
    CheckLayoutError,
    inprocess,
    question_class,
    question_modules,
)
from gene46100.checks.simple import Cases

RELU = '''
"""week1 q@N@: ``relu`` against numpy (the short form)."""

import numpy as np

from gene46100.checks.simple import Case, FunctionQuestion


class Q@N@ReLU(FunctionQuestion):
    name = "q@N@"
    function = "relu"
    checks = {"matches max(0, z) on fresh arrays": 1.0}
    advice = "relu(z) is max(0, z), element by element"

    def cases(self, rng):
        return [Case(f"z{i}", (rng.normal(size=(3, 7)),)) for i in range(2)]

    def expected(self, z):
        return np.maximum(z, 0.0)

    def describe(self, z):
        return f"relu on a hidden array of shape {z.shape}"

    def variants(self, z):
        return [("that is abs(z); negative entries become 0", lambda: np.abs(z))]
'''


# Numbers no week-1 question has (an instructor may have added q11 for real).
N = max(int(name[1:]) for name in checks.questions("week1")) + 1


def relu(n: int = N) -> str:
    """The short-form relu question as question ``q{n}``."""
    return RELU.replace("@N@", str(n))


def module_file(n: int) -> str:
    return f"q{n:02d}_relu.py"


@pytest.fixture
def week1_with(tmp_path, monkeypatch):
    """Add question modules (file name -> source) to week 1's checks package."""
    package = importlib.import_module("gene46100.checks.week1")

    def add(files: dict[str, str]) -> None:
        for name, source in files.items():
            (tmp_path / name).write_text(textwrap.dedent(source))
        monkeypatch.setattr(package, "__path__", [*package.__path__, str(tmp_path)])

    yield add
    for name, module in list(sys.modules.items()):
        if str(tmp_path) in (getattr(module, "__file__", None) or ""):
            del sys.modules[name]  # the next test's folder has other modules


def test_every_week_is_one_module_per_question_named_after_it():
    for week in ("week1", "week2", "week3a", "week3b"):
        modules = question_modules(week)
        assert list(modules) == list(checks.questions(week))
        for name, module in modules.items():
            assert question_class(module).name == name
            assert module.__name__.rsplit(".", 1)[-1].startswith(
                f"q{int(name[1:]):02d}_"
            )


def test_a_new_question_module_is_found_and_graded_by_the_short_form(week1_with):
    week1_with({module_file(N): relu()})
    modules = question_modules("week1")
    assert list(modules)[-1] == f"q{N}"
    question = question_class(modules[f"q{N}"])()
    assert question.names == ("relu",) and question.week == "week1"

    plan = question.plan(checks.question_rng("week1", f"q{N}"))
    assert isinstance(plan.facts, Cases) and len(plan.probes) == 2
    right = inprocess.execute(plan, {"relu": lambda z: np.maximum(z, 0.0)})
    assert [c.passed for c in question.score(right, plan)] == [True]
    wrong = inprocess.execute(plan, {"relu": np.abs})
    (check,) = question.score(wrong, plan)
    assert not check.passed
    assert check.message.startswith("relu on a hidden array of shape (3, 7) is wrong")
    assert check.message.endswith("that is abs(z); negative entries become 0")
    transposed = inprocess.execute(plan, {"relu": lambda z: np.maximum(z, 0).T})
    (check,) = question.score(transposed, plan)
    assert "should have shape (3, 7); got (7, 3)" in check.message


def test_the_build_accepts_a_new_question_with_its_module(week1_with):
    master_spec = build.assignment_spec(
        "week1", nbformat.read(build.master_path("week1"), 4)
    )
    new = {"name": f"q{N}", "points": 1, "manual": False, "budget": 5, "topic": "ReLU"}
    master_spec["questions"].append(new)
    before = build.question_problems("week1", master_spec)
    assert (
        len(before) == 1
        and f"add gene46100/checks/week1/q{N:02d}_<topic>.py" in before[0]
    )
    week1_with({module_file(N): relu()})
    assert build.question_problems("week1", master_spec) == []


def test_a_module_whose_question_has_another_name_is_refused_naming_it(week1_with):
    week1_with({module_file(N + 1): relu(N)})  # the file says N + 1, the class N
    module = question_modules("week1")[f"q{N + 1}"]
    with pytest.raises(CheckLayoutError) as refused:
        question_class(module)
    said = str(refused.value)
    assert f"{module_file(N + 1)} checks q{N + 1} by its file name" in said
    assert f"name = 'q{N}'" in said


def test_a_module_with_two_questions_or_none_is_refused(week1_with):
    two = relu() + f"\n\nclass Again(Q{N}ReLU):\n    name = 'q{N}'\n"
    empty = f"q{N + 2:02d}_empty.py"
    week1_with({module_file(N): two, empty: '"""nothing yet"""\n'})
    modules = question_modules("week1")
    with pytest.raises(CheckLayoutError, match="defines 2 Question classes"):
        question_class(modules[f"q{N}"])
    with pytest.raises(CheckLayoutError, match=f"{empty} defines 0 Question"):
        question_class(modules[f"q{N + 2}"])


def test_the_short_forms_shape_check_gives_credit_for_the_right_length_alone():
    """Week 2 q5 grades shapes apart (1 point of 3): a flipped PWM keeps it, a
    scan one window short loses both checks, each with its own message."""
    from gene46100.checks import run_inprocess
    from gene46100_ref import week2 as ref

    def flipped(seq, pwm):
        return ref.pwm_scan(seq, np.asarray(pwm)[::-1])

    def short(seq, pwm):
        return ref.pwm_scan(seq, pwm)[:-1]

    namespace = {n: v for n, v in vars(ref).items() if not n.startswith("__")}
    shapes, values = run_inprocess("week2", "q5", {**namespace, "pwm_scan": flipped})
    assert (shapes.passed, shapes.weight) == (True, 1.0)
    assert not values.passed and "the PWM is flipped" in values.message
    shapes, values = run_inprocess("week2", "q5", {**namespace, "pwm_scan": short})
    assert not shapes.passed and not values.passed
    assert "last window is missing" in shapes.message
    assert shapes.message == values.message  # the same first wrong case
