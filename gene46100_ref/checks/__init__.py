"""Hidden tests (trusted side): fresh inputs, reference outputs, teaching diagnostics.

Each graded question is a ``Question`` in ``checks/<assignment>.py``. Grading has two
phases so that student code and the reference never share a process:

1. ``plan(rng)`` (trusted) draws fresh inputs and returns probes: which notebook
   function to call on which arrays. Only these inputs enter the sandbox.
2. The sandbox runs the probes and returns plain data (``grader.outcome.Outcome``).
3. ``score(run)`` (trusted) compares with the reference and returns ``Check``s.

``run_inprocess`` does all three in one process (the project's own tests, and the
Otter/Gradescope autograder, whose hidden tests already run inside the student's
kernel); ``gene46100 grade`` splits them across the sandbox boundary.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from gene46100_ref.grader.outcome import Outcome, QuestionRun, Value

ASSIGNMENTS = ("week1", "week2", "week3a", "week3b")
GRADING_SEED = 46100
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class Check:
    """One graded claim about a question, with a message that teaches when it fails."""

    name: str
    passed: bool
    message: str = ""
    weight: float = 1.0


@dataclass
class Plan:
    """Probes for the sandbox and the hidden input arrays they refer to."""

    probes: list[dict] = field(default_factory=list)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)  # trusted-only (never sent)
    files: dict[str, bytes] = field(default_factory=dict)  # hidden input files

    def file(self, name: str, data: bytes) -> dict:
        """Register a hidden input file (e.g. held-out sequences); return the argument
        that becomes its path in the sandbox. Inputs only: never labels or answers."""
        if not FILE_NAME.fullmatch(name):
            raise ValueError(f"hidden input file name {name!r} must match "
                             f"{FILE_NAME.pattern}")
        self.files[name] = bytes(data)
        return {"$file": name}

    def run_script(self, probe_id: str, script: str, args: list,
                   timeout_s: float = 60.0) -> str:
        """Probe: run the submission's ``script`` (e.g. ``predict.py``) with ``python``
        in the submission's directory. ``args`` may hold ``{"$file": name}`` (a hidden
        input) and ``{"$outfile": name}`` (a file the script writes). The outcome's
        value is ``{"returncode": int, "stderr": str (tail), "outputs": {name:
        uint8 array of the file's bytes, or None when missing or too large}}``."""
        for arg in args:
            if isinstance(arg, dict) and "$outfile" in arg and \
                    not FILE_NAME.fullmatch(arg["$outfile"]):
                raise ValueError(f"output file name {arg['$outfile']!r} is not plain")
        self.probes.append({"id": probe_id, "script": script, "args": list(args),
                            "timeout_s": float(timeout_s)})
        return probe_id

    def array(self, key: str, value: np.ndarray) -> dict:
        """Register a hidden input array; return the argument that refers to it."""
        self.arrays[key] = np.ascontiguousarray(value)
        return {"$array": key}

    def call_method(self, probe_id: str, obj: dict, method: str, *args: Any) -> str:
        """Probe a method of an object built in the sandbox (e.g. ``{"$new": "MLP"}``)."""
        self.probes.append({"id": probe_id, "object": obj, "method": method,
                            "args": list(args), "kwargs": {}})
        return probe_id

    def logger(self, name: str) -> dict:
        """A grader-owned experiment logger (``log``, ``watch``, ``finish``) that records
        its calls. Pass it to a notebook function; a later probe reads the record back
        with ``plan.call_method(id, plan.logger(name), "records")``."""
        return {"$logger": name}

    def logger_factory(self, name: str) -> dict:
        """A grader-owned ``make_logger(config)``: one recording logger per run; read
        back with the methods ``count`` and ``run_records(i)``."""
        return {"$loggers": name}

    def tensor(self, key: str, value: np.ndarray) -> dict:
        self.arrays[key] = np.ascontiguousarray(value)
        return {"$tensor": key}

    def call(self, probe_id: str, name: str, *args: Any, then: dict | None = None,
             **kwargs: Any) -> str:
        probe = {"id": probe_id, "call": name, "args": list(args), "kwargs": kwargs}
        if then is not None:
            probe["then"] = then
        self.probes.append(probe)
        return probe_id


class Mismatch(Exception):
    """Raised inside a check helper; its message is shown to the student."""


class Question:
    """Base class for one graded question. Subclasses set the class attributes."""

    name: ClassVar[str]
    names: ClassVar[tuple[str, ...]]  # notebook names the question calls
    timeout_s: ClassVar[float] = 10.0  # CPU budget for the question's probes
    manual: ClassVar[bool] = False
    # Reference definitions swapped in while this question is tested, so that an
    # earlier mistake (say in mse_gradient) does not also sink gradient_descent.
    provides: ClassVar[tuple[str, ...]] = ()
    # Files graded beside the notebook (e.g. ``("predict.py", "model_weights.pt")``):
    # intake picks them out of a student's folder or zip; they sit next to the
    # notebook (its working directory) in the sandbox.
    submitted_files: ClassVar[tuple[str, ...]] = ()
    # Grader-written helpers defined in the sandbox for this question's probes only
    # (e.g. building a DataFrame from hidden arrays, or turning a returned DataFrame
    # into arrays the trusted side can read). Source code; names start with _grader_.
    adapters: ClassVar[str] = ""

    def plan(self, rng: np.random.Generator) -> Plan:
        raise NotImplementedError

    def score(self, run: QuestionRun, plan: Plan) -> list[Check]:
        raise NotImplementedError


# ------------------------------------------------------------------ check helpers
def outcome_value(run: QuestionRun, probe_id: str, what: str) -> Value:
    """The value a probe returned, or ``Mismatch`` saying why there is none."""
    outcome = run.outcomes.get(probe_id)
    if outcome is None:
        raise Mismatch(f"{what}: no result came back")
    if not outcome.ok:
        raise Mismatch(f"{what} raised {outcome.error_type}: {outcome.error_message}"
                       if outcome.error_type != "NotImplementedError"
                       else f"{what}: not implemented yet")
    return outcome.value


def script_output(run: QuestionRun, probe_id: str, name: str, what: str) -> bytes:
    """The bytes of file ``name`` a script probe wrote, or ``Mismatch`` saying why
    there are none (script missing, failed, wrote nothing, too large)."""
    outcome = run.outcomes.get(probe_id)
    if outcome is None:
        raise Mismatch(f"{what}: no result came back")
    if not outcome.ok:
        raise Mismatch(f"{what}: {outcome.error_message}"
                       if outcome.error_type in ("MissingName", "ScriptMissing")
                       else f"{what} could not be run ({outcome.error_type}: "
                            f"{outcome.error_message})")
    value = outcome.value
    items = value.data if value.kind == "dict" else {}
    code = items.get("returncode")
    if code is None or code.data != 0:
        stderr = items.get("stderr")
        tail = stderr.data if stderr is not None and stderr.kind == "py" else ""
        raise Mismatch(f"{what} exited with status {code.data if code else '?'}"
                       + (f"; the end of its error output: {tail}" if tail else ""))
    outputs = items.get("outputs")
    data = outputs.data.get(name) if outputs is not None and outputs.kind == "dict" else None
    if data is None or data.kind != "ndarray" or data.dtype != "uint8":
        raise Mismatch(f"{what} did not write {name} (or it was larger than the "
                       "limit)")
    return np.asarray(data.data, dtype=np.uint8).tobytes()


def outcome_then(run: QuestionRun, probe_id: str, what: str) -> Value:
    """The value of a probe's ``then`` call (e.g. a trained model's predictions)."""
    outcome_value(run, probe_id, what)  # the main call's errors come first
    then = run.outcomes[probe_id].then
    if then is None:
        raise Mismatch(f"{what}: no result came back from the follow-up call")
    return then


def expect_raises(run: QuestionRun, probe_id: str, what: str,
                  accepted: tuple[str, ...], returned: str) -> str:
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
        raise Mismatch(f"{what} raised {outcome.error_type}; it should raise "
                       f"{' or '.join(accepted)}")
    return outcome.error_type


def expect_array(value: Value, what: str, shape: tuple[int, ...] | None = None,
                 kinds: str = "fiu", types: tuple[str, ...] = ("numpy.ndarray",)) -> np.ndarray:
    """Check exact type, then dtype kind, then shape; return the data as float64."""
    if value.type not in types:
        raise Mismatch(f"{what} should be a {' or '.join(types)}; got {value.type}")
    if value.dtype is None or np.dtype(value.data.dtype).kind not in kinds:
        raise Mismatch(f"{what} has dtype {value.dtype}; expected a numeric dtype")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise Mismatch(f"{what} should have shape {tuple(shape)}; got {tuple(value.shape)}")
    return np.asarray(value.data, dtype=np.float64)


def expect_number(value: Value, what: str, integer: bool = False) -> float:
    """Accept a Python or numpy scalar (or 0-d array) and return it as a float."""
    allowed = ("int",) if integer else ("float", "int")
    if value.kind == "py" and value.type in allowed:
        return float(value.data)
    if value.kind == "npscalar" or (value.kind in ("ndarray", "tensor") and value.shape == ()):
        kind = np.dtype(value.data.dtype).kind
        if kind in ("iu" if integer else "fiu"):
            return float(value.data)
    wanted = "an int" if integer else "a float"
    raise Mismatch(f"{what} should be {wanted}; got {value.type}")


def close(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> bool:
    return bool(np.all(np.isfinite(got) == np.isfinite(expected))
                and np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True))


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
def questions(assignment: str) -> dict[str, Question]:
    """The graded questions of an assignment, by name."""
    if assignment not in ASSIGNMENTS:
        raise KeyError(f"unknown assignment {assignment!r}; known: {', '.join(ASSIGNMENTS)}")
    module = importlib.import_module(f"gene46100_ref.checks.{assignment}")
    return {q.name: q for q in (cls() for cls in module.QUESTIONS)}


def submitted_files(assignment: str) -> tuple[str, ...]:
    """Every file an assignment grades beside the notebook, in a stable order."""
    names = {n for q in questions(assignment).values() for n in q.submitted_files}
    return tuple(sorted(names))


def question_rng(assignment: str, question: str, seed: int = GRADING_SEED) -> np.random.Generator:
    """The hidden-input RNG of a question: fixed per (seed, assignment, question)."""
    key = [seed, *map(ord, f"{assignment}/{question}")]
    return np.random.default_rng(key)


def provided_source(assignment: str, question: Question) -> str:
    """Source of the reference definitions a question swaps in (may be empty)."""
    if not question.provides and not question.adapters:
        return ""
    module = importlib.import_module(f"gene46100_ref.{assignment}")
    # Lazy annotations: a provided function may name notebook types (DataLoader...)
    # that the namespace it is defined in does not import.
    parts = ["from __future__ import annotations", "import numpy as np", "import torch",
             "from torch import nn"]
    parts += [inspect.getsource(getattr(module, name)) for name in question.provides]
    if question.adapters:
        parts.append(inspect.cleandoc(question.adapters))
    return "\n\n".join(parts)


def run_inprocess(assignment: str, question: str, namespace: dict,
                  seed: int = GRADING_SEED, workdir: str | None = None) -> list[Check]:
    """Plan, execute the probes against ``namespace`` here, and score.

    ``workdir`` is where script probes run (the submission's files); default: cwd.
    """
    from gene46100_ref.grader import inprocess

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
