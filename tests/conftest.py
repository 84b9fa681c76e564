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
