"""The warm parent: pay the heavy imports once, fork a fresh worker per submission.

This file runs INSIDE a bubblewrap sandbox (``sandbox.warm`` starts it) as the
sandbox's pid 1 (``bwrap --as-pid-1``), like ``worker.py`` beside it: standard library
only, nothing from ``gene46100``. It imports numpy, torch, IPython and matplotlib's
Agg backend once, then waits on its control socket (the fd named by its second
argument, a
``SOCK_SEQPACKET`` socket whose other end the grader holds) for jobs. Per job it
forks; the child makes itself a private sandbox (``enter_private_sandbox``) and runs
``worker.main`` on ``/job``, exactly as a cold ``python -I worker.py /job FD`` would.

Protocol (one JSON message per packet; fds travel as SCM_RIGHTS):

- zygote -> grader ``{"ev": "ready", "rss_mb"}`` once the imports are done;
- grader -> zygote ``{"op": "run", "job", "limits", "tmp_mb"}`` + the events fd;
  zygote -> grader ``{"ev": "forked", "pid"}``, later ``{"ev": "exit", "code",
  "maxrss_mb"}`` (``code`` as ``Popen.returncode``: negative for a signal);
- grader -> zygote ``{"op": "end"}`` (after exit, or to stop a running child): the
  zygote kills the child and every process left in the sandbox, then answers
  ``{"ev": "clean", "strays"}``; or ``{"ev": "unclean"}`` when some survive.

Threat model. Student code runs only in the forked children, never in the zygote, so
the zygote's memory (modules, ``sys.path``, caches, the environment) stays as it was
after the imports and every child starts from that same state: nothing one child
changes in memory reaches the next. What children could share is the kernel's state,
so each child, before any student code, gets:

- new user, mount, IPC, UTS and network namespaces (no SysV/POSIX IPC, abstract
  sockets or loopback services shared with the next child; no network);
- every mount it inherits remounted read-only (bubblewrap's root and ``/dev`` are
  writable tmpfs mounts shared with the zygote), then only its own job dir at
  ``/job`` (read-only, with ``out``, ``home``, ``work`` and ``scratch`` writable),
  fresh size-capped tmpfs mounts on ``/tmp`` and ``/dev/shm``, and an empty tmpfs
  over ``/jobs`` (where the other job dirs of this sandbox would be);
- the same rlimits as a cold sandbox, a fresh numpy seed (as a fresh process has),
  the default signal dispositions, no file descriptor but the events pipe, and no
  capabilities (dropped after the mounts; inherited mounts are locked, so a nested
  user namespace cannot lift them).

The zygote is pid 1 of the sandbox's pid namespace: the kernel drops the signals
other processes of the namespace send it (SIGKILL and SIGSTOP included) unless it
handles them, and it handles none; it is not dumpable, so no child can ptrace it or
read its memory or fds through ``/proc``. After each job it kills every other process
of the namespace (``kill(-1, SIGKILL)`` from pid 1 reaches them all) and reaps them
before it answers, so nothing a submission started outlives it. Anything it cannot
do (a mount refused, a process that will not die) makes the child exit with
``UNSAFE_EXIT`` or the zygote answer ``unclean``: the grader then grades that
submission in a cold sandbox and says so in the record.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import signal
import socket
import sys
import time

UNSAFE_EXIT = 86  # the child could not make its private sandbox: grade it cold
SANDBOX_ID = 65534  # the uid and gid of sandboxed code (sandbox.SANDBOX_ID)
JOB_MOUNT = "/job"
JOBS_MOUNT = "/jobs"
WRITABLE = ("out", "home", "work", "scratch")
SWEEP_S = 10.0
# The zygote's own environment on top of the cold sandbox's, never its children's.
# glibc's malloc asks for transparent huge pages (where the kernel offers them), so
# most of the ~250 MB the imports allocate sits in 2 MB pages: each fork (one per
# submission, then one per question) copies a few hundred page-table entries
# instead of ~60,000, and each question's process exits faster. Read by the loader
# at exec, so it holds in every fork; removed from ``os.environ`` after the imports
# (a child's ``/proc/self/environ``, the zygote's exec block, still names it).
PARENT_ENV = {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC = 32, 4096, 8192, 16384
MS_PRIVATE = 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
ST_RELATIME = 4096
PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_CAP_AMBIENT = 4, 24, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAP_LAST = 63
LINUX_CAPABILITY_VERSION_3 = 0x20080522
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1

libc = ctypes.CDLL(None, use_errno=True)


class Unsafe(Exception):
    """A step of the child's private sandbox failed: it must not run the job."""


