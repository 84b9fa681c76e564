"""Warm sandboxes: one zygote per pool, one slot zygote per runner slot, a forked
worker per submission.

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

Shared (``SharedParent``, the default where ``shared_supported``): one warm sandbox
serves every slot of a pool, so the imports are paid once per pool (about 2.6 CPU
seconds and 250 MB per extra slot saved). Its zygote forks, per slot, a slot zygote
that is pid 1 of a pid namespace of its own, with a mount namespace, a ``/proc``, a
``/dev/pts``, a ``/jobs`` (that slot's job dirs only) and a session of its own, in a
pids cgroup of its own (the host moves it there, by the pid the kernel reports with
its ``ready``, and holds it by a pidfd); it then works
exactly as a zygote of its own sandbox would (above). What this adds to the threat
model: submissions graded at the same time share the sandbox's user namespace, but
neither can name, list, read, ptrace or signal the other's processes (sibling pid
namespaces, a ``/proc`` of each one's own namespace, no common process group or
terminals), see its job dir (each child's
``/jobs`` is its slot's, then an empty tmpfs), or use up its processes (a cgroup
each, or RLIMIT_NPROC per child user namespace without one). The zygote holds
``CAP_SYS_ADMIN`` and ``CAP_SETFCAP`` in the sandbox's user namespace (bubblewrap's,
an unprivileged one of the host's user) to make those namespaces; slot zygotes keep
only ``CAP_SETFCAP`` (a child needs it to map itself to nobody) and every child drops
all before student code runs. A slot zygote that dies or cannot clean up is killed
alone (its whole pid namespace dies with it), and the slot forks a fresh one. Where
bubblewrap cannot make such a sandbox (the probe ``shared_supported`` fails), each
slot has a warm sandbox of its own, as before.

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
import dataclasses
import functools
import json
import os
import queue
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
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
SHARED_PROCESS_SLACK = 16  # the shared sandbox's own processes: zygotes, bubblewrap


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


@functools.lru_cache(maxsize=1)
def shared_supported() -> bool:
    """Whether one warm sandbox can serve every slot here: its zygote can give each
    slot zygote a pid namespace and a ``/proc`` of its own (``zygote.probe_shared``
    runs in a sandbox made as ``SharedParent`` makes it)."""
    if not warm_supported():
        return False
    with tempfile.TemporaryDirectory(prefix="g46-probe-") as folder:
        boot, jobs = Path(folder, "boot"), Path(folder, "jobs")
        boot.mkdir()
        jobs.mkdir()
        shutil.copyfile(ZYGOTE_SOURCE, boot / "zygote.py")
        command = [
            sys.executable,
            "-I",
            f"{sandbox.WARM_MOUNT}/zygote.py",
            zygote.PROBE,
        ]
        argv = sandbox.warm_argv(boot, jobs, command, 1, shared=True)
        try:
            done = subprocess.run(argv, capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return False
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


def expect_ready_from(control: socket.socket, wait_s: float) -> tuple[dict, int]:
    """A slot zygote's ``ready`` and its pid as the host sees it (the kernel's
    ``SCM_CREDENTIALS``, which the sender cannot forge without privileges here)."""
    if not select.select([control], [], [], wait_s)[0]:
        raise WarmUnavailable("the warm sandbox did not say 'ready' in time")
    try:
        data, ancillary, _, _ = control.recvmsg(65536, socket.CMSG_SPACE(12))
    except OSError as exc:
        raise WarmUnavailable(f"the warm sandbox's parent went away ({exc})") from exc
    pids = [
        struct.unpack("3i", payload[:12])[0]
        for level, kind, payload in ancillary
        if (level, kind) == (socket.SOL_SOCKET, socket.SCM_CREDENTIALS)
    ]
    try:
        message = json.loads(data) if data else {}
    except ValueError:
        message = {}
    if not isinstance(message, dict) or message.get("ev") != "ready" or not pids:
        why = message.get("why", "") if isinstance(message, dict) else ""
        raise WarmUnavailable(f"the slot's warm sandbox did not start {why}".strip())
    return message, pids[0]


class SharedParent:
    """One warm sandbox for every slot of a pool (``zygote.serve_slots``): its zygote
    imports once and forks a slot zygote per slot, each pid 1 of a pid namespace of
    its own with its own ``/proc`` and its own job folder at ``/jobs``, in a pids
    cgroup of its own where the host has one. Slots neither see nor signal each
    other's processes, and one slot's fork bomb cannot use up another's processes.
    The zygote keeps ``CAP_SYS_ADMIN`` in the sandbox's user namespace (never beyond:
    it is an unprivileged namespace of the host's user) to make those namespaces;
    slot zygotes drop it before they fork a worker."""

    def __init__(
        self, limits: sandbox.Limits, threads: int, slots: int, root: Path | None
    ) -> None:
        # RLIMIT_NPROC counts a user's processes across the whole sandbox: room for
        # every slot's, each of which a forked child bounds to limits.processes.
        shared = limits.processes * slots + SHARED_PROCESS_SLACK
        self.limits = dataclasses.replace(limits, processes=shared)
        self.threads, self.root = threads, root
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.folder: Path | None = None
        self.ready_info: dict | None = None
        self.generation = 0  # one more at each start

    @property
    def jobs_dir(self) -> Path:
        assert self.folder is not None
        return self.folder / "jobs"

    def start(self) -> None:
        """Start the shared zygote (it imports in the background)."""
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="g46-warm-", dir=self.root))
            (self.folder / "jobs").mkdir()
        self.process, self.control = start_zygote(
            self.folder, self.jobs_dir, self.limits, self.threads, shared=True
        )
        self.generation += 1
        self.ready_info = None

    def alive(self) -> bool:
        process = self.process  # read once: another slot's thread may close it
        return process is not None and process.poll() is None

    def open_slot(self, name: str) -> tuple[socket.socket, int, int]:
        """A new slot zygote serving job folders of ``jobs_dir/name``: the host's end
        of its control socket, its pid in the shared sandbox and the sandbox's
        generation (pids of an earlier one mean other processes)."""
        with self.lock:
            if not self.alive():
                self.close()
                self.start()
            assert self.control is not None
            if self.ready_info is None:
                self.ready_info = expect(self.control, "ready", READY_S)
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            try:
                message = json.dumps({"op": "slot", "name": name}).encode()
                socket.send_fds(self.control, [message], [theirs.fileno()])
                answer = expect(self.control, "slot", ANSWER_S)
            except (WarmUnavailable, OSError):
                ours.close()
                self.close()  # a late answer would be read as the next one's
                raise
            finally:
                theirs.close()
            return ours, int(answer["pid"]), self.generation

    def kill_slot(self, pid: int, generation: int) -> None:
        """Kill a slot zygote (its pid namespace, all its processes, dies with it);
        a zygote that does not answer is killed with the whole sandbox."""
        with self.lock:
            if generation != self.generation or not self.alive():
                return  # that sandbox, and the slot zygote with it, is gone
            if self.control is None:
                return
            try:
                self.control.send(json.dumps({"op": "kill", "pid": pid}).encode())
                expect(self.control, "killed", ANSWER_S)
            except (WarmUnavailable, OSError):
                self.close()

    def close(self) -> None:
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.process is not None:
            sandbox.kill(self.process)
            self.process = None
        self.ready_info = None

    def remove(self) -> None:
        with self.lock:
            self.close()
            if self.folder is not None:
                shutil.rmtree(self.folder, ignore_errors=True)
                self.folder = None


class SlotProcess:
    """A slot zygote of a ``SharedParent``, as ``Slot`` sees its sandbox process:
    ``pid`` (the host's), ``poll``, ``cgroup``, ``end``."""

    def __init__(self, parent: SharedParent, shared_pid: int, generation: int) -> None:
        self.parent, self.shared_pid, self.generation = parent, shared_pid, generation
        self.pid = 0  # the host's pid, from the zygote's ready message
        self.pidfd: int | None = None
        self.cgroup: Path | None = None

    def poll(self) -> int | None:
        if not self.parent.alive():
            return -9
        if self.pidfd is None:
            return None
        ended = select.select([self.pidfd], [], [], 0)[0]  # readable once it exits
        return -9 if ended else None

    def contain(self, host_pid: int, processes: int) -> None:
        """Hold the slot zygote by a pidfd (a pid number could be reused once it is
        reaped) and move it (idle: it forks only on a job) into a pids cgroup of its
        own, where the host can make one."""
        self.pid = host_pid
        try:
            self.pidfd = os.pidfd_open(host_pid)
        except (AttributeError, OSError) as exc:
            raise WarmUnavailable(f"the slot's zygote is gone ({exc})") from exc
        self.cgroup = sandbox.make_pids_cgroup(processes)
        if self.cgroup is None:
            return
        try:
            (self.cgroup / "cgroup.procs").write_text(str(host_pid))
        except OSError as exc:
            sandbox.remove_cgroup(self.cgroup)
            self.cgroup = None
            raise WarmUnavailable(f"the slot's cgroup refused it ({exc})") from exc

    def end(self) -> None:
        """Kill the slot zygote through the shared one (not by host pid: once reaped
        there it may be another process's), and empty its cgroup."""
        self.parent.kill_slot(self.shared_pid, self.generation)
        sandbox.remove_cgroup(self.cgroup)
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


def start_zygote(
    folder: Path, jobs_dir: Path, limits: sandbox.Limits, threads: int, shared: bool
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
        *([zygote.SHARED] if shared else []),
    ]
    argv = sandbox.warm_argv(
        boot,
        jobs_dir,
        command,
        threads,
        limits.tmp_mb,
        parent_env=zygote.PARENT_ENV,
        shared=shared,
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
    """One runner slot's warm sandbox: its zygote process (of its own, or forked in
    a ``SharedParent``), its control socket, its job dirs."""

    def __init__(
        self,
        limits: sandbox.Limits,
        threads: int,
        root: Path | None = None,
        parent: SharedParent | None = None,
        name: str = "slot",
    ) -> None:
        self.limits, self.threads, self.root = limits, threads, root
        self.parent, self.name = parent, name
        self.process: subprocess.Popen | SlotProcess | None = None
        self.control: socket.socket | None = None
        self.folder: Path | None = None
        self.ready_info: dict | None = None
        # Set when warm starts cannot work here at all (the zygote cannot start, a
        # child cannot build its private sandbox): every submission then goes cold.
        self.disabled = ""

    @property
    def jobs_dir(self) -> Path:
        assert self.folder is not None
        return self.folder if self.parent is not None else self.folder / "jobs"

    def start(self) -> None:
        """Start the zygote (it imports in the background; ``ready`` waits), or in a
        shared sandbox fork one there (once its zygote is ready). The slot's folder
        outlives a restart: job dirs in it may still be scored."""
        if self.parent is not None:
            if self.folder is None:
                if self.parent.folder is None:
                    self.parent.start()
                assert self.parent.folder is not None
                self.folder = self.parent.jobs_dir / self.name
                self.folder.mkdir()
            self.control, shared_pid, generation = self.parent.open_slot(self.name)
            self.process = SlotProcess(self.parent, shared_pid, generation)
            self.ready_info = None
            return
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="g46-warm-", dir=self.root))
            (self.folder / "jobs").mkdir()
        self.process, self.control = start_zygote(
            self.folder, self.jobs_dir, self.limits, self.threads, shared=False
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
                self.ready_info = self._wait_ready()
        except (WarmUnavailable, OSError) as exc:
            self.disabled = f"the warm sandbox could not start ({exc})"
            self.close()
            raise WarmUnavailable(self.disabled) from exc
        return self.ready_info

    def _wait_ready(self) -> dict:
        assert self.control is not None
        if not isinstance(self.process, SlotProcess):
            return expect(self.control, "ready", READY_S)
        message, host_pid = expect_ready_from(self.control, READY_S)
        self.process.contain(host_pid, self.limits.processes)
        return message

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
        if isinstance(self.process, SlotProcess):
            self.process.end()
        elif self.process is not None:
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
    """``count`` slots, started at once (their imports overlap the host's planning);
    ``slot()`` lends one for a whole submission. ``shared`` (by default where
    ``shared_supported``): one warm sandbox whose zygote serves every slot, so the
    imports are paid once per pool, not once per slot."""

    def __init__(
        self,
        count: int,
        limits: sandbox.Limits,
        threads: int = 1,
        root=None,
        shared: bool | None = None,
    ) -> None:
        count = max(1, count)
        if shared is None:
            shared = shared_supported()
        self.parent = SharedParent(limits, threads, count, root) if shared else None
        self.slots = [
            Slot(limits, threads, root, self.parent, f"slot-{n}") for n in range(count)
        ]
        self.free: queue.Queue[Slot] = queue.Queue()

    def __enter__(self) -> WarmPool:
        if self.parent is not None:
            try:
                self.parent.start()  # the slots fork from it when first lent
            except OSError as exc:
                for slot in self.slots:
                    slot.disabled = f"the warm sandbox could not start ({exc})"
        for slot in self.slots:
            if self.parent is None:
                try:
                    slot.start()
                except OSError as exc:
                    slot.disabled = f"the warm sandbox could not start ({exc})"
            self.free.put(slot)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for slot in self.slots:
            slot.remove()
        if self.parent is not None:
            self.parent.remove()

    @contextlib.contextmanager
    def slot(self) -> Iterator[Slot]:
        slot = self.free.get()
        try:
            yield slot
        finally:
            self.free.put(slot)
