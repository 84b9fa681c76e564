"""Sandbox side of grading: run a notebook's cells, then answer probes with plain data.

This file runs *inside* the sandbox, in the same interpreter as student code, so
nothing it writes is trusted: the grader re-checks everything it reads back. It is
self-contained (standard library, numpy, IPython; torch only when a probe needs it)
because the sandbox sees neither the reference package nor the hidden tests.

Usage: ``python -I worker.py JOB_DIR EVENTS_FD``. ``JOB_DIR`` holds ``job.json``
(cells, questions with their probes) and ``inputs-<question>.npz``; results go to
``JOB_DIR/out/<question>.json`` and ``.npz``. Progress events (JSON lines) go to the
file descriptor ``EVENTS_FD`` so the supervisor can enforce per-cell timeouts.

A probe is ``{"id", "call", "args", "kwargs", "then"}``: call the notebook's ``call``
(a function or class) with decoded arguments; ``then`` optionally calls a method of
an argument afterwards (e.g. a trained model's ``forward`` on held-out data). A probe
with ``"object"`` (an argument form) instead of ``"call"`` calls that object's
``"method"`` (default ``__call__``), e.g. a notebook-defined model on a batch.
Argument forms: plain JSON; ``{"$array": key}`` (numpy); ``{"$tensor": key}`` (torch);
``{"$new": Name, "args", "kwargs", "state"}`` (an instance of a notebook class, with
its state_dict loaded); ``{"$call": name, "args", "kwargs"}`` (what a namespace name
returns, typically a grader-written adapter from the question's ``provide`` source:
that is how course-specific objects such as a grader-built model or a recording
logger are made, so this file stays course-agnostic); ``{"$file": name}`` (the path
of a hidden input file, ``JOB_DIR/files-<question>/name``).

A probe with ``"script"`` runs that file of the submission (e.g. ``predict.py``) with
this Python in the notebook's working directory, where ``{"$outfile": name}``
arguments become paths in a fresh directory; the value is the exit status, the tail
of its stderr and the bytes of each output file (capped) as uint8 arrays.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import types

import numpy as np

MAX_DEPTH = 4
MAX_ITEMS = 10_000
MESSAGE_CHARS = 300
MAX_THREADS = 64  # more left running after a cell: it is skipped on a restart
MAX_SCRIPT_OUTPUT_BYTES = 32 * 1024 * 1024


class Paths:
    """Where the current question's hidden files are and script outputs go."""

    files_dir = ""
    scratch_dir = ""
    worker = __file__  # this file, as the sandbox sees it (scripts run through it)
    device = "cpu"  # "cuda" when the grader lends the sandbox its GPU
    note = None  # the process's ``Notes.add``, once ``main`` has made it


NOT_IMPLEMENTED = "NotImplementedError"


