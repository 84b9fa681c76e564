"""The hostile and broken corpus (tests/hostile_corpus.py), graded the way a TA would.

The whole corpus goes through ``gene46100 grade`` in one batch (two at a time), then:
every case gets the outcome its ``Expect`` states (honest questions keep their scores,
hostile ones gain nothing and are flagged, broken ones get a clear status), the batch
has exactly one record per submission with the assignment's columns, no file outside
the sandbox's scratch changed, nothing the sandboxes started is still running, and the
grader's own memory stayed bounded, and every submission that was run was forked from
a warm sandbox (``sandbox_start``). Three small extra batches check the per-submission
deadline, that grading nondeterministic code twice gives the same scores, and that
nothing a submission leaves in a warm sandbox reaches the next one graded there.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import resource
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hostile_corpus import BY_NAME, CASES, GRADED, POINTS, REPO, SPEC, Case, Context

from gene46100 import cli
from gene46100.grader import records, sandbox
from gene46100.grader.assignment import Settings, load_assignment
from gene46100.grader.intake import stable_id

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sandbox.bwrap_path() is None, reason="no bubblewrap"),
]

# Short limits keep the corpus at a few minutes; the honest cases need well under them.
FLAGS = ["--jobs", "2", "--cell-timeout", "15", "--timeout", "300", "--quiet"]
DEADLINE_FLAGS = ["--jobs", "2", "--cell-timeout", "15", "--timeout", "25", "--quiet"]
REGRADE = ("honest", "reseeds_and_threads_in_cell", "unseeded_sgd", "unseeded_mlp_init")
# One warm slot, in this order (sorted ids): the attack on the warm parent, then the
# submission that plants leftovers, then the probes that would lose points to them.
SEQUENTIAL = (
    "warm_attacks_parent",
    "warm_leftovers_plant",
    "warm_leftovers_probe_1",
    "warm_leftovers_probe_2",
)
SEQUENTIAL_FLAGS = ["--jobs", "1", *FLAGS[2:]]
# Cases that may be graded cold in the main batch, and the reason their record must
# give (none: every submission that is run is forked from a warm sandbox).
COLD_ALLOWED: dict[str, str] = {}
MAIN = [c for c in CASES if c.batch == "main"]
MiB = 1024 * 1024


@dataclass
class Batch:
    """One graded batch: records by case, and what was seen around the run."""

    ctx: Context
    out: Path
    scratch: Path  # the sandboxes' job dirs were made here
    ids: dict[str, str]  # case -> expected submission id
    records: dict[str, dict] = field(default_factory=dict)
    lines: list[dict] = field(default_factory=list)
    hashes_before: dict[str, str] = field(default_factory=dict)
    hashes_after: dict[str, str] = field(default_factory=dict)
    rss_growth_mb: float = 0.0
    exit_code: int = -1


def digest_tree(*roots: Path, skip: Path | None = None) -> dict[str, str]:
    """sha256 of every file under ``roots`` (``skip`` excluded)."""
    found = {}
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if skip is not None and skip in path.parents:
                continue
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def make_canary(root: Path) -> Path:
    """Files outside the sandbox that hostile cases aim at (they must not change)."""
    canary = root / "canary"
    (canary / "hidden_tests").mkdir(parents=True)
    (canary / "canary.txt").write_text("the grader's machine\n")
    shutil.copyfile(
        REPO / "gene46100/checks/week1/q03_gradient.py",
        canary / "hidden_tests/week1.py",
    )
    return canary


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def grade(tmp: Path, cases: list[Case], flags: list[str]) -> Batch:
    """Write ``cases`` into a fresh batch folder and grade it with the CLI."""
    batch_dir, scratch = tmp / "batch", tmp / f"scratch-{secrets.token_hex(4)}"
    batch_dir.mkdir()
    scratch.mkdir()
    ctx = Context(batch_dir, make_canary(tmp), str(secrets.randbelow(900000) + 100000))
    ids = {case.name: stable_id(case.write(ctx), batch_dir) for case in cases}
    batch = Batch(ctx, batch_dir / "out", scratch, ids)
    batch.hashes_before = digest_tree(batch_dir, ctx.canary)
    load_assignment("week1", Settings())  # imports done before memory is measured
    rss = peak_rss_mb()
    with pytest.MonkeyPatch.context() as mp:  # job dirs under ``scratch``, to find ours
        mp.setattr(tempfile, "tempdir", str(scratch))
        batch.exit_code = cli.main(
            ["grade", "week1", str(batch_dir), "--out", str(batch.out), *flags]
        )
    batch.rss_growth_mb = peak_rss_mb() - rss
    batch.hashes_after = digest_tree(batch_dir, ctx.canary, skip=batch.out)
    batch.lines = [
        json.loads(line)
        for line in (batch.out / "records.jsonl").read_text().splitlines()
    ]
    by_id = {r["id"]: r for r in batch.lines}
    batch.records = {name: by_id[sid] for name, sid in ids.items() if sid in by_id}
    return batch


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Batch:
    return grade(tmp_path_factory.mktemp("hostile"), MAIN, FLAGS)


# ------------------------------------------------------------------ per case
def score(record: dict, question: str) -> float:
    return next(q["score"] for q in record["questions"] if q["name"] == question)


def record_text(record: dict) -> str:
    """Everything a TA can read in a record (message, flags, cells, feedback)."""
    return json.dumps(
        {
            k: record.get(k)
            for k in ("message", "flags", "cells", "intake_notes", "questions")
        }
    )


def case_params(cases: list[Case]) -> list:
    return [
        pytest.param(
            c.name,
            id=c.name,
            marks=[pytest.mark.xfail(strict=True, reason=c.known_hole)]
            if c.known_hole
            else [],
        )
        for c in cases
    ]


@pytest.mark.parametrize("name", case_params(MAIN))
def test_case_gets_its_expected_outcome(corpus, name):
    check_case(corpus, BY_NAME[name])


def check_case(batch: Batch, case: Case) -> None:
    expect = case.expect
    record = batch.records.get(case.name)
    assert record is not None, f"no record for {case.name} ({batch.ids[case.name]})"
    summary = {
        q["name"]: (q["score"], q["status"], q["feedback"][:160])
        for q in record["questions"]
    }
    context = (
        f"{case.behaviour}\nstatus={record['status']} flags={record['flags']} "
        f"message={record['message']!r}\ncells={record['cells']}\n{summary}"
    )
    assert [q["name"] for q in record["questions"]] == [
        q["name"] for q in SPEC["questions"]
    ], context
    assert record["status"] in expect.status, context
    for q in expect.keep:
        assert score(record, q) == POINTS[q], f"{q} lost points\n{context}"
    for q in expect.zero:
        assert score(record, q) == 0, f"{q} gained points\n{context}"
    if expect.flagged:
        assert record["status"] == "tampered" and record["flags"], context
    else:
        assert record["status"] != "tampered" and not record["flags"], context
    if expect.reason:
        assert expect.reason in record_text(record), context
    if expect.cell:
        assert expect.cell in {c["status"] for c in record["cells"].values()}, context
    if expect.baseline:  # the same wrong answer without the trick scores at least this
        base = batch.records[expect.baseline]
        assert all(score(record, q) <= score(base, q) for q in GRADED), context


# ----------------------------------------------------------------- the batch as a whole
def test_batch_finished_with_one_record_per_submission(corpus):
    assert corpus.exit_code == 0
    ids = [r["id"] for r in corpus.lines]
    assert len(ids) == len(set(ids)) == len(MAIN)
    assert set(ids) == set(corpus.ids.values())
    assert all(r["status"] in records.STATUSES for r in corpus.lines)
    assert not [r["id"] for r in corpus.lines if r["status"] == "internal_error"]


def test_grades_csv_columns_come_from_the_assignment(corpus):
    rows = list(csv.reader((corpus.out / "grades.csv").open(newline="")))
    names = [q["name"] for q in SPEC["questions"]]
    assert rows[0] == [
        "file",
        *names,
        "total_points_earned",
        "percent_correct",
        "grading_status",
        "autograded_points",
        "manual_points",
        "manual_pending",
    ]
    assert len(rows) == 2 + len(MAIN)  # header, points possible, one per submission
    assert all(len(row) == len(rows[0]) for row in rows)


def test_no_file_outside_the_scratch_dir_changed(corpus):
    assert corpus.hashes_after == corpus.hashes_before
    batch, canary = corpus.ctx.batch, corpus.ctx.canary
    for folder in (batch, canary, corpus.scratch, Path.cwd(), REPO):
        assert not list(folder.glob("PWNED*")), folder
    assert not Path(f"/tmp/pwned-{corpus.ctx.marker}").exists()
    assert (
        not (REPO / "gene46100/checks/week1/q03_gradient.py")
        .read_text()
        .endswith("pwned")
    )
    tmp_root = batch.parent
    assert not [p for p in tmp_root.rglob("evil.ipynb")], "a zip member escaped"
    assert not Path(tempfile.gettempdir(), "evil.ipynb").exists()
    left = [
        p.name
        for p in corpus.scratch.iterdir()
        if p.name.startswith(("g46-", "gene46100-"))
    ]
    assert not left, f"job or extraction dirs were not cleaned up: {left}"


def process_table() -> dict[int, tuple[str, str]]:
    """pid -> (command line, mount table) of every process we can read."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (
                (entry / "cmdline")
                .read_bytes()
                .replace(b"\0", b" ")
                .decode(errors="replace")
            )
            mounts = (
                (entry / "mountinfo").read_text(errors="replace")
                if "/job/" in cmdline
                else ""
            )
        except OSError:
            continue
        table[int(entry.name)] = (cmdline, mounts)
    return table


