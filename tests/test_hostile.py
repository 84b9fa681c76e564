"""Hostile and broken submissions: honest answers keep their scores, tricks gain nothing.

Each case is a minimal notebook (imports + an independent complete answer set) with one
hostile change, graded in one sandboxed batch.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import nbformat
import pytest

from gene46100_ref import examples
from gene46100_ref.grader import cli, sandbox
from helpers import minimal_complete

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sandbox.bwrap_path() is None, reason="no bubblewrap")]
REPO = Path(__file__).resolve().parent.parent
HIDDEN_FILE = REPO / "gene46100_ref/checks/week1.py"
FULL = 19

CASES: dict[str, tuple[str, str]] = {
    # name: (how the notebook changes, "cell" = extra cell | "replace:<name>" = answer)
    "patched_allclose": ("cell", "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                         "np.isclose = lambda *a, **k: True"),
    "exit_inside_q3": ("replace:mse_gradient",
                       "import sys\ndef mse_gradient(X, y, beta):\n    sys.exit(0)"),
    "os_exit_in_cell": ("cell", "import os\nos._exit(3)"),
    "os_exit_inside_q3": ("replace:mse_gradient",
                          "import os\ndef mse_gradient(X, y, beta):\n    os._exit(1)"),
    "reads_hidden_tests": ("replace:mse_gradient",
                           "import numpy as np, os\n"
                           "def mse_gradient(X, y, beta):\n"
                           f"    if os.path.exists({str(HIDDEN_FILE)!r}):\n"
                           "        X, y, beta = map(np.asarray, (X, y, beta))\n"
                           "        return 2 * X.T @ (X @ beta - y) / len(y)\n"
                           "    return np.zeros(len(beta))"),
    "always_equal": ("replace:normal_equation",
                     "class Yes:\n    def __eq__(self, other):\n        return True\n"
                     "def normal_equation(X, y):\n    return Yes()"),
    "memory_bomb_cell": ("cell", "hog = bytearray(40 * 2**30)"),
    "sigint_ignoring_loop_in_q3": ("replace:mse_gradient",
                                   "import signal\ndef mse_gradient(X, y, beta):\n"
                                   "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                   "    while True:\n        pass"),
    "forged_result_file": ("cell", "import json, os\nos.makedirs('/job/out', exist_ok=True)\n"
                           "json.dump({'question': 'q9', 'outcomes': []}, "
                           "open('/job/out/q9.json', 'w'))"),
    "warns_and_writes_stderr": ("replace:mse_gradient",
                                "import sys, warnings\nimport numpy as np\n"
                                "def mse_gradient(X, y, beta):\n"
                                "    warnings.warn('careful')\n"
                                "    print('noise', file=sys.stderr)\n"
                                "    X, y, beta = map(np.asarray, (X, y, beta))\n"
                                "    return 2 * X.T @ (X @ beta - y) / len(y)"),
    "fork_bomb": ("cell", "import os, time\nfor _ in range(100000):\n"
                  "    if os.fork() == 0:\n        time.sleep(4610046101)"),
    "background_sleeper": ("cell", "import subprocess\n"
                           "subprocess.Popen(['sleep', '4610046100'])"),
}


def hostile(kind: str, source: str) -> nbformat.NotebookNode:
    nb = minimal_complete()
    if kind == "cell":
        return examples.with_extra_cell(nb, source)
    return examples.with_replaced(nb, kind.split(":")[1], source)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, dict]:
    batch = tmp_path_factory.mktemp("hostile")
    nbformat.write(minimal_complete(), batch / "honest.ipynb")
    for name, (kind, source) in CASES.items():
        nbformat.write(hostile(kind, source), batch / f"{name}.ipynb")
    out = batch / "out"
    assert cli.main(["grade", "week1", str(batch), "--out", str(out), "--jobs", "2",
                     "--cell-timeout", "10", "--quiet"]) == 0
    records = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    return {Path(r["file"]).stem: r for r in records}


def score(record: dict, question: str) -> float:
    return next(q["score"] for q in record["questions"] if q["name"] == question)


def test_honest_minimal_notebook_gets_full_marks(graded):
    assert graded["honest"]["total"] == FULL and graded["honest"]["status"] == "graded"


def test_patched_comparisons_gain_nothing_and_are_flagged(graded):
    record = graded["patched_allclose"]
    assert record["total"] == FULL and record["status"] == "tampered"
    assert any("fakes comparisons" in f for f in record["flags"])


@pytest.mark.parametrize("case", ["exit_inside_q3", "os_exit_inside_q3",
                                  "sigint_ignoring_loop_in_q3"])
def test_process_control_inside_a_function_costs_only_that_question(graded, case):
    record = graded[case]
    assert score(record, "q3") == 0
    assert record["total"] == FULL - 2, record["questions"]


def test_os_exit_in_a_cell_is_skipped_and_the_rest_graded(graded):
    record = graded["os_exit_in_cell"]
    assert record["total"] == FULL
    assert any(c["status"] == "crashed" for c in record["cells"].values())
    assert record["status"] == "tampered"  # os._exit is flagged for a person


def test_hidden_tests_are_not_readable_in_the_sandbox(graded):
    assert score(graded["reads_hidden_tests"], "q3") == 0


def test_always_equal_object_scores_nothing(graded):
    record = graded["always_equal"]
    assert score(record, "q1") == 0 and record["status"] == "tampered"


def test_memory_bomb_is_contained(graded):
    record = graded["memory_bomb_cell"]
    assert record["total"] == FULL and record["status"] == "oom"


def test_forged_result_files_are_overwritten_or_rejected(graded):
    record = graded["forged_result_file"]
    assert record["total"] == FULL and record["status"] == "tampered"


def test_warnings_and_stderr_never_change_a_score(graded):
    assert graded["warns_and_writes_stderr"]["total"] == FULL


def test_background_processes_do_not_outlive_the_sandbox(graded):
    left = subprocess.run(["pgrep", "-f", "sleep 4610046100"], capture_output=True)
    assert left.returncode == 1, left.stdout


def test_fork_bomb_is_bounded_and_cleaned_up(graded):
    record = graded["fork_bomb"]
    assert record["total"] == FULL and record["status"] == "tampered"
    leftovers = list(Path("/sys/fs/cgroup/pids").glob("gene46100-*"))
    assert not leftovers, leftovers
    # no sandboxed worker may survive its submission
    assert subprocess.run(["pgrep", "-f", "/job/worker.py"], capture_output=True).returncode == 1
