"""Reference outputs reused across runs (grader/refcache.py): what is stored comes
back exactly, a changed plan or code is never served a stale value, a broken entry
is recomputed, a folder the sandbox sees is refused, and a second grading run gives
the same records without training the reference again (issue 14, item 2)."""

from __future__ import annotations

import dataclasses
import logging
import math
import sys

import nbformat
import numpy as np
import pytest
import torch

from gene46100.checks import Plan
from gene46100.checks.week1 import common as week1_common
from gene46100.checks.week1 import q09_train
from gene46100.grader import batch, intake, refcache
from gene46100.grader.assignment import Settings, load_assignment

CODE = {"checks": "c1", "reference": "r1", "seed": 7, "libraries": {"numpy": "x"}}


@dataclasses.dataclass
class Case:
    state: np.ndarray
    lr: float


@dataclasses.dataclass
class Facts:
    cases: dict[str, Case]


def a_plan(scale: float = 1.0) -> Plan:
    plan = Plan(facts=Facts({"a": Case(np.ones((2, 2)), 0.1)}))
    plan.call("p", "f", plan.array("x", np.arange(6, dtype=np.float32) * scale), 3)
    return plan


def stored(folder, code=CODE, scale: float = 1.0, name: str = "q9") -> Plan:
    plan = a_plan(scale)
    plan.store = refcache.ReferenceCache(folder, code, "week1", name)
    return plan


class Counter:
    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


VALUE = {
    "sgd": {
        "curve": np.linspace(1, 0, 5, dtype=np.float32),
        "heldout": 0.125,
        "initial_preds": np.arange(3, dtype=np.float64),
    },
    "flags": [True, None, "text", 3, (1.5, float("nan"), -0.0, math.inf)],
    "scalars": [np.float32(0.1), np.float64(2.5), np.int64(-3), np.bool_(True)],
}


def assert_same(got, want):
    """Equal values of the same types, arrays with the same dtype (nan == nan)."""
    assert type(got) is type(want)
    if isinstance(want, dict):
        assert list(got) == list(want)
        for key in want:
            assert_same(got[key], want[key])
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            assert_same(a, b)
    elif isinstance(want, np.ndarray):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got, want, equal_nan=want.dtype.kind in "fc")
    elif isinstance(want, float):
        assert math.copysign(1, got) == math.copysign(1, want)
        assert got == want or (math.isnan(got) and math.isnan(want))
    else:
        assert got == want


def test_a_value_comes_back_exactly_in_a_later_run(tmp_path):
    first = stored(tmp_path)
    compute = Counter(VALUE)
    assert first.memo("references", compute) is VALUE
    later = stored(tmp_path)  # another run: a new plan drawn alike
    again = Counter("never used")
    assert_same(later.memo("references", again), VALUE)
    assert (compute.calls, again.calls) == (1, 0)
    assert later.store.hits == ["references"]
    assert len(list((tmp_path / "references").glob("*.npz"))) == 1


@pytest.mark.parametrize(
    "change",
    ["hidden input", "checks", "reference", "libraries", "seed", "question", "key"],
)
def test_a_changed_plan_or_code_is_computed_again(tmp_path, change):
    stored(tmp_path).memo("references", Counter(VALUE))
    code, scale, name, key = dict(CODE), 1.0, "q9", "references"
    if change == "hidden input":
        scale = 2.0
    elif change == "question":
        name = "q10"
    elif change == "key":
        key = "variant:sgd:sum"
    elif change == "libraries":
        code["libraries"] = {"numpy": "y"}
    else:
        code[change] = "changed" if change != "seed" else 8
    compute = Counter("fresh")
    assert stored(tmp_path, code, scale, name).memo(key, compute) == "fresh"
    assert compute.calls == 1


def test_the_plans_trusted_facts_are_part_of_the_fingerprint(tmp_path):
    stored(tmp_path).memo("references", Counter(VALUE))
    plan = stored(tmp_path)
    plan.facts.cases["a"].lr = 0.2  # e.g. a case whose label changed
    compute = Counter("fresh")
    assert plan.memo("references", compute) == "fresh" and compute.calls == 1