def test_nothing_the_sandboxes_started_is_still_running(corpus):
    check_no_strays(corpus)


def check_no_strays(batch: Batch) -> None:
    marker, scratch = batch.ctx.marker, batch.scratch.name
    ours = {
        pid: cmd
        for pid, (cmd, mounts) in process_table().items()
        if marker in cmd or scratch in cmd or scratch in mounts
    }
    assert not ours, ours
    cgroups = [
        p
        for root in sandbox.CGROUP_PIDS_ROOTS
        for p in root.glob(f"gene46100-{os.getpid()}-*")
    ]
    assert not cgroups, cgroups


def check_warm_starts(batch: Batch, allowed: dict[str, str]) -> None:
    """Every submission that was run was forked from a warm sandbox (the corpus goes
    through the warm path); refusals were never run. A case of ``allowed`` may have
    been regraded cold, and then says why."""
    wrong = {}
    for name, record in batch.records.items():
        start = record.get("sandbox_start")
        if record["status"] == "invalid_submission":
            ok = start == "" and record.get("peak_rss_mb") == 0
        elif start == "warm":
            ok = record.get("peak_rss_mb", 0) > 0  # the forked worker's, measured
        else:
            ok = name in allowed and start.startswith(f"cold ({allowed[name]}")
        if not ok:
            wrong[name] = (record["status"], start, record.get("peak_rss_mb"))
    assert not wrong, wrong


