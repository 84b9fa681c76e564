"""A corpus of hostile and broken week-1 submissions, each with its correct outcome.

Every case is data: a name, a category (the kinds of attack and breakage of
``security.md``), how its submission is made, and what grading it must produce. The
tests in ``test_hostile.py`` grade the whole corpus in one sandboxed batch and check
each case against its ``Expect``:

- honest questions keep their scores (``keep``): an attack or a crash elsewhere in the
  notebook never costs a correct answer;
- hostile submissions gain nothing (``zero``: the question they try to fake scores 0)
  and are flagged for a person (``flagged``: status ``tampered`` with reasons);
  honest and merely broken ones are never flagged;
- broken ones get a clear status and a reason a TA can read (``status``, ``reason``).

Most hostile cases start from a stub ``mse_gradient`` (q3): if an attack worked, q3
would score. Sources may name host paths through ``@TOKENS@`` that the test fills in
(a canary folder outside the sandbox, the repository, a marker for stray processes).
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from gene46100.build import examples

REPO = Path(__file__).resolve().parent.parent
SPEC = json.loads((REPO / "autograder/week1/assignment.json").read_text())
POINTS = {q["name"]: q["points"] for q in SPEC["questions"] if not q["manual"]}
GRADED = tuple(POINTS)  # q1..q10

# Which notebook names each question grades (to build bases without them).
DEFINES = {
    "q1": "normal_equation",
    "q2": "mse_loss",
    "q3": "mse_gradient",
    "q4": "gradient_descent",
    "q5": "max_stable_lr",
    "q6": "sgd",
    "q7": "MLP",
    "q8": "count_parameters",
    "q9": "train",
    "q10": "fit_linear_vs_mlp",
}

# ----------------------------------------------------------------- base notebooks
# A correct q10 that trains for 400 steps instead of 2,000 (same contract, same
# check; it keeps the corpus at a few seconds per submission).
FAST_Q10 = '''import numpy as np
import torch
from torch import nn


def fit_linear_vs_mlp(x, y, seed):
    """Least-squares line vs a small MLP (Adam, standardised data) on (x, y)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    design = np.stack([x, np.ones_like(x)], axis=1)
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    linear_mse = float(np.mean((design @ coef - y) ** 2))
    torch.manual_seed(seed)
    xs = torch.tensor((x - x.mean()) / x.std(), dtype=torch.float32)[:, None]
    ys = torch.tensor((y - y.mean()) / y.std(), dtype=torch.float32)
    model = nn.Sequential(nn.Linear(1, 64), nn.ReLU(), nn.Linear(64, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(400):
        opt.zero_grad()
        loss = ((model(xs).squeeze(1) - ys) ** 2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = model(xs).squeeze(1).double().numpy() * y.std() + y.mean()
    return {"linear_mse": linear_mse, "mlp_mse": float(np.mean((pred - y) ** 2))}
'''

CORRECT_Q3 = """import numpy as np


def mse_gradient(X, y, beta):
    X, y, beta = (np.asarray(a, float) for a in (X, y, beta))
    return 2.0 * X.T @ (X @ beta - y) / len(y)
"""

STUB_Q3 = """def mse_gradient(X, y, beta):
    raise NotImplementedError
"""


def _minimal() -> nbformat.NotebookNode:
    from helpers import minimal_complete  # tests/ is on the path under pytest

    return examples.with_replaced(minimal_complete(), "fit_linear_vs_mlp", FAST_Q10)


def _without(nb: nbformat.NotebookNode, questions: set[str]) -> nbformat.NotebookNode:
    names = {DEFINES[q] for q in questions}
    nb = copy.deepcopy(nb)
    nb.cells = [
        c for c in nb.cells if not names & set(examples.defined_names(c.source))
    ]
    return nb


@dataclass(frozen=True)
class Base:
    """A correct notebook answering ``answers`` (the questions it should score)."""

    name: str
    answers: tuple[str, ...]

    def notebook(self) -> nbformat.NotebookNode:
        return _without(_minimal(), set(GRADED) - set(self.answers))


# Every base imports torch in its first cell, as the release does: q4 and q6 run with
# reference stand-ins that import it, and one import before the questions fork is
# cheaper than one in each question's process.
FULL = Base("full", GRADED)  # every question (q9/q10 train models: seconds more)
TORCH = Base("torch", GRADED[:8])  # q1..q8, for attacks on torch (q7)
LIGHT = Base("light", GRADED[:6])  # q1..q6: quick to grade; the usual base
Q3_ONLY = Base("q3", ("q3",))  # file-name cases: only q3 is answered


# ----------------------------------------------------------------- submissions
@dataclass(frozen=True)
class Context:
    """Host paths the corpus refers to (filled into sources as ``@NAME@``)."""

    batch: Path
    canary: Path  # a folder outside the sandbox that must not change
    marker: str  # a number unique to this run, for spotting stray processes

    def fill(self, text: str) -> str:
        for key, value in {
            "@CANARY@": str(self.canary),
            "@REPO@": str(REPO),
            "@BATCH@": str(self.batch),
            "@MARK@": self.marker,
        }.items():
            text = text.replace(key, value)
        return text


@dataclass(frozen=True)
class Edit:
    """Replace the answer cell defining ``name``, or add a cell (``name`` None)."""

    source: str
    name: str | None = None
    where: str = "after_first"  # for added cells: after_first | end | start


def apply(
    nb: nbformat.NotebookNode, edit: Edit, ctx: Context, added: int = 0
) -> nbformat.NotebookNode:
    """``nb`` with ``edit`` made; ``added`` cells were already put after the first."""
    source = ctx.fill(edit.source)
    if edit.name is not None:
        return examples.with_replaced(nb, edit.name, source)
    nb = copy.deepcopy(nb)
    first = next(
        i
        for i, c in enumerate(nb.cells)
        if examples.ANSWER_TAG in c.metadata.get("tags", [])
    )
    at = {"after_first": first + 1 + added, "start": 0, "end": len(nb.cells)}
    cell = nbformat.v4.new_code_cell(source)
    cell["id"] = f"added-{len(nb.cells)}"
    nb.cells.insert(at[edit.where], cell)
    return nb


@dataclass(frozen=True)
class Notebook:
    """A notebook built from a base with edits, written as ``<file>``."""

    base: Base = LIGHT
    edits: tuple[Edit, ...] = ()
    file: str | None = None  # default: <case>.ipynb

    def build(self, ctx: Context) -> nbformat.NotebookNode:
        nb = self.base.notebook()
        added = 0
        for edit in self.edits:
            nb = apply(nb, edit, ctx, added)
            added += edit.name is None and edit.where == "after_first"
        return nb

    def write(self, case: str, ctx: Context) -> Path:
        path = ctx.batch / (self.file or f"{case}.ipynb")
        path.write_bytes(nbformat.writes(self.build(ctx)).encode())
        return path


@dataclass(frozen=True)
class Raw:
    """A file with exactly these bytes (``make`` builds them from the context)."""

    make: Callable[[Context], bytes]
    file: str | None = None  # default: <case>.ipynb; may hold non-UTF-8 as bytes
    raw_name: bytes | None = None  # a file name that is not valid UTF-8

    def write(self, case: str, ctx: Context) -> Path:
        if self.raw_name is not None:
            path = ctx.batch / os.fsdecode(self.raw_name)
        else:
            path = ctx.batch / (self.file or f"{case}.ipynb")
        path.write_bytes(self.make(ctx))
        return path


@dataclass(frozen=True)
class Zip:
    """A zip archive ``<case>.zip`` with these members (name -> bytes)."""

    members: Callable[[Context], list[tuple[str, bytes]]]

    def write(self, case: str, ctx: Context) -> Path:
        path = ctx.batch / f"{case}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in self.members(ctx):
                zf.writestr(zipfile.ZipInfo(name), data, zipfile.ZIP_DEFLATED)
        return path


@dataclass(frozen=True)
class Folder:
    """A student's folder ``<case>/`` holding these files (name -> bytes)."""

    files: Callable[[Context], dict[str, bytes]]

    def write(self, case: str, ctx: Context) -> Path:
        folder = ctx.batch / case
        folder.mkdir()
        for name, data in self.files(ctx).items():
            (folder / name).write_bytes(data)
        return folder


@dataclass(frozen=True)
class Directory:
    """A directory named like a notebook."""

    file: str

    def write(self, case: str, ctx: Context) -> Path:
        path = ctx.batch / self.file
        path.mkdir()
        (path / "inside.txt").write_text("not a notebook")
        return path


# ----------------------------------------------------------------- expectations
@dataclass(frozen=True)
class Expect:
    """What grading must produce for a case."""

    status: tuple[str, ...]  # acceptable record statuses
    keep: tuple[str, ...] = ()  # questions that keep full marks
    zero: tuple[str, ...] = ()  # questions that must score 0
    flagged: bool = False  # hostile: flagged for review; otherwise never flagged
    reason: str = ""  # text that must appear (message, flags, cells or feedback)
    cell: str = ""  # some cell must end with this status (timeout, crashed, ...)
    baseline: str = ""  # a case with the same wrong answer and no trick: never beaten


@dataclass(frozen=True)
class Case:
    """One submission of the corpus and the outcome grading must give it."""

    name: str
    category: str
    behaviour: str  # the correct behaviour, in words
    submission: object  # Notebook | Raw | Zip | Folder | Directory
    expect: Expect
    batch: str = "main"  # main | deadline (graded with a short per-submission limit)
    known_hole: str = ""  # non-empty: a documented gap (the test is a strict xfail)

    def write(self, ctx: Context) -> Path:
        return self.submission.write(self.name, ctx)


def answered(sub: object) -> tuple[str, ...]:
    return sub.base.answers if isinstance(sub, Notebook) else ()


def hostile(
    name: str,
    category: str,
    behaviour: str,
    sub: object,
    zero: tuple[str, ...] = ("q3",),
    keep: tuple[str, ...] | None = None,
    status: tuple[str, ...] = ("tampered",),
    reason: str = "",
    cell: str = "",
    baseline: str = "",
    **kwargs,
) -> Case:
    """An attack: the faked questions score 0, the others keep their marks, flagged."""
    if keep is None:
        keep = tuple(q for q in answered(sub) if q not in zero)
    return Case(
        name,
        category,
        behaviour,
        sub,
        Expect(status, keep, zero, True, reason, cell, baseline),
        **kwargs,
    )


def benign(
    name: str,
    category: str,
    behaviour: str,
    sub: object,
    zero: tuple[str, ...] = (),
    keep: tuple[str, ...] | None = None,
    status: tuple[str, ...] = ("graded",),
    reason: str = "",
    cell: str = "",
    **kwargs,
) -> Case:
    """Honest or merely broken: graded on its merits, never flagged."""
    if keep is None:
        keep = tuple(q for q in answered(sub) if q not in zero)
    return Case(
        name,
        category,
        behaviour,
        sub,
        Expect(status, keep, zero, False, reason, cell),
        **kwargs,
    )


def invalid(name: str, category: str, behaviour: str, sub: object, reason: str) -> Case:
    """Cannot be graded: an ``invalid_submission`` record that says why."""
    return Case(
        name,
        category,
        behaviour,
        sub,
        Expect(("invalid_submission",), (), GRADED, False, reason),
    )


def stubbed(
    *cells: str,
    base: Base = LIGHT,
    where: str = "after_first",
    q3: str = STUB_Q3,
    replace_q1: str = "",
) -> Notebook:
    """The base with a stub mse_gradient and extra cells."""
    edits = [Edit(q3, "mse_gradient")] + [Edit(c, where=where) for c in cells]
    if replace_q1:
        edits.append(Edit(replace_q1, "normal_equation"))
    return Notebook(base, tuple(edits))


def replaced(name: str, source: str, base: Base = LIGHT, *cells: str) -> Notebook:
    return Notebook(base, (Edit(source, name),) + tuple(Edit(c) for c in cells))


def with_cells(*cells: str, base: Base = LIGHT, where: str = "after_first") -> Notebook:
    return Notebook(base, tuple(Edit(c, where=where) for c in cells))


def nb_bytes(base: Base = Q3_ONLY, **metadata) -> Callable[[Context], bytes]:
    def make(ctx: Context) -> bytes:
        nb = base.notebook()
        nb.metadata.update(metadata)
        return nbformat.writes(nb).encode()

    return make


def nb_dict(base: Base = Q3_ONLY) -> dict:
    return json.loads(nbformat.writes(base.notebook()))


def json_bytes(value: object) -> Callable[[Context], bytes]:
    return lambda ctx: json.dumps(value).encode()


# ================================================================= the corpus
# Frame walking reaches the worker's own globals from a cell (IPython replaces
# sys.modules["__main__"], so this is how code in a cell finds the test runner).
GRADER_GLOBALS = """
def _grader_globals():
    try:
        raise RuntimeError
    except RuntimeError as exc:
        frame = exc.__traceback__.tb_frame
    while frame is not None:
        if "run_probe" in frame.f_globals:
            return frame.f_globals
        frame = frame.f_back
    raise LookupError("no grader frame")
"""

# Rebuild q3's results from the reference mse_gradient, which the grader swaps in
# while it tests gradient_descent (q4), and write them where q3's results go.
FORGE_Q3_FROM_Q4 = """import json
import numpy as np


def _forge(question="q3"):
    with open("../job.json") as f:
        spec = json.load(f)
    target = next(q for q in spec["questions"] if q["name"] == question)
    arrays = np.load(f"../inputs-{question}.npz")
    outcomes, saved = [], {}
    for probe in target["probes"]:
        args = [np.array(arrays[a["$array"]]) if isinstance(a, dict) else a
                for a in probe["args"]]
        try:
            value = np.asarray(mse_gradient(*args))  # the grader's reference, here
        except Exception as exc:
            outcomes.append({"id": probe["id"], "ok": False,
                             "error": {"type": type(exc).__name__, "message": str(exc)}})
            continue
        key = probe["id"] + ".value"
        saved[key] = value
        outcomes.append({"id": probe["id"], "ok": True, "seconds": 0.0,
                         "value": {"kind": "ndarray", "type": "numpy.ndarray",
                                   "dtype": str(value.dtype), "shape": list(value.shape),
                                   "key": key}})
    where = "../" + "o" + "ut/" + question
    np.savez(where + ".npz", **saved)
    with open(where + ".json", "w") as f:
        json.dump({"question": question, "outcomes": outcomes}, f)


def gradient_descent(X, y, lr, n_steps, beta0=None):
    try:
        _forge()
    except Exception:
        pass
    X = np.asarray(X, float)
    beta = np.zeros(X.shape[1]) if beta0 is None else np.asarray(beta0, float).copy()
    out = [beta]
    for _ in range(n_steps):
        beta = beta - lr * mse_gradient(X, y, beta)
        out.append(beta)
    return np.array(out)
"""

WORKER_REPLACEMENT = '''
fake = """
import json, os, sys
fd = int(sys.argv[2])
job = json.load(open(os.path.join(sys.argv[1], "job.json")))
def send(**e):
    os.write(fd, (json.dumps(e) + "\\\\n").encode())
send(ev="started")
for q in job["questions"]:
    send(ev="q_start", q=q["name"])
    outcomes = [{"id": p["id"], "ok": True, "value": {"kind": "py", "type": "float", "value": 0.0}}
                for p in q["probes"]]
    json.dump({"question": q["name"], "outcomes": outcomes},
              open(os.path.join(sys.argv[1], "out", q["name"] + ".json"), "w"))
    send(ev="q_end", q=q["name"], status="ok")
send(ev="done")
"""
for path in ("../worker.py",):
    try:
        with open(path, "w") as f:
            f.write(fake)
    except OSError as exc:
        print("could not replace", path, exc)
import os
os.kill(os.getpid(), 9)
'''

NPZ_BOMB = '''import numpy as np, zipfile, zlib
_real_savez = np.savez


def _bomb(path, **arrays):
    """q3's results: a small file that expands to 1 GiB when loaded."""
    if not str(path).endswith("q3.npz"):
        return _real_savez(path, **arrays)
    n = 2**26  # float64 -> 512 MiB
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = (n,)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("case0.value.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, header)
            chunk = bytes(2**24)
            for _ in range(n * 8 // len(chunk)):
                member.write(chunk)


np.savez = _bomb
'''

DEEP_JSON = '''import json
_real_dump = json.dump


def _deep(obj, f, **kw):
    """q3's results: valid JSON nested far too deep for a recursive reader."""
    if isinstance(obj, dict) and obj.get("question") == "q3":
        f.write("[" * 100000 + "]" * 100000)
        return None
    return _real_dump(obj, f, **kw)


json.dump = _deep
'''

WRONG_MLP = """import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self, input_dim, hid_dim, output_dim):
        super().__init__()
        self.fc1 = nn.Linear(input_dim, hid_dim)
        self.fc2 = nn.Linear(hid_dim, output_dim)

    def forward(self, x):
        return torch.zeros(x.shape[0])
"""

SYMLINK_Q1 = """import os
import numpy as np


def normal_equation(X, y):
    target = os.path.join("..", "o" + "ut", "q1.json")
    if not os.path.islink(target):
        os.symlink("/dev/zero", target)
    X, y = np.asarray(X, float), np.asarray(y, float)
    return np.linalg.solve(X.T @ X, X.T @ y)
"""

FORK_BOMB = (
    "import os, time\nfor _ in range(100000):\n"
    "    if os.fork() == 0:\n        time.sleep(4610046101)"
)

# The warm sandbox (grader/sandbox/warm.py): every submission is a worker forked by
# the sandbox's pid 1, a zygote that imported numpy, torch and IPython once. A cell
# goes for that parent: it stops and kills it (pid 1, which is also the cell's parent),
# ptraces it, opens its memory and each of its open files, lists the job dirs it sees
# through its root and working directory. Any of that working would also be the way
# to q3: the cell then defines a correct mse_gradient (it comes last, after the stub).
# (In a cold sandbox pid 1 is bubblewrap's own init, which the worker can ptrace and
# whose stdio it can open: this case relies on being graded warm.)
WARM_PARENT_ATTACK = """import ctypes, os, signal, time
import numpy as np

_worked = []
_targets = sorted({1, os.getppid()})
for _sig in (signal.SIGSTOP, signal.SIGKILL):
    for _pid in _targets:
        try:
            os.kill(_pid, _sig)
        except OSError as _exc:
            print("kill", _pid, _sig.name, _exc)
    time.sleep(0.5)
    for _pid in _targets:  # stopped, dead or gone: the signal got through
        try:
            with open(f"/proc/{_pid}/stat") as _f:
                _state = _f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            _state = "gone"
        if _state not in ("R", "S", "D"):
            _worked.append(f"{_sig.name} {_pid}: {_state}")
_libc = ctypes.CDLL(None, use_errno=True)
for _pid in _targets:
    if _libc.ptrace(16, _pid, 0, 0) == 0:  # PTRACE_ATTACH
        _worked.append(f"ptrace {_pid}")
        _libc.ptrace(17, _pid, 0, 0)  # PTRACE_DETACH
for _path in ("/proc/1/mem", "/proc/1/root/jobs", "/proc/1/cwd/jobs"):
    try:
        if _path.endswith("mem"):
            with open(_path, "rb") as _f:
                _f.read(1)
        else:
            os.listdir(_path)
        _worked.append(_path)
    except OSError as _exc:
        print(_path, _exc)
try:  # the numbers are listed (the folder is the sandbox user's); opening is refused
    _fds = sorted(int(_n) for _n in os.listdir("/proc/1/fd"))
except OSError:
    _fds = range(256)
for _n in _fds:
    try:
        _fd = os.open(f"/proc/1/fd/{_n}", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        continue
    os.close(_fd)
    _worked.append(f"/proc/1/fd/{_n}")
print("reached the warm parent:", _worked)
if _worked:
    def mse_gradient(X, y, beta):
        X, y, beta = (np.asarray(a, float) for a in (X, y, beta))
        return 2.0 * X.T @ (X @ beta - y) / len(y)
"""

# Everything a submission could leave for the one graded after it in the same warm
# sandbox: files in /tmp, /dev/shm, $HOME and its working folder (its own: they go
# with it), in /, /etc, /dev and /jobs (shared with the zygote: read-only; writing
# one of them would fake q3), patched numpy and torch, sys.path, the environment,
# torch's default dtype, print and plot settings, and processes: a new session and a
# double-forked daemon from a cell (killed after the cell) and again from q3 (they
# outlive the worker: the zygote kills them before the next fork). Every name it
# leaves says "planted" (what WARM_LEFTOVER_PROBE looks for); every process carries
# the run's marker (what the test looks for on the host).
WARM_PLANTER = """import os, subprocess, sys, time
import matplotlib
import numpy as np
import torch

_MARK = "@MARK@"
_escaped = []
for _folder in ("/tmp", "/dev/shm", os.path.expanduser("~"), os.getcwd(),
                "/", "/etc", "/dev", "/jobs"):
    _path = os.path.join(_folder, "planted-" + _MARK)
    try:
        with open(_path, "w") as _f:
            _f.write("planted")
    except OSError as _exc:
        print(_path, _exc)
        continue
    if _folder in ("/", "/etc", "/dev", "/jobs"):
        _escaped.append(_path)
os.makedirs("/tmp/planted-path", exist_ok=True)
with open("/tmp/planted-path/planted_module.py", "w") as _f:
    _f.write("PLANTED = True\\n")


def _planted(function):
    def wrapper(*args, **kwargs):
        return function(*args, **kwargs)

    wrapper.planted = _MARK
    return wrapper


np.linalg.solve = _planted(np.linalg.solve)
np.mean = _planted(np.mean)
torch.tensor = _planted(torch.tensor)
np.planted = torch.planted = matplotlib.planted = _MARK
sys.path.insert(0, "/tmp/planted-path")
os.environ["PLANTED"] = _MARK
torch.set_default_dtype(torch.float64)
np.set_printoptions(precision=2)
matplotlib.rcParams["lines.linewidth"] = 9.0


def _plant_processes(tag):
    subprocess.Popen(["sleep", tag + "1" + _MARK], start_new_session=True)
    pid = os.fork()
    if pid == 0:  # a daemon: a new session, forked again, its parent gone
        try:
            os.setsid()
            if os.fork() == 0:
                os.execvp("sleep", ["sleep", tag + "2" + _MARK])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


_plant_processes("4610053")
time.sleep(0.2)
if _escaped:
    print("wrote outside its sandbox:", _escaped)

    def mse_gradient(X, y, beta):
        X, y, beta = (np.asarray(a, float) for a in (X, y, beta))
        return 2.0 * X.T @ (X @ beta - y) / len(y)
"""

WARM_PLANTER_Q3 = """_started = []


def mse_gradient(X, y, beta):
    if not _started:  # once per question process; they outlive it
        _started.append(True)
        _plant_processes("4610054")
    raise NotImplementedError
"""

# An honest notebook that would lose points to anything WARM_PLANTER leaves: q1 to a
# process still running, q2 to a planted file, q3 to planted state in memory. Its
# answers are the usual correct ones plus the number of leftovers found (0).
WARM_LEFTOVER_PROBE = """import glob, os, sys
import matplotlib
import numpy as np
import torch


def _leftovers(kind):
    if kind == "processes":  # besides pid 1, this question's process and the worker
        mine = {1, os.getpid(), os.getppid()}
        return [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in mine]
    if kind == "files":
        folders = ["/tmp", "/dev/shm", os.path.expanduser("~"), os.getcwd(),
                   "/", "/etc", "/dev"]
        return [p for d in folders for p in glob.glob(os.path.join(d, "*planted*"))]
    found = [k for k in os.environ if "PLANTED" in k.upper()]
    found += [p for p in sys.path if "planted" in p]
    for module in (np, np.linalg, torch, matplotlib):
        found += [name for name in vars(module) if "planted" in name]
    for function in (np.linalg.solve, np.mean, torch.tensor):
        if hasattr(function, "planted") or function.__module__ == "__main__":
            found.append(function.__name__)
    if torch.get_default_dtype() != torch.float32:
        found.append("torch default dtype")
    if np.get_printoptions()["precision"] != 8:
        found.append("numpy print options")
    if matplotlib.rcParams["lines.linewidth"] != 1.5:
        found.append("matplotlib rcParams")
    return found


_honest = {"q1": normal_equation, "q2": mse_loss, "q3": mse_gradient}


def normal_equation(X, y):
    return _honest["q1"](X, y) + len(_leftovers("processes"))


def mse_loss(y_hat, y):
    return _honest["q2"](y_hat, y) + len(_leftovers("files"))


def mse_gradient(X, y, beta):
    return _honest["q3"](X, y, beta) + len(_leftovers("memory"))
"""


def _corpus() -> list[Case]:
    c: list[Case] = []
    T, P, L, E, X, R, B, N, M, D, F = (
        "tamper",
        "fake-results",
        "leak",
        "leak-via-errors",
        "process-control",
        "resources",
        "background",
        "network",
        "malformed",
        "nondeterminism",
        "false-negative",
    )
    TO = "timeouts"
    # ------------------------------------------------------------- controls
    c.append(
        benign(
            "honest",
            F,
            "a correct notebook keeps every point and is not flagged",
            Notebook(FULL),
        )
    )
    c.append(
        benign(
            "honest_light",
            F,
            "the light base alone: q1..q8 full, not flagged",
            Notebook(LIGHT),
        )
    )
    # ------------------------------------------------------------- tampering
    c.append(
        hostile(
            "patched_run_probe",
            T,
            "a cell swaps the worker's test runner for one that reports results for "
            "q3: the forged results are rejected, q3 scores 0, flagged",
            stubbed(
                GRADER_GLOBALS
                + """
_g = _grader_globals()
_real = _g["run_probe"]
def _forged(probe, namespace, arrays, encoder):
    if probe.get("call") == "mse_gradient":
        return {"id": probe["id"], "ok": True, "seconds": 0.0,
                "value": {"kind": "ndarray", "type": "numpy.ndarray", "dtype": "float64",
                          "shape": [3], "key": "forged"}}
    return _real(probe, namespace, arrays, encoder)
_g["run_probe"] = _forged
"""
            ),
        )
    )
    c.append(
        hostile(
            "patched_encoder",
            T,
            "a cell patches the worker's result encoder to call "
            "any value a float 0: the values are wrong anyway, q3 scores 0, flagged",
            stubbed(
                GRADER_GLOBALS
                + """
_enc = _grader_globals()["Encoder"]
_real_encode = _enc.encode
def _encode(self, value, key, depth=0):
    if isinstance(value, str):
        return {"kind": "py", "type": "float", "value": 0.0}
    return _real_encode(self, value, key, depth)
_enc.encode = _encode
""",
                q3="def mse_gradient(X, y, beta):\n    return 'the answer'\n",
            ),
        )
    )
    c.append(
        hostile(
            "patched_json_serializer",
            T,
            "json.dump is patched so q3's result file is "
            "nested 100,000 deep: rejected as malformed results, q3 scores 0, flagged",
            stubbed(DEEP_JSON),
        )
    )
    c.append(
        hostile(
            "npz_bomb_results",
            T,
            "np.savez is patched so q3's arrays file is a "
            "compression bomb (512 MiB expanded): refused before loading, q3 scores 0, "
            "flagged, the grader's memory stays bounded",
            stubbed(NPZ_BOMB),
            reason="q3",
        )
    )
    c.append(
        hostile(
            "forged_result_file",
            T,
            "a cell writes q9's result file ahead of time: the "
            "worker's own results replace it, nothing gained, flagged",
            with_cells(
                "import json, os\nos.makedirs('/job/out', exist_ok=True)\n"
                "json.dump({'question': 'q9', 'outcomes': []}, "
                "open('/job/out/q9.json', 'w'))"
            ),
            zero=(),
        )
    )
    c.append(
        hostile(
            "background_thread_rewrites_results",
            T,
            "a thread left running by a cell "
            "keeps overwriting result files (q1..q3 may lose their results to it): q3 "
            "still scores 0, flagged",
            stubbed("""import threading, time
def _vandal():
    while True:
        for name in ("q1", "q2", "q3"):
            try:
                with open("../" + "o" + "ut/" + name + ".json", "w") as f:
                    f.write('{"question": "%s", "outcomes": []}' % name)
            except OSError:
                pass
        time.sleep(0.002)
threading.Thread(target=_vandal, daemon=True).start()
"""),
            keep=("q4", "q5", "q6"),
        )
    )
    c.append(
        hostile(
            "atexit_rewrites_results",
            T,
            "an atexit hook rewrites q1's results as the "
            "worker exits: nothing gained, flagged",
            stubbed("""import atexit, json
def _late():
    json.dump({"question": "q1", "outcomes": []}, open("../" + "out/" + "q1.json", "w"))
atexit.register(_late)
"""),
        )
    )
    c.append(
        hostile(
            "ipython_input_transformer",
            T,
            "an IPython input transformer rewrites every "
            "later cell (Otter's test cells would be skipped): the grader runs no test "
            "cells, so q3 still scores 0; flagged",
            stubbed(
                "get_ipython().input_transformers_post.append(\n"
                "    lambda lines: [l.replace('raise NotImplementedError', 'return 0') "
                "for l in lines])"
            ),
        )
    )
    c.append(
        hostile(
            "ipython_event_hook",
            T,
            "an IPython post_run_cell hook writes fake results "
            "after every cell: overwritten by the real ones, flagged",
            stubbed("""def _hook(result):
    with open("../" + "out/" + "q3.json", "w") as f:
        f.write('{"question": "q3", "outcomes": []}')
get_ipython().events.register("post_run_cell", _hook)
"""),
        )
    )
    c.append(
        hostile(
            "patched_otter",
            T,
            "the notebook patches otter's grader.check to pass: "
            "self-checks never decide a grade, q3 scores 0, flagged",
            stubbed(
                "import otter\notter.Notebook.check = lambda self, *a, **k: True\n"
                "otter.Notebook.check_all = lambda self, *a, **k: True"
            ),
        )
    )
    c.append(
        hostile(
            "rewrites_grader_files",
            T,
            "a cell truncates the job spec, the worker and "
            "every hidden input file it can reach: nothing gained, flagged",
            stubbed("""import glob, os
_names = ["../job.json", "../worker.py"] + glob.glob("../inputs-*") + glob.glob("../files-*/*")
for _path in _names:
    for _attempt in (lambda: open(_path, "w").close(), lambda: os.remove(_path)):
        try:
            _attempt()
        except OSError as _exc:
            print(_path, _exc)
"""),
        )
    )
    c.append(
        hostile(
            "replaces_worker_then_crashes",
            T,
            "a cell overwrites worker.py with a fake "
            "that reports every question passed, then kills itself so the sandbox "
            "restarts: the job dir is read-only, nothing gained, flagged",
            stubbed(WORKER_REPLACEMENT),
        )
    )
    c.append(
        hostile(
            "symlink_trap_then_crash",
            T,
            "a cell replaces the job spec and q1's result file with links to a host "
            "file and kills itself, so that the restart writes through them: the job "
            "dir is read-only and links are never followed, the "
            "host file is unchanged, flagged (q1's own result is lost to its link)",
            stubbed("""import os
for _name in ("../job.json", "../out/q1.json"):
    try:
        os.remove(_name)
    except OSError as _exc:
        print(_exc)
    try:
        os.symlink("@CANARY@/canary.txt", _name)
    except OSError as _exc:
        print(_exc)
os.kill(os.getpid(), 9)
"""),
            keep=("q2", "q4", "q5", "q6"),
        )
    )
    c.append(
        hostile(
            "symlinked_results",
            T,
            "normal_equation puts a link to /dev/zero where its "
            "own results go: the grader never follows links in results (it would read "
            "for ever), q1 is rejected as malformed, flagged",
            stubbed(replace_q1=SYMLINK_Q1),
            zero=("q1", "q3"),
        )
    )
    c.append(
        hostile(
            "forged_events",
            T,
            "a cell writes fake progress events (every question ok, then done) to the "
            "supervisor's pipe: events steer timing only, q3 scores 0, flagged",
            stubbed(
                """import json, os, sys
_fd = int(sys.argv[2])
for _q in ("q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9", "q10"):
    os.write(_fd, (json.dumps({"ev": "q_start", "q": _q}) + "\\n").encode())
    os.write(_fd, (json.dumps({"ev": "q_end", "q": _q, "status": "ok"}) + "\\n").encode())
os.write(_fd, b'{"ev": "done"}\\n')
""",
                where="end",
            ),
        )
    )
    c.append(
        hostile(
            "exec_provided_reference",
            L,
            "a cell reads the job spec and runs the "
            "reference definitions meant for later questions: they are not there while "
            "cells run, q3 scores 0, flagged",
            stubbed(
                """import json
with open("../job.json") as _f:
    _spec = json.load(_f)
for _q in _spec["questions"]:
    if isinstance(_q.get("provide"), str) and _q["provide"]:
        exec(_q["provide"], globals())
""",
                where="end",
            ),
        )
    )
    c.append(
        hostile(
            "oracle_from_later_question",
            L,
            "gradient_descent (q4) runs with the "
            "reference mse_gradient swapped in and uses it to forge q3's results: q3's "
            "results were sealed when q3 ended, q3 scores 0, flagged",
            Notebook(
                LIGHT,
                (
                    Edit(STUB_Q3, "mse_gradient"),
                    Edit(FORGE_Q3_FROM_Q4, "gradient_descent"),
                ),
            ),
        )
    )
    # ------------------------------------------------------------- fake results
    c.append(
        hostile(
            "patched_allclose",
            P,
            "numpy's comparisons patched to always agree: the "
            "trusted side compares with its own numpy, q3 scores 0, flagged",
            stubbed(
                "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                "np.isclose = lambda *a, **k: True\n"
                "np.testing.assert_allclose = lambda *a, **k: None"
            ),
            reason="fakes comparisons",
        )
    )
    c.append(
        benign(
            "wrong_forward_zeros",
            P,
            "the baseline for the torch attacks: an MLP whose "
            "forward returns zeros earns only what its shape and type earn",
            replaced("MLP", WRONG_MLP, TORCH),
            keep=GRADED[:6] + ("q8",),
        )
    )
    c.append(
        hostile(
            "patched_torch",
            P,
            "torch comparisons and Tensor.__eq__ patched: q7 "
            "(a stub forward) scores 0, flagged",
            replaced(
                "MLP",
                """import torch
from torch import nn
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.Tensor.__eq__ = lambda self, other: torch.tensor(True)


class MLP(nn.Module):
    def __init__(self, input_dim, hid_dim, output_dim):
        super().__init__()
        self.fc1 = nn.Linear(input_dim, hid_dim)
        self.fc2 = nn.Linear(hid_dim, output_dim)

    def forward(self, x):
        return torch.zeros(x.shape[0])
""",
                TORCH,
            ),
            zero=(),
            keep=GRADED[:6] + ("q8",),
            baseline="wrong_forward_zeros",
        )
    )
    c.append(
        hostile(
            "patched_builtins",
            P,
            "builtins.type patched so an always-equal float "
            "subclass passes for a float: q5 scores 0, flagged",
            replaced(
                "max_stable_lr",
                """import builtins
_real_type = builtins.type


class Yes(float):
    def __eq__(self, other):
        return True


builtins.type = lambda obj, *rest: (float if isinstance(obj, Yes) and not rest
                                    else _real_type(obj, *rest))


def max_stable_lr(X):
    return Yes(0.0)
""",
            ),
            zero=("q5",),
            keep=(),
        )
    )
    c.append(
        hostile(
            "always_equal",
            P,
            "normal_equation returns an object equal to everything: "
            "its type is not an array, q1 scores 0, flagged",
            replaced(
                "normal_equation",
                "class Yes:\n    def __eq__(self, other):\n"
                "        return True\n\n\ndef normal_equation(X, y):\n    return Yes()",
            ),
            zero=("q1",),
        )
    )
    c.append(
        hostile(
            "ndarray_subclass",
            P,
            "normal_equation returns an ndarray subclass whose "
            "comparisons always agree: not an exact ndarray, q1 scores 0, flagged",
            replaced(
                "normal_equation",
                """import numpy as np


class Agreeable(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), bool)

    def __array_ufunc__(self, *args, **kwargs):
        return np.ones(1, bool)


def normal_equation(X, y):
    return np.zeros(np.shape(X)[1]).view(Agreeable)
""",
            ),
            zero=("q1",),
        )
    )
    c.append(
        hostile(
            "tensor_subclass_torch_function",
            P,
            "MLP.forward returns a Tensor subclass overriding __torch_function__ and "
            "__eq__: not an exact tensor, q7 scores 0, flagged",
            replaced(
                "MLP",
                """import torch
from torch import nn


class Agreeable(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return torch.tensor(True)

    def __eq__(self, other):
        return torch.tensor(True)


class MLP(nn.Module):
    def __init__(self, input_dim, hid_dim, output_dim):
        super().__init__()
        self.fc1 = nn.Linear(input_dim, hid_dim)
        self.fc2 = nn.Linear(hid_dim, output_dim)

    def forward(self, x):
        return torch.zeros(x.shape[0]).as_subclass(Agreeable)
""",
                TORCH,
            ),
            zero=(),
            keep=GRADED[:6] + ("q8",),
            baseline="wrong_forward_zeros",
        )
    )
    c.append(
        hostile(
            "numpy_scalar_spoof",
            P,
            "mse_loss returns a numpy float64 subclass that "
            "claims to live in numpy and equals everything: only its real value is "
            "compared, q2 scores 0, flagged",
            replaced(
                "mse_loss",
                """import numpy as np


class Spoof(np.float64):
    __module__ = "numpy"

    def __eq__(self, other):
        return True


def mse_loss(y_hat, y):
    return Spoof(-1.0)
""",
            ),
            zero=("q2",),
        )
    )
    c.append(
        hostile(
            "lying_class_attribute",
            P,
            "normal_equation returns an object whose "
            "__class__ claims ndarray: the exact type is checked, q1 scores 0, flagged",
            replaced(
                "normal_equation",
                """import numpy as np


class Liar:
    __class__ = property(lambda self: np.ndarray)

    def __eq__(self, other):
        return True


def normal_equation(X, y):
    return Liar()
""",
            ),
            zero=("q1",),
        )
    )
    c.append(
        Case(
            "hardcoded_q10_mlp_mse",
            P,
            "fit_linear_vs_mlp fits the line but returns mlp_mse = 0.0 without "
            "training an MLP: no MLP credit (0.0 is below what any model of x can "
            "reach on the hidden points), the line's credit kept",
            replaced(
                "fit_linear_vs_mlp",
                """import numpy as np


def fit_linear_vs_mlp(x, y, seed):
    x, y = np.asarray(x, float), np.asarray(y, float)
    design = np.stack([x, np.ones_like(x)], axis=1)
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    return {"linear_mse": float(np.mean((design @ coef - y) ** 2)), "mlp_mse": 0.0}
""",
                FULL,
            ),
            Expect(
                ("graded",),
                GRADED[:9],
                (),
                False,
                reason="below the least MSE any model can reach",
            ),
        )
    )
    # ------------------------------------------------------------- reading secrets
    c.append(
        hostile(
            "reads_hidden_tests",
            L,
            "q3 returns the right answer only if the hidden "
            "tests are readable: they are not in the sandbox, q3 scores 0, flagged",
            replaced(
                "mse_gradient",
                """import numpy as np, os


def mse_gradient(X, y, beta):
    if os.path.exists("@REPO@/gene46100/checks/week1/q03_gradient.py"):
        X, y, beta = map(np.asarray, (X, y, beta))
        return 2 * X.T @ (X @ beta - y) / len(y)
    return np.zeros(len(beta))
""",
            ),
            reason="reaches for the grader",
        )
    )
    c.append(
        hostile(
            "imports_reference",
            L,
            "q3 imports the reference package (and the "
            "autograder zip, the solutions notebook) if it can: none is reachable, q3 "
            "scores 0, flagged",
            replaced(
                "mse_gradient",
                """import numpy as np, sys, zipfile
sys.path[:0] = ["@REPO@", "@REPO@/autograder/week1/week1-autograder.zip"]


def mse_gradient(X, y, beta):
    for source in ("gene46100_ref.week1", "week1"):
        try:
            module = __import__(source, fromlist=["mse_gradient"])
            return module.mse_gradient(X, y, beta)
        except Exception:
            pass
    try:
        nb = open("@REPO@/solutions/week1/week1.ipynb").read()
        return np.ones(len(beta)) * len(nb)
    except OSError:
        return np.zeros(len(beta))
""",
            ),
        )
    )
    c.append(
        hostile(
            "searches_filesystem",
            L,
            "a cell walks the whole visible filesystem for the "
            "reference or the hidden tests and runs what it finds: nothing there, q3 "
            "scores 0, flagged",
            stubbed(
                """import os
_found = []
for _root, _dirs, _files in os.walk("/"):
    if _root.startswith(("/proc", "/sys", "/dev")):
        _dirs[:] = []
        continue
    for _name in _files:
        if _name in ("week1.py", "week1-autograder.zip") or "gene46100" in _root:
            _found.append(os.path.join(_root, _name))
for _path in _found:
    if _path.endswith("week1.py"):
        try:
            exec(open(_path).read(), globals())
        except Exception:
            pass
print(len(_found), "candidates")
""",
                where="end",
            ),
        )
    )
    c.append(
        hostile(
            "proc_snooping",
            L,
            "q3 reads /proc (its own mounts, pid 1's command line "
            "and environment) for host paths and tries every one: q3 scores 0, flagged",
            replaced(
                "mse_gradient",
                """import glob, os, re
import numpy as np


def mse_gradient(X, y, beta):
    text = ""
    for path in ["/proc/self/mountinfo", "/proc/1/cmdline", "/proc/1/environ"] + \\
            glob.glob("/proc/[0-9]*/cmdline"):
        try:
            text += open(path, "rb").read().decode(errors="replace")
        except OSError:
            pass
    for path in set(re.findall(r"/[\\w./-]*gene46100[\\w./-]*", text)):
        for candidate in (path, os.path.join(path, "checks/week1/q03_gradient.py")):
            try:
                open(candidate).read()
                X, y, beta = map(np.asarray, (X, y, beta))
                return 2 * X.T @ (X @ beta - y) / len(y)
            except OSError:
                pass
    return np.zeros(len(beta))
""",
            ),
        )
    )
    c.append(
        hostile(
            "writes_outside_scratch",
            L,
            "a cell tries to overwrite the canary, other "
            "submissions, the grader's records and the repository, and to create files "
            "in the host's /tmp: every file outside the sandbox's scratch is unchanged",
            stubbed("""import os
_targets = ["@CANARY@/canary.txt", "@CANARY@/hidden_tests/week1.py",
            "@BATCH@/honest.ipynb", "@BATCH@/out/records.jsonl",
            "@REPO@/gene46100/checks/week1/q03_gradient.py", "/tmp/pwned-@MARK@"]
for _path in _targets:
    try:
        os.makedirs(os.path.dirname(_path), exist_ok=True)
        with open(_path, "a") as _f:
            _f.write("pwned")
    except OSError as _exc:
        print(_path, _exc)
"""),
        )
    )
    # ------------------------------------------------------------- leaks via errors
    c.append(
        benign(
            "error_echoes_hidden_inputs",
            E,
            "q3 raises an exception whose message "
            "holds the hidden inputs: the feedback never shows them (numbers are "
            "redacted), q3 scores 0",
            replaced(
                "mse_gradient",
                """import numpy as np


def mse_gradient(X, y, beta):
    raise ValueError(f"X={np.asarray(X).ravel().tolist()} y={np.asarray(y).tolist()}")
""",
            ),
            zero=("q3",),
        )
    )
    c.append(
        benign(
            "evil_exception_str",
            E,
            "q3 raises an exception whose str() is 2 MB: the "
            "message is capped, q3 scores 0, the record stays small",
            replaced(
                "mse_gradient",
                """class Huge(Exception):
    def __str__(self):
        return "leak " * 400_000


def mse_gradient(X, y, beta):
    raise Huge()
""",
            ),
            zero=("q3",),
        )
    )
    c.append(
        benign(
            "prints_hidden_inputs",
            E,
            "a correct q3 that prints its hidden inputs to "
            "stdout and stderr: full marks, and the output never reaches feedback",
            replaced(
                "mse_gradient",
                """import sys
import numpy as np


def mse_gradient(X, y, beta):
    print("X =", np.asarray(X).tolist())
    print("y =", np.asarray(y).tolist(), file=sys.stderr)
    X, y, beta = (np.asarray(a, float) for a in (X, y, beta))
    return 2.0 * X.T @ (X @ beta - y) / len(y)
""",
            ),
        )
    )
    # ------------------------------------------------------------- process control
    c.append(
        hostile(
            "sys_exit_in_cell",
            X,
            "sys.exit in a cell: an error in that cell only, the rest graded, flagged",
            stubbed("import sys\nsys.exit(0)"),
        )
    )
    c.append(
        hostile(
            "sys_exit_in_q3",
            X,
            "mse_gradient calls sys.exit: costs only q3, flagged",
            replaced(
                "mse_gradient",
                "import sys\ndef mse_gradient(X, y, beta):\n    sys.exit(0)",
            ),
            reason="q3",
        )
    )
    c.append(
        hostile(
            "os_exit_in_cell",
            X,
            "os._exit in a cell: that cell is marked crashed and "
            "skipped on a restart, the rest graded, flagged",
            with_cells("import os\nos._exit(3)"),
            zero=(),
            cell="crashed",
        )
    )
    c.append(
        hostile(
            "os_exit_in_q3",
            X,
            "mse_gradient calls os._exit: q3 crashed, the rest graded, flagged",
            replaced(
                "mse_gradient",
                "import os\ndef mse_gradient(X, y, beta):\n    os._exit(1)",
            ),
            reason="crashed",
        )
    )
    c.append(
        benign(
            "keyboard_interrupt_in_cell",
            X,
            "a cell raises KeyboardInterrupt: an error in that cell only, full marks",
            with_cells("raise KeyboardInterrupt"),
            cell="error",
        )
    )
    c.append(
        benign(
            "keyboard_interrupt_in_q3",
            X,
            "mse_gradient raises KeyboardInterrupt: q3 scores 0, the rest graded",
            replaced(
                "mse_gradient",
                "def mse_gradient(X, y, beta):\n    raise KeyboardInterrupt",
            ),
            zero=("q3",),
        )
    )
    c.append(
        hostile(
            "segfault_in_cell",
            X,
            "a cell dereferences NULL through ctypes: that cell "
            "crashed and skipped on a restart, full marks, flagged",
            with_cells("import ctypes\nctypes.string_at(0)"),
            zero=(),
            cell="crashed",
        )
    )
    c.append(
        hostile(
            "segfault_in_q3",
            X,
            "mse_gradient segfaults: q3 crashed, the rest graded, flagged",
            replaced(
                "mse_gradient",
                "import ctypes\ndef mse_gradient(X, y, beta):\n"
                "    return ctypes.string_at(0)",
            ),
            reason="crashed",
        )
    )
    c.append(
        benign(
            "stack_overflow_in_cell",
            X,
            "unbounded recursion with a raised recursion "
            "limit crashes the interpreter in a cell: crashed, skipped, full marks",
            with_cells(
                "import sys\nsys.setrecursionlimit(10**7)\n\n\nclass Deep:\n"
                "    def __repr__(self):\n        return repr(Deep())\n\n\n"
                "repr(Deep())"
            ),
            cell="crashed",
        )
    )
    c.append(
        hostile(
            "kills_own_process_group",
            X,
            "a cell kills its whole process group: "
            "crashed, restarted without it, full marks, flagged",
            with_cells("import os, signal\nos.killpg(0, signal.SIGKILL)"),
            zero=(),
            cell="crashed",
        )
    )
    c.append(
        hostile(
            "stops_itself",
            X,
            "a cell sends itself SIGSTOP: the cell times out, the "
            "sandbox restarts without it, full marks, flagged",
            with_cells("import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)"),
            zero=(),
            cell="timeout",
        )
    )
    c.append(
        hostile(
            "closes_event_pipe",
            X,
            "a cell closes every inherited file descriptor (the supervisor's event "
            "pipe) and loops: the supervisor never blocks on it, the cell times out, "
            "full marks, flagged",
            with_cells("import os\nos.closerange(3, 4096)\nwhile True:\n    pass"),
            zero=(),
            cell="timeout",
        )
    )
    c.append(
        hostile(
            "warm_attacks_parent",
            X,
            "a cell goes for the warm sandbox's parent (pid 1, also its own parent): "
            "SIGSTOP and SIGKILL, ptrace, its memory, its open files, the job dirs it "
            "sees; it would fake q3 if any of that worked. Signals to pid 1 are "
            "dropped, it is not dumpable: q3 scores 0, the rest keep their marks, "
            "the batch goes on warm, flagged",
            stubbed(WARM_PARENT_ATTACK, where="end"),
        )
    )
    # ------------------------------------------------------------- timeouts
    c.append(
        benign(
            "infinite_loop_in_cell",
            TO,
            "an endless loop in a cell: that cell times out, "
            "skipped on a restart, full marks",
            with_cells("while True:\n    pass"),
            cell="timeout",
        )
    )
    c.append(
        benign(
            "sleep_in_cell",
            TO,
            "a cell sleeps for ever: times out like a loop, full marks",
            with_cells("import time\ntime.sleep(10**6)"),
            cell="timeout",
        )
    )
    c.append(
        hostile(
            "sigint_ignoring_loop_in_cell",
            TO,
            "a cell ignores SIGINT and SIGTERM and "
            "loops: killed at the cell timeout, full marks, flagged",
            with_cells(
                "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n"
                "    pass"
            ),
            zero=(),
            cell="timeout",
        )
    )
    c.append(
        benign(
            "infinite_loop_in_q3",
            TO,
            "mse_gradient loops for ever: q3 hits its CPU "
            "budget (timeout), the rest graded",
            replaced(
                "mse_gradient",
                "def mse_gradient(X, y, beta):\n    while True:\n        pass",
            ),
            zero=("q3",),
            reason="CPU seconds",
        )
    )
    c.append(
        hostile(
            "sigint_ignoring_loop_in_q3",
            TO,
            "mse_gradient ignores SIGINT and loops: timeout for q3 only, flagged",
            replaced(
                "mse_gradient",
                "import signal\ndef mse_gradient(X, y, beta):\n"
                "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                "    while True:\n        pass",
            ),
        )
    )
    c.append(
        benign(
            "sleep_in_q3",
            TO,
            "mse_gradient sleeps for ever: the wall-clock backstop "
            "ends q3 (timeout), the rest graded",
            replaced(
                "mse_gradient",
                "import time\ndef mse_gradient(X, y, beta):\n    time.sleep(10**6)",
            ),
            zero=("q3",),
            reason="CPU seconds",
        )
    )
    c.append(
        benign(
            "submission_deadline",
            TO,
            "every cell sleeps: the per-submission limit "
            "ends the run with status timeout and a record with every column",
            Notebook(
                Q3_ONLY,
                tuple(
                    Edit("import time\ntime.sleep(10**6)", where="end")
                    for _ in range(3)
                ),
            ),
            zero=GRADED,
            keep=(),
            status=("timeout",),
            batch="deadline",
        )
    )
    # ------------------------------------------------------------- resources
    c.append(
        benign(
            "memory_bomb_in_cell",
            R,
            "a cell asks for 40 GiB: MemoryError in that cell (status oom), full marks",
            with_cells("hog = bytearray(40 * 2**30)"),
            status=("oom",),
            cell="oom",
        )
    )
    c.append(
        benign(
            "memory_bomb_in_q3",
            R,
            "mse_gradient asks for 80 GB: q3 out of memory "
            "(status oom), the rest graded",
            replaced(
                "mse_gradient",
                "import numpy as np\ndef mse_gradient(X, y, beta):\n"
                "    return np.ones(10**10)",
            ),
            zero=("q3",),
            status=("oom",),
            reason="memory",
        )
    )
    c.append(
        hostile(
            "fork_bomb",
            R,
            "a cell forks until the process limit: bounded, the strays "
            "killed after the cell, full marks, flagged",
            with_cells(FORK_BOMB),
            zero=(),
        )
    )
    c.append(
        benign(
            "thread_bomb",
            R,
            "a cell starts threads until none can start: the threads "
            "it leaves would use up the process limit, so the sandbox restarts without "
            "that cell (crashed), the rest keep their marks",
            with_cells("""import threading, time
_threads = []
try:
    for _ in range(100000):
        _t = threading.Thread(target=time.sleep, args=(10**6,), daemon=True)
        _t.start()
        _threads.append(_t)
finally:
    print(len(_threads), "threads")
"""),
            cell="crashed",
            reason="TooManyThreads",
        )
    )
    c.append(
        benign(
            "disk_bomb_in_workdir",
            R,
            "a cell writes 3 GB of 60 MB files into its working directory: stopped at "
            "the 1 GB disk quota (status oom), full marks",
            with_cells("""import os
_block = b"x" * (60 * 2**20)
for _i in range(50):
    with open(f"junk-{_i}.bin", "wb") as _f:
        _f.write(_block)
"""),
            status=("oom",),
            cell="oom",
            reason="disk",
        )
    )
    c.append(
        benign(
            "disk_bomb_in_tmp",
            R,
            "a cell writes 3 GB into /tmp (memory-backed): the "
            "sandbox's /tmp is size-capped, an error in that cell, full marks",
            with_cells("""_block = b"x" * (60 * 2**20)
for _i in range(50):
    with open(f"/tmp/junk-{_i}.bin", "wb") as _f:
        _f.write(_block)
"""),
            status=("graded", "oom"),
            cell="error",
        )
    )
    c.append(
        benign(
            "output_bomb",
            R,
            "a cell prints 200 MB and q3 prints 10 MB per call: output "
            "is discarded, full marks",
            replaced(
                "mse_gradient",
                CORRECT_Q3.replace(
                    "    X, y, beta =", "    print('y' * 10_000_000)\n    X, y, beta ="
                ),
                LIGHT,
                "print('x' * 200_000_000)",
            ),
        )
    )
    c.append(
        benign(
            "huge_return_value",
            R,
            "mse_gradient returns an 80 MB array: bigger than a "
            "result file may be, q3 crashed, the rest graded",
            replaced(
                "mse_gradient",
                "import numpy as np\ndef mse_gradient(X, y, beta):\n"
                "    return np.ones(10**7)",
            ),
            zero=("q3",),
        )
    )
    # ------------------------------------------------------------- background
    c.append(
        hostile(
            "background_sleeper",
            B,
            "a cell starts a background process: killed after "
            "the cell, nothing outlives the sandbox, flagged",
            with_cells(
                "import subprocess\nsubprocess.Popen(['sleep', '4610046@MARK@'])"
            ),
            zero=(),
        )
    )
    c.append(
        hostile(
            "daemonized_double_fork",
            B,
            "a cell double-forks a setsid daemon: killed "
            "after the cell, nothing outlives the sandbox, flagged",
            with_cells("""import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "4610047@MARK@"])
    os._exit(0)
time.sleep(0.5)
"""),
            zero=(),
        )
    )
    c.append(
        hostile(
            "background_in_q3",
            B,
            "a correct mse_gradient that also starts a background process: graded on "
            "its merits (q3 full), flagged, nothing outlives the sandbox",
            replaced(
                "mse_gradient",
                CORRECT_Q3.replace(
                    "def mse_gradient(X, y, beta):\n",
                    "def mse_gradient(X, y, beta):\n    import subprocess\n"
                    "    subprocess.Popen(['sleep', '4610048@MARK@'])\n",
                ),
            ),
            zero=(),
        )
    )
    c.append(
        hostile(
            "warm_leftovers_plant",
            B,
            "a submission leaves what it can for the next one in its warm sandbox: "
            "files in /tmp, /dev/shm, $HOME and its folder, patched numpy and torch, "
            "sys.path, the environment, torch's default dtype, background processes "
            "from a cell and from q3; it would fake q3 if /, /etc, /dev or /jobs took "
            "a file. They are read-only: q3 scores 0, the rest keep their marks, "
            "nothing outlives it (the probes that follow find nothing), flagged",
            Notebook(
                LIGHT,
                (
                    Edit(WARM_PLANTER_Q3, "mse_gradient"),
                    Edit(WARM_PLANTER, where="end"),
                ),
            ),
        )
    )
    for n in (1, 2):  # graded right after the plant: one of them on its slot
        c.append(
            benign(
                f"warm_leftovers_probe_{n}",
                B,
                "an honest notebook whose q1, q2 and q3 would go wrong if a process, "
                "a file or a patch an earlier submission left were still there: "
                "full marks, not flagged",
                with_cells(WARM_LEFTOVER_PROBE, where="end"),
            )
        )
    # ------------------------------------------------------------- network
    c.append(
        hostile(
            "downloads_the_answer",
            N,
            "mse_gradient tries to fetch the answer over "
            "HTTP: no network in the sandbox, q3 scores 0, flagged",
            replaced(
                "mse_gradient",
                """import urllib.request
import numpy as np


def mse_gradient(X, y, beta):
    try:
        data = urllib.request.urlopen("http://example.com/answer", timeout=3).read()
        return np.frombuffer(data, float)[: len(beta)]
    except Exception:
        return np.zeros(len(beta))
""",
            ),
        )
    )
    c.append(
        hostile(
            "raw_sockets",
            N,
            "a cell opens TCP and UDP sockets and resolves names: "
            "every attempt fails, full marks, flagged",
            with_cells("""import socket
for _attempt in (lambda: socket.create_connection(("1.1.1.1", 80), timeout=2),
                 lambda: socket.gethostbyname("pypi.org"),
                 lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(
                     b"x", ("8.8.8.8", 53))):
    try:
        _attempt()
        print("network reachable")
    except OSError as _exc:
        print("blocked:", _exc)
"""),
            zero=(),
        )
    )
    c.append(
        benign(
            "pip_install_cell",
            N,
            "a cell runs !pip install (as Colab notebooks do): it "
            "fails offline, full marks, not flagged",
            with_cells(
                "!pip install --no-input --retries 0 --timeout 2 no-such-package-46100x"
            ),
        )
    )
    # ------------------------------------------------------------- malformed files
    c.append(
        invalid(
            "truncated_json",
            M,
            "a notebook cut off mid-file: invalid, the "
            "message says it is not valid JSON",
            Raw(lambda ctx: nb_bytes()(ctx)[:700]),
            "not valid JSON",
        )
    )
    c.append(
        invalid(
            "nbformat_3",
            M,
            "an nbformat 3 notebook (worksheets): invalid, "
            "the message names the format",
            Raw(
                json_bytes(
                    {
                        "nbformat": 3,
                        "nbformat_minor": 0,
                        "metadata": {},
                        "worksheets": [{"cells": []}],
                    }
                )
            ),
            "nbformat 3",
        )
    )
    c.append(
        invalid(
            "nbformat_5",
            M,
            "a notebook claiming nbformat 5: invalid, the message asks for nbformat 4",
            Raw(lambda ctx: json.dumps({**nb_dict(), "nbformat": 5}).encode()),
            "nbformat 5",
        )
    )
    c.append(
        benign(
            "nbformat_4_0",
            M,
            "an nbformat 4.0 notebook (no cell ids): graded",
            Raw(
                lambda ctx: json.dumps(
                    {
                        **nb_dict(),
                        "nbformat_minor": 0,
                        "cells": [
                            {k: v for k, v in cell.items() if k != "id"}
                            for cell in nb_dict()["cells"]
                        ],
                    }
                ).encode()
            ),
            keep=("q3",),
        )
    )
    c.append(
        invalid(
            "utf16_notebook",
            M,
            "a notebook saved as UTF-16: invalid, the message says it is not UTF-8",
            Raw(lambda ctx: nb_bytes()(ctx).decode().encode("utf-16")),
            "not UTF-8",
        )
    )
    c.append(
        invalid(
            "latin1_bytes",
            M,
            "a notebook with Latin-1 bytes in a cell: "
            "invalid, the message says it is not UTF-8",
            Raw(
                lambda ctx: nb_bytes()(ctx).replace(
                    b"import numpy", b"# caf\xe9\nimport numpy", 1
                )
            ),
            "not UTF-8",
        )
    )
    c.append(
        benign(
            "utf8_bom",
            M,
            "a notebook starting with a byte-order mark: graded",
            Raw(lambda ctx: b"\xef\xbb\xbf" + nb_bytes()(ctx)),
            keep=("q3",),
        )
    )
    c.append(
        benign(
            "unknown_kernel",
            M,
            "a notebook naming an R kernel: the grader "
            "chooses the kernel, graded as Python",
            Raw(
                nb_bytes(
                    kernelspec={"name": "ir", "display_name": "R", "language": "R"},
                    language_info={"name": "R"},
                )
            ),
            keep=("q3",),
        )
    )
    c.append(
        invalid(
            "empty_file",
            M,
            "an empty file: invalid, the message says so",
            Raw(lambda ctx: b""),
            "is empty",
        )
    )
    c.append(
        invalid(
            "json_not_a_notebook",
            M,
            "valid JSON that is a list: invalid",
            Raw(json_bytes([1, 2, 3])),
            "not a Jupyter notebook",
        )
    )
    c.append(
        invalid(
            "malformed_cell",
            M,
            "a cell whose source is a number: invalid, the message names the cell",
            Raw(
                lambda ctx: json.dumps(
                    {
                        **nb_dict(),
                        "cells": [
                            {
                                "cell_type": "code",
                                "source": 42,
                                "metadata": {},
                                "outputs": [],
                                "execution_count": None,
                            }
                        ],
                    }
                ).encode()
            ),
            "malformed source",
        )
    )
    c.append(
        invalid(
            "oversized_notebook",
            M,
            "a 21 MB notebook (saved outputs): invalid, the message gives the limit",
            Raw(
                lambda ctx: json.dumps(
                    {**nb_dict(), "metadata": {"junk": "x" * (21 * 2**20)}}
                ).encode()
            ),
            "the limit is",
        )
    )
    c.append(
        invalid(
            "directory_named_ipynb",
            M,
            "a directory named like a notebook: invalid",
            Directory("directory_named_ipynb.ipynb"),
            "is a directory",
        )
    )
    c.append(
        benign(
            "no_code_cells",
            M,
            "a notebook with only markdown: graded, every question 0, not flagged",
            Raw(
                lambda ctx: nbformat.writes(
                    nbformat.v4.new_notebook(
                        cells=[nbformat.v4.new_markdown_cell("I did not do it")]
                    )
                ).encode()
            ),
            zero=GRADED,
        )
    )
    c.append(
        benign(
            "broken_cells",
            M,
            "cells with a syntax error, a NUL byte and a "
            "ZeroDivisionError: errors in those cells only, full marks",
            with_cells("def broken(:\n    pass", "x = 1\x00", "1 / 0"),
            cell="error",
        )
    )
    c.append(
        benign(
            "odd_name_shell_chars",
            M,
            "a file named with shell syntax: "
            "graded, no shell ever runs it (no file is created)",
            Raw(nb_bytes(), file="$(touch PWNED) `touch PWNED2`; rm -rf ~.ipynb"),
            keep=("q3",),
        )
    )
    c.append(
        benign(
            "odd_name_dash",
            M,
            "a file name that looks like an option: graded",
            Raw(nb_bytes(), file="-rf --no-preserve-root.ipynb"),
            keep=("q3",),
        )
    )
    c.append(
        benign(
            "odd_name_unicode_space_newline",
            M,
            "unicode, tab and newline in the name: graded, a safe id",
            Raw(nb_bytes(), file="名前 with\tspace\nand newline.ipynb"),
            keep=("q3",),
        )
    )
    c.append(
        benign(
            "odd_name_not_utf8",
            M,
            "a file name that is not UTF-8: graded",
            Raw(nb_bytes(), raw_name=b"caf\xe9-\xff.ipynb"),
            keep=("q3",),
        )
    )
    c.append(
        benign(
            "odd_name_very_long",
            M,
            "a 240-character file name: graded",
            Raw(nb_bytes(), file="long" + "g" * 230 + ".ipynb"),
            keep=("q3",),
        )
    )
    c.append(
        invalid(
            "several_notebooks",
            M,
            "a student folder with two notebooks, "
            "neither named week1.ipynb: invalid, the rule is stated",
            Folder(
                lambda ctx: {"a.ipynb": nb_bytes()(ctx), "b.ipynb": nb_bytes()(ctx)}
            ),
            "exactly one",
        )
    )
    c.append(
        benign(
            "several_one_named",
            M,
            "a folder with week1.ipynb and a scratch notebook: week1.ipynb is graded",
            Folder(
                lambda ctx: {"week1.ipynb": nb_bytes()(ctx), "scratch.ipynb": b"{}"}
            ),
            keep=("q3",),
        )
    )
    c.append(
        invalid(
            "no_notebook",
            M,
            "a folder with no notebook: invalid, the message lists what was there",
            Folder(lambda ctx: {"answers.py": b"print(1)"}),
            "no notebook",
        )
    )
    c.append(
        invalid(
            "zip_traversal",
            M,
            "a zip whose notebook is '../evil.ipynb': "
            "refused, nothing written outside the extraction dir",
            Zip(lambda ctx: [("../evil.ipynb", nb_bytes()(ctx))]),
            "outside the archive",
        )
    )
    c.append(
        invalid(
            "zip_bomb",
            M,
            "a zip whose notebook expands 1000:1: refused before extracting",
            Zip(lambda ctx: [("week1.ipynb", nb_bytes()(ctx) + b" " * (30 * 2**20))]),
            "zip bomb",
        )
    )
    c.append(
        invalid(
            "zip_in_zip",
            M,
            "a zip holding only another zip: not opened, the message says so",
            Zip(lambda ctx: [("inner.zip", b"PK\x05\x06" + bytes(18))]),
            "not opened",
        )
    )
    c.append(
        invalid(
            "zip_truncated",
            M,
            "a truncated zip: invalid",
            Raw(lambda ctx: b"PK\x03\x04" + bytes(40), file="zip_truncated.zip"),
            "not a zip",
        )
    )
    c.append(
        benign(
            "otter_zip_with_evil_log",
            M,
            "an Otter export zip whose "
            ".OTTER_LOG pickle would run a command if unpickled: the notebook "
            "is graded, the log never opened",
            Zip(
                lambda ctx: [
                    ("week1.ipynb", nb_bytes()(ctx)),
                    (".OTTER_LOG", evil_pickle(ctx)),
                ]
            ),
            keep=("q3",),
            reason="was not opened",
        )
    )
    # ------------------------------------------------------------- nondeterminism
    c.append(
        benign(
            "reseeds_and_threads_in_cell",
            D,
            "a cell reseeds every RNG from the clock "
            "and sets 7 torch threads: the grader reseeds and resets threads per "
            "question, full marks, identical on a re-grade",
            with_cells(
                "import os, random, time\nimport numpy as np\nimport torch\n"
                "random.seed(time.time())\nnp.random.seed(os.getpid())\n"
                "torch.manual_seed(int(time.time() * 1e6))\n"
                "torch.set_num_threads(7)",
                base=FULL,
            ),
        )
    )
    c.append(
        benign(
            "unseeded_sgd",
            D,
            "sgd shuffles with the global numpy RNG instead of its "
            "seed: q6 is wrong, and wrong identically on a re-grade",
            replaced(
                "sgd",
                """import math
import numpy as np


def sgd(X, y, lr, n_epochs, batch_size, seed):
    X, y = np.asarray(X, float), np.asarray(y, float)
    beta = np.zeros(X.shape[1])
    rows = [beta]
    for _ in range(n_epochs):
        idx = np.random.permutation(len(y))
        for b in range(math.ceil(len(y) / batch_size)):
            sel = idx[b * batch_size:(b + 1) * batch_size]
            grad = 2.0 * X[sel].T @ (X[sel] @ beta - y[sel]) / len(sel)
            beta = beta - lr * grad
            rows.append(beta)
    return np.array(rows)
""",
            ),
            keep=GRADED[:5],
        )
    )
    c.append(
        benign(
            "unseeded_mlp_init",
            D,
            "fit_linear_vs_mlp ignores its seed (fresh OS "
            "entropy): it still clears the bar, identically on a re-grade",
            replaced(
                "fit_linear_vs_mlp",
                FAST_Q10.replace("torch.manual_seed(seed)", "torch.seed()"),
                FULL,
            ),
        )
    )
    # ------------------------------------------------------------- false negatives
    c.append(
        benign(
            "warns_and_writes_stderr",
            F,
            "a correct q3 that warns and writes to stderr: full marks",
            replaced(
                "mse_gradient",
                CORRECT_Q3.replace(
                    "def mse_gradient(X, y, beta):\n",
                    "def mse_gradient(X, y, beta):\n    import sys, warnings\n"
                    "    warnings.warn('careful', RuntimeWarning)\n"
                    "    print('noise', file=sys.stderr)\n",
                ),
            ),
        )
    )
    c.append(
        benign(
            "strict_numerics_cell",
            F,
            "a cell turns warnings into errors and numpy floating-point warnings into "
            "exceptions: the grader's own code still runs, full marks",
            with_cells(
                "import warnings\nimport numpy as np\n"
                "warnings.simplefilter('error')\nnp.seterr(all='raise')",
                base=FULL,
                where="start",
            ),
        )
    )
    c.append(
        benign(
            "plots_and_progress_bars",
            F,
            "q3 draws a matplotlib figure and q9 shows a tqdm progress bar: full marks",
            Notebook(
                FULL,
                (
                    Edit(
                        CORRECT_Q3.replace(
                            "def mse_gradient(X, y, beta):\n",
                            "def mse_gradient(X, y, beta):\n"
                            "    import matplotlib.pyplot as plt\n"
                            "    plt.plot([1, 2, 3])\n"
                            "    plt.show()\n"
                            "    plt.close('all')\n",
                        ),
                        "mse_gradient",
                    ),
                    Edit(TQDM_TRAIN, "train"),
                ),
            ),
        )
    )
    c.append(
        benign(
            "chdir_input_and_magics",
            F,
            "cells that chdir to /, call input() (no stdin), "
            "use %matplotlib and %%time: errors where expected, full marks",
            with_cells(
                "import os\nos.chdir('/')",
                "name = input('your name? ')",
                "%matplotlib inline",
                "%%time\nx = sum(range(10))",
            ),
            cell="error",
        )
    )
    c.append(
        benign(
            "colab_habits_not_flagged",
            F,
            "ordinary Colab code beside correct answers: Drive paths and run names "
            "under gene46100/, Colab detection through sys.modules, subprocess for "
            "nvidia-smi, a base64 image, a download in an ungraded cell, a "
            "dataclass's own __eq__: errors where Colab or the network is missing, "
            "full marks, not flagged",
            with_cells(
                "from google.colab import drive\ndrive.mount('/content/drive')",
                COLAB_HABITS,
            ),
            cell="error",
        )
    )
    return c


# Ordinary Colab and course code that static tamper flags once mistook for tricks.
COLAB_HABITS = """import base64, subprocess, sys, urllib.request
from dataclasses import dataclass
from IPython.display import HTML, display

IN_COLAB = "google.colab" in sys.modules
DATA = "/content/drive/MyDrive/gene46100/week1/data.csv"
RUN_NAME = "gene46100-week1-mlp"
try:
    print(subprocess.check_output(["nvidia-smi"]).decode())
except (OSError, subprocess.CalledProcessError) as exc:
    print("no GPU here:", exc)
try:
    urllib.request.urlretrieve("https://example.org/gene46100/week1/data.csv", "data.csv")
except OSError as exc:
    print("offline:", exc)
encoded = base64.b64encode(b"not really a png").decode()
display(HTML(f'<img src="data:image/png;base64,{encoded}">'))


@dataclass(frozen=True)
class Window:
    chrom: str
    start: int

    def __eq__(self, other):
        if not isinstance(other, Window):
            return NotImplemented
        return (self.chrom, self.start) == (other.chrom, other.start)
"""


TQDM_TRAIN = """import torch
from torch import nn
from tqdm.auto import tqdm


def train(model, x, y, lr, n_epochs, optimizer="sgd"):
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr)
    elif optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    else:
        raise ValueError(f"unknown optimizer {optimizer}")
    criterion = nn.MSELoss()
    history = []
    for _ in tqdm(range(n_epochs), desc="training"):
        prediction = model(x)
        loss = criterion(prediction, y)
        history.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return history
"""


def evil_pickle(ctx: Context) -> bytes:
    """A pickle that runs ``touch <canary>/PWNED`` when loaded (never loaded)."""

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {ctx.canary}/PWNED",))

    return pickle.dumps(Evil())


CASES: list[Case] = _corpus()
BY_NAME: dict[str, Case] = {case.name: case for case in CASES}
assert len(BY_NAME) == len(CASES), "case names must be unique"
CATEGORIES = sorted({case.category for case in CASES})
