"""The warm sandbox (gene46100/grader/sandbox/warm.py, untrusted/zygote.py).

Each test runs small jobs through one warm slot, in order, so a submission that plants
something runs right before the one that looks for it, in the same warm sandbox. A
job's question ``q`` calls the notebook's ``report()``, whose return value (what the
submission saw) the test reads back from the sealed results.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from gene46100.grader import sandbox
from gene46100.grader.sandbox import supervisor, warm

pytestmark = pytest.mark.skipif(
    not warm.warm_supported(), reason="bubblewrap cannot run a warm sandbox here"
)

LIMITS = sandbox.Limits()
TIMEOUTS = supervisor.Timeouts(cell_s=20, submission_s=120)


def job(source: str) -> supervisor.Job:
    """One cell, then question ``q``: the value of ``report()``."""
    probe = {"id": "p", "call": "report", "args": [], "kwargs": {}}
    question = {"name": "q", "probes": [probe], "timeout_s": 20, "seed": 0}
    return supervisor.Job(
        cells=[{"index": 0, "source": source}], questions=[question], arrays={}
    )


def run(slot: warm.Slot | None, source: str) -> tuple[supervisor.RunReport, object]:
    """Grade one job on ``slot``; its report and what ``report()`` returned."""
    report, job_dir = supervisor.run_sandbox(job(source), LIMITS, TIMEOUTS, slot=slot)
    try:
        path = job_dir / "out" / "q.json"
        outcome = json.loads(path.read_text())["outcomes"][0] if path.exists() else {}
        assert outcome.get("ok"), (report, outcome)
        return report, decode(outcome.get("value"))
    finally:
        shutil.rmtree(job_dir, ignore_errors=True)


def decode(value: dict | None) -> object:
    """The worker's plain-data encoding back to Python (dicts, lists, scalars)."""
    if not value:
        return None
    if value["kind"] == "dict":
        return {k: decode(v) for k, v in value["items"].items()}
    if value["kind"] in ("list", "tuple"):
        return [decode(v) for v in value["items"]]
    return value.get("value")


@pytest.fixture
def slot(tmp_path):
    """A slot with a warm sandbox of its own."""
    with warm.WarmPool(1, LIMITS, root=tmp_path) as pool:
        with pool.slot() as lent:
            yield lent


PLACES = (
    "/tmp/planted",
    "/dev/shm/planted",
    "/job/home/planted",
    "/job/work/planted",
    "/planted",
    "/etc/planted",
    "/dev/planted",
    "/jobs/planted",
    "/job/planted",
)

PLANTER = f"""
import os, sys, json, subprocess, numpy, torch, matplotlib
wrote = {{}}
for path in {PLACES!r}:
    try:
        with open(path, "w") as f:
            f.write("planted")
        wrote[path] = True
    except OSError:
        wrote[path] = False
numpy.planted = torch.planted = True
sys.path.insert(0, "/tmp/evil")
numpy.linalg.solve = lambda *a, **k: "poisoned"
os.environ["PLANTED"] = "1"
torch.set_default_dtype(torch.float64)
numpy.set_printoptions(precision=2)
matplotlib.rcParams["lines.linewidth"] = 9.0
os.chdir("/tmp")
subprocess.Popen(["sleep", "1000", "@MARKER@"], start_new_session=True)
if os.fork() == 0:  # a daemon: setsid, fork again, sleep
    os.setsid()
    if os.fork() == 0:
        import time
        time.sleep(1000)
    os._exit(0)

def report():
    return wrote
"""

DETECTOR = f"""
import os, sys, json, numpy, torch, matplotlib

def report():
    found = {{path: os.path.exists(path) for path in {PLACES!r}}}
    found["numpy attribute"] = hasattr(numpy, "planted")
    found["torch attribute"] = hasattr(torch, "planted")
    found["sys.path"] = "/tmp/evil" in sys.path
    solved = numpy.linalg.solve([[1.0]], [1.0])
    found["patched numpy"] = not isinstance(solved, numpy.ndarray)
    found["environment"] = "PLANTED" in os.environ
    found["torch dtype"] = torch.get_default_dtype() != torch.float32
    found["numpy printoptions"] = numpy.get_printoptions()["precision"] != 8
    found["matplotlib rc"] = matplotlib.rcParams["lines.linewidth"] != 1.5
    found["other processes"] = sorted(
        int(p) for p in os.listdir("/proc")
        if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid())
    )
    return found
"""


