"""``gene46100 grade --scheduler``: the batch on a Dask cluster (a LocalCluster of
worker processes on loopback here) gives the records a local run gives, keeps every
submission sandboxed on its worker, and loses nothing when a worker or the driver is
killed."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import dask
import nbformat
import pytest
from distributed import Client, LocalCluster
from helpers import REPO

from gene46100 import cli
from gene46100.grader import assignment, cluster, sandbox
from gene46100.grader.assignment import Settings, load_assignment
from gene46100.grader.batch import grade_batch
from gene46100.grader.intake import MAX_NOTEBOOK_BYTES, Submission, find_submissions
from gene46100.grader.pipeline import grade_submission
from gene46100.grader.records import Record

EXAMPLES = REPO / "examples/submissions/week1"
SPEC = json.loads((REPO / "autograder/week1/assignment.json").read_text())
POINTS = {q["name"]: q["points"] for q in SPEC["questions"]}
needs_bwrap = pytest.mark.skipif(sandbox.bwrap_path() is None, reason="no bubblewrap")


# --- fast notebooks: the imports and answer cells only -------------------------------


def answer_cells(example: str) -> dict[str, nbformat.NotebookNode]:
    """An example's code answer cells by the question the next cell checks."""
    cells = nbformat.read(EXAMPLES / f"{example}.ipynb", 4).cells
    found = {}
    for cell, after in itertools.pairwise(cells):
        check = re.match(r'grader\.check\("(\w+)"\)', after.source)
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and check and "otter_answer_cell" in tags:
            found[check.group(1)] = cell
    return found


def compose(answers: dict[str, str], extra: str = "") -> nbformat.NotebookNode:
    """The untouched stub with some questions answered as an example answers them,
    e.g. ``{"q1": "alice_complete"}``; ``extra``: a code cell run first."""
    stub = nbformat.read(EXAMPLES / "bob_untouched.ipynb", 4)
    imports = next(c for c in stub.cells if c.source.startswith("from __future__"))
    cells = [imports] + ([nbformat.v4.new_code_cell(extra)] if extra else [])
    for question, cell in answer_cells("bob_untouched").items():
        cells.append(
            answer_cells(answers[question])[question] if question in answers else cell
        )
    return nbformat.v4.new_notebook(cells=cells, metadata=stub.metadata)


FIRST_THREE = {"q1": "alice_complete", "q2": "alice_complete", "q3": "alice_complete"}
HALF_GRADIENT = {"q1": "alice_complete", "q3": "carol_half_gradient"}
SLOW = "import time\ntime.sleep(6)  # a submission still being graded when we kill\n"


def write_batch(folder: Path, notebooks: dict[str, nbformat.NotebookNode]) -> Path:
    folder.mkdir(parents=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def journal(out: Path) -> list[dict]:
    path = out / "records.jsonl"
    if not path.exists():
        return []
    return [
        json.loads(line)
        for line in path.read_text().splitlines()
        if line.strip().endswith("}")
    ]


def by_name(records: list[Record] | list[dict]) -> dict[str, dict]:
    """Records (as their JSON form) by the notebook's file name."""
    plain = [r.to_json() if isinstance(r, Record) else r for r in records]
    return {Path(r["file"]).stem: r for r in plain}


def questions(record: dict) -> list[dict]:
    """What a grade is: every question's score, status, checks and feedback."""
    return [
        {k: q[k] for k in ("name", "score", "possible", "status", "checks", "feedback")}
        for q in record["questions"]
    ]


# --- a cluster of two single-threaded worker processes on loopback -------------------


@pytest.fixture(scope="module")
def dask_cluster():
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as local,
        Client(local) as client,
    ):
        yield client


def with_two_workers(client: Client) -> Client:
    client.wait_for_workers(2, timeout=120)  # a killed worker's nanny restarts it
    return client


# --- fast: what travels to a worker, and which workers may grade --------------------


def submission_at(path: Path, **kwargs) -> Submission:
    return Submission(id=path.stem, source=str(path), notebook=path, **kwargs)