def check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise Unsafe(f"{what}: {os.strerror(code)}")


# ---------------------------------------------------------------- warm imports
# What IPython imports lazily when a child makes its shell (the magics, the
# completer...) and runs its first cell: ~16 ms of every submission's CPU, paid
# once here instead (tests/test_zygote_imports.py lists what a child still imports).
SHELL_IMPORTS = (
    "bdb",
    "IPython.core.application",
    "IPython.core.completer",
    "IPython.core.completerlib",
    "IPython.core.crashhandler",
    "IPython.core.logger",
    "IPython.core.magic_arguments",
    "IPython.core.magics",
    "IPython.core.magics.ast_mod",
    "IPython.core.magics.execution",
    "IPython.core.oinspect",
    "IPython.utils.contexts",
    "IPython.utils.generics",
    "IPython.utils.module_paths",
    "IPython.utils.timing",
    "IPython.utils.wildcard",
)


def warm_imports() -> None:
    """What every submission would import anyway, loaded once here. Nothing is run
    (no tensor op, so no thread pool exists to be broken by fork)."""
    # matplotlib's cache goes to the zygote's own /tmp (hidden from children), and
    # what the imports set in the environment (torch._dynamo sets a cache folder) is
    # undone: children start with the cold sandbox's environment, exactly.
    environment = {k: v for k, v in os.environ.items() if k not in PARENT_ENV}
    os.environ["MPLCONFIGDIR"] = "/tmp/mpl"
    if os.path.isdir("/warm/mpl"):  # the host's font list: no font scan here
        import shutil

        shutil.copytree("/warm/mpl", "/tmp/mpl")
    import IPython.core.interactiveshell  # noqa: F401
    import matplotlib

    for name in SHELL_IMPORTS:
        __import__(name)

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401 - loads the font list once
    import numpy  # noqa: F401
    import torch  # noqa: F401
    import torch._dynamo  # noqa: F401 - what the first optimizer imports: ~2.5 s
    import torch.nn  # noqa: F401
    import torch.optim  # noqa: F401
    import traitlets.config  # noqa: F401

    os.environ.clear()
    os.environ.update(environment)


def load_worker(path: str):
    """``worker.py`` as a module (not through ``sys.path``: children see it as is)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("worker", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- the child
def write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data=None):
    check(
        libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def locked_flags(path: str) -> int:
    """The flags a remount must keep (a user namespace may not clear them)."""
    flag = os.statvfs(path).f_flag
    keep = flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
    return keep | (MS_RELATIME if flag & ST_RELATIME else 0)


def mount_points() -> list[str]:
    """Every mount point of this mount namespace, parents before children."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    unescaped = [p.encode().decode("unicode_escape") for p in points]
    return sorted(set(unescaped), key=lambda p: (p.count("/"), p))


def remount_all_read_only(keep: tuple[str, ...]) -> None:
    """bubblewrap's root, ``/etc``, ``/dev`` are tmpfs mounts this child shares with
    the zygote (and so with the next child): none may be written, but ``keep``."""
    for point in mount_points():
        proc = point == "/proc" or point.startswith(("/proc/", "/dev/pts"))
        if proc or point in keep:
            continue
        if not os.path.isdir(point) or os.statvfs(point).f_flag & MS_RDONLY:
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(point)
        mount(None, point, None, flags)