def test_every_submission_run_was_forked_warm(corpus):
    check_warm_starts(corpus, COLD_ALLOWED)


def test_grader_memory_stays_bounded(corpus):
    # npz_bomb_results hands the grader a file that expands to 512 MiB.
    assert corpus.rss_growth_mb < 300, corpus.rss_growth_mb


def hidden_numbers(question: str) -> set[str]:
    """How the hidden inputs of ``question`` print (Python's float repr)."""
    plan = load_assignment("week1", Settings()).plans[question]
    return {
        repr(float(v))
        for array in plan.arrays.values()
        for v in array.ravel()[:50]
        if abs(float(v)) > 1e-3
    }


def test_feedback_never_echoes_hidden_inputs(corpus):
    numbers = hidden_numbers("q3")
    for name in ("error_echoes_hidden_inputs", "prints_hidden_inputs"):
        text = record_text(corpus.records[name])
        assert not [n for n in numbers if n in text], name
    pages = [
        p
        for p in corpus.out.rglob("*")
        if p.is_file()
        and p.suffix in (".html", ".json", ".csv", ".jsonl", ".txt", ".md")
    ]
    leaked = [
        p.name
        for p in pages
        if any(n in p.read_text(errors="replace") for n in numbers)
    ]
    assert not leaked, leaked


