"""Grade a batch on a Dask cluster: a task per submission, journaled by the driver.

The driver (``gene46100 grade --scheduler ...``) keeps the journal; each Dask worker
runs :func:`~gene46100.grader.batch.grade_submission` on its own machine, in its own
bubblewrap sandbox, exactly as a local run does, and sends back the record as JSON text.

What travels to a worker: the notebook's *bytes* (a worker may be on another machine,
where the driver's path does not exist), the submission's metadata, the assignment
(questions, plans with hidden inputs and trusted context) and the settings. Workers are
part of the trusted grader: they must be machines the course controls, and the Dask
network must be out of students' reach (the scheduler runs any code sent to it). Inside
a worker, hidden material stays outside the sandbox, as locally.

Failures:
- a worker lost mid-task: Dask reruns the task elsewhere; only completed results are
  journaled, so nothing is lost or duplicated;
- a submission whose worker died ``distributed.scheduler.allowed-failures`` times in a
  row (``KilledWorker``): an ``internal_error`` record says so, so a re-run does not
  kill more workers;
- a worker unfit to grade (no working bubblewrap without ``--unsafe-no-sandbox``, or a
  different grader version): refused, like the local CLI: before the batch for workers
  already connected, per task for workers that join later (those submissions get no
  record, are reported, and a re-run grades them);
- the driver killed: the journal holds what finished; a re-run resumes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import socket
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import gene46100
import gene46100_ref
from gene46100 import course
from gene46100.grader import sandbox
from gene46100.grader.assignment import Assignment, Settings, release_files
from gene46100.grader.intake import MAX_NOTEBOOK_BYTES, Submission
from gene46100.grader.pipeline import empty_record, grade_submission
from gene46100.grader.records import Record, Status

if TYPE_CHECKING:  # dask is imported only when a cluster is used
    from distributed import Client

LOCAL_PREFIX = "local:"  # local:N = a LocalCluster of N worker processes on loopback
WAIT_FOR_WORKERS_S = 300.0  # Slurm may take a while to start the workers' jobs
TASK_RETRIES = 2  # reruns of a task that raised (an unfit or broken worker)


class ClusterRefused(RuntimeError):
    """The cluster cannot grade this batch safely (the message says why)."""


class WorkerUnfit(RuntimeError):
    """Raised on a worker that must not grade (no sandbox, another grader version)."""


@dataclass(frozen=True)
class Shipped:
    """One submission as sent to a worker: its metadata and its notebook's bytes."""

    submission: Submission  # its paths are the driver's: replaced on the worker
    name: str  # the notebook's file name (messages quote it)
    data: bytes  # the whole notebook file, at most MAX_NOTEBOOK_BYTES
    companions: tuple[tuple[str, bytes], ...] = ()  # the student's graded files
    release: tuple[tuple[str, bytes], ...] = ()  # the release's files, by relative path


# --- on the driver -------------------------------------------------------------------


def ship(
    submission: Submission, release: tuple[tuple[str, bytes], ...] = ()
) -> Shipped | None:
    """The submission ready to send, or None when intake or size already settle it.

    ``release`` is the release's files (data the notebook reads, see
    :func:`read_release`), sent along because a worker's checkout may lack them.

    Submissions that are invalid before their notebook is even read (intake problems,
    a missing, unreadable or oversized file, a directory) are graded on the driver
    instead: the record is ``invalid_submission`` with the same message as locally.
    """
    path = submission.notebook
    if submission.problem or path is None or not path.is_file():
        return None
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return None
        with open(path, "rb") as f:
            data = f.read(MAX_NOTEBOOK_BYTES + 1)  # the file may grow after stat()
        companions = tuple((name, p.read_bytes()) for name, p in submission.companions)
    except OSError:
        return None
    if len(data) > MAX_NOTEBOOK_BYTES:
        return None
    return Shipped(
        dataclasses.replace(submission, workdir=None),
        path.name,
        data,
        companions,
        release,
    )


def read_release(settings: Settings, assignment: str) -> tuple[tuple[str, bytes], ...]:
    """The release's files beside the notebook, by relative path (read once a batch)."""
    files = release_files(settings.release_dir, assignment)
    return tuple((name, path.read_bytes()) for name, path in sorted(files.items()))


