"""The week 2 notebooks: the master runs top to bottom within its budget, the student
release runs untouched (demos skip politely), and grader.check works in it."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

# The notebook's introduction promises "about a minute on a laptop CPU". Measured on
# the 2-core development machine: 38-40 s of kernel CPU (1 torch thread), 60-95 s of
# wall-clock time while other jobs shared the cores. CPU time is what the notebook
# controls, so that is the budget; wall time only gets a generous backstop.
MASTER_CPU_BUDGET_S = 60
MASTER_WALL_BACKSTOP_S = 400
CPU_PROBE = "import time as _t\nprint('KERNEL_CPU', _t.process_time())"


def execute(path: Path, timeout: int = 300) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(CPU_PROBE))
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return nb


def outputs_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.extend(str(v) for v in out.get("data", {}).values())
    return "\n".join(parts)


def errors(nb: nbformat.NotebookNode) -> list:
    return [
        c
        for c in nb.cells
        if c.cell_type == "code"
        and any(o.get("output_type") == "error" for o in c.get("outputs", []))
    ]


def kernel_cpu_seconds(nb: nbformat.NotebookNode) -> float:
    text = outputs_text(nb.cells[-1])
    return float(text.split("KERNEL_CPU")[1].split()[0])


@pytest.mark.slow
def test_master_executes_top_to_bottom_within_its_budget(tmp_path, repo):
    path = tmp_path / "week2.ipynb"
    shutil.copyfile(repo / "solutions/week2/week2.ipynb", path)
    started = time.perf_counter()
    nb = execute(path)
    seconds = time.perf_counter() - started
    assert not errors(nb), outputs_text(errors(nb)[0])
    cpu = kernel_cpu_seconds(nb)
    assert cpu < MASTER_CPU_BUDGET_S, f"the master used {cpu:.0f} s of CPU"
    assert seconds < MASTER_WALL_BACKSTOP_S, f"the master took {seconds:.0f} s"
    text = "\n".join(outputs_text(c) for c in nb.cells if c.cell_type == "code")
    assert "Skipped" not in text  # every demo ran: the master has all the answers


@pytest.mark.slow
def test_untouched_student_notebook_runs_and_every_demo_skips_politely(tmp_path, repo):
    path = tmp_path / "week2.ipynb"
    shutil.copyfile(repo / "examples/submissions/week2/bob_untouched.ipynb", path)
    nb = execute(path)
    assert not errors(nb), outputs_text(errors(nb)[0])
    text = "\n".join(outputs_text(c) for c in nb.cells if c.cell_type == "code")
    assert text.count("Skipped: finish") >= 10


@pytest.mark.slow
def test_grader_check_runs_public_tests_inside_the_student_notebook(tmp_path, repo):
    shutil.copytree(repo / "assignments/week2", tmp_path / "week2")
    path = tmp_path / "week2" / "week2.ipynb"
    shutil.copyfile(repo / "examples/submissions/week2/alice_complete.ipynb", path)
    nb = execute(path)
    checks = [
        c
        for c in nb.cells
        if c.cell_type == "code" and c.source.strip().startswith("grader.check(")
    ]
    assert len(checks) == 8
    for cell in checks:
        assert "passed" in outputs_text(cell), (cell.source, outputs_text(cell))
