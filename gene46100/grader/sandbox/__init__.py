"""Bubblewrap sandbox for the worker: no network, read-only system, private scratch.

The sandbox sees only: the system's libraries and the Python environment (read-only),
with any installed copy of ``gene46100`` or ``gene46100_ref`` hidden; and the job
directory (the notebook's code, this question set's inputs, the worker) as its only
writable place. Hidden tests, reference outputs, other submissions and the grader's
records stay outside. Without bubblewrap the grader refuses, unless asked to run
unsafely (on Gradescope, as root: then as an unprivileged user, ``run_unsafe_as``).

A cold sandbox (``start``) runs one worker for one attempt; a warm one (``warm.py``,
``warm_argv``) has the same system view and runs the zygote that forks them.
"""

from __future__ import annotations

import ctypes
import functools
import os
import resource
import shutil
import site
import stat
import subprocess
import sys
import sysconfig
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

SANDBOX_ID = 65534  # nobody: the uid and gid sandboxed code runs as
JOB_MOUNT = "/job"
JOBS_MOUNT = "/jobs"  # a warm sandbox's job dirs (hidden from each forked child)
WARM_MOUNT = "/warm"  # a warm sandbox's zygote and worker (read-only)
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
# The kernel's transparent-huge-page settings (read-only, public): glibc's malloc
# reads them at start to honour the warm parent's ``zygote.PARENT_ENV``.
KERNEL_FILES = ("/sys/kernel/mm/transparent_hugepage",)
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "fonts",
    "localtime",
    "passwd",
    "group",
    "nsswitch.conf",
    "matplotlibrc",
)


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission's sandbox (per process where noted)."""

    memory_mb: int = 6144  # address space per process (torch reserves a lot)
    file_size_mb: int = 64  # largest file a process may write
    open_files: int = 256
    processes: int = 256  # effective for non-root users (RLIMIT_NPROC)
    cpu_s: int = 900  # CPU seconds per process
    tmp_mb: int = 1024  # the sandbox's /tmp (memory-backed), where bwrap can cap it
    disk_mb: int = 1024  # everything written under the job dir (the host's disk)
    # Lend the sandbox this machine's NVIDIA GPU (``grade --gpu``): its device
    # nodes, nothing else. Off: CUDA requests run on the CPU (worker.CudaOnCpu).
    gpu: bool = False


# NVIDIA's device nodes (control, unified memory, one per GPU); nothing else of
# the host's /dev is bound.
GPU_DEVICE_GLOBS = ("nvidia[0-9]*", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools")


def gpu_devices(dev: Path = Path("/dev")) -> list[str]:
    """This machine's NVIDIA device nodes (empty where there is no GPU)."""
    found = {str(p) for pattern in GPU_DEVICE_GLOBS for p in dev.glob(pattern)}
    return sorted(found)


def apply_limits(limits: Limits) -> None:
    """``preexec_fn``: set rlimits in the child before it execs the sandbox."""
    mb = 1024 * 1024
    # CUDA reserves far more address space than it uses: on a GPU the memory
    # bound is the GPU's and the machine's, not RLIMIT_AS (the record says so).
    address_space = resource.RLIM_INFINITY if limits.gpu else limits.memory_mb * mb
    for name, value in (
        (resource.RLIMIT_AS, address_space),
        (resource.RLIMIT_FSIZE, limits.file_size_mb * mb),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_NPROC, limits.processes),
        (resource.RLIMIT_CPU, limits.cpu_s),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(name, (value, value))


# A pids cgroup bounds fork bombs even for root, whom RLIMIT_NPROC does not bind.
CGROUP_PIDS_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


def make_pids_cgroup(max_processes: int) -> Path | None:
    """A fresh cgroup with ``pids.max`` set, where this machine lets us make one."""
    for root in CGROUP_PIDS_ROOTS:
        if not (root / "cgroup.procs").exists() or not os.access(root, os.W_OK):
            continue
        remove_orphaned_cgroups(root)
        path = root / f"gene46100-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(max_processes))
            return path
        except OSError:
            remove_cgroup(path)
    return None


def remove_orphaned_cgroups(root: Path) -> None:
    """Remove cgroups left by a grader that was itself killed (its pid is gone)."""
    for path in root.glob("gene46100-*-*"):
        owner = path.name.split("-")[1]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            remove_cgroup(path, patience_s=1.0)


def remove_cgroup(path: Path | None, patience_s: float = 30.0) -> None:
    """Kill whatever is still in the cgroup, then remove it.

    Hundreds of forked children of a worker that imported torch take seconds to
    exit on two cores, so keep killing and retrying for up to ``patience_s``.
    """
    if path is None or not path.exists():
        return
    try:  # no more forks: a fork bomb cannot refill the slots we free by killing
        (path / "pids.max").write_text("0")
    except OSError:
        pass
    deadline = time.monotonic() + patience_s
    while True:
        try:
            pids = (path / "cgroup.procs").read_text().split()
        except OSError:
            pids = []
        for pid in pids:
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, PermissionError, ValueError):
                pass
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)