def test_huge_messages_are_capped(corpus):
    assert len(json.dumps(corpus.records["evil_exception_str"])) < 100_000


def test_corpus_covers_every_category():
    required = {
        "tamper",
        "fake-results",
        "leak",
        "leak-via-errors",
        "process-control",
        "timeouts",
        "resources",
        "background",
        "network",
        "malformed",
        "nondeterminism",
        "false-negative",
    }
    counts = {cat: sum(c.category == cat for c in CASES) for cat in required}
    assert all(counts.values()), counts
    assert len(CASES) >= 35
    hostile = [c for c in CASES if c.expect.flagged]
    assert all(c.expect.zero or c.expect.cell or c.expect.keep for c in hostile)


# ------------------------------------------------------------------ extra batches
@pytest.fixture(scope="module")
def deadline(tmp_path_factory) -> Batch:
    """The per-submission limit: a short --timeout, with a broken file beside it."""
    cases = [c for c in CASES if c.batch == "deadline"] + [BY_NAME["truncated_json"]]
    return grade(tmp_path_factory.mktemp("deadline"), cases, DEADLINE_FLAGS)


@pytest.mark.parametrize("name", ["submission_deadline", "truncated_json"])
def test_per_submission_deadline(deadline, name):
    check_case(deadline, BY_NAME[name])
    assert len(deadline.lines) == 2


@pytest.fixture(scope="module")
def regrade(tmp_path_factory) -> Batch:
    return grade(
        tmp_path_factory.mktemp("regrade"), [BY_NAME[n] for n in REGRADE], FLAGS
    )


@pytest.mark.parametrize("name", REGRADE)
def test_grading_twice_gives_identical_scores(corpus, regrade, name):
    first, second = corpus.records[name], regrade.records[name]
    assert [(q["name"], q["score"]) for q in first["questions"]] == [
        (q["name"], q["score"]) for q in second["questions"]
    ]
    check_case(regrade, BY_NAME[name])


def test_case_ids_are_safe(corpus):
    assert all(
        re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", sid) for sid in corpus.ids.values()
    )
    assert set(POINTS) == set(GRADED)


@pytest.fixture(scope="module")
def sequential(tmp_path_factory) -> Batch:
    """The warm-sandbox cases again, one at a time through a single warm slot, so
    each probe is graded right after the plant, by the same zygote (in the main
    batch two slots take turns in an order no test controls)."""
    return grade(
        tmp_path_factory.mktemp("sequential"),
        [BY_NAME[n] for n in SEQUENTIAL],
        SEQUENTIAL_FLAGS,
    )


@pytest.mark.parametrize("name", SEQUENTIAL)
def test_one_warm_slot_leaves_nothing_to_the_next(sequential, name):
    assert [r["id"] for r in sequential.lines] == sorted(sequential.ids.values())
    assert [sequential.ids[n] for n in SEQUENTIAL] == sorted(sequential.ids.values())
    check_case(sequential, BY_NAME[name])


def test_one_warm_slot_stays_warm_and_clean(sequential):
    assert sequential.exit_code == 0 and len(sequential.lines) == len(SEQUENTIAL)
    check_warm_starts(sequential, {})
    check_no_strays(sequential)
