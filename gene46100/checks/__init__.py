"""Hidden tests (trusted side): fresh inputs, reference outputs, teaching diagnostics.

Each graded question is one module, ``checks/<week>/q<NN>_<topic>.py``, that defines
one ``Question`` (its plan, its scoring, its known wrong variants and the table of
known-wrong answers the project's tests use); ``checks/<week>/common.py`` holds what
several of a week's questions share. The registry (``questions``) finds the modules
by themselves: adding a question is adding its module. Simple questions (a function
of plain arrays compared with the reference) use the short form, ``checks.simple``.
Grading has two phases so that student code and the reference never share a process:

1. ``plan(rng)`` (trusted) draws fresh inputs and returns probes: which notebook
   function to call on which arrays. Only these inputs enter the sandbox.
2. The sandbox runs the probes and returns plain data (``grader.outcome.Outcome``).
3. ``score(run)`` (trusted) compares with the reference and returns ``Check``s.

``run_inprocess`` does all three in one process (the project's own tests, and the
Otter/Gradescope autograder, whose hidden tests already run inside the student's
kernel); ``gene46100 grade`` splits them across the sandbox boundary.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import importlib.util
import inspect
import pkgutil
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from gene46100 import course, pyast
from gene46100.checks.reference import CallStore, references_of
from gene46100.contract.plan import Plan
from gene46100.contract.results import Outcome, QuestionRun, Value

GRADING_SEED = course.GRADING_SEED


@dataclass(frozen=True)
class Check:
    """One graded claim about a question, with a message that teaches when it fails."""

    name: str
    passed: bool
    message: str = ""
    weight: float = 1.0


class Mismatch(Exception):
    """Raised inside a check helper; its message is shown to the student."""


class Question:
    """Base class for one graded question. Subclasses set the class attributes."""

    name: ClassVar[str]
    names: ClassVar[tuple[str, ...]]  # notebook names the question calls
    manual: ClassVar[bool] = False
    # Reference definitions swapped in while this question is tested, so that an
    # earlier mistake (say in mse_gradient) does not also sink gradient_descent.
    provides: ClassVar[tuple[str, ...]] = ()
    # Grader-written helpers defined in the sandbox for this question's probes only
    # (e.g. building a DataFrame from hidden arrays, or turning a returned DataFrame
    # into arrays the trusted side can read). Source code; names start with _grader_.
    adapters: ClassVar[str] = ""
    # Its reference trains for seconds: the project's heavy tests of it are marked
    # slow (the fast lane still plans, stubs and empties it).
    slow_reference: ClassVar[bool] = False

    @property
    def week(self) -> str:
        """The week whose package defines this question (``checks.<week>.q<NN>_*``)."""
        return type(self).__module__.split(".")[2]

    @property
    def timeout_s(self) -> float:
        """CPU seconds for the question's probes: its budget in the course registry
        (``course.Week.budgets``), the one place budgets are stated."""
        return course.week(self.week).budgets[self.name]

    def plan(self, rng: np.random.Generator) -> Plan:
        raise NotImplementedError

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        raise NotImplementedError

    def prepare(self, plan: Plan) -> None:
        """Compute now what scoring will need whatever the submission did (the
        reference's outputs, through ``plan.memo``): the batch calls it in the
        background while the first sandboxes run. Nothing to do by default."""


# ------------------------------------------------------------------ adapters
def adapter_source(*objects: Any, header: str = "") -> str:
    """``Question.adapters`` from grader-written functions and classes: ``header``
    (imports under ``_grader`` names) plus the source of each object.

    Adapters are defined as ordinary code in ``checks/<week>/`` so that their
    source is the one thing both sides agree on; the trusted side never calls them.
    """
    return header + "\n\n".join(inspect.getsource(o) for o in objects)


def adapter_call(name: str, *args: Any, **kwargs: Any) -> dict:
    """The argument form for what adapter ``name`` returns in the sandbox."""
    return {"$call": name, "args": list(args), "kwargs": kwargs}


# ------------------------------------------------------------------ check helpers
def outcome_value(run: QuestionRun, probe_id: str, what: str) -> Value:
    """The value a probe returned, or ``Mismatch`` saying why there is none."""
    outcome = run.outcomes.get(probe_id)
    if outcome is None:
        raise Mismatch(f"{what}: no result came back")
    if not outcome.ok:
        raise Mismatch(failure_text(what, outcome))
    return outcome.value


def failure_text(what: str, outcome: Outcome) -> str:
    """A failed probe in a student's words: a stub is "not implemented yet", a name
    the notebook never defined says so (no internal exception names)."""
    if outcome.not_implemented:
        return f"{what}: not implemented yet"
    if outcome.error_type == "MissingName":
        return f"{what}: {outcome.error_message}"
    return f"{what} raised {outcome.error_type}: {outcome.error_message}"


def script_output(run: QuestionRun, probe_id: str, name: str, what: str) -> bytes:
    """The bytes of file ``name`` a script probe wrote, or ``Mismatch`` saying why
    there are none (script missing, failed, wrote nothing, too large)."""
    outcome = run.outcomes.get(probe_id)
    if outcome is None:
        raise Mismatch(f"{what}: no result came back")
    if not outcome.ok:
        raise Mismatch(
            f"{what}: {outcome.error_message}"
            if outcome.error_type in ("MissingName", "ScriptMissing")
            else f"{what} could not be run ({outcome.error_type}: "
            f"{outcome.error_message})"
        )
    value = outcome.value
    items = value.data if value.kind == "dict" else {}
    code = items.get("returncode")
    if code is None or code.data != 0:
        stderr = items.get("stderr")
        tail = stderr.data if stderr is not None and stderr.kind == "py" else ""
        raise Mismatch(
            f"{what} exited with status {code.data if code else '?'}"
            + (f"; the end of its error output: {tail}" if tail else "")
        )
    outputs = items.get("outputs")
    data = (
        outputs.data.get(name)
        if outputs is not None and outputs.kind == "dict"
        else None
    )
    if data is None or data.kind != "ndarray" or data.dtype != "uint8":
        raise Mismatch(f"{what} did not write {name} (or it was larger than the limit)")
    return np.asarray(data.data, dtype=np.uint8).tobytes()


def outcome_then(run: QuestionRun, probe_id: str, what: str) -> Value:
    """The value of a probe's ``then`` call (e.g. a trained model's predictions)."""
    outcome_value(run, probe_id, what)  # the main call's errors come first
    then = run.outcomes[probe_id].then
    if then is None:
        raise Mismatch(f"{what}: no result came back from the follow-up call")
    return then


def expect_raises(
    run: QuestionRun, probe_id: str, what: str, accepted: tuple[str, ...], returned: str
) -> str:
    """Require that a probe raised one of ``accepted`` (exception class names).

    ``returned`` is the message when the probe returned a value instead. A stub
    (``NotImplementedError``) or a missing name never counts as the right error.
    """
    outcome = run.outcomes.get(probe_id)
    if outcome is None:
        raise Mismatch(f"{what}: no result came back")
    if outcome.ok:
        raise Mismatch(returned)
    if outcome.not_implemented:
        raise Mismatch(f"{what}: not implemented yet")
    if outcome.error_type == "MissingName":
        raise Mismatch(f"{what}: {outcome.error_message}")
    if outcome.error_type not in accepted:
        raise Mismatch(
            f"{what} raised {outcome.error_type}; it should raise "
            f"{' or '.join(accepted)}"
        )
    return outcome.error_type


def expect_array(
    value: Value,
    what: str,
    shape: tuple[int, ...] | None = None,
    kinds: str = "fiu",
    types: tuple[str, ...] = ("numpy.ndarray",),
) -> np.ndarray:
    """Check exact type, then dtype kind, then shape; return the data as float64."""
    if value.type not in types:
        raise Mismatch(f"{what} should be a {' or '.join(types)}; got {value.type}")
    if value.dtype is None or np.dtype(value.data.dtype).kind not in kinds:
        wanted = "a floating-point" if kinds == "f" else "a numeric"
        raise Mismatch(f"{what} has dtype {value.dtype}; expected {wanted} dtype")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise Mismatch(
            f"{what} should have shape {tuple(shape)}; got {tuple(value.shape)}"
        )
    return np.asarray(value.data, dtype=np.float64)


def expect_number(value: Value, what: str, integer: bool = False) -> float:
    """Accept a Python or numpy scalar (or 0-d array) and return it as a float."""
    allowed = ("int",) if integer else ("float", "int")
    if value.kind == "py" and value.type in allowed:
        return float(value.data)
    if value.kind == "npscalar" or (
        value.kind in ("ndarray", "tensor") and value.shape == ()
    ):
        kind = np.dtype(value.data.dtype).kind
        if kind in ("iu" if integer else "fiu"):
            return float(value.data)
    wanted = "an int" if integer else "a float"
    raise Mismatch(f"{what} should be {wanted}; got {value.type}")


def close(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> bool:
    return bool(
        np.all(np.isfinite(got) == np.isfinite(expected))
        and np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    )


def diff_summary(got: np.ndarray, expected: np.ndarray) -> str:
    """Largest absolute difference, without echoing hidden inputs."""
    with np.errstate(invalid="ignore"):
        diff = np.abs(np.asarray(got, float) - np.asarray(expected, float))
    worst = float(np.nanmax(diff)) if diff.size else 0.0
    return f"largest absolute difference {worst:.3g}"


def guarded(name: str, func, weight: float = 1.0) -> Check:
    """Run a check body that raises ``Mismatch`` on failure; return a ``Check``."""
    try:
        func()
    except Mismatch as exc:
        return Check(name, False, str(exc), weight)
    return Check(name, True, "", weight)


# ------------------------------------------------------------------ registry
# A question module's name: the question's name, zero-padded ("q3" -> "q03"), then
# what it is about: q03_gradient.py. Other modules of a week's package (common.py)
# hold what its questions share.
QUESTION_MODULE = re.compile(r"(?P<prefix>q\d+)_\w+")


class CheckLayoutError(Exception):
    """A week's checks package does not follow the layout (named file and fix)."""


