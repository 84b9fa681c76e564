"""Static tamper evidence: code that reaches for grader state gets flagged for a person.

This never changes a score (the sandbox and the trusted comparison already make such
code useless); it marks the submission ``tampered`` so a person looks at it. Lines
identical to the released student notebook are exempt, so the setup cell's own
``import otter`` never flags anyone.

A flag puts a submission first in the TA's report and is told to the student, so it
needs evidence, not a word: cells are read with Python's ``ast`` (IPython magics and
``!shell`` lines first turned into the calls IPython makes of them), and a flag names
what the code *does* with grader state: imports the grader's modules, names its job
and result files (string pieces are joined first, so ``"o" + "ut/"`` is read as
``out/``), patches comparisons or library functions the worker calls, walks frames,
hooks the interpreter or IPython, controls or outlives its process, hides code in
``exec``. The course's name in a Drive path or a run name, ``!pip install``,
``subprocess`` for pip or nvidia-smi, base64 images and downloads in ungraded code are
ordinary Colab code and raise nothing. A cell that does not parse is read line by line
with narrower regular expressions.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from gene46100 import pyast

GRADER = "reaches for the grader"
INTERPRETER = "patches the interpreter"
COMPARISONS = "fakes comparisons"
PROCESS = "controls the process"
NETWORK = "uses the network"
HIDDEN = "hides what it runs"
CATEGORIES = (GRADER, INTERPRETER, COMPARISONS, PROCESS, NETWORK, HIDDEN)
MAX_FLAGS = 50

# ----------------------------------------------------------------- strings and text
# Where grader state lives, as it appears in a string (or a shell line): the job
# folder is the cell's ``..`` and is mounted at /job (/jobs, /warm when warm); pid 1
# and the worker are other processes; gene46100 is the grader's own package.
PATHS: tuple[tuple[str, re.Pattern], ...] = (
    (GRADER, re.compile(r"(?<![\w.~/*-])/(?:jobs?|warm)(?![\w.-])")),
    (
        GRADER,
        re.compile(
            r"\.\./(?:job\.json|worker\.py|inputs-|provide-|files-|out/|sealed/)"
        ),
    ),
    (GRADER, re.compile(r"\bjob\.json\b")),
    (
        GRADER,
        re.compile(r"(?<![\w-])(?:inputs-(?:q\d+|\*\.npz)|provide-(?:q\d+|\*\.py))"),
    ),
    (GRADER, re.compile(r"(?<![\w-])out/q\d+\.(?:json|npz)\b")),
    (GRADER, re.compile(r"(?<![\w-])sealed/")),
    (GRADER, re.compile(r"\.OTTER_LOG\b|autograder\.zip\b")),
    (
        GRADER,
        re.compile(
            r"\bgene46100_ref\b|\bgene46100[/.](?:grader|checks|untrusted|contract|"
            r"build|selfcheck|review|similarity|course|cli)\b"
        ),
    ),
    (GRADER, re.compile(r"\bchecks/week\d\w*(?:\.py\b|/)")),
    (GRADER, re.compile(r"/proc/(?:\d+|\*|\[0-9\]\*?)/")),
)
# The worker's own globals (what frame walking looks for), named in a string.
WORKER_GLOBALS = "run_probe|answer_question|Forker|await_provide|probe_target"
WORKER_NAMES = re.compile(rf"^(?:{WORKER_GLOBALS})$")
# In a shell command: killing processes, or leaving one running in the background.
KILL = re.compile(r"(?:^|[;&|(`]\s*|\bsudo\s+|\bxargs\s+)(?:kill|pkill|killall)\b")
BACKGROUND = re.compile(r"(?<!&)&\s*$|\b(?:nohup|setsid|disown)\b", re.MULTILINE)

# Cells that do not parse: the old line patterns, narrowed to evidence.
FALLBACK: dict[str, re.Pattern] = {
    GRADER: re.compile(
        r"\b(?:import|from)\s+(?:otter|gene46100(?:_ref)?)\b|\botter\.\w+\s*=(?!=)|"
        rf"\b(?:{WORKER_GLOBALS})\b|"
        r"\bsys\.argv\s*\[\s*[1-9]"
    ),
    INTERPRETER: re.compile(
        r"\bsys\.modules\s*[\[.]|__builtins__|\bimport\s+builtins|\bbuiltins\.|"
        r"sys\._getframe|inspect\.(?:currentframe|stack)|gc\.get_objects|\bctypes\b|"
        r"sys\.set(?:trace|profile)|input_transformers|ast_transformers|"
        r"events\.register|\b(?:f_back|f_globals|f_locals|tb_frame|__globals__)\b|"
        r"^\s*(?:json|pickle|np|numpy|math|sys|os|time|random|signal|io|zipfile)\."
        r"(?!(?:float|int|bool|object|str|complex|long|unicode)\s*=)"
        r"(?!(?:stdout|stderr|argv|tracebacklimit)\s*=)[A-Za-z_][\w.]*\s*=(?!=)"
    ),
    COMPARISONS: re.compile(
        r"(?:np|numpy|torch|math)\.(?:testing\.)?\w*(?:allclose|isclose|equal|"
        r"assert\w*)\s*=[^=]|"
        r"def\s+__(?:torch_function|array_ufunc|array_function)__|"
        r"\.__(?:eq|ne|bool|torch_function|array_ufunc|array_function)__\s*=(?!=)"
    ),
    PROCESS: re.compile(
        r"os\._exit|os\.kill|\bsignal\.(?:signal|alarm|setitimer)|os\.fork|sys\.exit|"
        r"\bos\.(?:exec\w*|spawn\w*|setsid|closerange|dup2)\b|subprocess\.Popen|"
        r"start_new_session|\batexit\b|faulthandler\._"
    ),
    NETWORK: re.compile(
        r"\bsocket\.(?:socket|create_connection|create_server|socketpair|fromfd|"
        r"gethostbyname\w*|getaddrinfo)\s*\("
    ),
    HIDDEN: re.compile(r"(?<![\w.])(?:exec|eval)\s*\(|__import__|\bmarshal\b"),
}

# ----------------------------------------------------------------- names in code
# The grader's own packages: importing one is evidence (the release's own imports
# are exempt lines; using what they bind is not evidence again).
GRADER_MODULES = re.compile(r"^(?:otter|gene46100|gene46100_ref)(?:\.|$)")
# Dotted names (resolved through the notebook's imports) that are evidence wherever
# they are used: nothing in course code needs them.
NAMES: tuple[tuple[str, re.Pattern], ...] = (
    (GRADER, re.compile(rf"(?:^|\.)(?:{WORKER_GLOBALS})$")),
    (
        INTERPRETER,
        re.compile(
            r"^sys\.(?:_getframe|_current_frames|settrace|setprofile)$|"
            r"^inspect\.(?:currentframe|stack|getouterframes|trace)$|"
            r"^gc\.(?:get_objects|get_referrers)$|^threading\.set(?:trace|profile)$|"
            r"^(?:builtins|__builtins__|ctypes)(?:\.|$)"
        ),
    ),
    (
        PROCESS,
        re.compile(
            r"^os\.(?:_exit|abort|kill|killpg|fork|forkpty|setsid|closerange|dup2|"
            r"exec\w*|spawn\w*|posix_spawnp?)$|"
            r"^signal\.(?:signal|alarm|setitimer|pthread_kill|raise_signal)$|"
            r"^sys\.exit$|^atexit(?:\.|$)|^faulthandler\._|^pty\.fork$"
        ),
    ),
    (HIDDEN, re.compile(r"^(?:marshal(?:\.|$)|__import__$)")),
)
# Attributes that are evidence on any object: frame walking reaches the worker's
# globals; IPython's transformers and hooks rewrite or follow every later cell.
FRAME_ATTRS = {"f_back", "f_globals", "f_locals", "f_builtins", "tb_frame"}
FRAME_ATTRS |= {"gi_frame", "cr_frame", "__globals__"}
SHELL_ATTRS = {
    "input_transformers_post",
    "input_transformers_cleanup",
    "input_transformer_manager",
    "ast_transformers",
}
# Libraries the worker itself calls (json.dump, np.savez...): replacing one of their
# functions is patching the grader. These settings are ordinary to assign.
PATCHABLE = {"json", "pickle", "numpy", "math", "sys", "os", "time", "random"}
PATCHABLE |= {"signal", "io", "zipfile"}
ORDINARY_STORES = {"sys.stdout", "sys.stderr", "sys.argv", "sys.tracebacklimit"}
# NumPy 1.24 removed these aliases; old packages (logomaker...) need them back.
ORDINARY_STORES |= {
    f"numpy.{t}"
    for t in ("float", "int", "bool", "object", "str", "complex", "long", "unicode")
}
COMPARISON_FUNCTION = re.compile(r"^(?:\w*(?:allclose|isclose|equal|equiv)|assert\w*)$")
DISPATCH_DUNDERS = {"__torch_function__", "__array_ufunc__", "__array_function__"}
EQUALITY_DUNDERS = {"__eq__", "__ne__", "__bool__"}
# Bases whose instances can pose as an answer the grader compares.
VALUE_BASES = re.compile(
    r"^(?:float|int|complex|bool|torch\.Tensor|numpy\.(?:ndarray|generic|number|"
    r"floating|integer|float\w*|int\w*))$"
)
COMMANDS = {
    "os.system",
    "os.popen",
    "subprocess.run",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.Popen",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
}
SHELL_MAGICS = {"system", "sx", "sh", "bash", "script"}
SOCKET_CALLS = re.compile(
    r"^socket\.(?:socket|create_connection|create_server|socketpair|fromfd|"
    r"gethostbyname\w*|getaddrinfo)$"
)
NETWORK_ROOTS = {"urllib", "requests", "http", "httpx", "urllib3", "aiohttp", "socket"}
NETWORK_ROOTS |= {"ftplib", "smtplib", "wget"}
JOIN_CALLS = {"os.path.join", "posixpath.join", "pathlib.Path", "pathlib.PurePath"}
JOIN_CALLS |= {"Path", "PurePath", "pathlib.PurePosixPath"}
DEFAULT_ALIASES = {"np": "numpy", "pd": "pandas", "plt": "matplotlib.pyplot"}
# Cell magics whose body is Python (scanned as code); any other is shell or text.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
# Bodies that run as a script of their own (``%%writefile predict.py``): there
# ``sys.argv[1]`` and ``sys.exit(main())`` are the script's, not the worker's.
SCRIPT_CELL_MAGICS = {"writefile", "python", "python3"}
UNKNOWN = "*"  # a piece of a string known only at run time


@dataclass(frozen=True)
class Finding:
    """One piece of evidence in a cell: its line (1-based), category and text."""

    line: int
    what: str
    text: str
    column: int = 0


@dataclass(frozen=True)
class Notebook:
    """What every cell's scan needs to know about the whole notebook."""

    aliases: dict[str, str]  # local name -> module path, from every cell's imports
    released: frozenset[str]  # functions and classes the released notebook defines