def bring_up_loopback() -> None:
    """A new network namespace starts with ``lo`` down (bubblewrap brings it up)."""
    import fcntl
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def drop_capabilities() -> None:
    """No capabilities left."""
    for cap in range(CAP_LAST + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the kernel's last
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all empty
    check(libc.capset(header, data), "capset")


def apply_limits(limits: dict) -> None:
    mb = 1024 * 1024
    for name, value in (
        (resource.RLIMIT_AS, limits["memory_mb"] * mb),
        (resource.RLIMIT_FSIZE, limits["file_size_mb"] * mb),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_NPROC, limits["processes"]),
        (resource.RLIMIT_CPU, limits["cpu_s"]),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(name, (value, value))


def fresh_tmpfs(target: str, options: str) -> None:
    """A new empty tmpfs on ``target`` that keeps the mounts which lay beneath it: the
    Python environment may live under /tmp (a checkout there), bound read-only by
    bubblewrap. They are parked under /jobs, then moved into the new tmpfs."""
    below = [p for p in mount_points() if p.startswith(target + "/")]
    tops = [p for p in below if not any(p.startswith(q + "/") for q in below)]
    parked = []
    for number, point in enumerate(tops):
        holder = f"{JOBS_MOUNT}/{number}"
        os.mkdir(holder)
        mount(point, holder, None, MS_BIND | MS_REC)  # its own flags (read-only) kept
        parked.append((holder, point))
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options)
    for holder, point in parked:
        os.makedirs(point, exist_ok=True)
        mount(holder, point, None, MS_MOVE)
        os.rmdir(holder)


def enter_private_sandbox(job: str, tmp_mb: int) -> None:
    """Make this child's own sandbox (see the module docstring); raises ``Unsafe``."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET
    check(libc.unshare(flags), "unshare")
    write("/proc/self/setgroups", "deny")
    write("/proc/self/uid_map", f"{SANDBOX_ID} {uid} 1")  # nobody, as a cold one
    write("/proc/self/gid_map", f"{SANDBOX_ID} {gid} 1")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    source = os.path.join(JOBS_MOUNT, os.path.basename(job))
    if not os.path.isdir(source) or os.path.islink(source):
        raise Unsafe(f"no job folder {source}")
    mount(source, JOB_MOUNT, None, MS_BIND | MS_REC)
    writable = tuple(f"{JOB_MOUNT}/{name}" for name in WRITABLE)
    for name, target in zip(WRITABLE, writable):
        folder = os.path.join(source, name)
        if os.path.islink(folder) or not os.path.isdir(folder):
            raise Unsafe(f"{name} is not a folder")
        mount(folder, target, None, MS_BIND)
    remount_all_read_only(keep=writable)  # /job itself included
    size = f"size={tmp_mb}m," if tmp_mb else ""
    tmpfs = MS_NOSUID | MS_NODEV
    # /jobs: empty in the end; meanwhile it holds what lay beneath /tmp and /dev/shm.
    mount("tmpfs", JOBS_MOUNT, "tmpfs", tmpfs, "size=64k,mode=0700")
    fresh_tmpfs("/tmp", f"{size}mode=1777")
    if os.path.isdir("/dev/shm"):
        fresh_tmpfs("/dev/shm", f"{size}mode=1777")
    mount(None, JOBS_MOUNT, None, MS_REMOUNT | MS_RDONLY | tmpfs)
    bring_up_loopback()
    drop_capabilities()
    # Inherited from the zygote; this process must be as dumpable as a cold worker
    # (its own /proc/self/fd readable), while the zygote itself stays not dumpable.
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)


def child(worker, message: dict, events_fd: int, control: socket.socket) -> None:
    """The forked child: private sandbox, then the worker; never returns."""
    code = 0
    try:
        control.close()
        os.closerange(3, events_fd)
        os.closerange(events_fd + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh one
        try:
            enter_private_sandbox(str(message["job"]), int(message.get("tmp_mb", 0)))
            apply_limits(message["limits"])
        except (Unsafe, OSError, KeyError, ValueError) as exc:
            why = json.dumps({"ev": "warm_refused", "why": str(exc)[:200]})
            os.write(events_fd, why.encode() + b"\n")
            os._exit(UNSAFE_EXIT)
        import numpy

        numpy.random.seed()  # a fresh process's entropy, not the zygote's state
        os.chdir(JOB_MOUNT)
        os.environ["PWD"] = JOB_MOUNT  # as bubblewrap's --chdir sets it
        sys.argv = [f"{JOB_MOUNT}/worker.py", JOB_MOUNT, str(events_fd)]
        worker.main(JOB_MOUNT, events_fd)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - as an uncaught exception ends a process
        code = 1
    os._exit(code)


# ---------------------------------------------------------------- the zygote
def send(control: socket.socket, **message: object) -> None:
    control.send(json.dumps(message).encode())


def returncode(status: int) -> int:
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def sweep() -> int | None:
    """Kill and reap every other process of the namespace; how many there were, or
    None when some would not die within ``SWEEP_S``."""
    killed, deadline = 0, time.monotonic() + SWEEP_S
    while time.monotonic() < deadline:
        try:
            os.kill(-1, signal.SIGKILL)  # from pid 1: all others in the namespace
        except ProcessLookupError:
            pass
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return killed
            if pid == 0:
                break
            killed += 1
        time.sleep(0.01)
    return None


def run_job(worker, control: socket.socket, message: dict, fds: list[int]) -> None:
    """One job: fork, report the child's exit, clean up when the grader says end."""
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        send(control, ev="exit", code=UNSAFE_EXIT, maxrss_mb=0)
        return
    pid = os.fork()
    if pid == 0:
        child(worker, message, fds[0], control)
    os.close(fds[0])
    send(control, ev="forked", pid=pid)
    exited = ended = False
    while not ended:  # until the grader ends the attempt
        exited = exited or report_exit(control, pid, os.WNOHANG)
        if not socket_ready(control, 0.02):
            continue
        data = control.recv(65536)
        if not data:
            sys.exit(0)  # the grader went away: the sandbox ends with us
        ended = json.loads(data).get("op") == "end"
    if not exited:  # stopped while running (a timeout)
        os.kill(pid, signal.SIGKILL)
        report_exit(control, pid, 0)
    strays = sweep()
    if strays is None:
        send(control, ev="unclean")
    else:
        send(control, ev="clean", strays=strays)