# ---------------------------------------------------------------- events and files
class Events:
    """JSON-lines progress reports to the supervisor (timing only, never scores)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def send(self, **event: object) -> None:
        try:
            os.write(self._fd, (json.dumps(event) + "\n").encode())
        except OSError:
            pass  # the supervisor went away or student code closed the fd


def short(text: object) -> str:
    """A one-line, bounded rendering of an exception message."""
    return " ".join(str(text).split())[:MESSAGE_CHARS]


def describe_exception(exc: BaseException) -> dict:
    return {"type": type(exc).__name__, "message": short(exc)}


# ---------------------------------------------------------------- argument decoding
def _torch():
    import torch

    return torch


def load_state(module, state: dict, arrays) -> None:
    """``state`` maps parameter names to ``{"$array": key}`` (or a bare key)."""
    torch = _torch()
    keys = {
        name: ref["$array"] if isinstance(ref, dict) else ref
        for name, ref in state.items()
    }
    tensors = {
        name: torch.from_numpy(np.array(arrays[key])) for name, key in keys.items()
    }
    module.load_state_dict(tensors, strict=True)


def decode_arg(arg, namespace: dict, arrays):
    """Turn a probe argument into the Python object to pass to student code."""
    if isinstance(arg, list):
        return [decode_arg(a, namespace, arrays) for a in arg]
    if not isinstance(arg, dict):
        return arg
    if "$array" in arg:
        return np.array(arrays[arg["$array"]])
    if "$file" in arg:
        return os.path.join(Paths.files_dir, os.path.basename(str(arg["$file"])))
    if "$tensor" in arg:
        return _torch().from_numpy(np.array(arrays[arg["$tensor"]]))
    if "$call" in arg:  # e.g. an adapter that builds a grader-owned object
        func = lookup(namespace, arg["$call"])
        return func(
            *decode_arg(arg.get("args", []), namespace, arrays),
            **decode_kwargs(arg.get("kwargs", {}), namespace, arrays),
        )
    if "$new" in arg:
        cls = lookup(namespace, arg["$new"])
        obj = cls(
            *decode_arg(arg.get("args", []), namespace, arrays),
            **decode_kwargs(arg.get("kwargs", {}), namespace, arrays),
        )
        if arg.get("state"):
            load_state(obj, arg["state"], arrays)
        return obj
    return {k: decode_arg(v, namespace, arrays) for k, v in arg.items()}


def decode_kwargs(kwargs: dict, namespace: dict, arrays) -> dict:
    return {k: decode_arg(v, namespace, arrays) for k, v in kwargs.items()}


class MissingName(Exception):
    """The notebook does not define a name the question needs."""


def lookup(namespace: dict, name: str):
    if name not in namespace:
        raise MissingName(
            f"{name} is not defined: did you run the cell that defines it?"
        )
    return namespace[name]


# ---------------------------------------------------------------- result encoding
def qualified_type(value) -> str:
    cls = type(value)
    module = getattr(cls, "__module__", "?")
    return f"{module}.{cls.__qualname__}" if module != "builtins" else cls.__qualname__


class Encoder:
    """Encode results as JSON plus numpy arrays; anything else is ``kind: other``."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.items = 0

    def encode(self, value, key: str, depth: int = 0) -> dict:
        self.items += 1
        if self.items > MAX_ITEMS or depth > MAX_DEPTH:
            return {"kind": "other", "type": "too-large"}
        cls = type(value)
        if value is None or cls in (bool, int, float, str):
            if cls is str:
                value = value[:MESSAGE_CHARS]
            if cls is int and abs(value) > 2**62:
                return {"kind": "other", "type": "int-too-large"}
            return {"kind": "py", "type": qualified_type(value), "value": value}
        if cls is np.ndarray:
            return self._array(value, key, {"kind": "ndarray", "type": "numpy.ndarray"})
        if isinstance(value, np.generic) and cls.__module__ == "numpy":
            return self._array(
                np.asarray(value),
                key,
                {"kind": "npscalar", "type": qualified_type(value)},
            )
        if cls in (list, tuple):
            return {
                "kind": cls.__name__,
                "type": cls.__name__,
                "items": [
                    self.encode(v, f"{key}.{i}", depth + 1) for i, v in enumerate(value)
                ],
            }
        if cls is dict and all(type(k) is str for k in value):
            return {
                "kind": "dict",
                "type": "dict",
                "items": {
                    k[:100]: self.encode(v, f"{key}.{k[:100]}", depth + 1)
                    for k, v in value.items()
                },
            }
        if "torch" in sys.modules and self._is_exact_tensor(value):
            return self._tensor(value, key)
        return {"kind": "other", "type": qualified_type(value)}

    @staticmethod
    def _is_exact_tensor(value) -> bool:
        torch = sys.modules["torch"]
        return type(value) in (torch.Tensor, torch.nn.Parameter)

    def _array(self, array: np.ndarray, key: str, meta: dict) -> dict:
        if array.dtype.kind not in "biufc":
            return {"kind": "other", "type": f"{meta['type']}[{array.dtype}]"}
        self.arrays[key] = np.array(array)
        return {
            **meta,
            "dtype": str(array.dtype),
            "shape": list(array.shape),
            "key": key,
        }

    def _tensor(self, tensor, key: str) -> dict:
        meta = {
            "kind": "tensor",
            "type": qualified_type(tensor),
            "dtype": str(tensor.dtype),
            "device": str(tensor.device),
            "requires_grad": bool(tensor.requires_grad),
        }
        array = tensor.detach().cpu().numpy()
        return self._array(array, key, meta)