# ----------------------------------------------------------------- public API
def released_lines(release_notebook: Path) -> set[str]:
    """Stripped code lines of the notebook students were given (exempt)."""
    if not release_notebook.exists():
        return set()
    nb = nbformat.read(release_notebook, as_version=4)
    return {
        line.strip()
        for c in nb.cells
        if c.cell_type == "code"
        for line in c.source.splitlines()
    }


def exempted(line: str, exempt: set[str]) -> bool:
    """A line never reported: as released, blank, or a comment."""
    return line.strip() in exempt or line.lstrip().startswith("#") or not line.strip()


def scan(cells: list[dict], exempt: set[str]) -> list[str]:
    """Flags like ``cell 12, line 3: patches the interpreter (sys.modules)``."""
    parsed = [(cell, parse_cell(cell["source"])) for cell in cells]
    notebook = Notebook(
        import_aliases(tree for _, (tree, _) in parsed if tree is not None),
        released_names(exempt),
    )
    flags = []
    for cell, (tree, python) in parsed:
        lines = cell["source"].splitlines()
        if all(exempted(line, exempt) for line in lines):
            continue  # as released: nothing in it could be reported (most cells)
        for finding in cell_findings(cell["source"], tree, python, notebook):
            line = lines[finding.line - 1] if finding.line <= len(lines) else ""
            if exempted(line, exempt):
                continue
            flags.append(
                f"cell {cell['index']}, line {finding.line}: {finding.what} "
                f"({finding.text.strip()[:40]})"
            )
    return flags[:MAX_FLAGS]


