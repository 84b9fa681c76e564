"""Manual grades reach Gradescope: ``gene46100 gradescope WEEK --out DIR`` adds the
grades given in the review to a copy of the autograder zip; a regrade on Gradescope
(simulated: the zip unpacked into a fresh "/autograder" with Gradescope's
``submission_metadata.json``) counts them for the answer that was graded, found by
Gradescope submission id or by email, and leaves a changed answer pending."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from review_helpers import notebook

from gene46100 import cli
from gene46100.grader import gradebook, gradescope, sandbox
from gene46100.review.store import Store

METADATA_YML = """\
submission_4242:
  :submitters:
  - :name: Ann Lee
    :email: ann@example.edu
  :created_at: 2026-01-12 10:00:00.000000000 -08:00
"""


# ---------------------------------------------------------------- matching
def grade(score: float, sha: str, at: str = "2026-01-13T10:00:00") -> dict:
    return {
        "score": score,
        "items": [],
        "comment": "",
        "answer_sha": sha,
        "graded_at": at,
    }


def exported(*submissions: dict) -> dict:
    return {"format": gradescope.MANUAL_FORMAT, "submissions": list(submissions)}


def test_a_grade_applies_to_the_answer_it_was_given_for():
    ann = gradescope.email_key("ann@example.edu")
    data = exported(
        {"gradescope_id": "7", "emails": [], "grades": {"m1": grade(1, "a")}},
        {"gradescope_id": "", "emails": [ann], "grades": {"m1": grade(0.5, "a")}},
        {
            "gradescope_id": "8",
            "emails": [ann],
            "grades": {"m1": grade(0.75, "a", "2026-01-14"), "m2": grade(1, "old")},
        },
    )
    # by submission id first (whoever submits it)
    got, notes = gradescope.manual_grades_for(data, {"id": 7}, {"m1": "a"})
    assert got["m1"]["score"] == 1 and not notes
    # by email (any case): the newest grade of the same answer
    meta = {"id": 99, "users": [{"email": " Ann@Example.EDU "}]}
    got, notes = gradescope.manual_grades_for(data, meta, {"m1": "a", "m2": "new"})
    assert got["m1"]["score"] == 0.75
    # a changed answer is not graded: pending, and the student is told why
    assert "m2" not in got and notes == [
        "m2: your written answer differs from the one a person graded; it is "
        "pending until this one is graded."
    ]
    # someone else, or nothing exported: nothing applies
    other = {"id": 5, "users": [{"email": "bob@example.edu"}]}
    assert gradescope.manual_grades_for(data, other, {"m1": "a"}) == ({}, [])
    assert gradescope.manual_grades_for({}, meta, {"m1": "a"}) == ({}, [])


def test_unusable_exports_apply_nothing(tmp_path):
    path = tmp_path / gradescope.MANUAL_FILE
    assert gradescope.read_manual_file(path) == {}  # none carried
    for text in ("not json", "[]", '{"format": "other"}'):
        path.write_text(text)
        assert gradescope.read_manual_file(path) == {}
    broken = {"submissions": [{"gradescope_id": "7", "grades": {"m1": "x"}}, "y"]}
    assert gradescope.manual_grades_for(broken, {"id": 7}, {"m1": "a"}) == ({}, [])


def test_emails_come_from_the_records_student():
    found = gradescope.emails_of("Ann Lee <ann@x.edu>; bob@y.edu; Cy <cy@z.org>")
    assert found == ["ann@x.edu", "bob@y.edu", "cy@z.org"]
    assert gradescope.emails_of("Ann Lee") == []


# ---------------------------------------------------------------- end to end
def run_on_gradescope(root: Path, zip_path: Path, nb: dict, metadata: dict) -> dict:
    """``zip_path`` unpacked into a simulated /autograder; its run_autograder run."""
    (root / "submission").mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    (root / "submission/week1.ipynb").write_text(json.dumps(nb))
    (root / "submission_metadata.json").write_text(json.dumps(metadata))
    script = root / "source/run_autograder"
    script.chmod(0o755)
    env = {
        **os.environ,
        "AUTOGRADER_ROOT": str(root),
        "AUTOGRADER_PYTHON": sys.executable,
        "PYTHONPATH": str(root / "source/gene46100"),  # the zip's copy
    }
    run = subprocess.run(
        [str(script)], env=env, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads((root / "results/results.json").read_text())


def by_name(results: dict) -> dict[str, dict]:
    return {t["name"].split()[0]: t for t in results["tests"]}


@pytest.mark.slow
@pytest.mark.skipif(sandbox.bwrap_path() is None, reason="no bubblewrap")
def test_manual_grades_given_in_the_review_reach_gradescope(tmp_path, capsys):
    answered = notebook({"m1": "Setting the gradient to zero gives $X^TX b = X^Ty$."})
    export = tmp_path / "export"
    (export / "submission_4242").mkdir(parents=True)
    (export / "submission_4242/week1.ipynb").write_text(json.dumps(answered))
    (export / "submission_metadata.yml").write_text(METADATA_YML)
    out = tmp_path / "out"
    grade_argv = ["grade", "week1", str(export), "--out", str(out), "--quiet"]
    assert cli.main(grade_argv) == 0
    store = Store(out, "week1")
    handle = store.grade_of("gradescope-4242", "m1").handle
    store.set_item("m1", handle, "1", True, 0, "ta")
    store.save("m1", handle, 0.0, "Say why X^T X is invertible.", 1, "ta")
    given = gradebook.manual_grades(out, "week1")["gradescope-4242"]
    assert given["m1"]["score"] > 0

    capsys.readouterr()
    assert cli.main(["gradescope", "week1", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    zip_path = out / "gradescope/week1-autograder.zip"
    assert f"wrote {zip_path}" in said and "Regrade All Submissions" in said
    with zipfile.ZipFile(zip_path) as zf:
        carried = zf.read(gradescope.MANUAL_FILE).decode()
        assert "run_autograder" in zf.namelist()
    assert "ann@example.edu" not in carried  # emails are hashed
    total = sum(g["score"] for g in given.values())

    # the same submission, regraded on Gradescope: found by its submission id
    same = run_on_gradescope(
        tmp_path / "same", zip_path, answered, {"id": 4242, "users": []}
    )
    m1 = by_name(same)["m1"]
    assert (m1["score"], m1["status"]) == (given["m1"]["score"], "passed")
    assert "graded by a person" in m1["name"]
    assert "Say why X^T X is invertible." in m1["output"]
    assert same["score"] == pytest.approx(total)  # no code answered: 0 autograded
    assert "still to be graded" not in same["output"]

    # a later submission by the same student (found by email), m1 rewritten: the
    # answers left as they were keep their grades, the new m1 is pending
    changed = notebook({"m1": "A different derivation."})
    users = [{"email": "Ann@Example.edu", "name": "Ann Lee"}]
    later = run_on_gradescope(
        tmp_path / "later", zip_path, changed, {"id": 5555, "users": users}
    )
    m1 = by_name(later)["m1"]
    assert (m1["score"], m1["status"]) == (0, "passed")
    assert "pending" in m1["name"]
    assert "m1: your written answer differs" in later["output"]
    assert "Question m1 is graded by a person (not yet): 1 point" in later["output"]
    assert later["score"] == pytest.approx(total - given["m1"]["score"])
    assert [t["max_score"] for t in later["tests"]] == [
        t["max_score"] for t in same["tests"]
    ]
