"""Shared fixtures: the repo, a built tree, example submissions."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def device(request) -> str:
    """CPU always; CUDA too when a GPU is present (skipped otherwise)."""
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    return request.param


@pytest.fixture
def one_thread():
    """Torch on one thread, as grading runs it: steady timings and sums, and these
    tests share two cores with other work (modules ask for it with ``pytestmark``)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def graded_week(tmp_path_factory):
    """``graded_week(week)``: the week's example submissions graded in the sandbox,
    once per test session (tests/grading.py), as ``{"out": Path, "argv": [...],
    "journal": [record, ...], "records": {example name: record}}``.

    Shared by tests/test_examples.py (the contract of every week) and
    tests/test_grade_<week>.py (what is particular to a week). Skips without
    bubblewrap; a grading that failed fails every test that asks for it again.
    """
    import grading

    from gene46100.grader import sandbox

    done: dict[str, dict | Exception] = {}

    def graded(week: str) -> dict:
        if sandbox.bwrap_path() is None:
            pytest.skip("bubblewrap is not available")
        if week not in done:
            try:
                done[week] = grading.grade_examples(
                    week, tmp_path_factory.mktemp(f"grades-{week}")
                )
            except Exception as exc:
                done[week] = exc
                raise
        result = done[week]
        if isinstance(result, Exception):
            pytest.fail(f"grading the {week} examples failed earlier: {result!r}")
        return result

    return graded


# The edit-test loop (`pytest -m "not slow"`, README) must stay well under 5 minutes
# on 2 cores. These tests train models, run notebooks or scripts, or rebuild the
# whole tree: seconds each (measured with --durations), so they are marked slow
# here, in one list, by node id prefix; `make test` and CI still run them.
HEAVY = (
    "tests/test_build.py::test_build_is_deterministic",
    "tests/test_build.py::test_every_zip_carries_the_reference_modules",
    "tests/test_checks_week1.py::test_q10_factor_has_a_wide_margin",
    "tests/test_checks_week1.py::test_independent_fit_linear_vs_mlp",
    "tests/test_checks_week2.py::test_independent_completion_gets_full_marks[q7]",
    "tests/test_checks_week2.py::test_training_a_copy_fails",
    "tests/test_checks_week3a.py::test_independent_completion_gets_full_marks[q4]",
    "tests/test_checks_week3a.py::test_independent_completion_gets_full_marks[q6]",
    "tests/test_checks_week3a.py::test_q6_threshold",
    "tests/test_checks_week3a.py::test_q4_threshold",
    "tests/test_checks_week3a.py::test_a_q4_mistake",
    "tests/test_checks_week3a.py::test_missing_weights",
    "tests/test_checks_week3b.py::test_q3_margin",
    "tests/test_checks_week3b.py::test_the_q3_variant_factory",
    "tests/test_checks_week3b.py::test_independent_completion_gets_full_marks[q3]",
    "tests/test_reference_week1.py::test_fit_linear_vs_mlp_line",
    "tests/test_reference_week1.py::test_train_curve_starts",
    "tests/test_reference_week2.py::test_train_model",
    "tests/test_reference_week3a.py::test_score_peaks",
    "tests/test_reference_week3a.py::test_reference_predict_script",
    "tests/test_refusal_path.py::test_a_rerun_with_nothing_changed_plans_nothing",
    "tests/test_selfcheck.py::",
    "tests/test_notebooks.py::",
)


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if item.nodeid.startswith(HEAVY):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def reference_cache(tmp_path_factory):
    """Reference outputs that grading keeps across runs (grader/refcache.py) go to
    this session's own folder: never the user's cache, and empty at the start."""
    import os

    from gene46100.grader import refcache

    before = os.environ.get(refcache.ENV)
    os.environ[refcache.ENV] = str(tmp_path_factory.mktemp("reference-cache"))
    yield
    if before is None:
        os.environ.pop(refcache.ENV, None)
    else:
        os.environ[refcache.ENV] = before