def describe_limits(limits: Limits, cgroup: bool) -> dict[str, object]:
    """Which limits were in force, for the record (a TA can see what was enforced)."""
    processes = (
        f"cgroup pids.max={limits.processes}"
        if cgroup
        else f"RLIMIT_NPROC={limits.processes}"
        + (
            " (not enforced: grader runs as root)"
            if os.geteuid() == 0 and _UNSAFE_USER is None
            else ""
        )
    )
    return {
        "memory_mb_per_process": "not enforced (a GPU sandbox: CUDA reserves "
        "address space)"
        if limits.gpu
        else limits.memory_mb,
        "gpu": ", ".join(gpu_devices()) if limits.gpu else "none (CUDA on the CPU)",
        "file_size_mb": limits.file_size_mb,
        "open_files": limits.open_files,
        "cpu_s_per_process": limits.cpu_s,
        "processes": processes,
        "disk_mb": limits.disk_mb,
        "tmp_mb": limits.tmp_mb
        if tmpfs_size_supported()
        else "not enforced (bubblewrap too old for --size)",
    }


@functools.lru_cache(maxsize=1)
def tmpfs_size_supported() -> bool:
    """Whether this bwrap can cap a tmpfs (``--size``; older releases lack it)."""
    path = bwrap_path()
    if path is None:
        return False
    probe = [
        path,
        "--unshare-all",
        "--ro-bind",
        "/",
        "/",
        "--size",
        "1048576",
        "--tmpfs",
        "/tmp",
        "true",
    ]
    return (
        subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode
        == 0
    )


def disk_usage(folder: Path, cap_bytes: int, max_entries: int = 50_000) -> int:
    """Bytes allocated under ``folder`` (links not followed), counted only until it
    passes ``cap_bytes``; more than ``max_entries`` files counts as over the cap."""
    used, entries, stack = 0, 0, [str(folder)]
    while stack and used <= cap_bytes:
        try:
            with os.scandir(stack.pop()) as listing:
                for entry in listing:
                    entries += 1
                    if entries > max_entries:
                        return cap_bytes + 1
                    info = entry.stat(follow_symlinks=False)
                    used += info.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError:
            continue  # removed while we looked
    return used


@functools.lru_cache(maxsize=1)
def bwrap_path() -> str | None:
    """Path of a working ``bwrap`` (one that can create the namespaces), else None."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    probe = [path, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"]
    ok = subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    return path if ok else None


def python_dirs() -> list[str]:
    """Directories the interpreter and its packages live in (mounted read-only)."""
    candidates = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        *site.getsitepackages(),
        sysconfig.get_paths()["stdlib"],
    }
    real = {os.path.realpath(c) for c in candidates if c}
    return sorted(p for p in real if not p.startswith(SYSTEM_DIRS))


def read_only_binds() -> list[str]:
    """Every host folder a sandbox sees (read-only): the system, the kernel's THP
    settings and the Python environment, as ``system_argv`` binds them."""
    return [*SYSTEM_DIRS, *KERNEL_FILES, *python_dirs()]


# Installed copies of these are masked inside the sandbox: the tool holds the hidden
# checks, the reference holds the answers.
HIDDEN_PACKAGES = ("gene46100", "gene46100_ref")


def hidden_package_dirs() -> list[str]:
    """Installed copies of the tool and the reference, masked inside the sandbox."""
    found = []
    for sp in site.getsitepackages():
        for name in HIDDEN_PACKAGES:
            candidate = Path(sp) / name
            if candidate.is_dir():
                found.append(str(candidate))
    return found


def sandbox_env(threads: int, gpu: bool = False) -> dict[str, str]:
    """The whole environment of sandboxed code (nothing inherited from the grader).
    Without ``gpu`` no CUDA device is visible, whatever the machine has."""
    home = f"{JOB_MOUNT}/home"
    env = {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{home}/.mpl",
        "IPYTHONDIR": f"{home}/.ipython",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "CUDA_VISIBLE_DEVICES": "",
    }
    if gpu:
        del env["CUDA_VISIBLE_DEVICES"]
        # torch asks NVML, not the driver, whether CUDA is there: the worker may
        # then fork a question that uses CUDA (a CUDA context does not survive fork).
        env["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"
    return env


def matplotlib_font_cache() -> list[Path]:
    """The host's matplotlib font list (``fontlist-v*.json``), found without importing
    matplotlib. A sandbox starts with a copy: building it scans every font, about a
    second of each submission's ``import matplotlib.pyplot`` (public data: paths)."""
    configured = os.environ.get("MPLCONFIGDIR")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    folder = Path(configured) if configured else Path(cache) / "matplotlib"
    try:
        return sorted(folder.glob("fontlist-v*.json"))[-1:]
    except OSError:
        return []