@contextlib.contextmanager
def connect(address: str) -> Iterator[Client]:
    """A client for ``address``: ``local:N``, a scheduler file, or tcp:// / tls:// ...

    TLS and other security settings come from Dask's configuration (``DASK_*``
    environment variables or ~/.config/dask), as for any Dask client.
    """
    from distributed import Client, LocalCluster

    if address.startswith(LOCAL_PREFIX):
        count = address[len(LOCAL_PREFIX) :]
        if not count.isdigit() or int(count) < 1:
            raise ClusterRefused(f"{address}: write local:N with N >= 1 workers")
        # One thread per worker process: each runs one sandbox at a time.
        with (
            LocalCluster(
                n_workers=int(count),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
                silence_logs=logging.ERROR,
            ) as local,
            Client(local) as client,
        ):
            yield client
        return
    try:
        if address.endswith(".json"):  # `dask scheduler --scheduler-file PATH` wrote it
            if not Path(address).is_file():
                raise ClusterRefused(f"no scheduler file at {address} (yet?)")
            client = Client(scheduler_file=address)
        else:
            client = Client(address)
    except (OSError, ValueError) as exc:  # unreachable, not a scheduler, a bad address
        raise ClusterRefused(
            f"cannot reach a Dask scheduler at {address}: {exc}"
        ) from exc
    with client:
        yield client


class DaskRunner:
    """The runner for ``--scheduler``: each submission graded on a Dask worker."""

    def warm_up(
        self, settings: Settings, count: int
    ) -> contextlib.AbstractContextManager:
        """Each worker starts its own sandboxes (cold): nothing to start here."""
        return contextlib.nullcontext()

    def grade_each(
        self, assignment: Assignment, submissions: list[Submission], settings: Settings
    ) -> Iterator[Record]:
        yield from grade_on_cluster(assignment, submissions, settings)


def grade_on_cluster(
    assignment: Assignment, submissions: list[Submission], settings: Settings
) -> Iterator[Record]:
    """Grade each submission on the cluster at ``settings.scheduler``; yield records as
    they complete (the caller journals them).

    Raises:
        ClusterRefused: no worker came, or a connected worker is unfit to grade.
    """
    if not submissions:
        return  # nothing to do: do not even connect
    release = read_release(settings, assignment.name)
    shipped = {s.id: ship(s, release) for s in submissions}
    for submission in submissions:  # settled without a sandbox: no need for a worker
        if shipped[submission.id] is None:
            yield grade_submission(assignment, submission, settings)
    remote = [s for s in submissions if shipped[s.id] is not None]
    if not remote:
        return
    with connect(settings.scheduler) as client:
        expected = fingerprint(assignment.name)
        check_workers(client, settings.unsafe, assignment.name, expected)
        futures = {
            client.submit(
                grade_shipped,
                assignment,
                shipped[s.id],
                settings,
                expected,
                key=f"grade-{s.id}-{uuid.uuid4().hex[:8]}",
                pure=False,
                retries=TASK_RETRIES,
            ): s
            for s in remote
        }
        yield from _collect(client, futures, assignment)


def _collect(client: Client, futures: dict, assignment: Assignment) -> Iterator[Record]:
    """Records from the futures as they finish (failures become records or reports)."""
    from distributed import CancelledError, KilledWorker, as_completed

    for future in as_completed(list(futures)):
        submission = futures.pop(future)
        try:
            record = Record.from_json(json.loads(future.result()))
        except KilledWorker as exc:
            yield _lost_worker_record(assignment, submission, exc)
            continue
        except CancelledError as exc:  # the scheduler or our connection is gone
            raise ClusterRefused(
                f"lost the Dask cluster ({exc}); what finished is "
                "journaled: run again to resume"
            ) from exc
        except Exception as exc:  # noqa: BLE001 - an unfit or broken worker, retried
            # No record: the submission was not graded; a re-run grades it.
            _not_graded(submission, f"{type(exc).__name__}: {str(exc)[:500]}")
            continue
        finally:
            future.release()  # drop the result from the cluster's memory
        if record.id != submission.id:
            _not_graded(submission, f"the worker returned a record for {record.id!r}")
            continue
        yield record


def _not_graded(submission: Submission, why: str) -> None:
    """Tell the TA now (the CLI also counts the submissions left without a record)."""
    print(f"warning: {submission.source} not graded: {why}", file=sys.stderr)


def _lost_worker_record(
    assignment: Assignment, submission: Submission, exc: Exception
) -> Record:
    record = empty_record(
        assignment,
        submission,
        Status.INTERNAL_ERROR,
        "internal error: every worker that graded it died "
        f"(Dask gave up after repeated losses: {str(exc)[:300]})",
    )
    record.seconds = 0.0
    return record


def check_workers(client: Client, unsafe: bool, assignment: str, expected: str) -> None:
    """Refuse the batch when no worker comes or a connected worker is unfit."""
    try:
        client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
    except TimeoutError as exc:
        raise ClusterRefused(
            f"no Dask worker joined the scheduler within {WAIT_FOR_WORKERS_S:.0f} s"
        ) from exc
    answers = client.run(
        worker_problem, unsafe, assignment, expected, on_error="return"
    )
    problems = [
        f"{address}: {_problem_text(answer)}"
        for address, answer in sorted(answers.items())
        if answer
    ]
    if problems:
        raise ClusterRefused(
            "these Dask workers cannot grade:\n  " + "\n  ".join(problems)
        )


