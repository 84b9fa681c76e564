"""Execute a plan's probes in this process, through the same encoding as the sandbox.

Used by the project's tests (fast checks of wrong variants) and by the Otter
autograder path. Round-tripping through ``worker.Encoder`` and ``outcome.decode``
means a check sees exactly what it would see from the sandbox.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from gene46100.contract.results import QuestionRun, decode_outcome
from gene46100.untrusted import worker


def execute(plan, namespace: dict, workdir: str | None = None) -> QuestionRun:
    """Run ``plan.probes`` against ``namespace``; return the decoded outcomes.

    Hidden input files go to a temporary folder; script probes run in ``workdir``
    (default: the current directory).
    """
    arrays = {k: np.array(v) for k, v in plan.arrays.items()}
    encoder = worker.Encoder()
    with tempfile.TemporaryDirectory(prefix="gene46100-inprocess-") as tmp:
        files_dir, scratch = Path(tmp, "files"), Path(tmp, "scratch")
        files_dir.mkdir()
        scratch.mkdir()
        for name, data in plan.files.items():
            (files_dir / name).write_bytes(data)
        saved = worker.Paths.files_dir, worker.Paths.scratch_dir, os.getcwd()
        worker.Paths.files_dir, worker.Paths.scratch_dir = str(files_dir), str(scratch)
        try:
            if workdir is not None:
                os.chdir(workdir)
            raw = [worker.run_probe(p, namespace, arrays, encoder) for p in plan.probes]
        finally:
            worker.Paths.files_dir, worker.Paths.scratch_dir = saved[:2]
            os.chdir(saved[2])
    raw = json.loads(json.dumps(raw))  # exactly what would cross the boundary
    outcomes = {o["id"]: decode_outcome(o, encoder.arrays) for o in raw}
    return QuestionRun(status="ok", outcomes=outcomes)