def test_facts_arrays_are_fingerprinted_by_every_value_not_their_repr():
    big = np.zeros(5000)  # numpy's repr abbreviates it: "0., 0., ..., 0."
    one, other = a_plan(), a_plan()
    one.facts.cases["a"].state, other.facts.cases["a"].state = big, big.copy()
    other.facts.cases["a"].state[2500] = 1.0
    assert repr(one.facts) == repr(other.facts)
    assert refcache.plan_digest(one) != refcache.plan_digest(other)


def test_memo_values_are_not_part_of_the_fingerprint(tmp_path):
    plan = stored(tmp_path)
    plan.memo("references", Counter(VALUE))
    plan.memo("variant:sgd:sum", Counter(np.zeros(3)))  # same plan, one more value
    later = stored(tmp_path)
    for key in ("references", "variant:sgd:sum"):
        later.memo(key, Counter(None))
    assert later.store.hits == ["references", "variant:sgd:sum"]


@pytest.mark.parametrize("damage", ["garbled", "empty", "npy", "wrong format"])
def test_a_broken_entry_is_recomputed_and_replaced(tmp_path, damage, caplog):
    plan = stored(tmp_path)
    plan.memo("references", Counter(VALUE))
    (entry,) = (tmp_path / "references").glob("*.npz")
    if damage == "garbled":
        entry.write_bytes(b"PK\x03\x04 not a zip at all")
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "npy":  # one array, not an archive
        with open(entry, "wb") as f:
            np.save(f, np.zeros(3))
    else:
        np.savez(entry, layout=np.array('{"format": 99, "value": {"plain": 1}}'))
    compute = Counter(VALUE)
    with caplog.at_level(logging.WARNING):
        assert_same(stored(tmp_path).memo("references", compute), VALUE)
    assert compute.calls == 1
    assert "unreadable reference cache entry" in caplog.text
    assert_same(stored(tmp_path).memo("references", Counter(None)), VALUE)  # replaced


@pytest.mark.parametrize(
    "value",
    [np.array([object()]), torch.zeros(2), {1: "int key"}, {"a": {1, 2}}],
    ids=["object array", "tensor", "int key", "set"],
)
def test_what_is_not_plain_data_is_computed_every_run(tmp_path, value):
    first = stored(tmp_path)
    assert first.memo("references", Counter(value)) is value  # grading goes on
    assert not (tmp_path / "references").exists() or not list(
        (tmp_path / "references").iterdir()
    )
    compute = Counter(value)
    stored(tmp_path).memo("references", compute)
    assert compute.calls == 1


def test_entries_are_read_without_pickle(tmp_path):
    """A planted entry holding a pickled object is refused, not unpickled."""
    plan = stored(tmp_path)
    plan.memo("references", Counter(VALUE))
    (entry,) = (tmp_path / "references").glob("*.npz")
    layout = '{"format": 1, "value": {"array": "a0"}}'
    np.savez(entry, layout=np.array(layout), a0=np.array([{"evil": 1}], dtype=object))
    compute = Counter("recomputed")
    assert stored(tmp_path).memo("references", compute) == "recomputed"