# ----------------------------------------------------------------- cells
def parse_cell(source: str) -> tuple[ast.Module | None, str]:
    """The cell as a Python tree and the source it was parsed from (IPython syntax
    turned into the calls IPython makes, on the same lines), or ``(None, source)``
    when it does not parse either way."""
    if cell_magic(source) is not None:
        return None, source
    try:
        return pyast.parse(source), source
    except (SyntaxError, ValueError, RecursionError, MemoryError, SystemError):
        pass  # IPython syntax, a broken cell or one nested too deep for ``ast``
    python = ipython_to_python(source)
    if python is None:
        return None, source
    try:
        return pyast.parse(python), python
    except (SyntaxError, ValueError, RecursionError, MemoryError, SystemError):
        return None, source


def ipython_to_python(source: str) -> str | None:
    """``!cmd`` -> ``get_ipython().system('cmd')``, ``%magic`` likewise; ``None``
    when IPython would join lines (line numbers would no longer match the cell)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # the grader depends on IPython; read line by line then
        return None
    try:
        python = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - student text: any failure means "unparsed"
        return None
    return python if len(python.splitlines()) == len(source.splitlines()) else None


def cell_magic(source: str) -> tuple[int, str, str] | None:
    """``(line index, name, arguments)`` of a ``%%magic`` cell's first line."""
    lines = source.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or not lines[first].startswith("%%"):
        return None
    name, _, args = lines[first][2:].partition(" ")
    return first, name.strip(), args.strip()


