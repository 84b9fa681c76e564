"""A gradebook a TA can trust: every record names what produced it, a re-run
regrades exactly what changed and says so, regrades keep the history and write a
diff, and a submission holding several notebooks is graded by its metadata."""

from __future__ import annotations

import csv
import json

import nbformat
import pytest
from helpers import minimal_complete

from gene46100.build import examples
from gene46100.grader import intake, provenance, sandbox
from gene46100.grader.assignment import Settings
from gene46100.grader.batch import check_regrade, grade_batch
from gene46100.grader.records import Journal

needs_bwrap = pytest.mark.skipif(sandbox.bwrap_path() is None, reason="no bubblewrap")
HALF = examples.with_replaced(
    minimal_complete(),
    "mse_gradient",
    "import numpy as np\n\n\ndef mse_gradient(X, y, beta):\n"
    "    return X.T @ (X @ beta - y) / len(y)\n",
)


def batch_of(tmp_path, names=("ann", "ben")):
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in names:
        nbformat.write(minimal_complete(), folder / f"{name}.ipynb")
    return folder


def run(folder, out, **kwargs):
    lines: list[str] = []
    found = intake.find_submissions([folder], assignment="week1")
    records = grade_batch(
        "week1", found, out, Settings(jobs=2), say=lines.append, **kwargs
    )
    return {r.id.split("-")[0]: r for r in records}, lines


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One graded batch of two complete notebooks (module-wide: grading is slow)."""
    tmp = tmp_path_factory.mktemp("gradebook")
    folder = batch_of(tmp)
    out = tmp / "out"
    first, lines = run(folder, out)
    return folder, out, first, lines


@needs_bwrap
@pytest.mark.slow
def test_every_record_names_what_produced_it(graded):
    _, _, first, lines = graded
    assert lines == ["2 to grade"]
    fingerprint = first["ann"].provenance
    assert set(fingerprint) == {
        "submission",
        "checks",
        "reference",
        "spec",
        "grader",
        "seed",
        "libraries",
    }
    assert fingerprint["seed"] == 46100
    assert fingerprint["libraries"]["torch"].startswith("2.13.0")
    assert first["ann"].graded_at.endswith("+00:00")


@needs_bwrap
@pytest.mark.slow
def test_grading_twice_with_nothing_changed_changes_nothing(graded):
    folder, out, first, _ = graded
    journal = (out / "records.jsonl").read_bytes()
    again, lines = run(folder, out)
    assert lines == [] and (out / "records.jsonl").read_bytes() == journal
    assert again["ann"].total == first["ann"].total


@needs_bwrap
@pytest.mark.slow
def test_a_replaced_notebook_is_regraded_and_the_change_is_written_down(graded):
    folder, out, first, _ = graded
    nbformat.write(HALF, folder / "ben.ipynb")  # same path, new content
    again, lines = run(folder, out)
    assert lines == ["1 changed since the last run: regraded (submission)"]
    assert again["ben"].total < first["ben"].total  # the new q3 is wrong
    assert again["ann"].graded_at == first["ann"].graded_at  # untouched
    history = Journal(out).history(again["ben"].id)
    assert [r.total for r in history] == [first["ben"].total, again["ben"].total]
    rows = list(csv.DictReader((out / "regrade-diff.csv").open()))
    q3 = [r for r in rows if r["question"] == "q3"]
    assert q3 and q3[-1]["before"] == "2" and q3[-1]["after"] == "0"
    assert q3[-1]["change"] == "-2" and q3[-1]["why"] == "submission"
    assert "half" in q3[-1]["message_after"]
    assert "regrade" in (out / "report.html").read_text().lower()


@needs_bwrap
@pytest.mark.slow
def test_a_changed_hidden_check_regrades_everyone(graded, monkeypatch):
    folder, out, _, _ = graded
    monkeypatch.setattr(provenance, "checks_digest", lambda week: "edited-checks")
    again, lines = run(folder, out)
    assert lines == ["2 changed since the last run: regraded (checks)"]
    assert all(r.provenance["checks"] == "edited-checks" for r in again.values())


@needs_bwrap
@pytest.mark.slow
def test_regrade_on_request_keeps_history(graded):
    folder, out, _, _ = graded
    before = len(Journal(out).lines())
    again, lines = run(folder, out, regrade=("all",))
    assert lines == ["2 regraded on request"]
    assert len(Journal(out).lines()) == before + 2
    ann_id = again["ann"].id
    _, lines = run(folder, out, regrade=(ann_id,))
    assert lines == ["1 regraded on request"]
    _, lines = run(folder, out, regrade=("failed",))
    assert lines == []  # nothing failed to grade


def test_an_unknown_regrade_id_is_refused_before_any_work():
    assert check_regrade(("all",), set()) == ""
    assert check_regrade(("ann-1",), {"ann-1"}) == ""
    problem = check_regrade(("anne-1",), {"ann-1"})
    assert "no submission with id anne-1" in problem


def test_the_provenance_names_each_changed_part():
    old = {"submission": "a", "checks": "b", "seed": 1}
    assert provenance.changes(old, {"submission": "a", "checks": "c", "seed": 1}) == [
        "checks"
    ]
    assert provenance.changes({}, old)[0].startswith("no fingerprint")
    assert provenance.checks_digest("week1") != provenance.checks_digest("week2")


def test_the_checks_fingerprint_follows_the_checks_source(tmp_path, monkeypatch):
    """Editing a week's hidden checks changes that week's fingerprint only."""
    tool = tmp_path / "gene46100"
    for part in provenance.CHECK_PARTS:
        for path in provenance.python_files(provenance.TOOL / part):
            target = tool / path.relative_to(provenance.TOOL)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    (tool / "course.py").write_bytes((provenance.TOOL / "course.py").read_bytes())
    monkeypatch.setattr(provenance, "TOOL", tool)
    provenance.checks_digest.cache_clear()
    before = {w: provenance.checks_digest(w) for w in ("week1", "week2")}
    week1 = tool / "checks" / "week1" / "q03_gradient.py"
    week1.write_text(week1.read_text() + "\n# stricter tolerance\n")
    provenance.checks_digest.cache_clear()
    edited = provenance.checks_digest("week1")
    assert edited != before["week1"]
    assert provenance.checks_digest("week2") == before["week2"]
    (week1.parent / "q11_relu.py").write_text("# a new question of week 1\n")
    provenance.checks_digest.cache_clear()
    assert provenance.checks_digest("week1") not in (edited, before["week1"])
    assert provenance.checks_digest("week2") == before["week2"]
    registry = tool / "course.py"  # the registry sets every question's CPU budget
    registry.write_text(registry.read_text() + "\n# a budget changed\n")
    provenance.checks_digest.cache_clear()
    assert provenance.checks_digest("week2") != before["week2"]
    provenance.checks_digest.cache_clear()


def write_notebook(path, metadata: dict) -> None:
    nb = minimal_complete()
    nb.metadata = metadata
    nbformat.write(nb, path)


def test_the_notebook_whose_metadata_names_the_assignment_is_graded(tmp_path):
    student = tmp_path / "class" / "ann"
    student.mkdir(parents=True)
    write_notebook(student / "week1 (1).ipynb", {"otter": {"assignment_name": "week1"}})
    write_notebook(student / "Untitled.ipynb", {})
    (found,) = intake.find_submissions([tmp_path / "class"], assignment="week1")
    assert found.problem == "" and found.notebook.name == "week1 (1).ipynb"
    assert "Untitled.ipynb" in found.ignored


def test_two_notebooks_that_both_claim_the_assignment_are_ambiguous(tmp_path):
    student = tmp_path / "class" / "ann"
    student.mkdir(parents=True)
    for name in ("draft.ipynb", "final.ipynb"):
        write_notebook(student / name, {"otter": {"assignment_name": "week1"}})
    (found,) = intake.find_submissions([tmp_path / "class"], assignment="week1")
    assert found.notebook is None and "holds 2 notebooks" in found.problem


def test_a_zip_with_a_renamed_notebook_and_a_stray_one(tmp_path):
    import zipfile

    week1 = tmp_path / "w.ipynb"
    write_notebook(week1, {"otter": {"assignment_name": "week1"}})
    stray = tmp_path / "s.ipynb"
    write_notebook(stray, {})
    archive = tmp_path / "ann.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(week1, "Copy of week1.ipynb")
        zf.write(stray, "Untitled1.ipynb")
    (found,) = intake.find_submissions([archive], assignment="week1")
    assert found.problem == "" and found.notebook.name == "Copy of week1.ipynb"
    assert json.loads(found.notebook.read_text())["metadata"]["otter"]
    intake.cleanup()
