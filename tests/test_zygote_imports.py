"""The warm parent imports what every submission's shell would: a child that makes
its IPython shell and runs cells (a magic, a definition, numpy) imports nothing new
but the grader's ``otter`` stand-in, so no submission pays those imports again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

UNTRUSTED = Path(__file__).parents[1] / "gene46100" / "untrusted"

CHILD = f"""
import os, sys, json
sys.path.insert(0, {str(UNTRUSTED)!r})
import zygote
zygote.warm_imports()
worker = zygote.load_worker({str(UNTRUSTED / "worker.py")!r})
before = set(sys.modules)
r, w = os.pipe()
if os.fork() == 0:
    sys.modules["otter"] = worker.otter_stub()
    shell = worker.make_shell()
    for cell in ("import numpy as np\\nx = np.arange(3)", "%time y = x.sum()",
                 "def f(a):\\n    return a + 1\\nz = f(y)", "print(z)"):
        result = shell.run_cell(cell, store_history=False, silent=False)
        assert result.success, cell
    os.write(w, json.dumps(sorted(set(sys.modules) - before)).encode())
    os._exit(0)
os.close(w)
print("NEW", os.read(r, 1 << 20).decode())
"""


def test_a_child_imports_nothing_the_warm_parent_could_have():
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("NEW "))
    assert line == 'NEW ["otter"]'