def cell_findings(
    source: str, tree: ast.Module | None, python: str, notebook: Notebook
) -> list[Finding]:
    """Every finding in one cell, one per line and category, in line order."""
    try:
        if tree is not None:
            found = Scanner(python, notebook).run(tree)
        elif (magic := cell_magic(source)) is not None:
            found = magic_findings(source, magic, notebook)
        else:
            found = text_findings(source, shell=False)
    except Exception:  # noqa: BLE001 - a tree too deep to walk: the scan must go on
        found = text_findings(source, shell=False)
    first: dict[tuple[int, str], Finding] = {}
    for f in sorted(found, key=lambda f: (f.line, f.column)):
        first.setdefault((f.line, f.what), f)
    return sorted(first.values(), key=lambda f: (f.line, CATEGORIES.index(f.what)))


def magic_findings(
    source: str, magic: tuple[int, str, str], notebook: Notebook
) -> list[Finding]:
    """A ``%%magic`` cell: a Python body (``%%time``) is scanned as code, on its
    own lines; a shell or other body (``%%bash``, ``%%writefile``) as text."""
    first, name, args = magic
    lines = source.splitlines()
    rest = "\n".join(lines[first + 1 :])
    script = name in SCRIPT_CELL_MAGICS and (name != "writefile" or ".py" in args)
    python = script or name in PYTHON_CELL_MAGICS
    header = text_findings(lines[first], shell=True, offset=first)
    if python:  # ``pass`` keeps the lines: IPython drops leading blank ones
        tree, parsed = parse_cell("pass\n" * (first + 1) + rest)
        if tree is not None:
            return header + Scanner(parsed, notebook, script).run(tree)
    body = "\n" * (first + 1) + rest
    return header + text_findings(body, shell=name in SHELL_MAGICS)


def text_findings(text: str, shell: bool, offset: int = 0) -> list[Finding]:
    """Line by line: paths into grader state, the fallback patterns and, in shell
    text, commands that kill processes or leave them running."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1 + offset):
        if line.lstrip().startswith("#"):
            continue
        found += string_findings(line, number)
        for what, pattern in FALLBACK.items():
            if match := pattern.search(line):
                found.append(Finding(number, what, match.group(0)))
        if shell:
            found += command_findings(line.lstrip().lstrip("!"), number)
    return found


def string_findings(text: str, line: int, multiline: bool = False) -> list[Finding]:
    """Paths into grader state named in ``text`` (a string or a line of text); in a
    plain multi-line string, the match's own line."""
    found = []
    for what, pattern in PATHS:
        if match := pattern.search(text):
            extra = text.count("\n", 0, match.start()) if multiline else 0
            found.append(Finding(line + extra, what, match.group(0)))
    if WORKER_NAMES.match(text):
        found.append(Finding(line, GRADER, text))
    return found