def test_ship_sends_bytes_companions_and_release_files(tmp_path, monkeypatch):
    """The worker rebuilds the notebook, the student's files and the release's data
    from bytes, at its own paths."""
    notebook = tmp_path / "ann.ipynb"
    notebook.write_text('{"cells": []}')
    helper = tmp_path / "predict.py"
    helper.write_text("print(1)\n")
    data = tmp_path / "data.csv"
    data.write_text("x,y\n")
    companions = (("predict.py", helper),)
    with monkeypatch.context() as patch:  # a release with a data file
        patch.setattr(
            cluster, "release_files", lambda folder, name: {"data/data.csv": data}
        )
        release = cluster.read_release(Settings(), "week1")
    shipped = cluster.ship(submission_at(notebook, companions=companions), release)
    assert shipped.name == "ann.ipynb" and shipped.data == notebook.read_bytes()
    assert shipped.companions == (("predict.py", b"print(1)\n"),)
    assert shipped.release == (("data/data.csv", b"x,y\n"),)
    notebook.unlink()  # the worker must not need the driver's files
    helper.unlink()
    data.unlink()
    settings = Settings()
    sub, here = cluster.unpack(shipped, "week1", settings, tmp_path / "worker")
    assert sub.notebook.name == "ann.ipynb"
    assert sub.notebook.read_bytes() == shipped.data
    assert dict(sub.companions)["predict.py"].read_text() == "print(1)\n"
    assert (here.release_dir / "week1/data/data.csv").read_text() == "x,y\n"
    assert sub.id == "ann" and settings.release_dir == Settings().release_dir
    files = assignment.work_files_for(SimpleNamespace(name="week1"), sub, here)
    assert {name: path.read_bytes() for name, path in files.items()} == {
        "data/data.csv": b"x,y\n",
        "predict.py": b"print(1)\n",
    }  # what the sandbox gets


def test_submissions_intake_already_settled_are_not_shipped(tmp_path):
    folder = tmp_path / "folder.ipynb"
    folder.mkdir()
    big = tmp_path / "big.ipynb"
    with open(big, "wb") as f:
        f.truncate(MAX_NOTEBOOK_BYTES + 1)
    ok = tmp_path / "ok.ipynb"
    ok.write_text("{}")
    assert cluster.ship(submission_at(folder)) is None
    assert cluster.ship(submission_at(big)) is None
    assert cluster.ship(submission_at(ok, problem="2 notebooks")) is None
    assert cluster.ship(Submission("x", "x", None, problem="no notebook")) is None
    gone = (("predict.py", tmp_path / "deleted.py"),)
    assert cluster.ship(submission_at(ok, companions=gone)) is None
    assert cluster.ship(submission_at(ok)) is not None


def test_a_shipped_invalid_notebook_gets_the_local_record(tmp_path):
    """Regraded from bytes on a worker: the local record, message and all."""
    bad = tmp_path / "broken name.ipynb"
    bad.write_text((EXAMPLES / "bob_untouched.ipynb").read_text()[:500])
    submission = submission_at(bad)
    settings = Settings()
    assignment = load_assignment("week1", settings)
    local = grade_submission(assignment, submission, settings).to_json()
    shipped = cluster.ship(submission)
    bad.unlink()
    remote, here = cluster.unpack(shipped, "week1", settings, tmp_path / "worker")
    record = grade_submission(assignment, remote, here).to_json()
    assert record["status"] == local["status"] == "invalid_submission"
    assert "broken name.ipynb" in local["message"]
    assert "not valid JSON" in local["message"]
    assert {k: v for k, v in record.items() if k != "seconds"} == {
        k: v for k, v in local.items() if k != "seconds"
    }


def test_names_that_cannot_name_a_file_are_replaced():
    assert cluster._safe_name("..") == cluster._safe_name("") == "submission.ipynb"
    assert cluster._safe_name("a/b.ipynb") == "submission.ipynb"
    assert cluster._safe_name("Ann's hw 1.ipynb") == "Ann's hw 1.ipynb"


