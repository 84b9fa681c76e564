"""``ast.parse`` one thread at a time: CPython 3.11 keeps the AST constructor's
recursion depth per interpreter, so two grading threads parsing at once (a tamper
scan beside another, or beside the reference's sources) raised "SystemError: AST
constructor recursion depth mismatch" and a correct week-1 submission was graded
``internal_error`` (seen in the example batch, 2 workers)."""

from __future__ import annotations

import ast
import threading
import time

import nbformat
from helpers import REPO

from gene46100 import pyast
from gene46100.checks import parsed_sources
from gene46100.grader import tamper


def test_parses_never_overlap(monkeypatch):
    inside, most, guard = [0], [0], threading.Lock()
    real = ast.parse

    def slow_parse(source, *args, **kwargs):
        with guard:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.002)  # long enough for another thread to come in
        try:
            return real(source, *args, **kwargs)
        finally:
            with guard:
                inside[0] -= 1

    monkeypatch.setattr(pyast.ast, "parse", slow_parse)
    nb = nbformat.read(REPO / "examples/submissions/week1/alice_complete.ipynb", 4)
    cells = [
        {"index": i, "source": c.source}
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
    ]
    reference = str(REPO / "gene46100_ref" / "week1.py")

    def scan() -> None:
        tamper.scan(cells, set())

    def sources(n: int) -> None:
        parsed_sources.__wrapped__(reference, n, 0)  # not the cached copy

    threads = [threading.Thread(target=scan) for _ in range(3)]
    threads += [threading.Thread(target=sources, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1
