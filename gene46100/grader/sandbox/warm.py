"""Warm sandboxes: one zygote per runner slot, a forked worker per submission.

A cold sandbox starts bubblewrap, the interpreter, numpy, IPython and (in the first
cell) torch for every submission and every restart: about 3 CPU seconds before the
student's first line runs. A warm sandbox pays that once per slot. It is a bubblewrap
sandbox exactly like a cold one (same system view, namespaces, environment, pids
cgroup and rlimits) whose pid 1 is ``untrusted/zygote.py``: it imports the heavy
modules, then forks one child per attempt, and the child walls itself into a private
sandbox of its own before running ``worker.main`` on ``/job``. The zygote's module
docstring has the design and the threat model; in short, what the child gets and
what it cannot reach:

- its own job dir only (read-only at ``/job``, its four writable folders, nothing of
  ``/jobs`` where the host puts the job dirs), fresh ``/tmp`` and ``/dev/shm``, every
  other mount read-only, new user/mount/IPC/UTS/network namespaces, no capabilities,
  the cold sandbox's rlimits and environment;
- the zygote's memory as it was after the imports (a fork: nothing a child changes
  reaches the zygote or the next child); the zygote never runs student code, is not
  dumpable (no ptrace, no ``/proc/1/mem`` or ``/proc/1/fd``) and, as pid 1, gets no
  signal from the children;
- before the next attempt starts, every process of the sandbox but the zygote is
  killed and reaped (``clean``).

The host side (this module) trusts the zygote no more than a cold worker: results
still come only through the sealed ``out/`` and the events pipe, checked by
``sealing.Guard``; the control socket only says *when* a child was forked, exited and
was cleaned up. Whenever the warm path cannot give a submission every guarantee (the
zygote never got ready, died, stopped answering, could not clean up, or the child
could not build its private sandbox) the slot is torn down with its cgroup and the
submission is graded again, from scratch, in a cold sandbox; its record says so
(``sandbox_start``). A slot that failed is restarted for the next submission.
"""

from __future__ import annotations

import contextlib
import functools
import json
import queue
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from gene46100.grader import sandbox
from gene46100.untrusted import worker, zygote

ZYGOTE_SOURCE = Path(zygote.__file__)
WORKER_SOURCE = Path(worker.__file__)
ANSWER_S = 5.0  # for "forked" after "run", and for "clean" after "end" (the sweep
# itself may take up to zygote.SWEEP_S when a fork bomb fights back)
READY_S = 120.0  # imports on a loaded 2-core machine


class WarmUnavailable(RuntimeError):
    """This slot cannot give the next submission a warm start (the reason)."""


@functools.lru_cache(maxsize=1)
def warm_supported() -> bool:
    """Whether this bubblewrap can run a command as the sandbox's pid 1."""
    path = sandbox.bwrap_path()
    if path is None:
        return False
    probe = [path, "--unshare-all", "--as-pid-1", "--ro-bind", "/", "/", "true"]
    done = subprocess.run(probe, capture_output=True, timeout=30, check=False)
    return done.returncode == 0


def receive(control: socket.socket, wait_s: float) -> dict | None:
    """The zygote's next message within ``wait_s``; None on none yet. Raises
    ``WarmUnavailable`` when the zygote is gone."""
    if not select.select([control], [], [], max(wait_s, 0.0))[0]:
        return None
    try:
        data = control.recv(65536)
    except OSError as exc:
        raise WarmUnavailable(f"the warm sandbox's parent went away ({exc})") from exc
    if not data:
        raise WarmUnavailable("the warm sandbox's parent exited")
    try:
        message = json.loads(data)
    except ValueError as exc:
        raise WarmUnavailable("the warm sandbox's parent sent garbage") from exc
    if not isinstance(message, dict):
        raise WarmUnavailable("the warm sandbox's parent sent garbage")
    return message