def test_worker_without_sandbox_or_with_another_grader_refuses(monkeypatch):
    expected = cluster.fingerprint("week1")
    assert cluster.fingerprint("week1") == expected  # stable
    assert cluster.fingerprint("week2") != expected  # each week's own checks count
    # week 3a's reference imports week 2's one_hot_encode: its module counts for 3a
    import gene46100_ref

    week2 = Path(gene46100_ref.__file__).resolve().parent / "week2.py"
    saved = week2.read_bytes()
    before = cluster.fingerprint("week3a"), cluster.fingerprint("week1")
    try:
        week2.write_bytes(saved + b"\n# edited\n")
        assert cluster.fingerprint("week3a") != before[0]
        assert cluster.fingerprint("week1") == before[1]
    finally:
        week2.write_bytes(saved)
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: "/usr/bin/bwrap")
    assert cluster.worker_problem(False, "week1", expected) == ""
    other = cluster.worker_problem(False, "week1", "0" * 16)
    assert "differs from the driver's" in other
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    assert "bubblewrap" in cluster.worker_problem(False, "week1", expected)
    assert cluster.worker_problem(True, "week1", expected) == ""  # --unsafe-no-sandbox
    shipped = cluster.Shipped(Submission("x", "x", None), "x.ipynb", b"{}")
    assignment = load_assignment("week1", Settings())
    with pytest.raises(cluster.WorkerUnfit, match="bubblewrap"):
        cluster.grade_shipped(assignment, shipped, Settings(), expected)


def test_unreachable_scheduler_is_a_clear_refusal(tmp_path, capsys):
    notebook = tmp_path / "ann.ipynb"
    nbformat.write(compose({}), notebook)
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        code = cli.main(
            [
                "grade",
                "week1",
                str(notebook),
                "--quiet",
                "--out",
                str(tmp_path / "out"),
                "--scheduler",
                "tcp://127.0.0.1:9",
            ]
        )
    assert code == 2 and "cannot reach a Dask scheduler" in capsys.readouterr().err
    assert journal(tmp_path / "out") == []


# --- on the cluster -------------------------------------------------------------------


def test_connects_by_scheduler_file_or_starts_local_workers(dask_cluster, tmp_path):
    address = dask_cluster.scheduler.address
    scheduler_file = tmp_path / "scheduler.json"
    scheduler_file.write_text(json.dumps({"address": address}))  # as `dask scheduler`
    with cluster.connect(str(scheduler_file)) as client:
        assert client.scheduler.address == address
    for bad, why in (
        (str(tmp_path / "missing.json"), "no scheduler file"),
        ("local:zero", "local:N"),
    ):
        with pytest.raises(cluster.ClusterRefused, match=why), cluster.connect(bad):
            pass
    with cluster.connect("local:1") as client:
        assert len(client.scheduler_info()["workers"]) == 1
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")


@needs_bwrap
def test_connected_worker_without_bubblewrap_refuses_the_batch(
    dask_cluster, tmp_path, capsys
):
    client = with_two_workers(dask_cluster)
    victim = min(client.scheduler_info()["workers"])
    client.run(_break_bwrap, workers=[victim])
    try:
        notebook = tmp_path / "ann.ipynb"
        nbformat.write(compose({}), notebook)
        code = cli.main(
            [
                "grade",
                "week1",
                str(notebook),
                "--quiet",
                "--out",
                str(tmp_path / "out"),
                "--scheduler",
                client.scheduler.address,
            ]
        )
    finally:
        client.run(_mend_bwrap, workers=[victim])
    err = capsys.readouterr().err
    assert code == 2 and victim in err and "bubblewrap" in err
    assert journal(tmp_path / "out") == []


def _break_bwrap() -> None:
    sandbox.real_bwrap_path = sandbox.bwrap_path
    sandbox.bwrap_path = lambda: None


