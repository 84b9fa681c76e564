"""The week 3a notebooks: the master runs top to bottom, grader.check works."""

from __future__ import annotations

import shutil
import time

import pytest
from test_notebooks import execute, outputs_text

MASTER_BUDGET_S = 180  # "a few minutes at most" on a 2-core CPU (measured: see report)


def errors(nb) -> list:
    return [
        c
        for c in nb.cells
        if c.cell_type == "code"
        and any(o.get("output_type") == "error" for o in c.get("outputs", []))
    ]


@pytest.mark.slow
def test_master_executes_top_to_bottom_within_its_budget(tmp_path, repo):
    shutil.copyfile(repo / "solutions/week3a/week3a.ipynb", tmp_path / "week3a.ipynb")
    shutil.copyfile(repo / "solutions/week3a/predict.py", tmp_path / "predict.py")
    started = time.perf_counter()
    nb = execute(tmp_path / "week3a.ipynb", timeout=600)
    seconds = time.perf_counter() - started
    failed = errors(nb)
    assert not failed, outputs_text(failed[0])
    assert seconds < 2 * MASTER_BUDGET_S, f"the master took {seconds:.0f} s"
    assert (tmp_path / "model_weights.pt").exists()  # Part 5 saved the weights
    text = "\n".join(outputs_text(c) for c in nb.cells if c.cell_type == "code")
    assert "Skipped" not in text  # every demo ran with the reference in place


@pytest.mark.slow
def test_grader_check_runs_public_tests_inside_the_completed_notebook(tmp_path, repo):
    folder = tmp_path / "week3a"
    shutil.copytree(repo / "assignments/week3a", folder)
    for name in ("week3a.ipynb", "predict.py", "model_weights.pt"):
        shutil.copyfile(
            repo / "examples/submissions/week3a/alice_complete" / name, folder / name
        )
    nb = execute(folder / "week3a.ipynb", timeout=600)
    checks = [
        c
        for c in nb.cells
        if c.cell_type == "code" and c.source.strip().startswith("grader.check(")
    ]
    assert len(checks) == 6
    for cell in checks:
        assert "passed" in outputs_text(cell), (cell.source, outputs_text(cell))