# ---------------------------------------------------------------- probes
def run_probe(probe: dict, namespace: dict, arrays, encoder: Encoder) -> dict:
    """Execute one probe; return its encoded outcome (never raises)."""
    outcome: dict = {"id": probe["id"]}
    started = time.perf_counter()
    if "script" in probe:
        outcome.update(run_script(probe, encoder))
        outcome["seconds"] = round(time.perf_counter() - started, 4)
        return outcome
    try:
        target = probe_target(probe, namespace, arrays)
        args = decode_arg(probe.get("args", []), namespace, arrays)
        kwargs = decode_kwargs(probe.get("kwargs", {}), namespace, arrays)
        value = target(*args, **kwargs)
        outcome["value"] = encoder.encode(value, f"{probe['id']}.value")
        then = probe.get("then")
        if then:
            obj = args[then["arg"]]
            method = getattr(obj, then.get("method", "__call__"))
            extra = decode_arg(then.get("args", []), namespace, arrays)
            outcome["then"] = encoder.encode(
                _no_grad_call(method, extra), f"{probe['id']}.then"
            )
        outcome["ok"] = True
    except MissingName as exc:
        outcome.update(ok=False, error={"type": "MissingName", "message": short(exc)})
    except BaseException as exc:  # noqa: BLE001 - SystemExit etc. cost only this probe
        outcome.update(ok=False, error=describe_exception(exc))
    outcome["seconds"] = round(time.perf_counter() - started, 4)
    return outcome


def run_script(probe: dict, encoder: Encoder) -> dict:
    """Run a submitted script (e.g. ``predict.py``); outcome fields, never raises."""
    import subprocess
    import tempfile

    script = str(probe["script"])
    if not os.path.isfile(script):
        return {
            "ok": False,
            "error": {
                "type": "ScriptMissing",
                "message": (
                    f"{script} was not found next to the notebook: submit it with the "
                    "notebook"
                ),
            },
        }
    try:
        out_dir = tempfile.mkdtemp(
            prefix=f"{probe['id']}-", dir=Paths.scratch_dir or None
        )
        outfiles = {}
        notes_path = os.path.join(out_dir, "notes.txt")  # the script's notes
        argv = [sys.executable, Paths.worker, "--script", Paths.device, notes_path]
        argv.append(script)
        for arg in probe.get("args", []):
            if isinstance(arg, dict) and "$outfile" in arg:
                name = os.path.basename(str(arg["$outfile"]))
                outfiles[name] = os.path.join(out_dir, name)
                argv.append(outfiles[name])
            else:
                argv.append(str(decode_arg(arg, {}, {})))
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=float(probe["timeout_s"]),
        )
        pass_on_notes(notes_path, os.path.basename(script))
        value = {
            "returncode": done.returncode,
            "stderr": script_error(done.stderr.decode("utf-8", "replace"), script),
            "outputs": {name: read_capped(path) for name, path in outfiles.items()},
        }
        return {"ok": True, "value": encoder.encode(value, f"{probe['id']}.value")}
    except subprocess.TimeoutExpired:
        return {
            "ok": False,
            "error": {
                "type": "TimeoutError",
                "message": (f"{script} ran longer than {probe['timeout_s']:.0f} s"),
            },
        }
    except BaseException as exc:  # noqa: BLE001 - costs only this probe
        return {"ok": False, "error": describe_exception(exc)}


MAX_STDERR_BYTES = 64 * 1024


def script_error(stderr: str, script: str) -> str:
    """What a failed script's error output says, in one bounded line: the error
    and the last line of the student's own files it passed through
    (``FileNotFoundError: ... at predict.py, line 67: state = torch.load(...)``);
    else the output's tail. A traceback's last lines name the error, its frames in
    the student's files name where: the tail alone cut the student's line off."""
    lines = [line.rstrip() for line in stderr[-MAX_STDERR_BYTES:].splitlines()]
    folder = os.path.dirname(os.path.abspath(script)) + os.sep
    frames = [i for i, line in enumerate(lines) if students_frame(line, folder)]
    errors = [line for line in lines if line and not line.startswith(" ")]
    if not frames or not errors:
        return " ".join(" ".join(lines).split())[-MESSAGE_CHARS:]
    where = lines[frames[-1]].strip().removeprefix("File ").replace(folder, "")
    where = where.replace('"', "", 2)  # predict.py, line 67, in build_model
    code = lines[frames[-1] + 1].strip() if frames[-1] + 1 < len(lines) else ""
    return short(f"{errors[-1]} (at {where}: {code})")