# The only folders of the job dir that sandboxed code may write; the rest (the job
# spec, the worker, hidden inputs, sealed results) is read-only, so a cell can neither
# rewrite what a restarted worker runs nor plant a link where the grader writes.
WRITABLE = ("out", "home", "work", "scratch")


def bwrap_argv(
    job_dir: Path, command: list[str], threads: int, tmp_mb: int = 0, gpu: bool = False
) -> list[str]:
    """The bubblewrap command line that runs ``command`` with ``job_dir`` at /job
    (with ``gpu``, the GPU's device nodes too)."""
    argv = system_argv(threads, tmp_mb, gpu=gpu)
    argv += ["--ro-bind", str(job_dir), JOB_MOUNT]
    for name in WRITABLE:
        (job_dir / name).mkdir(exist_ok=True)
        argv += ["--bind", str(job_dir / name), f"{JOB_MOUNT}/{name}"]
    return argv + ["--chdir", JOB_MOUNT] + command


def warm_argv(
    boot_dir: Path,
    jobs_dir: Path,
    command: list[str],
    threads: int,
    tmp_mb: int = 0,
    parent_env: dict[str, str] | None = None,
) -> list[str]:
    """The command line of a warm sandbox (``warm.py``): the same system view, the
    zygote as pid 1, its files read-only at ``/warm`` and the host's folder of job
    dirs at ``/jobs``, from which each forked child binds its own at ``/job``.
    ``parent_env``: variables for the zygote alone (it removes them before forking)."""
    argv = system_argv(threads, tmp_mb)
    for key, value in (parent_env or {}).items():
        argv += ["--setenv", key, value]
    argv += ["--as-pid-1", "--ro-bind", str(boot_dir), WARM_MOUNT]
    argv += ["--bind", str(jobs_dir), JOBS_MOUNT, "--dir", JOB_MOUNT]
    return argv + ["--chdir", "/"] + command