def _problem_text(answer: object) -> str:
    if isinstance(answer, BaseException):  # e.g. gene46100 is not installed there
        return f"{type(answer).__name__}: {answer}"
    return str(answer)


# --- on a worker ---------------------------------------------------------------------


def fingerprint(assignment: str) -> str:
    """What the assignment's grades depend on, here: the grader's source (other weeks'
    files aside, but for the earlier weeks' reference modules, which this week's
    imports) and the Python, torch and numpy versions.

    A worker with another grader version (other checks, another sandbox worker) or
    another torch / numpy could give other scores, so its fingerprint must match the
    driver's. Read from disk: the sandbox copies worker.py from there.
    """
    digest = hashlib.sha256()
    reused = set(course.earlier(assignment))  # the reference imports them
    for package in (gene46100, gene46100_ref):
        root = Path(package.__file__).resolve().parent
        used = {assignment} | (reused if package is gene46100_ref else set())
        for path in sorted(root.rglob("*.py")):
            if path.stem in course.COURSE and path.stem not in used:
                continue  # another week's reference or checks
            name = f"{package.__name__}/{path.relative_to(root).as_posix()}"
            digest.update(name.encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    # Installed versions, read without importing torch (slow) on the worker's loop.
    versions = (
        f"python {sys.version_info[:2]} torch {metadata.version('torch')} "
        f"numpy {metadata.version('numpy')}"
    )
    digest.update(versions.encode())
    return digest.hexdigest()[:16]


def worker_problem(unsafe: bool, assignment: str, expected: str) -> str:
    """Why this machine must not grade ``assignment`` ("" when it may)."""
    host = socket.gethostname()
    if not unsafe and sandbox.bwrap_path() is None:
        return (
            f"bubblewrap (bwrap) is missing or cannot create namespaces on {host}, "
            "so student code cannot be isolated: install it there (apt-get install "
            "bubblewrap) or pass --unsafe-no-sandbox"
        )
    if (assignment, expected) in _VERIFIED:
        return ""
    found = fingerprint(assignment)
    if found != expected:
        return (
            f"the grader on {host} differs from the driver's (fingerprint {found}, "
            f"driver {expected}): install the same gene46100 with the same "
            "constraints.txt on every worker"
        )
    _VERIFIED.add((assignment, expected))
    return ""


# (assignment, fingerprint) pairs this process has matched: checked once per batch,
# at its start (a worker that joins later: at its first task), not at every task.
_VERIFIED: set[tuple[str, str]] = set()


def grade_shipped(
    assignment: Assignment, shipped: Shipped, settings: Settings, expected: str
) -> str:
    """The Dask task: grade one shipped submission here; return its record as JSON.

    JSON, not a Python object, so only plain data goes back to the driver.

    Raises:
        WorkerUnfit: this worker must not grade (Dask retries the task elsewhere).
    """
    from distributed import get_worker

    problem = worker_problem(settings.unsafe, assignment.name, expected)
    if problem:
        raise WorkerUnfit(problem)
    with tempfile.TemporaryDirectory(prefix="gene46100-shipped-") as folder:
        submission, settings = unpack(shipped, assignment.name, settings, Path(folder))
        record = grade_submission(assignment, submission, settings)
    record.worker = f"{socket.gethostname()} {get_worker().address}"
    return json.dumps(record.to_json())


def unpack(
    shipped: Shipped, assignment: str, settings: Settings, folder: Path
) -> tuple[Submission, Settings]:
    """Write the shipped files under ``folder``; the submission and settings that
    point at them (this machine's paths, not the driver's)."""
    path = folder / "notebook" / _safe_name(shipped.name)
    _write(path, shipped.data)
    companions = []
    for index, (name, data) in enumerate(shipped.companions):
        companion = folder / "companions" / str(index) / _safe_name(Path(name).name)
        _write(companion, data)
        companions.append((name, companion))
    release = folder / "release"
    for relative, data in shipped.release:
        _write(release / assignment / relative, data)
    submission = dataclasses.replace(
        shipped.submission, notebook=path, companions=tuple(companions), workdir=None
    )
    return submission, dataclasses.replace(settings, release_dir=release)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _safe_name(name: str) -> str:
    """The driver's file name, unless it cannot name a file in a folder here."""
    if name in ("", ".", "..") or "/" in name or "\0" in name:
        return "submission.ipynb"
    return name