def students_frame(line: str, folder: str) -> bool:
    """A traceback line in a file of the script's folder (absolute, or relative
    as ``python predict.py`` names it)."""
    line = line.lstrip()
    if not line.startswith('File "'):
        return False
    path = line[len('File "') :]
    return path.startswith(folder) or not path.startswith(("/", "<"))


def pass_on_notes(path: str, script: str) -> None:
    """The notes a script's CUDA-on-CPU mode wrote, as this question's notes."""
    try:
        with open(path) as f:
            texts = f.read(MAX_NOTES * 300).splitlines()[:MAX_NOTES]
    except OSError:
        return
    for text in texts:
        if Paths.note is not None and text.strip():
            Paths.note(f"{script}: {text}")


def read_capped(path: str):
    """A file's bytes as a uint8 array, or None when it is missing or too large."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SCRIPT_OUTPUT_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_SCRIPT_OUTPUT_BYTES:
        return None
    return np.frombuffer(data, dtype=np.uint8).copy()


def probe_target(probe: dict, namespace: dict, arrays):
    """The callable a probe invokes: a notebook name, or a method of a built object."""
    if "object" in probe:
        obj = decode_arg(probe["object"], namespace, arrays)
        return getattr(obj, probe.get("method", "__call__"))
    return lookup(namespace, probe["call"])


def _no_grad_call(method, args: list):
    if "torch" in sys.modules:
        with sys.modules["torch"].no_grad():
            return method(*args)
    return method(*args)


def seed_all(seed: int, threads: int) -> None:
    """Same seeds and thread count before every question, for determinism."""
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.manual_seed(seed)
        torch.set_num_threads(threads)


PROVIDE_WAIT_S = 30.0


def await_provide(job_dir: str, name: str) -> str:
    """The reference definitions for question ``name``. The supervisor writes them
    only once this question has started and every earlier one's results are sealed
    (they are never in the job spec, which cells can read)."""
    path = os.path.join(job_dir, f"provide-{name}.py")
    deadline = time.monotonic() + PROVIDE_WAIT_S
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the reference definitions for {name} never came")
        time.sleep(0.005)
    with open(path) as f:
        return f.read()


def answer_question(
    question: dict, namespace: dict, job_dir: str, out_dir: str, threads: int
) -> None:
    """Run one question's probes and write ``out/<name>.json`` and ``.npz``."""
    seed_all(question.get("seed", 0), threads)
    if question.get("provide"):
        # Correct versions of earlier answers this question builds on (e.g. the
        # gradient inside gradient descent), so one mistake costs one question.
        # Only this forked child runs them.
        exec(await_provide(job_dir, question["name"]), namespace)  # noqa: S102
    Paths.files_dir = os.path.join(job_dir, f"files-{question['name']}")
    Paths.scratch_dir = os.path.join(job_dir, "scratch")
    Paths.worker = os.path.join(job_dir, "worker.py")
    os.makedirs(Paths.scratch_dir, exist_ok=True)
    path = os.path.join(job_dir, f"inputs-{question['name']}.npz")
    arrays = np.load(path, allow_pickle=False) if os.path.exists(path) else {}
    encoder = Encoder()
    outcomes = [run_probe(p, namespace, arrays, encoder) for p in question["probes"]]
    name = question["name"]
    np.savez(os.path.join(out_dir, f"{name}.npz"), **encoder.arrays)
    with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
        json.dump({"question": name, "outcomes": outcomes}, f)


# ---------------------------------------------------------------- process control
WALL_FACTOR = 4.0  # wall-clock backstop, as a multiple of the CPU budget


