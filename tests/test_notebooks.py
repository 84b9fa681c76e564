"""The notebooks themselves, for every week of the course registry.

The contract, once for every week: the master runs top to bottom without errors,
with every demo run (none skipped), within its CPU budget (measured in the kernel;
tests/notebooks.py states the budgets and the convention) and a wall-clock backstop;
and in a copy of the student release completed with the week's complete example,
``grader.check`` passes for every graded question. What is particular to one week
(demos that skip politely in the untouched release, the files a master writes)
follows in a section per week.
"""

from __future__ import annotations

import re
import shutil

import nbformat
import pytest
from notebooks import (
    MASTER_CPU_BUDGET_S,
    STATED_IN_INTRODUCTION,
    check_cells,
    completed_example,
    errors,
    execute,
    outputs_text,
    place_example,
    wall_backstop_s,
)

from gene46100 import course


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    """``master(week)``: the week's master run top to bottom, once per module, in a
    folder holding only it and the scripts its release ships (no ``data/``: the
    instructors' fallback regenerates the data). A failed run fails every test that
    asks for it again."""
    done: dict = {}

    def run(week: str):
        if week not in done:
            w = course.week(week)
            folder = tmp_path_factory.mktemp(f"master-{week}")
            shutil.copyfile(w.master(), folder / f"{week}.ipynb")
            for script in w.release_scripts:
                shutil.copyfile(w.master().parent / script, folder / script)
            try:
                done[week] = execute(folder / f"{week}.ipynb")
            except Exception as exc:
                done[week] = exc
                raise
        if isinstance(done[week], Exception):
            pytest.fail(f"the {week} master failed earlier: {done[week]!r}")
        return done[week]

    return run


# ------------------------------------------------------------------ every week


@pytest.mark.slow
@pytest.mark.parametrize("week", course.WEEKS)
def test_master_executes_top_to_bottom_within_its_cpu_budget(master, week):
    run = master(week)
    failed = errors(run.nb)
    assert not failed, outputs_text(failed[0])
    assert "Skipped" not in run.text, "a demo was skipped in the master"
    budget = MASTER_CPU_BUDGET_S[week]
    assert run.cpu_s < budget, f"the master used {run.cpu_s:.0f} s of CPU ({budget})"
    backstop = wall_backstop_s(week)
    assert run.wall_s < backstop, f"the master took {run.wall_s:.0f} s ({backstop})"


@pytest.mark.slow
@pytest.mark.parametrize("week", course.WEEKS)
def test_grader_check_passes_every_question_in_the_completed_release(
    tmp_path, repo, week
):
    folder = tmp_path / week
    shutil.copytree(repo / "assignments" / week, folder)
    run = execute(place_example(week, completed_example(week).name, folder))
    failed = errors(run.nb)
    assert not failed, outputs_text(failed[0])
    checks = check_cells(run.nb)
    checked = [re.search(r"grader\.check\(\W(\w+)", c.source).group(1) for c in checks]
    assert sorted(checked) == sorted(course.week(week).budgets), checked
    for cell in checks:
        assert "passed" in outputs_text(cell), (cell.source, outputs_text(cell))


def test_every_week_has_a_master_budget():
    assert set(MASTER_CPU_BUDGET_S) == set(course.WEEKS)


@pytest.mark.parametrize("week", sorted(STATED_IN_INTRODUCTION))
def test_the_introduction_still_states_the_master_budget(week):
    """The budget above is the introduction's promise; rewording it flags this."""
    cells = nbformat.read(course.week(week).master(), as_version=4).cells
    first_code = next(i for i, c in enumerate(cells) if c.cell_type == "code")
    introduction = " ".join(
        " ".join(c.source.split())
        for c in cells[:first_code]
        if c.cell_type == "markdown"
    )
    assert STATED_IN_INTRODUCTION[week] in introduction


# ------------------------------------------------------------------ week 2


@pytest.mark.slow
def test_week2_untouched_notebook_runs_and_every_demo_skips_politely(tmp_path):
    path = place_example("week2", "bob_untouched", tmp_path)
    run = execute(path)
    assert not errors(run.nb), outputs_text(errors(run.nb)[0])
    assert run.text.count("Skipped: finish") >= 10


# ------------------------------------------------------------------ week 3a


@pytest.mark.slow
def test_week3a_master_saves_the_weights_it_trains(master):
    assert (master("week3a").folder / "model_weights.pt").exists()  # Part 5


# ------------------------------------------------------------------ week 3b


@pytest.mark.slow
def test_week3b_master_regenerates_the_release_data_and_logs_its_runs(master, repo):
    run = master("week3b")
    assert (run.folder / "data/chr22_sequences.txt.gz").read_bytes() == (
        repo / "assignments/week3b/data/chr22_sequences.txt.gz"
    ).read_bytes()
    assert "best:" in run.text and "a grid would need 216 runs" in run.text
    assert sorted(p.name for p in (run.folder / "runs").glob("*.jsonl"))[:1] == [
        "run-001.jsonl"
    ]  # the local logger wrote its runs


def test_week3b_untouched_release_runs_and_skips_its_demos(tmp_path, repo):
    shutil.copytree(repo / "assignments/week3b", tmp_path / "week3b")
    run = execute(tmp_path / "week3b" / "week3b.ipynb", timeout=120)
    assert not errors(run.nb), outputs_text(errors(run.nb)[0])
    assert "Skipped: needs q1" in run.text and "Skipped: needs q2" in run.text
    assert "train: x (1280, 100, 4)" in run.text  # the release's data were found