def module_question_name(module_name: str) -> str | None:
    """The question a module of a week's package checks, from its name
    (``q03_gradient`` -> ``q3``), or None for a shared module (``common``)."""
    found = QUESTION_MODULE.fullmatch(module_name.rsplit(".", 1)[-1])
    return None if found is None else f"q{int(found['prefix'][1:])}"


def week_modules(week: str) -> list[ModuleType]:
    """Every module of a week's checks package (``common`` and each question's),
    imported, question modules in question order."""
    package = importlib.import_module(f"gene46100.checks.{week}")
    names = [m.name for m in pkgutil.iter_modules(package.__path__)]
    names.sort(key=lambda n: (n.startswith("q"), question_number(n), n))
    return [package] + [
        importlib.import_module(f"{package.__name__}.{n}") for n in names
    ]


def question_number(module_name: str) -> int:
    found = QUESTION_MODULE.fullmatch(module_name)
    return int(found["prefix"][1:]) if found else -1


def question_modules(week: str) -> dict[str, ModuleType]:
    """The question modules of a week, by the question each checks (from its name)."""
    found = {}
    for module in week_modules(week):
        name = module_question_name(module.__name__)
        if name is not None:
            found[name] = module
    return found


def question_class(module: ModuleType) -> type[Question]:
    """The one ``Question`` a question module defines.

    Raises:
        CheckLayoutError: none, several, or one whose ``name`` disagrees with the
            module's file name.
    """
    path = shown_path(module)
    classes = [
        v
        for v in vars(module).values()
        if isinstance(v, type)
        and issubclass(v, Question)
        and v.__module__ == module.__name__
        and "name" in vars(v)
    ]
    if len(classes) != 1:
        raise CheckLayoutError(
            f"{path} defines {len(classes)} Question classes with a name; a "
            "question module defines exactly one (see docs/authoring.md)"
        )
    expected = module_question_name(module.__name__)
    if classes[0].name != expected:
        raise CheckLayoutError(
            f"{path} checks {expected} by its file name, but its Question has "
            f"name = {classes[0].name!r}: rename one so they agree"
        )
    return classes[0]