def command_findings(command: str, line: int) -> list[Finding]:
    """A shell command that kills processes or leaves one running."""
    found = []
    if match := KILL.search(command):
        found.append(Finding(line, PROCESS, command[match.start() :]))
    if BACKGROUND.search(command):
        found.append(Finding(line, PROCESS, command))
    return found


# ----------------------------------------------------------------- the notebook
def import_aliases(trees: Iterable[ast.Module]) -> dict[str, str]:
    """Local names bound by every cell's imports (``np`` -> ``numpy``, ``leave`` ->
    ``os._exit``): cells share one namespace, in whatever order they ran."""
    aliases = dict(DEFAULT_ALIASES)
    for tree in trees:
        for node in statements(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        aliases[a.asname] = a.name
                    else:
                        root = a.name.split(".")[0]
                        aliases[root] = root
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def statements(tree: ast.Module) -> Iterable[ast.AST]:
    """Every statement of ``tree``, nested ones included, but no expression: an
    import is a statement, and expressions are most of a tree's nodes."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                stack.extend(children)


def released_names(exempt: set[str]) -> frozenset[str]:
    """Functions and classes the released notebook defines (the graded answers and
    its helpers), read from its exempt lines; dunders (``__init__``) name no answer."""
    defined = re.compile(r"^(?:async\s+def|def|class)\s+(\w+)")
    names = (m.group(1) for line in exempt if (m := defined.match(line)))
    return frozenset(n for n in names if not n.startswith("__"))


# ----------------------------------------------------------------- folding strings
def fold(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """The string an expression builds, with run-time pieces as ``*``:
    ``"../" + "o" + "ut/" + q`` -> ``"../out/*"``; ``None`` if it builds none."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) else UNKNOWN for v in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Div)):
        left, right = fold(node.left, aliases), fold(node.right, aliases)
        if left is None and right is None:
            return None
        glue = "/" if isinstance(node.op, ast.Div) else ""
        return (left or UNKNOWN) + glue + (right or UNKNOWN)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        left = fold(node.left, aliases)
        return None if left is None else re.sub(r"%[-#0 +\d.]*[a-z]", UNKNOWN, left)
    if isinstance(node, ast.Call):
        return fold_call(node, aliases)
    return None


def fold_call(node: ast.Call, aliases: dict[str, str]) -> str | None:
    """``os.path.join``/``Path`` of pieces, ``"...".format``, ``"".join([...])``."""
    if dotted(node.func, aliases) in JOIN_CALLS and node.args:
        parts = [fold(a, aliases) for a in node.args]
        if any(p is not None for p in parts):
            return "/".join(p or UNKNOWN for p in parts)
        return None
    if not isinstance(node.func, ast.Attribute):
        return None
    owner = fold(node.func.value, aliases)
    if owner is None:
        return None
    if node.func.attr == "format":
        return re.sub(r"\{[^{}]*\}", UNKNOWN, owner)
    if node.func.attr == "join" and node.args:
        items = node.args[0]
        if isinstance(items, (ast.List, ast.Tuple)):
            return owner.join(fold(e, aliases) or UNKNOWN for e in items.elts)
    return None


def dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """``np.linalg.solve`` -> ``numpy.linalg.solve`` through the notebook's imports;
    ``getattr(os, "_exit")`` -> ``os._exit``; ``__import__("o" + "s")`` -> ``os``."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        base = dotted(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, ast.Call) and node.args:
        func = dotted(node.func, aliases)
        if func == "getattr" and len(node.args) >= 2:
            base, name = dotted(node.args[0], aliases), constant(node.args[1])
            return f"{base}.{name}" if base and name else None
        if func in ("__import__", "importlib.import_module"):
            name = fold(node.args[0], aliases)
            return name if name and UNKNOWN not in name else None
    return None


def constant(node: ast.AST) -> str | None:
    """A string literal's value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


# ----------------------------------------------------------------- the code scanner
class Scanner(ast.NodeVisitor):
    """Walks one cell's tree and collects the evidence in it."""

    def __init__(self, source: str, notebook: Notebook, script: bool = False) -> None:
        self.source, self.notebook, self.script = source, notebook, script
        self.aliases = notebook.aliases
        self.found: list[Finding] = []
        self.scopes: list[str] = []  # enclosing functions and classes, by name
        self.bases: list[list[str]] = []  # the enclosing classes' bases
        self.spared: set[int] = set()  # nodes an enclosing rule found ordinary
        self.covered: set[int] = set()  # pieces of a string already read whole
        self.stringless: set[int] = set()  # parts of a sum known to build no string

    def run(self, tree: ast.Module) -> list[Finding]:
        self.visit(tree)
        return self.found

    def flag(self, node: ast.AST, what: str, text: str | None = None) -> None:
        if text is None:
            segment = ast.get_source_segment(self.source, node) or ""
            text = segment.splitlines()[0] if segment else type(node).__name__
        self.found.append(
            Finding(node.lineno, what, text, getattr(node, "col_offset", 0))
        )

    # -- scopes and definitions
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if self.scopes and self.scopes[-1].startswith("class "):
            self.check_method(node)
        self.scopes.append(node.name)
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.bases.append([dotted(b, self.aliases) or "" for b in node.bases])
        for statement in node.body:
            self.check_class_attribute(statement)
        self.scopes.append(f"class {node.name}")
        self.generic_visit(node)
        self.scopes.pop()
        self.bases.pop()

    def in_released(self) -> bool:
        """Inside a function or class the release defines at a cell's top level
        (``mse_gradient``, ``MLP.forward``)."""
        return bool(self.scopes) and (
            self.scopes[0].removeprefix("class ") in self.notebook.released
        )

    def value_class(self) -> bool:
        """The enclosing class derives from a number, an array or a tensor."""
        return bool(self.bases) and any(VALUE_BASES.match(b) for b in self.bases[-1])

    def check_method(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """Dispatch hooks always; an equality that ignores what it is compared
        with (or sits on a number or array type) is a fake one."""
        if node.name in DISPATCH_DUNDERS:
            self.flag(node, COMPARISONS, f"def {node.name}")
        elif node.name in EQUALITY_DUNDERS and (
            self.value_class() or ignores_operand(node, node.name)
        ):
            self.flag(node, COMPARISONS, f"def {node.name}")

    def check_class_attribute(self, statement: ast.stmt) -> None:
        """``__eq__ = lambda self, other: True``, ``__class__ = property(...)``,
        ``__module__ = "numpy"`` in a class body: posing as another type."""
        if not isinstance(statement, ast.Assign):
            return
        for target in statement.targets:
            name = target.id if isinstance(target, ast.Name) else ""
            value = statement.value
            if name in DISPATCH_DUNDERS or name == "__class__":
                self.flag(statement, COMPARISONS)
            elif name in EQUALITY_DUNDERS and isinstance(value, ast.Lambda):
                if ignores_operand(value, name):
                    self.flag(statement, COMPARISONS)
            elif name == "__module__" and (constant(value) or "").split(".")[0] in (
                "numpy",
                "torch",
                "builtins",
            ):
                self.flag(statement, COMPARISONS)

    # -- imports and names
    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.check_import(node, a.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            self.check_import(node, node.module)
            for a in node.names:
                self.check_name(node, f"{node.module}.{a.name}")

    def check_import(self, node: ast.AST, module: str) -> None:
        if GRADER_MODULES.match(module):
            self.flag(node, GRADER)
        self.check_name(node, module)

    def visit_Name(self, node: ast.Name) -> None:
        self.check_use(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in FRAME_ATTRS or node.attr in SHELL_ATTRS:
            self.flag(node, INTERPRETER)
        if node.attr == "register" and isinstance(node.value, ast.Attribute):
            if node.value.attr == "events":  # IPython's post_run_cell and co.
                self.flag(node, INTERPRETER)
        self.check_use(node)
        self.generic_visit(node)

    def check_use(self, node: ast.Name | ast.Attribute) -> None:
        if id(node) in self.spared:
            return
        name = dotted(node, self.aliases)
        if name is None:
            return
        if name == "sys.modules":  # ``"google.colab" in sys.modules`` is spared
            self.flag(node, INTERPRETER)
        self.check_name(node, name)

    def check_name(self, node: ast.AST, name: str) -> None:
        if self.script and name == "sys.exit":  # a script's own exit status
            return
        for what, pattern in NAMES:
            if pattern.search(name):
                self.flag(node, what)

    def visit_Compare(self, node: ast.Compare) -> None:
        """Membership in ``sys.modules`` is how notebooks detect Colab."""
        for op, right in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                if dotted(right, self.aliases) == "sys.modules":
                    self.spared.add(id(right))
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        """``sys.argv[1]``, ``sys.argv[2]``: the worker's job folder and event pipe
        (a notebook's own argv is the kernel's; argparse code reads ``[0]``, ``[1:]``
        or assigns it)."""
        index = node.slice
        if dotted(node.value, self.aliases) == "sys.argv" and not self.script:
            if isinstance(index, ast.Constant) and isinstance(index.value, int):
                if index.value >= 1:
                    self.flag(node, GRADER)
        self.generic_visit(node)

    # -- assignments
    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self.check_target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.check_target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:  # ``x: np.ndarray = ...`` is an annotation
            self.check_target(node.target)
        self.generic_visit(node)

    def check_target(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.check_target(element)
        elif isinstance(target, ast.Attribute):
            base = dotted(target.value, self.aliases)
            self.check_store(target, base, target.attr)

    def check_store(self, node: ast.AST, base: str | None, attr: str) -> None:
        """Replacing a comparison, a dunder or a function of a library the worker
        calls; setting an attribute on the grader's own modules."""
        full = f"{base}.{attr}" if base else None
        root = base.split(".")[0] if base else ""
        if attr in EQUALITY_DUNDERS or attr in DISPATCH_DUNDERS:
            self.flag(node, COMPARISONS)
        elif root in ("numpy", "torch", "math") and COMPARISON_FUNCTION.match(attr):
            self.flag(node, COMPARISONS)
        elif root in PATCHABLE and full not in ORDINARY_STORES:
            self.flag(node, INTERPRETER)
        elif root in ("otter", "gene46100", "gene46100_ref"):
            self.flag(node, GRADER)

    # -- calls
    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        """``with subprocess.Popen(...)`` waits for its process on exit."""
        for item in node.items:
            self.spared.add(id(item.context_expr))
        self.generic_visit(node)

    visit_AsyncWith = visit_With

    def visit_Call(self, node: ast.Call) -> None:
        name = dotted(node.func, self.aliases) or ""
        if isinstance(node.func, ast.Name) and node.func.id in ("exec", "eval"):
            self.flag(node, HIDDEN)
        if isinstance(node.func, ast.Call) and name:  # getattr(os, "_exit")(0)
            self.check_name(node, name)
        if name in ("__import__", "importlib.import_module") and node.args:
            self.check_import(node, fold(node.args[0], self.aliases) or "")
        if name == "setattr" and len(node.args) >= 2 and constant(node.args[1]):
            base = dotted(node.args[0], self.aliases)
            self.check_store(node, base, constant(node.args[1]))
        if name == "os.close" and node.args and is_int(node.args[0]):
            self.flag(node, PROCESS)  # an inherited descriptor: the event pipe
        self.check_command(node, name)
        self.check_network(node, name)
        self.generic_visit(node)

    def check_command(self, node: ast.Call, name: str) -> None:
        """A shell command: only what it does is evidence (killing processes,
        leaving one running, paths into the job folder), never that it runs."""
        command = None
        if name in COMMANDS:
            command = command_text(node.args[0], self.aliases) if node.args else None
            detached = {k.arg for k in node.keywords} & {
                "start_new_session",
                "process_group",
                "preexec_fn",
            }
            waited = name != "subprocess.Popen" or id(node) in self.spared
            if detached or not waited:
                self.flag(node, PROCESS, name)  # a process that outlives the cell
        elif ipython_shell(node):
            command = command_text(node.args[-1], self.aliases)
        if command:
            for finding in command_findings(command, node.lineno):
                self.found.append(finding)

    def check_network(self, node: ast.Call, name: str) -> None:
        """Raw sockets anywhere; any network call inside a function or class the
        released notebook defines (a graded answer's output must come from its
        inputs). Downloads elsewhere are ordinary Colab code."""
        if SOCKET_CALLS.match(name):
            self.flag(node, NETWORK)
        elif name.split(".")[0] in NETWORK_ROOTS and self.in_released():
            self.flag(node, NETWORK)

    # -- strings
    def generic_visit(self, node: ast.AST) -> None:
        """Every expression is also read as the string it may build."""
        for child in ast.iter_child_nodes(node):
            if id(child) in self.stringless:
                self.builds_none(child)
            elif isinstance(child, ast.expr) and id(child) not in self.covered:
                self.scan_string(child)
            self.visit(child)

    def scan_string(self, node: ast.expr) -> None:
        """A string expression, whole: the pieces it joins are not read again
        (what ``%`` or ``.format`` fill in is read on its own)."""
        text = fold(node, self.aliases)
        if text is None:
            self.builds_none(node)
            return
        self.covered.update(id(piece) for piece in joined(node))
        plain = isinstance(node, ast.Constant) and (
            (node.end_lineno or node.lineno) - node.lineno == text.count("\n")
        )
        self.found += string_findings(text, node.lineno, multiline=plain)

    def builds_none(self, node: ast.AST) -> None:
        """The operands of a sum that builds no string build none either (so a
        long sum is folded once, not once per operand)."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Div)):
            self.stringless.update((id(node.left), id(node.right)))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            self.stringless.add(id(node.left))


def joined(node: ast.expr) -> list[ast.AST]:
    """The pieces a concatenation (``+``, ``/``, an f-string) is made of."""
    pieces, todo = [], [node]
    while todo:
        piece = todo.pop()
        pieces.append(piece)
        if isinstance(piece, ast.BinOp) and isinstance(piece.op, (ast.Add, ast.Div)):
            todo += [piece.left, piece.right]
        elif isinstance(piece, ast.JoinedStr):
            pieces += [v for v in piece.values if isinstance(v, ast.Constant)]
    return pieces


def ignores_operand(node: ast.FunctionDef | ast.Lambda, name: str) -> bool:
    """An ``__eq__``/``__ne__`` that never reads the other operand (a ``__bool__``
    that never reads ``self``) yet answers something other than ``NotImplemented``:
    a real equality, a dataclass's included, compares with what it is given."""
    args = node.args
    params = [a.arg for a in args.posonlyargs + args.args]
    operands = set(params[0 if name == "__bool__" else 1 :])
    if args.vararg:
        operands.add(args.vararg.arg)
    body = node.body if isinstance(node.body, list) else [node.body]
    nodes = [n for statement in body for n in ast.walk(statement)]
    if operands & {n.id for n in nodes if isinstance(n, ast.Name)}:
        return False
    if isinstance(node, ast.Lambda):
        answers = [node.body]
    else:
        answers = [n.value for n in nodes if isinstance(n, ast.Return) and n.value]
    return any(not declines(a) for a in answers)


def declines(node: ast.AST) -> bool:
    """``return NotImplemented``: Python then asks the other operand."""
    return isinstance(node, ast.Name) and node.id == "NotImplemented"


def is_int(node: ast.AST) -> bool:
    """An integer literal (a file descriptor's number)."""
    return isinstance(node, ast.Constant) and isinstance(node.value, int)


def ipython_shell(node: ast.Call) -> bool:
    """``get_ipython().system(...)``/``.getoutput(...)`` (what ``!cmd`` becomes) or
    a shell magic run through ``run_line_magic``/``run_cell_magic``."""
    func = node.func
    if not isinstance(func, ast.Attribute) or not node.args:
        return False
    if func.attr in ("system", "getoutput"):
        owner = func.value
        return isinstance(owner, ast.Call) and getattr(owner.func, "id", "") == (
            "get_ipython"
        )
    if func.attr in ("run_line_magic", "run_cell_magic"):
        return constant(node.args[0]) in SHELL_MAGICS
    return False


def command_text(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """A command as text: a string, or a list of arguments joined by spaces."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return " ".join(fold(e, aliases) or UNKNOWN for e in node.elts)
    return fold(node, aliases)
