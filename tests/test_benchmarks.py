"""The benchmarks run and report ratios (not that anything is fast: CI is no bench)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import nbformat
import pytest

from benchmarks import common, submissions
from benchmarks.common import Row, Stat
from gene46100.build import examples


def test_ratio_uses_every_pair_of_runs():
    row = Row("b", "m", "s", ours=Stat([1.0, 2.0]), baseline=Stat([4.0, 8.0]))
    ratio = row.ratio()
    assert sorted(ratio.values) == [2.0, 4.0, 4.0, 8.0]
    assert (ratio.median, ratio.lo, ratio.hi) == (4.0, 2.0, 8.0)


def test_ratio_direction_follows_the_unit():
    faster = Row("b", "m", "s", ours=Stat([1.0]), baseline=Stat([4.0]), goal_ratio=4.0)
    assert faster.ratio().median == 4.0 and faster.goal_met() is True
    more = Row(
        "b",
        "m",
        "sub/s",
        ours=Stat([3.0]),
        baseline=Stat([1.0]),
        higher_is_better=True,
        goal_ratio=4.0,
    )
    assert more.ratio().median == 3.0 and more.goal_met() is False
    capped = Row("b", "m", "s", ours=Stat([0.2]), goal_max=0.05)
    assert capped.goal_met() is False and "NOT met" in capped.goal_text()


def test_tables_show_spread_ratio_and_skips():
    rows = [
        Row(
            "grading",
            "per submission",
            "s",
            Stat([1.0, 1.2, 1.1]),
            Stat([4.0, 4.4]),
            "otter run",
            goal_ratio=4.0,
        ),
        common.skipped("kernels", "one_hot_encode", "week2 missing"),
    ]
    text = common.text_table(rows)
    assert "1.1 s [1 s-1.2 s]" in text and "otter run: 4.2 s" in text
    assert "3.83x [3.33-4.4]" in text and "SKIPPED" in text and "week2 missing" in text
    markdown = common.markdown_table(rows, common.machine_info(1))
    assert markdown.splitlines()[0].startswith("| benchmark |")
    assert "Machine:" in markdown and "usable cores" in markdown


def test_batch_mixes_the_kinds_in_proportion():
    kinds = submissions.kinds_for(20)
    assert {k: kinds.count(k) for k in set(kinds)} == {
        "complete": 8,
        "wrong": 5,
        "partial": 4,
        "untouched": 3,
    }
    assert kinds[:4] == ["complete", "wrong", "partial", "untouched"]  # interleaved
    assert set(submissions.kinds_for(5)) == {
        "complete",
        "wrong",
        "partial",
        "untouched",
    }


def stubs(nb: nbformat.NotebookNode) -> int:
    return sum("NotImplementedError" in c.source for c in submissions.answer_cells(nb))


def test_batch_variants_are_what_they_say(tmp_path):
    paths = submissions.write_batch(tmp_path, 5)
    release = nbformat.read(submissions.RELEASE, as_version=4)
    answers = examples.top_level_definitions(submissions.ANSWERS.read_text())
    by_kind = {p.stem.split("_", 1)[1]: nbformat.read(p, as_version=4) for p in paths}
    assert stubs(by_kind["complete"]) == 0
    assert (
        stubs(by_kind["untouched"])
        == stubs(release)
        == len(submissions.answer_cells(release))
    )
    assert 0 < stubs(by_kind["partial"]) < stubs(release)
    wrong = by_kind["wrong"]
    assert stubs(wrong) == 0
    sources = "\n".join(c.source for c in submissions.answer_cells(wrong))
    missing = [name for name, src in answers.items() if src not in sources]
    assert len(missing) == 1 and missing[0] in submissions.WRONG


def test_quick_run_prints_a_table_with_ratios(tmp_path, repo):
    """The cheap subset (kernels), as CI runs it: markdown table, JSON, ratios."""
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--quick",
            "--only",
            "kernels",
            "--threads",
            "1",
            "--markdown",
            "--json",
            str(out),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [line for line in run.stdout.splitlines() if line.startswith("|")]
    assert lines[0] == "| benchmark | metric | ours | baseline | ratio | goal | note |"
    assert "Machine:" in run.stdout
    data = json.loads(out.read_text())
    rows = [r for r in data["rows"] if r["status"] == "ok"]
    assert {r["metric"].split(",")[0] for r in rows} >= {"one_hot_encode", "pwm_scan"}
    assert len(lines) == 2 + len(data["rows"])
    for row in rows:  # every kernel row compares with a baseline
        assert row["ratio"]["min"] > 0 and row["ours"]["median"] > 0, row
        assert f"| {row['ratio']['median']:.3g}x |" in run.stdout
    assert data["machine"]["usable_cpus"] >= 1 and data["quick"] is True


def test_cpu_account_counts_processes_killed_before_they_are_reaped():
    """The grader SIGKILLs its sandboxes; their CPU must still be counted (rusage of
    children would miss a grandchild nobody waits for)."""
    account = common.CpuAccount("test")
    if not account.available:
        pytest.skip("no writable cgroup-v1 cpuacct hierarchy here")
    # The child forks a grandchild that burns 0.3 CPU seconds (by its own clock, so
    # a fast CPU burns as long as a slow one), then kills it unreaped.
    burn = (
        "import os, signal, time\n"
        "read, write = os.pipe()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    while time.process_time() < 0.3: pass\n"
        "    os.write(write, b'x')\n"
        "    while True: pass\n"
        "os.read(read, 1)\n"
        "os.kill(pid, signal.SIGKILL)\n"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        common.run_quiet([sys.executable, "-I", "-c", burn], account=account)
        counted = account.seconds()
    finally:
        account.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rusage = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    assert counted > 0.25 and counted > rusage + 0.2, (counted, rusage)


@pytest.mark.parametrize("week", ["week2", "week3a", "week3b"])
def test_training_week_batches_have_every_kind(tmp_path, week):
    """A class-sized batch of a training week: complete, partial and untouched (week
    3a's as folders, with the companions the grader needs)."""
    paths = submissions.write_batch(tmp_path, 5, week)  # the quick run's batch
    kinds = [p.stem.split("_", 1)[1] for p in paths]
    assert kinds == ["complete", "partial", "untouched", "complete", "complete"]
    notebooks = [p / f"{week}.ipynb" if p.is_dir() else p for p in paths]
    counts = [stubs(nbformat.read(nb, as_version=4)) for nb in notebooks[:3]]
    assert counts[0] == 0 < counts[1] < counts[2]
    if week == "week3a":
        companions = {f.name for f in paths[0].iterdir()}
        assert companions >= {"predict.py", "model_weights.pt"}
        assert (paths[2] / "predict.py").exists()
    assert submissions.kinds_for(60, submissions.mix_for(week)).count("complete") == 39