def expect(control: socket.socket, event: str, wait_s: float) -> dict:
    """Wait for the message ``event`` (others in between are out of protocol)."""
    deadline = time.monotonic() + wait_s
    while True:
        message = receive(control, deadline - time.monotonic())
        if message is None:
            raise WarmUnavailable(f"the warm sandbox did not say {event!r} in time")
        if message.get("ev") == event:
            return message
        if event == "clean" and message.get("ev") == "unclean":
            raise WarmUnavailable("processes of the last submission would not die")
        if message.get("ev") == "failed":
            raise WarmUnavailable(f"the warm sandbox failed ({message.get('why')})")
        if message.get("ev") != "exit":  # a late exit before clean is in order
            raise WarmUnavailable(f"unexpected {str(message.get('ev'))[:20]!r}")


def start_zygote(
    folder: Path, jobs_dir: Path, limits: sandbox.Limits, threads: int
) -> tuple[subprocess.Popen, socket.socket]:
    """Start a warm sandbox whose files are in ``folder/boot``: the process and the
    host's end of its control socket."""
    boot = folder / "boot"
    boot.mkdir(exist_ok=True)
    shutil.copyfile(ZYGOTE_SOURCE, boot / "zygote.py")
    shutil.copyfile(WORKER_SOURCE, boot / "worker.py")
    for path in sandbox.matplotlib_font_cache():
        (boot / "mpl").mkdir(exist_ok=True)
        shutil.copyfile(path, boot / "mpl" / path.name)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    command = [
        sys.executable,
        "-I",
        f"{sandbox.WARM_MOUNT}/zygote.py",
        f"{sandbox.WARM_MOUNT}/worker.py",
        str(theirs.fileno()),
    ]
    argv = sandbox.warm_argv(
        boot,
        jobs_dir,
        command,
        threads,
        limits.tmp_mb,
        parent_env=zygote.PARENT_ENV,
    )
    try:
        process = sandbox.spawn(argv, limits, (theirs.fileno(),), folder)
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return process, ours


class Slot:
    """One runner slot's warm sandbox: its zygote process, its control socket, its
    job dirs."""

    def __init__(
        self, limits: sandbox.Limits, threads: int, root: Path | None = None
    ) -> None:
        self.limits, self.threads, self.root = limits, threads, root
        self.process: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.folder: Path | None = None
        self.ready_info: dict | None = None
        # Set when warm starts cannot work here at all (the zygote cannot start, a
        # child cannot build its private sandbox): every submission then goes cold.
        self.disabled = ""

    @property
    def jobs_dir(self) -> Path:
        assert self.folder is not None
        return self.folder / "jobs"

    def start(self) -> None:
        """Start the zygote (it imports in the background; ``ready`` waits). The
        slot's folder outlives a restart: job dirs in it may still be scored."""
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="g46-warm-", dir=self.root))
            (self.folder / "jobs").mkdir()
        self.process, self.control = start_zygote(
            self.folder, self.jobs_dir, self.limits, self.threads
        )
        self.ready_info = None

    def ready(self) -> dict:
        """The zygote's ``ready`` message (started if need be); raises
        ``WarmUnavailable`` when it cannot start."""
        if self.disabled:
            raise WarmUnavailable(self.disabled)
        try:
            if self.process is None or self.process.poll() is not None:
                self.close()
                self.start()
            if self.ready_info is None:
                assert self.control is not None
                self.ready_info = expect(self.control, "ready", READY_S)
        except (WarmUnavailable, OSError) as exc:
            self.disabled = f"the warm sandbox could not start ({exc})"
            self.close()
            raise WarmUnavailable(self.disabled) from exc
        return self.ready_info

    def launch(self, job_dir: Path, events_fd: int) -> WarmProcess:
        """Fork a worker for ``job_dir`` (a folder of ``jobs_dir``)."""
        self.ready()
        assert self.control is not None
        message = {
            "op": "run",
            "job": job_dir.name,
            "tmp_mb": self.limits.tmp_mb if sandbox.tmpfs_size_supported() else 0,
            "limits": {
                "memory_mb": self.limits.memory_mb,
                "file_size_mb": self.limits.file_size_mb,
                "open_files": self.limits.open_files,
                "processes": self.limits.processes,
                "cpu_s": self.limits.cpu_s,
            },
        }
        try:
            socket.send_fds(self.control, [json.dumps(message).encode()], [events_fd])
        except OSError as exc:
            raise WarmUnavailable(f"the warm sandbox went away ({exc})") from exc
        expect(self.control, "forked", ANSWER_S)
        return WarmProcess(self)

    def close(self) -> None:
        """Kill the sandbox (everything in it) and its cgroup."""
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.process is not None:
            sandbox.kill(self.process)
        self.process = None
        self.ready_info = None

    def remove(self) -> None:
        """Close, and remove the slot's folder (at the end of the batch)."""
        self.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


