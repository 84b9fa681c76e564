"""The layout shows the design: who may import whom, and what students get.

- The tool (``gene46100``) has no import cycles.
- The reference (``gene46100_ref``) imports nothing from the tool.
- The sandbox contract imports neither the checks nor the grader.
- The code that runs inside the sandbox imports nothing from either package.
- The student release carries no grader code.
- The course registry and the hidden checks agree on every week and question.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from gene46100 import checks, course

REPO = Path(__file__).resolve().parent.parent
TOOL = REPO / "gene46100"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a import b`` counts ``a`` and ``a.b``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def graph(root: Path, prefix: str) -> dict[str, set[str]]:
    modules = {module_name(p): p for p in root.rglob("*.py")}
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for target in imports_of(path):
            if target in modules and target != name and target.startswith(prefix):
                edges[name].add(target)
    return {name: edges[name] for name in modules}


def cycle(edges: dict[str, set[str]]) -> list[str]:
    """One import cycle, or ``[]``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return []

    for start in sorted(edges):
        if start not in state and (found := visit(start, [start])):
            return found
    return []


def test_the_tool_has_no_import_cycles():
    assert cycle(graph(TOOL, "gene46100")) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) == []


def tool_imports(path: Path) -> set[str]:
    return {
        m for m in imports_of(path) if m == "gene46100" or m.startswith("gene46100.")
    }


@pytest.mark.parametrize(
    "path", sorted((REPO / "gene46100_ref").glob("*.py")), ids=lambda p: p.name
)
def test_the_reference_imports_nothing_from_the_tool(path):
    assert tool_imports(path) == set()


@pytest.mark.parametrize(
    "path", sorted((TOOL / "contract").glob("*.py")), ids=lambda p: p.name
)
def test_the_contract_imports_neither_checks_nor_grader(path):
    assert {
        m for m in tool_imports(path) if not m.startswith("gene46100.contract")
    } == set()


def test_the_sandboxed_worker_imports_nothing_from_either_package():
    worker = TOOL / "untrusted" / "worker.py"
    assert {m for m in imports_of(worker) if m.startswith("gene46100")} == set()
    assert not any(
        m.startswith("gene46100")
        for p in (TOOL / "untrusted").glob("*.py")
        for m in imports_of(p)
    )


def definitions(tree: ast.AST) -> dict[str, str]:
    """Top-level functions and classes: name -> syntax tree (formatting ignored)."""
    return {
        n.name: ast.dump(n)
        for n in getattr(tree, "body", [])
        if isinstance(n, (ast.FunctionDef, ast.ClassDef))
    }


def test_the_student_release_carries_no_grader_code():
    """No released file is, or contains a definition of, the grader's code (the
    release once shipped a byte copy of the sandbox worker)."""
    grader = {}
    for path in [*(TOOL / "grader").rglob("*.py"), *(TOOL / "untrusted").glob("*.py")]:
        grader.update(
            {
                dump: f"{path.name}:{name}"
                for name, dump in definitions(ast.parse(path.read_text())).items()
            }
        )
    released = sorted((REPO / "assignments").rglob("*.py"))
    assert released
    for path in released:
        try:
            tree = ast.parse(path.read_text())
        except SyntaxError:  # a template with blanks for the student to fill
            continue
        copied = [grader[d] for d in definitions(tree).values() if d in grader]
        assert not copied, (path, copied)
    assert not (REPO / "assignments" / "_selfcheck" / "worker.py").exists()


def test_the_release_check_catches_a_copied_worker(tmp_path):
    worker = (TOOL / "untrusted" / "worker.py").read_text()
    grader = set(definitions(ast.parse(worker)).values())
    copy = ast.parse("# GENERATED banner\n" + worker)
    assert set(definitions(copy).values()) & grader


@pytest.mark.parametrize("week", course.WEEKS)
def test_the_registry_and_the_checks_agree(week):
    spec = course.week(week)
    graded = checks.questions(week)
    assert set(graded) == set(spec.budgets) == set(spec.review_topics)
    assert all(q.timeout_s == spec.budgets[name] for name, q in graded.items())
    assert spec.master().is_file()
    assert {e.name for e in spec.examples} <= {
        p.stem for p in (REPO / "examples/submissions" / week).iterdir()
    }


def test_an_unknown_week_is_refused_with_a_suggestion():
    with pytest.raises(course.UnknownWeek) as caught:
        course.week("Week1")
    assert "did you mean 'week1'" in str(caught.value)
    assert "week1, week2, week3a, week3b" in str(caught.value)
    with pytest.raises(course.UnknownWeek, match="known weeks"):
        checks.questions("week9")