def test_nothing_a_submission_leaves_reaches_the_next(slot):
    marker = sleep_marker()
    planted, wrote = run(slot, PLANTER.replace("@MARKER@", marker))
    assert planted.start == "warm" and planted.questions["q"]["status"] == "ok"
    # Its own writable space and /tmp, /dev/shm; nothing shared with the zygote.
    writable = {"/tmp/planted", "/dev/shm/planted", "/job/home/planted"}
    writable.add("/job/work/planted")
    assert {path for path, ok in wrote.items() if ok} == writable
    # Its processes (a new session, a double-forked daemon) were all killed.
    assert not any(marker in cmdline for cmdline in host_cmdlines())
    detector, found = run(slot, DETECTOR)
    assert detector.start == "warm"
    assert found["other processes"] == []
    assert {what for what, seen in found.items() if seen} == set()


def sleep_marker() -> str:
    """An extra argument ``sleep`` accepts (it adds up its arguments) that no other
    process's command line has."""
    return f"0.{secrets.randbelow(10**15):015d}"


def host_cmdlines() -> list[str]:
    """Every process's command line, as the host sees them (all pid namespaces)."""
    lines = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            lines.append(
                Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            )
        except OSError:
            pass
    return lines


PARENT_ATTACK = """
import ctypes, os, signal, socket
seen = {}
for sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGTERM, signal.SIGINT):
    try:
        os.kill(1, sig)
        seen[f"signal {sig.name}"] = "sent"
    except OSError as exc:
        seen[f"signal {sig.name}"] = type(exc).__name__
libc = ctypes.CDLL(None, use_errno=True)
seen["ptrace pid 1"] = libc.ptrace(16, 1, None, None)  # PTRACE_ATTACH: -1 refused
fds = [f"fd/{n}" for n in range(12)]  # the control socket is one of them
for name in ("mem", "environ", "maps", "cwd/jobs", *fds):
    path = f"/proc/1/{name}"
    try:
        os.listdir(path) if name.startswith("cwd") else open(path, "rb").close()
        seen[path] = "read"
    except OSError as exc:
        seen[path] = type(exc).__name__
sockets = []
for fd in os.listdir("/proc/self/fd"):
    try:
        if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
            sockets.append(int(fd))
    except OSError:
        pass
seen["sockets"] = sockets
seen["other job dirs"] = os.listdir("/jobs")

def report():
    return seen
"""


def test_a_submission_cannot_reach_the_warm_parent(slot):
    before = slot.ready()
    attacked, seen = run(slot, PARENT_ATTACK)
    assert attacked.start == "warm" and attacked.questions["q"]["status"] == "ok"
    # Signals to pid 1 are dropped (sent, but the zygote lives: see below).
    assert seen["ptrace pid 1"] == -1
    # Not dumpable: no memory, environment, map, open fd or root through /proc.
    for name in ("mem", "environ", "maps", "cwd/jobs"):
        assert seen[f"/proc/1/{name}"] == "PermissionError", name
    fds = {seen[f"/proc/1/fd/{n}"] for n in range(12)}
    assert "PermissionError" in fds and fds <= {"PermissionError", "FileNotFoundError"}
    assert seen["sockets"] == []  # the control socket is closed before student code
    assert seen["other job dirs"] == []
    # The same zygote grades the next submission, warm and unharmed.
    after, found = run(slot, DETECTOR)
    assert after.start == "warm" and found["other processes"] == []
    assert slot.ready() is before and slot.process.poll() is None


def test_a_cell_timeout_restarts_by_a_new_fork(slot):
    source = "import time\ntime.sleep(60)\ndef report():\n    return 'later'"
    timeouts = supervisor.Timeouts(cell_s=2, submission_s=60)
    report, job_dir = supervisor.run_sandbox(job(source), LIMITS, timeouts, slot=slot)
    shutil.rmtree(job_dir, ignore_errors=True)
    assert report.start == "warm"
    assert report.cells[0]["status"] == "timeout" and report.restarts == 1
    # The definitions after the skipped statement are not there (one cell): the
    # question runs and says so, in the second fork.
    assert report.questions["q"]["status"] == "ok"
    assert report.phases["startup"] < 2.0  # two forks, no interpreter start


def test_a_zygote_lost_mid_run_regrades_the_submission_cold(slot):
    source = "import time\ntime.sleep(3)\ndef report():\n    return 'done'"
    import threading

    slot.ready()
    # The zygote (the slot's own bubblewrap's pid 1) is killed.
    killer = threading.Timer(1.0, lambda: os.kill(slot.process.pid, signal.SIGKILL))
    killer.start()
    report, value = run(slot, source)
    killer.join()
    assert report.start.startswith("cold (") and "warm sandbox" in report.start
    assert value == "done" and report.questions["q"]["status"] == "ok"
    # The slot starts a fresh zygote for the next submission.
    again, _ = run(slot, DETECTOR)
    assert again.start == "warm"