class WarmProcess:
    """A forked worker as ``supervisor.Attempt`` sees a sandbox process (``poll``,
    ``returncode``, ``stop``). ``failure`` says why the warm start was given up."""

    def __init__(self, slot: Slot) -> None:
        self.slot = slot
        self.returncode: int | None = None
        self.maxrss_mb = 0.0
        self.failure = ""
        self.cgroup = getattr(slot.process, "cgroup", None)

    def poll(self) -> int | None:
        if self.returncode is not None or self.failure:
            return self.returncode
        try:
            message = receive(self.slot.control, 0.0)  # type: ignore[arg-type]
        except WarmUnavailable as exc:
            return self._give_up(str(exc))
        if message is not None and message.get("ev") == "failed":
            return self._give_up(f"the warm sandbox failed ({message.get('why')})")
        if message is not None and message.get("ev") == "exit":
            code = message.get("code")
            self.returncode = code if isinstance(code, int) else -9
            rss = message.get("maxrss_mb")
            self.maxrss_mb = float(rss) if isinstance(rss, (int, float)) else 0.0
        return self.returncode

    def _give_up(self, why: str) -> int:
        self.failure = why
        self.returncode = -9
        return self.returncode

    def stop(self) -> None:
        """End the attempt: the zygote kills the child and everything left; a zygote
        that cannot is killed with its whole sandbox."""
        control = self.slot.control
        try:
            if self.failure or control is None:
                raise WarmUnavailable(self.failure or "no warm sandbox")
            control.send(json.dumps({"op": "end"}).encode())
            while self.returncode is None:  # the exit comes before clean
                message = expect(control, "exit", ANSWER_S)
                self.returncode = int(message.get("code", -9))
                self.maxrss_mb = float(message.get("maxrss_mb") or 0.0)
            expect(control, "clean", ANSWER_S + zygote.SWEEP_S)
        except (WarmUnavailable, OSError, ValueError, TypeError) as exc:
            self.failure = self.failure or str(exc)
            self.slot.close()


class WarmPool:
    """``count`` slots, each a warm sandbox of its own, started at once (their
    imports overlap the host's planning); ``slot()`` lends one for a whole
    submission."""

    def __init__(
        self, count: int, limits: sandbox.Limits, threads: int = 1, root=None
    ) -> None:
        self.slots = [Slot(limits, threads, root) for _ in range(max(1, count))]
        self.free: queue.Queue[Slot] = queue.Queue()

    def __enter__(self) -> WarmPool:
        for slot in self.slots:
            try:
                slot.start()
            except OSError as exc:
                slot.disabled = f"the warm sandbox could not start ({exc})"
            self.free.put(slot)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for slot in self.slots:
            slot.remove()

    @contextlib.contextmanager
    def slot(self) -> Iterator[Slot]:
        slot = self.free.get()
        try:
            yield slot
        finally:
            self.free.put(slot)