def shown_path(module: ModuleType) -> str:
    """A module's file as an instructor finds it (relative to the checkout)."""
    path = Path(module.__file__ or module.__name__)
    root = Path(__file__).parents[2]
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def questions(assignment: str) -> dict[str, Question]:
    """The graded questions of an assignment, by name, in question order.

    Raises:
        course.UnknownWeek: for a week the course does not have.
        CheckLayoutError: a question module that breaks the layout.
        KeyError: when the built spec's autograded questions and the checks differ.
    """
    week = course.week(assignment)
    graded = {
        name: question_class(module)()
        for name, module in question_modules(week.name).items()
    }
    if set(graded) != set(week.budgets):
        raise KeyError(
            f"{week.name}: the master's autograded questions {sorted(week.budgets)} "
            f"differ from the hidden checks' {sorted(graded)}: run `make build`, "
            "or see docs/authoring.md"
        )
    return graded


def question_rng(
    assignment: str, question: str, seed: int = GRADING_SEED
) -> np.random.Generator:
    """The hidden-input RNG of a question: fixed per (seed, assignment, question)."""
    key = [seed, *map(ord, f"{assignment}/{question}")]
    return np.random.default_rng(key)


def provided_source(assignment: str, question: Question) -> str:
    """Source of the reference definitions a question swaps in (may be empty)."""
    if not question.provides and not question.adapters:
        return ""
    # Lazy annotations: a provided function may name notebook types (DataLoader...)
    # that the namespace it is defined in does not import.
    parts = [
        "from __future__ import annotations",
        "import numpy as np",
        "import torch",
        "from torch import nn",
    ]
    module = f"gene46100_ref.{assignment}"
    parts += [reference_source(module, name) for name in question.provides]
    if question.adapters:
        # dedent, not cleandoc: cleandoc would strip the body of a lone function
        # (its lines after the first are all indented) out of the function.
        parts.append(textwrap.dedent(question.adapters).strip())
    return "\n\n".join(parts)