class Forker:
    """Run each question in a forked child with its own CPU budget.

    The budget is CPU seconds (RLIMIT_CPU in the child), so a busy shared machine
    does not cost a student points; a wall-clock backstop catches sleeping code.
    The parent grabs ``os`` functions before any student code runs, so a cell that
    patches ``os.fork`` or ``time.sleep`` cannot stop it from killing a stuck child.
    """

    def __init__(self) -> None:
        import resource

        self.fork, self.kill, self.wait4 = os.fork, os.kill, os.wait4
        self.exit, self.monotonic, self.sleep = os._exit, time.monotonic, time.sleep
        self.setrlimit, self.rlimit_cpu = resource.setrlimit, resource.RLIMIT_CPU
        import select

        # A pidfd wakes the wait the moment the child ends (Linux 5.3+); polling
        # would add up to one back-off step (50 ms) to every question.
        self.pidfd_open = getattr(os, "pidfd_open", None)
        self.select, self.close = select.select, os.close

    def run(self, func, cpu_s: float) -> dict:
        pid = self.fork()
        if pid == 0:
            code = 0
            try:
                limit = max(1, int(cpu_s + 0.999))
                self.setrlimit(self.rlimit_cpu, (limit, limit + 1))
                func()
            except BaseException:  # noqa: BLE001 - reported as a crashed question
                code = 3
            self.exit(code)
        return self._wait(pid, cpu_s)

    def _wait(self, pid: int, cpu_s: float) -> dict:
        deadline, delay = self.monotonic() + cpu_s * WALL_FACTOR + 1, 0.001
        pidfd = self._pidfd(pid)
        try:
            while True:
                done, status, usage = self.wait4(pid, os.WNOHANG)
                if done:
                    return exit_report(status, usage.ru_utime + usage.ru_stime, cpu_s)
                left = deadline - self.monotonic()
                if left < 0:
                    self.kill(pid, 9)
                    self.wait4(pid, 0)
                    return {"status": "timeout", "wall": True}
                if pidfd is not None:
                    self.select([pidfd], [], [], min(left, 1.0))
                else:
                    self.sleep(delay)
                    delay = min(delay * 2, 0.05)
        finally:
            if pidfd is not None:
                self.close(pidfd)

    def _pidfd(self, pid: int) -> int | None:
        try:
            return self.pidfd_open(pid) if self.pidfd_open else None
        except OSError:
            return None


def exit_report(status: int, cpu_used: float, cpu_s: float) -> dict:
    """Name how a question's process ended (CPU budget, memory, crash, or fine)."""
    report = {"cpu_seconds": round(cpu_used, 3)}
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == 24 or (sig == 9 and cpu_used >= cpu_s):  # SIGXCPU, then hard limit
            return {**report, "status": "timeout", "signal": sig}
        return {**report, "status": "oom" if sig == 9 else "crashed", "signal": sig}
    code = os.WEXITSTATUS(status)
    return {**report, "status": "ok" if code == 0 else "crashed", "exit_code": code}


def otter_stub() -> types.ModuleType:
    """A do-nothing ``otter``: self-checks are advisory and never run while grading."""
    module = types.ModuleType("otter")

    class Notebook:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    module.Notebook = Notebook
    return module


# ---------------------------------------------------------------- Colab habits
MAX_NOTES = 20
# Shell commands that only make sense on the student's own machine or Colab: the
# grader has the course's packages, no network and no GPU, so they are skipped.
SKIPPED_COMMANDS = ("pip", "pip3", "conda", "mamba", "apt", "apt-get", "nvidia-smi")


class Notes:
    """What the grader did differently from Colab or Jupyter, for the record (never
    a score): each note once, at most ``MAX_NOTES``, handed to ``send(where,
    text)`` (a ``note`` event; a script writes them to a file). ``where`` is the
    cell or question running."""

    def __init__(self, send) -> None:
        self.send, self.where, self.seen = send, "", set()

    @classmethod
    def as_events(cls, events: Events) -> Notes:
        return cls(lambda where, text: events.send(ev="note", where=where, text=text))

    @classmethod
    def to_file(cls, path: str) -> Notes:
        """A line each in ``path`` (a script's notes, read by ``pass_on_notes``)."""

        def append(where: str, text: str) -> None:
            try:
                with open(path, "a") as f:
                    f.write(text + "\n")
            except OSError:
                pass

        return cls(append)

    def add(self, text: str) -> None:
        key = (self.where, text)
        if key in self.seen or len(self.seen) >= MAX_NOTES:
            return
        self.seen.add(key)
        self.send(self.where, short(text))


def is_cuda(device) -> bool:
    """A CUDA device as students write one: ``"cuda"``, ``"cuda:0"``, a
    ``torch.device("cuda")``."""
    if isinstance(device, str):
        return device.strip().lower().startswith("cuda")
    return getattr(device, "type", None) == "cuda" and "torch" in sys.modules


NO_GPU = "no GPU (graded on the CPU)"