@pytest.mark.parametrize(
    ("breakage", "why"),
    [
        ('    raise Unsafe("test")\n', "could not make its private sandbox: test"),
        ("    os._exit(3)\n", "could not start (exit code 3)"),
    ],
)
def test_a_child_that_cannot_isolate_itself_is_graded_cold(
    tmp_path, monkeypatch, breakage, why
):
    broken = tmp_path / "zygote.py"
    text = warm.ZYGOTE_SOURCE.read_text()
    marker = "    uid, gid = os.getuid(), os.getgid()\n"
    assert marker in text
    broken.write_text(text.replace(marker, marker + breakage))
    monkeypatch.setattr(warm, "ZYGOTE_SOURCE", broken)
    with warm.WarmPool(1, LIMITS, root=tmp_path) as pool, pool.slot() as slot:
        report, value = run(slot, "def report():\n    return 'ok'")
        assert report.start == f"cold (the forked worker {why})"
        assert value == "ok"
        started = time.monotonic()
        again, _ = run(slot, "def report():\n    return 'ok'")  # no second try
        assert again.start == report.start
        assert time.monotonic() - started < 30


def test_limits_and_environment_match_a_cold_sandbox(slot):
    source = """
import os, resource, socket
def report():
    return {
        "limits": [resource.getrlimit(r)[0] for r in (
            resource.RLIMIT_AS, resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE,
            resource.RLIMIT_CPU)],
        "env": {k: v for k, v in os.environ.items()},
        "cwd": os.getcwd(),
        "network": _network(),
    }
def _network():
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2)
        return "connected"
    except OSError as exc:
        return type(exc).__name__
"""
    warm_report, warm_value = run(slot, source)
    cold_report, cold_value = run(None, source)
    assert (warm_report.start, cold_report.start) == ("warm", "cold")
    # The question runs in a forked child whose CPU limit is its budget; the rest
    # and the environment are the cold sandbox's.
    assert warm_value["limits"][:3] == cold_value["limits"][:3]
    assert warm_value["env"] == cold_value["env"]
    assert warm_value["cwd"] == cold_value["cwd"] == "/job/work"
    assert warm_value["network"] == cold_value["network"] != "connected"


def transparent_huge_pages() -> str:
    """The kernel's THP mode (``always``, ``madvise`` or ``never``)."""
    try:
        text = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return "never"
    return text.split("[", 1)[1].split("]", 1)[0] if "[" in text else "never"


@pytest.mark.skipif(
    transparent_huge_pages() == "never", reason="no transparent huge pages here"
)
def test_a_submission_starts_from_the_parents_huge_pages(slot):
    """The zygote's imports sit in 2 MB pages (``zygote.PARENT_ENV``), so a fork
    copies few page-table entries; the child's environment does not name it."""
    source = """
import os
def report():
    with open("/proc/self/smaps_rollup") as f:
        huge = [int(line.split()[1]) for line in f if line.startswith("AnonHugePages")]
    return {"huge_kb": huge[0], "tunables": os.environ.get("GLIBC_TUNABLES", "")}
"""
    report, seen = run(slot, source)
    assert report.start == "warm"
    assert seen["huge_kb"] >= 32 * 1024, seen  # measured here: ~110 MB of ~250 MB
    assert seen["tunables"] == ""


def test_a_python_environment_under_tmp_stays_visible(tmp_path, monkeypatch):
    """A checkout (and its .venv) under /tmp is bound read-only beneath the sandbox's
    /tmp; each child's fresh /tmp must keep it (CI found this: every warm run died)."""
    env = Path(tempfile.mkdtemp(prefix="g46-env-", dir="/tmp"))
    try:
        (env / "marker.txt").write_text("here")
        real = sandbox.python_dirs
        monkeypatch.setattr(sandbox, "python_dirs", lambda: [*real(), str(env)])
        source = f"""
import os
def report():
    path = {str(env / "marker.txt")!r}
    try:
        open(path, "a").close()
        writable = True
    except OSError:
        writable = False
    return {{"text": open(path).read(), "writable": writable,
             "tmp": sorted(os.listdir("/tmp"))}}
"""
        with warm.WarmPool(1, LIMITS, root=tmp_path) as pool, pool.slot() as slot:
            report, seen = run(slot, source)
        assert report.start == "warm"
        assert seen["text"] == "here" and seen["writable"] is False
        # Only mount points carried over (a checkout under /tmp too), never the
        # zygote's own files (its matplotlib cache, say).
        assert env.name in seen["tmp"] and "mpl" not in seen["tmp"]
    finally:
        shutil.rmtree(env, ignore_errors=True)