def system_argv(threads: int, tmp_mb: int, gpu: bool = False) -> list[str]:
    """What every sandbox gets: namespaces, environment, /proc, /dev, a capped /tmp,
    the system and the Python environment read-only, the hidden packages masked;
    its processes run as ``SANDBOX_ID``."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed or cannot run here"
        )
    argv = [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--uid",
        str(SANDBOX_ID),
        "--gid",
        str(SANDBOX_ID),
        "--clearenv",
    ]
    for key, value in sandbox_env(threads, gpu).items():
        argv += ["--setenv", key, value]
    # Fresh /proc, /dev and /tmp first: later binds may lie beneath them. /tmp is
    # memory: uncapped, a cell could fill half the host's RAM through it.
    size = (
        ["--size", str(tmp_mb * 1024 * 1024)]
        if tmp_mb and tmpfs_size_supported()
        else []
    )
    argv += ["--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/tmp"]
    for device in gpu_devices() if gpu else ():
        argv += ["--dev-bind", device, device]
    for directory in (*SYSTEM_DIRS, *KERNEL_FILES):
        argv += ["--ro-bind-try", directory, directory]
    for name in ETC_FILES:
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for directory in python_dirs():
        argv += ["--ro-bind", directory, directory]
    for directory in hidden_package_dirs():
        argv += ["--tmpfs", directory]
    return argv


def unsafe_argv(job_dir: Path, command: list[str]) -> list[str]:
    """No isolation at all: only for machines without bubblewrap, when asked."""
    return [
        part.replace(JOB_MOUNT, str(job_dir), 1) if part.startswith(JOB_MOUNT) else part
        for part in command
    ]


# Without bubblewrap, where the grader is root (Gradescope's container: see
# grader/gradescope.py), unsafe runs drop to this (uid, gid) and the grader's own
# files are closed to it; None: unsafe runs keep the grader's user.
_UNSAFE_USER: tuple[int, int] | None = None
PR_SET_NO_NEW_PRIVS = 38


def run_unsafe_as(user: tuple[int, int] | None) -> None:
    """Make every later unsafe run (``start``) run as ``user`` (uid, gid): the job
    dir opened to it (``open_job_dir``), its processes reaped after each attempt."""
    global _UNSAFE_USER
    _UNSAFE_USER = user


def unsafe_user() -> tuple[int, int] | None:
    return _UNSAFE_USER


def open_job_dir(job_dir: Path, user: tuple[int, int]) -> None:
    """Give ``user`` what bubblewrap gives the sandbox: the job dir readable, only
    ``WRITABLE`` writable (theirs). Entries are changed without following links,
    and a file with other hard links is not given away (it may be someone else's)."""
    uid, gid = user
    for folder, dirs, files in os.walk(job_dir):
        top = Path(folder)
        writable = top != job_dir and top.relative_to(job_dir).parts[0] in WRITABLE
        for name in (*dirs, *files):
            path = top / name
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                continue
            if writable or (top == job_dir and name in WRITABLE):
                if info.st_uid != uid and (
                    stat.S_ISDIR(info.st_mode) or info.st_nlink == 1
                ):
                    os.chown(path, uid, gid, follow_symlinks=False)
            elif info.st_uid != uid:
                extra = 0o055 if stat.S_ISDIR(info.st_mode) else 0o044
                os.chmod(path, stat.S_IMODE(info.st_mode) | extra)
    os.chmod(job_dir, 0o755)


def reclaim(folder: Path) -> None:
    """Take ``folder``'s files back from the unprivileged user (sealed results: it
    may no longer open them for writing); links are not followed."""
    if _UNSAFE_USER is None or not folder.is_dir() or folder.is_symlink():
        return
    for path in folder.iterdir():
        if not path.is_symlink():
            os.chown(path, os.geteuid(), os.getegid(), follow_symlinks=False)


def kill_user_processes(uid: int, patience_s: float = 30.0) -> int:
    """Kill every process of ``uid`` (the unprivileged user's strays, which left
    the sandbox's session: nothing else runs as it); returns how many."""
    killed, deadline = 0, time.monotonic() + patience_s
    while time.monotonic() < deadline:
        found = 0
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(
                    line.split(":", 1) for line in status.read_text().splitlines()
                )
                uids = fields["Uid"].split()
                zombie = fields["State"].split()[0] in ("Z", "X")  # dead already
                if not zombie and uid in (int(uids[0]), int(uids[1])):
                    os.kill(int(status.parent.name), 9)
                    found += 1
            except (OSError, KeyError, ValueError, IndexError):
                continue
        killed += found
        if not found:
            break
        time.sleep(0.02)
    return killed


def start(
    job_dir: Path,
    command: list[str],
    limits: Limits,
    events_fd: int,
    threads: int,
    unsafe: bool,
) -> subprocess.Popen:
    """Start ``command`` (paths under /job) sandboxed; its output is discarded."""
    argv = (
        unsafe_argv(job_dir, command)
        if unsafe
        else bwrap_argv(job_dir, command, threads, limits.tmp_mb, limits.gpu)
    )
    env, user = None, None
    if unsafe:
        env = {
            **sandbox_env(threads, limits.gpu),
            "HOME": str(job_dir / "home"),
            "MPLCONFIGDIR": str(job_dir / "home/.mpl"),
            "IPYTHONDIR": str(job_dir / "home/.ipython"),
        }
        user = _UNSAFE_USER
        if user is not None:
            open_job_dir(job_dir, user)
    return spawn(argv, limits, (events_fd,), job_dir, env, user)


def spawn(
    argv: list[str],
    limits: Limits,
    pass_fds: tuple[int, ...],
    cwd: Path,
    env: dict[str, str] | None = None,
    user: tuple[int, int] | None = None,
) -> subprocess.Popen:
    """Start ``argv`` in a session and a pids cgroup of its own, with the limits set
    before it runs (and, given ``user``, as that uid and gid with no other group);
    its output is discarded; ``kill`` ends it and all it started."""
    cgroup = make_pids_cgroup(limits.processes)
    libc = ctypes.CDLL(None, use_errno=True) if user is not None else None

    def prepare_child() -> None:
        if cgroup is not None:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))
        apply_limits(limits)
        if user is not None:  # last: joining the cgroup needs the grader's rights
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])
            # No way back up through a setuid program (su, a setuid helper).
            if libc is not None and libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0):
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")

    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=pass_fds,
        env=env,
        cwd=str(cwd),
        start_new_session=True,
        preexec_fn=prepare_child,
    )
    process.cgroup = cgroup  # type: ignore[attr-defined]
    process.user = user  # type: ignore[attr-defined]
    return process


def kill(process: subprocess.Popen) -> None:
    """Kill the sandbox, its session and its cgroup (nothing may outlive it; run
    as the unprivileged user, nothing of that user)."""
    try:
        os.killpg(process.pid, 9)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
    remove_cgroup(getattr(process, "cgroup", None))
    user = getattr(process, "user", None)
    if user is not None:
        kill_user_processes(user[0])
