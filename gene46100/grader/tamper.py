"""Static tamper evidence: code that reaches for grader state gets flagged for a person.

This never changes a score (the sandbox and the trusted comparison already make such
code useless); it marks the submission ``tampered`` so a person looks at it. Lines
identical to the released student notebook are exempt, so the setup cell's own
``import otter`` never flags anyone.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

PATTERNS: dict[str, re.Pattern] = {
    "reaches for the grader": re.compile(
        r"gene46100|\bimport\s+otter|\bfrom\s+otter|\bOtter\w*\b|\botter\.|\.OTTER_LOG|"
        r"run_probe|answer_question|\bForker\b|['\"]/job\b|inputs-|out/q\d|"
        r"\bjob\.json\b|\bworker\.py\b|provide-|\bsealed/|\bsys\.argv\b"
    ),
    "patches the interpreter": re.compile(
        r"sys\.modules|__builtins__|\bimport\s+builtins|\bbuiltins\.|sys\._getframe|"
        r"inspect\.(currentframe|stack)|gc\.get_objects|\bctypes\b|sys\.set(trace|profile)|"
        r"input_transformers|ast_transformers|events\.register|"
        # walking frames up from a cell reaches the worker's own globals
        r"\b(f_back|f_globals|f_locals|tb_frame|__globals__)\b|"
        # replacing a library function the worker itself calls (json.dump, np.savez);
        # a statement, not an annotation (``x: np.ndarray = ...``)
        r"^\s*(json|pickle|np|numpy|math|sys|os|time|random|signal|io|zipfile)\."
        r"[A-Za-z_][\w.]*\s*=(?!=)"
    ),
    "fakes comparisons": re.compile(
        r"(np|numpy|torch|math)\.(testing\.)?\w*(allclose|isclose|equal|assert\w*)\s*=[^=]|"
        r"def\s+__(eq|ne|bool|torch_function|array_ufunc|array_function)__|"
        r"\.__(eq|ne|bool|torch_function|array_ufunc|array_function)__\s*=(?!=)"
    ),
    "controls the process": re.compile(
        r"os\._exit|os\.kill|\bsignal\.(signal|alarm|setitimer)|os\.fork|sys\.exit|"
        r"\bos\.(system|exec\w*|spawn\w*|setsid|close|closerange|dup2?)\b|\bsubprocess\b|"
        r"atexit|faulthandler\._"
    ),
    "uses the network": re.compile(r"\bsocket\b|urllib|\brequests\b|http\.client"),
    "hides what it runs": re.compile(
        r"(?<![\w.])(exec|eval)\s*\(|__import__|\bbase64\b|\bmarshal\b"
    ),
}


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


def scan(cells: list[dict], exempt: set[str]) -> list[str]:
    """Flags like ``cell 12, line 3: patches the interpreter (sys.modules)``."""
    flags = []
    for cell in cells:
        for number, line in enumerate(cell["source"].splitlines(), start=1):
            if line.strip() in exempt or line.lstrip().startswith("#"):
                continue
            for what, pattern in PATTERNS.items():
                match = pattern.search(line)
                if match:
                    flags.append(
                        f"cell {cell['index']}, line {number}: {what} "
                        f"({match.group(0).strip()[:40]})"
                    )
    return flags[:50]
