"""Execute a plan's probes in this process, through the same encoding as the sandbox.

Used by the project's tests (fast checks of wrong variants) and by the Otter
autograder path. Round-tripping through ``worker.Encoder`` and ``outcome.decode``
means a check sees exactly what it would see from the sandbox.
"""

from __future__ import annotations

import json

import numpy as np

from gene46100_ref.grader import worker
from gene46100_ref.grader.outcome import QuestionRun, decode_outcome


def execute(plan, namespace: dict) -> QuestionRun:
    """Run ``plan.probes`` against ``namespace``; return the decoded outcomes."""
    arrays = {k: np.array(v) for k, v in plan.arrays.items()}
    encoder = worker.Encoder()
    raw = [worker.run_probe(p, namespace, arrays, encoder) for p in plan.probes]
    raw = json.loads(json.dumps(raw))  # exactly what would cross the boundary
    outcomes = {o["id"]: decode_outcome(o, encoder.arrays) for o in raw}
    return QuestionRun(status="ok", outcomes=outcomes)