class CudaOnCpu:
    """Run a process's CUDA requests on the CPU, each kind noted once.

    Students work on Colab's GPU runtime (the course's own device helper picks
    ``cuda`` first); the same code must score the same on a grader without one.
    Every torch call (factory ``device=``, ``.to("cuda")``, ``.cuda()``,
    ``set_default_device("cuda")``, modules' ``.to``/``.cuda``, which call the
    tensor methods) passes through a ``TorchFunctionMode``, the mechanism behind
    ``torch.set_default_device``, which turns a CUDA device into ``"cpu"``;
    ``torch.load`` maps GPU tensors to the CPU, and questions about the GPU
    (``torch.cuda.get_device_name(0)``, its memory, ``synchronize``) are answered
    as "no GPU" instead of failing their cell. ``start`` once torch is imported;
    ``stop`` (a question graded on a real GPU) undoes it all.
    """

    def __init__(self, note) -> None:
        self.note, self.mode, self.saved = note, None, {}

    def start(self, mode: bool = True) -> None:
        """Patch ``torch.load`` and friends (free), and enter the mode when
        ``mode``: it costs every torch call a Python round trip (training
        questions ran up to twice as long), so the grader asks for it only when
        the student's own code mentions CUDA (``job["cuda_in_code"]``)."""
        torch = _torch()
        if mode:
            self.mode = self._mode(torch)
            self.mode.__enter__()  # for the process's life: each fork inherits it
        for owner, name, replacement in self._patches(torch):
            self.saved[(owner, name)] = getattr(owner, name)
            setattr(owner, name, replacement)

    def stop(self) -> None:
        if self.mode is not None:
            self.mode.__exit__(None, None, None)
        for (owner, name), original in self.saved.items():
            setattr(owner, name, original)
        self.mode, self.saved = None, {}

    def _patches(self, torch) -> list[tuple[object, str, object]]:
        """Python-level functions that would fail without a GPU: ``torch.load``
        of GPU tensors, ``set_default_device``, and what Colab students ask of
        their GPU (its name, memory, ``synchronize``), answered as "no GPU"."""
        note, cuda = self.note, torch.cuda

        def asked(what: str, answer):
            said = f"answered {answer!r}" if answer is not None else "skipped"
            text = f"torch.cuda.{what}(): the grader has no GPU; {said}"

            def query(*args, **kwargs):
                note(text)
                return answer

            return query

        properties = types.SimpleNamespace(
            name=NO_GPU, total_memory=0, major=0, minor=0, multi_processor_count=0
        )
        patches = [
            (torch, "load", self._load(torch.load)),
            (
                torch,
                "set_default_device",
                self._set_default_device(torch.set_default_device),
            ),
            (cuda, "get_device_name", asked("get_device_name", NO_GPU)),
            (cuda, "get_device_properties", asked("get_device_properties", properties)),
            (cuda, "get_device_capability", asked("get_device_capability", (0, 0))),
            (cuda, "current_device", asked("current_device", 0)),
            (cuda, "mem_get_info", asked("mem_get_info", (0, 0))),
        ]
        for name in ("synchronize", "set_device", "reset_peak_memory_stats"):
            patches.append((cuda, name, asked(name, None)))
        for name in (
            "memory_allocated",
            "max_memory_allocated",
            "memory_reserved",
            "max_memory_reserved",
        ):
            patches.append((cuda, name, asked(name, 0)))
        return patches

    def start_with_torch(self, mode: bool = True) -> None:
        """``start`` now if torch is imported, else the moment a cell imports it
        (importing torch costs a second of CPU a notebook may never need)."""
        if "torch" in sys.modules:
            self.start(mode)
            return
        sys.meta_path.insert(0, _AfterImport("torch", lambda: self.start(mode)))

    def _mode(self, torch):
        from torch.overrides import TorchFunctionMode

        note, identity = self.note, {torch.Tensor.cuda, torch.Tensor.pin_memory}

        class CudaOnCpuMode(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                kwargs = dict(kwargs or {})
                if func in identity:
                    note(f".{func.__name__}() ran on the CPU (the grader has no GPU)")
                    return args[0]
                if is_cuda(kwargs.get("device")):
                    kwargs["device"] = "cpu"
                    note(f"{_name(func)}(device='cuda') ran on the CPU")
                if any(is_cuda(a) for a in args):
                    args = tuple("cpu" if is_cuda(a) else a for a in args)
                    note(f"{_name(func)}('cuda') ran on the CPU")
                return func(*args, **kwargs)

        return CudaOnCpuMode()

    def _set_default_device(self, set_default_device):
        note = self.note

        def on_cpu(device):
            if is_cuda(device):
                note("torch.set_default_device('cuda') ran on the CPU")
                device = "cpu"
            return set_default_device(device)

        return on_cpu

    def _load(self, load):
        note = self.note

        def to_cpu(storage, location):
            if str(location).startswith("cuda"):
                note("torch.load: tensors saved on a GPU were loaded on the CPU")
            return storage

        def cpu_load(*args, **kwargs):
            where = kwargs.get("map_location")
            if len(args) < 2 and (where is None or is_cuda(where)):
                kwargs["map_location"] = to_cpu
            return load(*args, **kwargs)

        return cpu_load


class _AfterImport:
    """A ``sys.meta_path`` finder that calls ``then()`` once module ``name`` has
    been imported (by anyone), then steps aside."""

    def __init__(self, name: str, then) -> None:
        self.name, self.then = name, then

    def find_spec(self, name, path=None, target=None):
        if name != self.name:
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module, then = spec.loader.exec_module, self.then

        def exec_then(module):
            exec_module(module)
            then()

        spec.loader.exec_module = exec_then
        return spec


def _name(func) -> str:
    """How a student wrote the call (torch's internal names made readable)."""
    name = getattr(func, "__name__", "a torch function")
    return {"_parse_to": ".to", "to": ".to", "device": "torch.device"}.get(name, name)


def install_shell_habits(shell, notes: Notes) -> None:
    """Magics as students use them in Colab and Jupyter, in this bare shell:
    those that only draw or set up a machine are harmless no-ops, noted; an
    unknown magic or extension is skipped, noted, instead of losing its cell."""

    def matplotlib_magic(line=""):
        notes.add(f"%matplotlib {line.strip()}: plots are not drawn while grading")

    def skipped(kind: str):
        def magic(line="", cell=None):
            notes.add(f"{kind} {line.strip()[:60]}: skipped while grading")

        return magic

    shell.register_magic_function(matplotlib_magic, "line", "matplotlib")
    for name in ("pip", "conda", "mamba"):
        shell.register_magic_function(skipped(f"%{name}"), "line", name)
    original = {
        "system": shell.system,
        "getoutput": shell.getoutput,
        "run_line_magic": shell.run_line_magic,
        "run_cell_magic": shell.run_cell_magic,
    }

    def skips(cmd) -> bool:
        """Whether ``!cmd`` is skipped here (noted when it is)."""
        words = str(cmd).split()
        if words and os.path.basename(words[0]) in SKIPPED_COMMANDS:
            notes.add(f"!{' '.join(words)[:60]}: skipped while grading")
            return True
        return False

    def system(cmd, *args, **kwargs):
        return None if skips(cmd) else original["system"](cmd, *args, **kwargs)

    def getoutput(cmd, *args, **kwargs):
        return [] if skips(cmd) else original["getoutput"](cmd, *args, **kwargs)

    def run_line_magic(name, line, *args, **kwargs):
        if shell.find_line_magic(name) is None:
            notes.add(f"%{name}: not available while grading; skipped")
            return None
        if name == "load_ext":
            try:
                return original["run_line_magic"](name, line, *args, **kwargs)
            except ImportError:
                notes.add(f"%load_ext {line.strip()[:40]}: not installed; skipped")
                return None
        return original["run_line_magic"](name, line, *args, **kwargs)

    def run_cell_magic(name, line, cell, *args, **kwargs):
        if shell.find_cell_magic(name) is None:
            notes.add(f"%%{name}: not available while grading; cell skipped")
            return None
        return original["run_cell_magic"](name, line, cell, *args, **kwargs)

    shell.system, shell.getoutput = system, getoutput
    shell.run_line_magic, shell.run_cell_magic = run_line_magic, run_cell_magic


def make_shell():
    """An in-process IPython shell (magics work; no kernel, no history database)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    return InteractiveShell(config=config)


class Reaper:
    """Kill processes a cell left behind (only inside the sandbox's pid namespace).

    There every process but pid 1 (bubblewrap's init) and this worker belongs to the
    submission, so anything else still alive after a cell is a stray: a background
    job or a fork bomb's children would otherwise eat the process limit.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.me = enabled, os.getpid()
        self.listdir, self.kill, self.waitpid = os.listdir, os.kill, os.waitpid

    def threads(self) -> int:
        """Threads of this process (a cell's threads keep running after it)."""
        try:
            return len(self.listdir("/proc/self/task"))
        except OSError:
            return 0

    def reap(self) -> int:
        if not self.enabled:
            return 0
        strays = [
            int(p)
            for p in self.listdir("/proc")
            if p.isdigit() and int(p) not in (1, self.me)
        ]
        for pid in strays:
            try:
                self.kill(pid, 9)
            except OSError:
                pass
        self._collect_zombies()
        return len(strays)

    def _collect_zombies(self) -> None:
        while True:
            try:
                pid, _ = self.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return


def colab_only(error: BaseException) -> bool:
    """A cell that failed importing Colab's own module (``drive.mount``...)."""
    name = getattr(error, "name", None) or ""
    return isinstance(error, ImportError) and name.split(".")[0] == "google"


def run_cells(
    job: dict, events: Events, shell, reaper: Reaper, notes: Notes | None = None
) -> None:
    skip = set(job.get("skip", []))
    for cell in job["cells"]:
        index = cell["index"]
        if index in skip or cell.get("ignored"):
            continue
        if notes is not None:
            notes.where = f"cell {index}"
        events.send(ev="cell_start", i=index, t=time.monotonic())
        result = shell.run_cell(cell["source"], store_history=False, silent=False)
        error = result.error_before_exec or result.error_in_exec
        report = {
            "ev": "cell_end",
            "i": index,
            "status": "ok" if error is None else "error",
        }
        if error is not None:
            report["error"] = describe_exception(error)
            if notes is not None and colab_only(error):
                notes.add(
                    "google.colab exists only in Colab: this cell stopped at its "
                    "import, the cells after it ran (keep Drive mounting in a cell "
                    "of its own)"
                )
        strays = reaper.reap()
        if strays:
            report["killed_processes"] = strays
        threads = reaper.threads()
        if threads > MAX_THREADS:  # they would use up the process limit for questions
            report["threads_left"] = threads
        events.send(**report)


def main(job_dir: str, events_fd: int) -> None:
    events = Events(events_fd)
    with open(os.path.join(job_dir, "job.json")) as f:
        job = json.load(f)
    threads = int(job.get("threads", 1))
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.modules["otter"] = otter_stub()
    forker = Forker()
    reaper = Reaper(bool(job.get("reap_strays", False)))
    notes = Notes.as_events(events)
    Paths.note = notes.add
    shell = make_shell()
    install_shell_habits(shell, notes)
    # On a GPU grader (job "device": "cuda") the cells still run on the CPU: a
    # process that has used CUDA cannot fork a question that uses it again.
    Paths.device = str(job.get("device", "cpu"))
    on_gpu = Paths.device == "cuda"
    cpu = CudaOnCpu(notes.add)
    cpu.start_with_torch(mode=on_gpu or bool(job.get("cuda_in_code", True)))
    work = os.path.join(job_dir, "work")
    if os.path.isdir(work):
        os.chdir(work)  # the notebook's own folder: its companion files, its data
    events.send(ev="started")
    run_cells(job, events, shell, reaper, notes)
    events.send(ev="cells_done")
    out_dir = os.path.join(job_dir, "out")
    namespace = shell.user_ns
    for question in job["questions"]:
        events.send(ev="q_start", q=question["name"])
        notes.where = question["name"]

        def answer(q=question) -> None:
            if on_gpu:
                cpu.stop()
            answer_question(q, namespace, job_dir, out_dir, threads)

        report = forker.run(answer, float(question["timeout_s"]))
        events.send(ev="q_end", q=question["name"], **report)
    events.send(ev="done")


def run_script_main(device: str, notes_path: str, argv: list[str]) -> None:
    """``worker.py --script DEVICE NOTES SCRIPT ARGS...``: run a submitted script
    as ``python SCRIPT ARGS...`` would; on ``cpu``, with its CUDA requests on the
    CPU (a ``predict.py`` that loads weights saved on Colab's GPU), each kind
    noted once in the file ``NOTES``."""
    import runpy

    script = argv[0]
    sys.argv = list(argv)
    sys.path[0] = os.path.dirname(os.path.abspath(script))  # not this file's
    if device != "cuda":
        CudaOnCpu(Notes.to_file(notes_path).add).start_with_torch()
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    if sys.argv[1] == "--script":
        run_script_main(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        main(sys.argv[1], int(sys.argv[2]))
