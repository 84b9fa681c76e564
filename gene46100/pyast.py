"""``ast.parse`` for the grader's threads, one at a time.

CPython 3.11's ``ast`` keeps its constructor's recursion depth per interpreter,
not per thread (gh-106905): two grading threads parsing at once (a tamper scan, the
reference's sources) raise "SystemError: AST constructor recursion depth
mismatch", and a correct submission became ``internal_error``.
"""

from __future__ import annotations

import ast
import threading

_LOCK = threading.Lock()


def parse(source: str) -> ast.Module:
    """``ast.parse(source)``, never beside another thread's."""
    with _LOCK:
        return ast.parse(source)
