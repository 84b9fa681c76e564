"""One voice for both self-checks: ``grader.check("q3")`` and ``pytest <week>``.

Runs one question's PUBLIC tests against a namespace and says, in one short message,
what a student needs: "not implemented yet"; a failed check's teaching message (never
the test's source); a name that is missing because its cell did not run (the cell as
the student sees it and the real error); a crash inside the student's function (the
function, the exception, the student's line); a missing package (one install line).

Standard library only (plus ``otter.test_files`` when a question is checked). The
build copies this file into the release (``_selfcheck/voice.py``) and embeds it in
each notebook's setup cell, so both self-checks speak with the same words.
"""

import linecache
import os
import re

NOT_IMPLEMENTED = "not implemented yet"
PUBLIC_NOTE = "public tests: the contract, not correctness"
NEGATIVE_STRIDES = (
    "torch cannot wrap a numpy array with negative strides (a reversed view: "
    "pandas returns one when columns are selected in reverse order); copy it "
    "first, e.g. np.ascontiguousarray(a) or a.copy()"
)
CELL_FILE = re.compile(r"^<ipython-input-|ipykernel_\d+|^<cell")


def one_line(text, limit=300):
    """``text`` on one bounded line."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def error_text(exc):
    """``SyntaxError: '(' was never closed, line 3`` or ``KeyError: 5``."""
    if isinstance(exc, SyntaxError) and exc.msg:
        where = f", line {exc.lineno}" if exc.lineno else ""
        return f"{type(exc).__name__}: {exc.msg}{where}"
    message = one_line(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def first_line(source):
    """The cell's first line that is not blank or a comment, as the student sees it."""
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    code = [line for line in lines if not line.startswith("#")] or lines or [""]
    return one_line(code[0], 70)


def cell_label(source, question=None):
    """``the cell `def f(x):` (q1)``: how a student finds a cell."""
    where = f" ({question})" if question else ""
    return f"the cell `{first_line(source)}`{where}"


def install_line(module, pins):
    """``pip install logomaker==0.8.7`` for a module name (pins: module -> spec)."""
    top = (module or "").split(".")[0]
    spec = pins.get(top, top.replace("_", "-"))
    extra = " --no-deps" if top == "janggu" else ""
    return f"pip install{extra} {spec}"


IMPORT_NAMES = {"otter-grader": "otter"}


def pins_from_requirements(text):
    """``{"otter": "otter-grader==7.0.0", ...}`` from a requirements file's lines."""
    pins = {}
    for line in text.splitlines():
        spec = line.split("#")[0].strip()
        if spec and not spec.startswith("-"):
            dist = re.split(r"[=<>!~ \[]", spec)[0]
            pins[IMPORT_NAMES.get(dist, dist.replace("-", "_"))] = spec
    return pins


def missing_module(exc):
    """The module a ``ModuleNotFoundError`` names, else None."""
    if isinstance(exc, ModuleNotFoundError):
        return exc.name or (re.findall(r"'([^']+)'", str(exc)) or [None])[0]
    return None


def cell_error(source, exc, question=None):
    """What the self-checks remember of a cell that raised (plain data)."""
    return {
        "label": cell_label(source, question),
        "error": error_text(exc),
        "module": missing_module(exc),
        "defines": sorted({a or b for a, b in DEFINES.findall(source)}),
    }


DEFINES = re.compile(r"^\s*(?:def|class)\s+(\w+)|^(\w+)\s*=", re.M)


def not_run_message(name, cell_errors, pins):
    """Why ``name`` is missing: the cell that should define it did not run."""
    cell_errors = list(cell_errors)
    errors = [e for e in cell_errors if name in e.get("defines", ())] or cell_errors
    if not errors:
        return f"`{name}` is not defined: run the cell that defines it first"
    error = errors[0]
    if error.get("module"):
        return package_message(error["module"], pins)
    return f"`{name}` is not defined: {error['label']} did not run: {error['error']}"


def package_message(module, pins):
    return f"package {module} is missing: {install_line(module, pins)}"


def _chain(exc):
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def student_frame(exc):
    """The innermost traceback entry in a notebook cell: (function, line, text)."""
    found, tb = None, exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if CELL_FILE.search(code.co_filename):
            name = getattr(code, "co_qualname", code.co_name)
            text = linecache.getline(code.co_filename, tb.tb_lineno).strip()
            found = (name, tb.tb_lineno, text)
        tb = tb.tb_next
    return found