def _mend_bwrap() -> None:
    sandbox.bwrap_path = sandbox.real_bwrap_path


@needs_bwrap
@pytest.mark.slow
def test_late_unfit_worker_grades_nothing_and_a_rerun_grades_it(
    dask_cluster, tmp_path, monkeypatch, capsys
):
    """A worker that joins after the check and lacks bubblewrap refuses its task: no
    record (a refusal is not a grade), the CLI says so, the next run grades it."""
    client = with_two_workers(dask_cluster)
    batch = write_batch(tmp_path / "batch", {"ann": compose({})})
    out = tmp_path / "out"
    command = [
        "grade",
        "week1",
        str(batch),
        "--out",
        str(out),
        "--quiet",
        "--scheduler",
        client.scheduler.address,
    ]
    monkeypatch.setattr(cluster, "check_workers", lambda *args: None)  # joined later
    client.run(_break_bwrap)
    try:
        code = cli.main(command)
    finally:
        client.run(_mend_bwrap)
    captured = capsys.readouterr()
    assert code == 1 and "not graded" in captured.err and "bubblewrap" in captured.err
    assert journal(out) == []
    assert cli.main(command) == 0
    assert [r["status"] for r in journal(out)] == ["graded"]


SCHEDULER_PROBE = """
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
except OSError:
    pass
else:  # the cluster is reachable: run code on every worker, outside any sandbox
    from distributed import Client
    with Client("tcp://127.0.0.1:{port}", timeout=20) as client:
        client.run(lambda: open({marker!r}, "w").write("ran on a worker"))
"""


@needs_bwrap
@pytest.mark.slow
def test_cluster_records_equal_local_records(dask_cluster, tmp_path):
    """Same batch, local thread pool vs Dask workers: identical grades, including an
    invalid notebook and a student who tries to reach the scheduler (the sandbox has
    no network, so nothing runs on a worker)."""
    client = with_two_workers(dask_cluster)
    port = int(client.scheduler.address.rsplit(":", 1)[1])
    marker = tmp_path / "escaped"
    batch = write_batch(
        tmp_path / "batch",
        {
            "first_three": compose(FIRST_THREE),
            "stubs": compose({}),
            "half_gradient": compose(HALF_GRADIENT),
            "prober": compose(
                {"q2": "alice_complete"},
                extra=SCHEDULER_PROBE.format(port=port, marker=str(marker)),
            ),
        },
    )
    (batch / "truncated.ipynb").write_text(
        (EXAMPLES / "bob_untouched.ipynb").read_text()[:400]
    )
    submissions = find_submissions([batch], assignment="week1")
    local = by_name(
        grade_batch("week1", submissions, tmp_path / "local", Settings(jobs=2))
    )
    remote = by_name(
        grade_batch(
            "week1",
            submissions,
            tmp_path / "remote",
            Settings(scheduler=client.scheduler.address),
        )
    )
    assert (
        set(local)
        == set(remote)
        == {"first_three", "stubs", "half_gradient", "prober", "truncated"}
    )
    for name in local:
        assert questions(remote[name]) == questions(local[name]), name
        for key in ("id", "status", "total", "message", "sandbox", "flags"):
            assert remote[name][key] == local[name][key], (name, key)
    totals = {name: record["total"] for name, record in remote.items()}
    assert totals == {
        "first_three": POINTS["q1"] + POINTS["q2"] + POINTS["q3"],
        "stubs": 0,
        "half_gradient": POINTS["q1"],
        "prober": POINTS["q2"],
        "truncated": 0,
    }
    assert remote["truncated"]["status"] == "invalid_submission"
    workers = set(client.scheduler_info()["workers"])
    assert all(r["worker"].split()[1] in workers for r in remote.values())
    assert not marker.exists()