def reference_source(module_name: str, name: str) -> str:
    """The source of reference definition ``name``: read from the module's file
    when it is defined there, so that the grading command need not import the
    module (and torch) to send it; else (imported from an earlier week) from the
    imported object."""
    source = top_level_sources(module_name).get(name)
    if source is None:
        source = inspect.getsource(getattr(importlib.import_module(module_name), name))
    return source


def top_level_sources(module_name: str) -> dict[str, str]:
    """Each top-level function and class of a module, by name, as ``inspect.
    getsource`` gives it (decorators included), parsed from its file unimported
    (once per version of the file: a rebuilt reference is read again)."""
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        return {}
    stat = Path(spec.origin).stat()
    return parsed_sources(spec.origin, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def parsed_sources(path: str, mtime_ns: int, size: int) -> dict[str, str]:
    """``top_level_sources`` of the file at ``path`` as of ``mtime_ns``/``size``."""
    text = Path(path).read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    sources = {}
    for node in pyast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            sources[node.name] = "".join(lines[first - 1 : node.end_lineno])
    return sources


def use_reference_store(assignment: str, store: CallStore | None) -> None:
    """Answer the week's plain-data reference calls from ``store`` (``grader.
    refcache.CallCache``) from now on; None: call the reference itself."""
    for module in week_modules(course.week(assignment).name):
        for reference in references_of(module):
            reference.store = store


def run_inprocess(
    assignment: str,
    question: str,
    namespace: dict,
    seed: int = GRADING_SEED,
    workdir: str | None = None,
) -> list[Check]:
    """Plan, execute the probes against ``namespace`` here, and score.

    ``workdir`` is where script probes run (the submission's files); default: cwd.
    """
    from gene46100.checks import inprocess

    q = questions(assignment)[question]
    plan = q.plan(question_rng(assignment, question, seed))
    with swapped_in(namespace, provided_source(assignment, q)):
        run = inprocess.execute(plan, namespace, workdir=workdir)
    return q.score(run, plan)


@contextlib.contextmanager
def swapped_in(namespace: dict, source: str) -> Iterator[None]:
    """Define ``source`` in ``namespace`` (the functions' own globals), then restore."""
    saved = dict(namespace)
    if source:
        exec(source, namespace)  # noqa: S102 - reference source, trusted
    try:
        yield
    finally:
        namespace.clear()
        namespace.update(saved)


def run_check(assignment: str, question: str, namespace: dict) -> None:
    """Otter hidden-test entry point: raise ``AssertionError`` with the feedback."""
    failed = [c for c in run_inprocess(assignment, question, namespace) if not c.passed]
    if failed:
        raise AssertionError("\n".join(f"- {c.message}" for c in failed))