def report_exit(control: socket.socket, pid: int, options: int) -> bool:
    """Tell the grader how the child ended, once it has; whether it has."""
    done, status, usage = os.wait4(pid, options)
    if done:
        maxrss = round(usage.ru_maxrss / 1024, 1)
        send(control, ev="exit", code=returncode(status), maxrss_mb=maxrss)
    return bool(done)


def socket_ready(control: socket.socket, wait_s: float) -> bool:
    import select

    try:
        return bool(select.select([control], [], [], wait_s)[0])
    except InterruptedError:
        return False


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def messages(control: socket.socket):
    """The grader's messages with the fds they carry, until it closes its end (then
    the sandbox ends with us)."""
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, 65536, 4)
        except InterruptedError:
            continue
        if not data:
            return
        yield json.loads(data), fds


def serve(worker, control: socket.socket) -> None:
    """Say ready, then run the grader's jobs one at a time until it goes away."""
    send(control, ev="ready", rss_mb=rss_mb(), pid=os.getpid())
    for message, fds in messages(control):
        if message.get("op") == "run":
            run_job(worker, control, message, fds)
        elif message.get("op") == "end":
            send(control, ev="clean", strays=sweep() or 0)
        for fd in fds if message.get("op") != "run" else ():
            os.close(fd)


def main(worker_path: str, control_fd: int) -> None:
    # Pid 1 gets only the signals it handles: handle none (not even Ctrl-C).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    control = socket.socket(fileno=control_fd)
    worker = load_worker(worker_path)
    warm_imports()
    serve(worker, control)


if __name__ == "__main__":
    try:
        main(sys.argv[1], int(sys.argv[2]))
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
