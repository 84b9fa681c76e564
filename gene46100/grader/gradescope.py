"""Gradescope entry point: grade ``/autograder/submission`` with the same grader.

The autograder zip (built by ``gene46100 build``) carries this package, the pins and
the assignment spec; its ``run_autograder`` calls ``python3 -m
gene46100.grader.batchscope week1``. Scores are the ones ``gene46100 grade`` gives:
the same hidden inputs, the same sandboxed run, the same trusted scoring.

Gradescope's container is itself a per-submission sandbox; if bubblewrap cannot create
namespaces inside it, grading falls back to running unsandboxed there and says so.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from gene46100.grader import reports, sandbox
from gene46100.grader.assignment import Settings, load_assignment
from gene46100.grader.intake import find_submissions
from gene46100.grader.pipeline import grade_submission


def autograder_root() -> Path:
    """``/autograder`` on Gradescope; overridable for local simulation and tests."""
    return Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))


def main(assignment_name: str) -> int:
    root = autograder_root()
    settings = Settings(unsafe=sandbox.bwrap_path() is None)
    assignment = load_assignment(assignment_name, settings)
    found = find_submissions([root / "submission"], assignment=assignment_name)
    if len(found) != 1:
        notebooks = ", ".join(s.source for s in found) or "none"
        results = {
            "score": 0,
            "output": f"Submit exactly one notebook (found: {notebooks}).",
        }
    else:
        record = grade_submission(assignment, found[0], settings)
        results = reports.gradescope_results(record)
    (root / "results").mkdir(parents=True, exist_ok=True)
    (root / "results" / "results.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