def test_an_unwritable_folder_only_costs_the_cache(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder would go")
    plan = stored(blocker)
    with caplog.at_level(logging.WARNING):
        assert plan.memo("references", Counter(5)) == 5
    assert "reference cache not written" in caplog.text


def test_a_folder_the_sandbox_sees_is_refused(caplog):
    inside = __import__("pathlib").Path(sys.prefix) / "cache"
    with caplog.at_level(logging.WARNING):
        loaded = load_assignment("week1", Settings(reference_cache=inside))
    assert all(plan.store is None for plan in loaded.plans.values())
    assert week1_common.ref.store is None
    assert "which sandboxes see" in caplog.text
    assert refcache.usable_folder(inside, [sys.prefix]) is None


def test_no_cache_without_a_sandbox(tmp_path):
    """Unsandboxed student code could plant entries that later batches would trust."""
    plans = load_assignment("week1", Settings(unsafe=True, reference_cache=tmp_path))
    assert all(plan.store is None for plan in plans.plans.values())
    assert week1_common.ref.store is None
    sandboxed = load_assignment("week1", Settings(reference_cache=tmp_path))
    assert all(plan.store is not None for plan in sandboxed.plans.values())
    assert week1_common.ref.store is not None


def test_the_default_folder_and_turning_it_off(monkeypatch, tmp_path):
    monkeypatch.delenv(refcache.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert refcache.default_dir() == tmp_path / "xdg" / "gene46100"
    monkeypatch.setenv(refcache.ENV, str(tmp_path / "mine"))
    assert refcache.default_dir() == tmp_path / "mine"
    for off in ("off", "0", ""):
        monkeypatch.setenv(refcache.ENV, off)
        assert refcache.default_dir() is None
        assert Settings().reference_cache is None


def test_week1_q9_reuses_its_reference_training_and_variants(tmp_path, monkeypatch):
    """The real question: the reference's training and the known mistakes' curves
    are computed in the first run only."""
    settings = Settings(reference_cache=tmp_path)
    first = load_assignment("week1", settings)
    q9, plan = first.questions["q9"], first.plans["q9"]
    q9.prepare(plan)
    variants = [compute() for _, compute in q09_train.q9_candidates(plan, "sgd")]

    def refuse(*args, **kwargs):
        raise AssertionError("trained again although the cache held it")

    monkeypatch.setattr(q09_train, "reference_training", refuse)
    monkeypatch.setattr(q09_train, "train_variant", refuse)
    later = load_assignment("week1", settings)
    assert_same(
        later.questions["q9"].references(later.plans["q9"]), q9.references(plan)
    )
    again = [c() for _, c in q09_train.q9_candidates(later.plans["q9"], "sgd")]
    for got, want in zip(again, variants, strict=True):
        assert_same(got, want)


# ------------------------------------------------------------ a whole batch, twice
def week1_batch(folder):
    from benchmarks import submissions

    release = nbformat.read(submissions.RELEASE, as_version=4)
    answers = submissions.ANSWERS.read_text()
    complete = submissions.examples.complete(release, answers)
    definitions = submissions.examples.top_level_definitions(answers)
    folder.mkdir()
    names = sorted(submissions.WRONG)
    wrong_train = names.index("train")  # a q9 mistake: its variants are searched
    for kind, i in (("complete", 0), ("wrong", wrong_train)):
        nb = submissions.make_variant(kind, i, release, complete, definitions)
        nbformat.write(nb, folder / f"{kind}.ipynb")
    return intake.find_submissions([folder], assignment="week1")


def graded(records):
    return {
        r.id: (r.status, r.total, [(q.name, q.score, q.feedback) for q in r.questions])
        for r in records
    }


@pytest.mark.slow
def test_a_second_run_grades_alike_without_training_the_reference(
    tmp_path, monkeypatch
):
    from gene46100.grader import sandbox

    if sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap is not available")
    submissions = week1_batch(tmp_path / "batch")
    settings = Settings(reference_cache=tmp_path / "cache")
    first = graded(batch.grade_batch("week1", submissions, tmp_path / "one", settings))
    assert any(
        score < 3 for *_, qs in first.values() for n, score, _ in qs if n == "q9"
    )

    def refuse(*args, **kwargs):
        raise AssertionError("trained again although the cache held it")

    with monkeypatch.context() as m:
        m.setattr(q09_train, "reference_training", refuse)
        m.setattr(q09_train, "train_variant", refuse)
        second = batch.grade_batch("week1", submissions, tmp_path / "two", settings)
    assert graded(second) == first
    autograded = {
        key: (status, total, [q for q in qs if not q[0].startswith("m")])
        for key, (status, total, qs) in first.items()
    }
    assert graded_without_torch(tmp_path, tmp_path / "cache") == autograded
    uncached = Settings(reference_cache=None)
    assert (
        graded(batch.grade_batch("week1", submissions, tmp_path / "three", uncached))
        == first
    )


REFUSE_TORCH = """
import sys

class RefuseTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            print("IMPORTED TORCH", name, file=sys.stderr)
            raise ImportError(name)

sys.meta_path.insert(0, RefuseTorch())
from gene46100 import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def graded_without_torch(tmp_path, cache) -> dict:
    """Regrade the batch with ``gene46100 grade`` in a process that may not import
    torch (its sandboxes may): the reference cache holds every reference output."""
    import json
    import os
    import subprocess

    out = tmp_path / "no-torch"
    done = subprocess.run(
        [sys.executable, "-c", REFUSE_TORCH, "grade", "week1", str(tmp_path / "batch")]
        + ["--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, refcache.ENV: str(cache)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "IMPORTED TORCH" not in done.stderr, done.stderr[-3000:]
    records = [json.loads(line) for line in (out / "records.jsonl").open()]
    return {
        r["id"]: (
            r["status"],
            r["total"],
            [
                (q["name"], q["score"], q["feedback"])
                for q in r["questions"]
                if q["status"] != "manual"  # the written answers: a person's
            ],
        )
        for r in records
    }


def test_student_code_cannot_see_the_default_cache_folder(tmp_path):
    """The default folder (in the grader's home) does not exist inside a sandbox:
    a submission can neither read reference outputs from it nor plant entries."""
    import subprocess

    from gene46100.grader import sandbox

    if sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap is not available")
    folder = refcache.user_dir()
    folder = folder.parent / f"{folder.name}-sandbox-test-{tmp_path.name}"
    (folder / "references").mkdir(parents=True)
    try:
        (folder / "references" / "entry.npz").write_bytes(b"reference outputs")
        probe = (
            "import os, sys; p = sys.argv[1]; print(os.path.exists(p)); "
            "os.makedirs(p, exist_ok=True)"
        )
        argv = sandbox.system_argv(1, 0) + [
            "--chdir",
            "/",
            sys.executable,
            "-c",
            probe,
            str(folder / "references"),
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert done.stdout.strip() == "False", done.stderr
        assert sorted(p.name for p in (folder / "references").iterdir()) == [
            "entry.npz"
        ]
    finally:
        import shutil

        shutil.rmtree(folder)


def test_a_batch_only_memo_stays_out_of_the_store(tmp_path):
    """A memo asked not to outlive the batch (``across_runs=False``) is computed
    once per batch and never written for later runs."""
    plan = stored(tmp_path)
    compute = Counter(True)
    assert plan.memo("diverges:lr0:0x1p-3", compute, across_runs=False) is True
    assert plan.memo("diverges:lr0:0x1p-3", Counter(None), across_runs=False) is True
    assert compute.calls == 1
    assert not list((tmp_path / "references").glob("*.npz"))
    later = stored(tmp_path)
    again = Counter(False)
    assert later.memo("diverges:lr0:0x1p-3", again, across_runs=False) is False
    assert again.calls == 1 and later.store.hits == []


# ------------------------------------------------------------ reference calls
def calls(folder, code=CODE) -> refcache.CallCache:
    return refcache.CallCache(folder, code, "week1")


def design(dtype=np.float64) -> np.ndarray:
    return np.arange(12, dtype=dtype).reshape(4, 3) / 7


def test_a_reference_call_comes_back_exactly_in_a_later_run(tmp_path):
    compute = Counter(VALUE)
    got = calls(tmp_path).recall("f", ((design(), 0.5), {"n": 3}), compute)
    assert_same(got, VALUE)
    later = calls(tmp_path)  # another run
    again = Counter("never used")
    assert_same(later.recall("f", ((design(), 0.5), {"n": 3}), again), VALUE)
    assert (compute.calls, again.calls) == (1, 0)
    assert later.hits == ["f"]


def test_each_reference_call_gets_its_own_copy(tmp_path):
    """A check that changes what it got cannot change what the next one gets."""
    cache = calls(tmp_path)
    compute = Counter({"beta": np.zeros(3)})
    first = cache.recall("f", ((design(),), {}), compute)
    first["beta"][:] = 7.0
    second = cache.recall("f", ((design(),), {}), compute)
    assert compute.calls == 1 and not second["beta"].any()


@pytest.mark.parametrize(
    "change",
    ["array value", "dtype", "list for tuple", "int for float", "keyword"]
    + ["name", "code"],
)
def test_a_reference_call_that_differs_is_computed_again(tmp_path, change):
    """Every part of a call is in its key: a value, a dtype, a container's type, a
    number's type, a keyword, the function, the code that computes it."""

    def call(X=design(), lr=0.5, sizes=(2, 3), kw=1, name="f", code=CODE, value=0):
        compute = Counter(value)
        got = calls(tmp_path, code).recall(name, ((X, lr, sizes), {"k": kw}), compute)
        return got, compute.calls

    assert call() == (0, 1)
    X, lr, sizes, kw, name, code = design(), 0.5, (2, 3), 1, "f", dict(CODE)
    if change == "array value":
        X[0, 0] += 1e-12
    elif change == "dtype":
        X = design(np.float32)
    elif change == "list for tuple":
        sizes = [2, 3]
    elif change == "int for float":
        kw = 1.0
    elif change == "keyword":
        kw = 2
    elif change == "name":
        name = "g"
    else:
        code["reference"] = "r2"
    assert call(X, lr, sizes, kw, name, code, value=1) == (1, 1)
    assert call() == (0, 0)  # the first call is still kept


def test_the_reference_stand_in_calls_the_module_without_a_store(tmp_path):
    """Without a store (the project's tests, Otter's hidden tests in the student's
    kernel) every call goes to the reference itself; with one, only the named
    plain-data functions go through it."""
    from gene46100.checks.reference import Reference
    from gene46100_ref import week1 as module

    ref = Reference("gene46100_ref.week1", cached=("normal_equation",))
    X, y = design(), np.arange(4.0)
    assert_same(ref.normal_equation(X[:, :2], y), module.normal_equation(X[:, :2], y))
    assert ref.MLP is module.MLP and ref.module is module
    ref.store = cache = calls(tmp_path)
    assert_same(ref.normal_equation(X[:, :2], y), module.normal_equation(X[:, :2], y))
    assert_same(ref.normal_equation(X[:, :2], y), module.normal_equation(X[:, :2], y))
    assert cache.hits == [] and len(list((tmp_path / "calls").glob("*.npz"))) == 1
    assert ref.max_stable_lr(X) == module.max_stable_lr(X)  # not named: direct
    assert len(list((tmp_path / "calls").glob("*.npz"))) == 1


def test_provided_source_is_read_without_importing_the_reference():
    """What ``provides`` sends is the source ``inspect`` gives, for every
    definition of every week's reference, read from the file unimported."""
    import importlib
    import inspect

    from gene46100 import checks, course

    for week in course.WEEKS:
        name = f"gene46100_ref.{week}"
        module = importlib.import_module(name)
        sources = checks.top_level_sources(name)
        assert sources
        for definition, source in sources.items():
            assert source == inspect.getsource(getattr(module, definition))


def test_provided_source_follows_a_rebuilt_reference(tmp_path, monkeypatch):
    """A reference rebuilt while the process lives is read again, never sent stale."""
    from gene46100 import checks

    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "rebuilt_reference.py"
    path.write_text("def f(x):\n    return x\n")
    assert checks.top_level_sources("rebuilt_reference") == {
        "f": "def f(x):\n    return x\n"
    }
    path.write_text("@staticmethod\ndef f(x):\n    return 2 * x\n")
    assert checks.top_level_sources("rebuilt_reference") == {
        "f": "@staticmethod\ndef f(x):\n    return 2 * x\n"
    }