def crash_message(exc, pins):
    """A test's exception that is not its own assertion, in course terms."""
    module = missing_module(exc)
    if module:
        return package_message(module, pins)
    hint = ""
    if "stride" in str(exc) and "negative" in str(exc):
        hint = f" ({NEGATIVE_STRIDES})"
    frame = student_frame(exc)
    if frame is None or frame[0] == "<module>":
        return f"the public test raised {error_text(exc)}{hint}"
    name, lineno, text = frame
    return (
        f"your `{name}` raised {error_text(exc)} at line {lineno} of its cell: "
        f"`{one_line(text, 80)}`{hint}"
    )


def judge(exc, test_file, pins):
    """(status, message) for an exception a public test case raised."""
    if any(isinstance(e, NotImplementedError) for e in _chain(exc)):
        return "not_implemented", NOT_IMPLEMENTED
    if isinstance(exc, AssertionError) and _raised_in(exc, test_file):
        return "failed", one_line(exc, 600) or "a public check failed"
    return "failed", crash_message(exc, pins)


def _raised_in(exc, path):
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    filename = tb.tb_frame.f_code.co_filename
    return os.path.abspath(filename) == os.path.abspath(path)


GPU_NOTE = (
    "asks for a GPU ({what}); the grader has none and runs it on the CPU, with "
    "the same score"
)


class GpuWatch:
    """Notes a CUDA request while a question's public test runs (``.to("cuda")``,
    ``.cuda()``, ``device="cuda"``); where there is no GPU it runs it on the CPU,
    as the grader does. Does nothing when torch is not imported."""

    def __init__(self):
        self.asked, self.mode = "", None

    def __enter__(self):
        import sys

        torch = sys.modules.get("torch")
        if torch is not None:
            self.mode = self._mode(torch)
            self.mode.__enter__()
        return self

    def __exit__(self, *exc):
        if self.mode is not None:
            self.mode.__exit__(*exc)
            self.mode = None
        return False

    def _mode(self, torch):
        from torch.overrides import TorchFunctionMode

        watch, on_cpu = self, not torch.cuda.is_available()

        def cuda(value):
            if isinstance(value, str):
                return value.strip().lower().startswith("cuda")
            return isinstance(value, torch.device) and value.type == "cuda"

        class Watch(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                kwargs = dict(kwargs or {})
                name = getattr(func, "__name__", "")
                asked = func is torch.Tensor.cuda or cuda(kwargs.get("device"))
                asked = asked or any(cuda(a) for a in args)
                if asked and not watch.asked:
                    watch.asked = {
                        "_parse_to": ".to()",
                        "to": ".to()",
                        "cuda": ".cuda()",
                    }.get(name, "'cuda'")
                if asked and on_cpu:
                    if func is torch.Tensor.cuda:
                        return args[0]
                    if cuda(kwargs.get("device")):
                        kwargs["device"] = "cpu"
                    args = tuple("cpu" if cuda(a) else a for a in args)
                return func(*args, **kwargs)

        return Watch()


def check_question(test_path, env, cell_errors=(), pins=None):
    """Run one question's public test file on ``env``: ``{"status", "message"}``.

    status: ``passed``, ``not_implemented`` or ``failed`` (``message`` says why).
    """
    from otter.test_files import ExceptionTestFile

    pins = pins or {}
    test_file = ExceptionTestFile.from_file(test_path)
    watch = GpuWatch()  # one for the whole file: its first CUDA request is named
    for case in test_file.test_cases:
        body = case.body
        for name in body._get_func_params():
            if name != "env" and env.get(name) is None:
                return {
                    "status": "failed",
                    "message": not_run_message(name, cell_errors, pins),
                }
        try:
            with watch:
                body.call_func(env)
        except Exception as exc:  # the verdict, in the student's terms
            status, message = judge(exc, test_path, pins)
            return {"status": status, "message": message, "gpu": watch.asked}
    return {"status": "passed", "message": "", "gpu": watch.asked}


def gpu_line(question, result):
    """``q9: note: asks for a GPU (.to()); ...``, or "" when it did not."""
    if not result.get("gpu"):
        return ""
    return f"{question}: note: {GPU_NOTE.format(what=result['gpu'])}"


def verdict(question, result):
    """What both self-checks print for a question (a second line when it asked
    for a GPU)."""
    line = _verdict(question, result)
    note = gpu_line(question, result)
    return f"{line}\n{note}" if note else line


def _verdict(question, result):
    if result["status"] == "passed":
        return f"{question}: passed ({PUBLIC_NOTE})"
    if result["status"] == "not_implemented":
        return f"{question}: {NOT_IMPLEMENTED}"
    return f"{question}: FAILED: {result['message']}"