@needs_bwrap
@pytest.mark.slow
def test_scheduler_probe_does_reach_an_unsandboxed_worker(dask_cluster, tmp_path):
    """Control for the test above: without the sandbox the probe does run code on the
    workers, so its absence there is the sandbox's doing."""
    client = with_two_workers(dask_cluster)
    port = int(client.scheduler.address.rsplit(":", 1)[1])
    marker = tmp_path / "escaped"
    batch = write_batch(
        tmp_path / "batch",
        {
            "prober": compose(
                {}, extra=SCHEDULER_PROBE.format(port=port, marker=str(marker))
            )
        },
    )
    grade_batch(
        "week1",
        find_submissions([batch]),
        tmp_path / "out",
        Settings(scheduler=client.scheduler.address, unsafe=True),
    )
    assert marker.read_text() == "ran on a worker"


@needs_bwrap
@pytest.mark.slow
def test_worker_killed_mid_batch_loses_and_duplicates_nothing(dask_cluster, tmp_path):
    client = with_two_workers(dask_cluster)
    expected = {"ann": 5, "ben": 0, "cat": 5, "dan": 0}
    batch = write_batch(
        tmp_path / "batch",
        {
            name: compose(FIRST_THREE if total else {}, extra=SLOW)
            for name, total in expected.items()
        },
    )
    out = tmp_path / "out"
    settings = Settings(scheduler=client.scheduler.address)
    finished: list[list[dict]] = []
    driver = threading.Thread(
        target=lambda: finished.append(
            grade_batch("week1", find_submissions([batch]), out, settings)
        )
    )
    driver.start()
    victim = _busy_worker(client)
    time.sleep(1)  # its sandbox is starting or sleeping in the notebook's first cell
    pid = client.run(os.getpid, workers=[victim])[victim]
    in_flight = {key.split("-")[1] for key in _grading(client).get(victim, [])}
    done_at_kill = len(journal(out))
    os.kill(pid, signal.SIGKILL)
    driver.join(timeout=600)
    assert not driver.is_alive() and finished
    assert done_at_kill < len(expected) and in_flight
    records = journal(out)
    assert sorted(r["id"] for r in records) == sorted({r["id"] for r in records})
    assert {name: r["total"] for name, r in by_name(records).items()} == expected
    assert all(r["status"] == "graded" for r in records)
    rerun = [r for r in records if r["id"].split("-")[0] in in_flight]
    assert rerun and all(victim not in r["worker"] for r in rerun)  # graded elsewhere


def _grading(client: Client) -> dict[str, list[str]]:
    """Worker address -> the grading tasks it is running (or about to)."""
    tasks = {
        address: [str(k) for k in keys if str(k).startswith("grade-")]
        for address, keys in client.processing().items()
    }
    return {address: keys for address, keys in tasks.items() if keys}


def _busy_worker(client: Client, timeout_s: float = 120) -> str:
    """A worker address with a grading task in progress."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        busy = _grading(client)
        if busy:
            return min(busy)
        time.sleep(0.1)
    raise AssertionError("no grading task started")


@needs_bwrap
@pytest.mark.slow
def test_killed_driver_resumes_on_the_cluster(dask_cluster, tmp_path):
    client = with_two_workers(dask_cluster)
    names = ("ann", "ben", "cat", "dan")
    batch = write_batch(
        tmp_path / "batch", {n: compose(FIRST_THREE, extra=SLOW) for n in names}
    )
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "gene46100.cli",
        "grade",
        "week1",
        str(batch),
        "--out",
        str(out),
        "--quiet",
        "--scheduler",
        client.scheduler.address,
    ]
    first = subprocess.Popen(
        command,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while not journal(out) and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.1)
    running = _grading(client)  # journaled while others are still being graded
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    before = [r["id"] for r in journal(out)]
    assert 1 <= len(before) < len(names) and running
    rerun = subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False
    )
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    ids = [r["id"] for r in journal(out)]
    assert len(ids) == len(set(ids)) == len(names)
    assert ids[: len(before)] == before  # finished work is kept, not redone
    assert all(r["total"] == 5 and r["status"] == "graded" for r in journal(out))
    assert len((out / "grades.csv").read_text().splitlines()) == 2 + len(names)
