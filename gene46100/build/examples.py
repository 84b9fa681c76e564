"""Example submissions for the demo and the tests, derived from the student release.

``examples/answers/<week>_independent.py`` holds a completion written apart from the
reference; each top-level definition replaces the answer cell of the student
notebook that defines the same name. Variants then break one thing each.
"""

from __future__ import annotations

import ast
import base64
import copy
import json
import shutil
from pathlib import Path

import nbformat

from gene46100.course import Example, Week

ANSWER_TAG = "otter_answer_cell"
BEGIN = "<!-- BEGIN QUESTION -->"
END = "<!-- END QUESTION -->"
WRITTEN = Path("examples") / "answers" / "written"


def top_level_definitions(source: str) -> dict[str, str]:
    """Map each top-level function/class name to its source text."""
    tree = ast.parse(source)
    return {
        node.name: ast.get_source_segment(source, node, padded=False)
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef))
    }


def answer_imports(source: str) -> str:
    tree = ast.parse(source)
    return "\n".join(
        ast.get_source_segment(source, n)
        for n in tree.body
        if isinstance(n, (ast.Import, ast.ImportFrom))
    )


def defined_names(cell_source: str) -> list[str]:
    """Top-level function and class names a cell defines."""
    try:
        tree = ast.parse(cell_source)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def complete(student: nbformat.NotebookNode, answers: str) -> nbformat.NotebookNode:
    """The student notebook with every answer cell filled from ``answers``."""
    nb = copy.deepcopy(student)
    definitions = top_level_definitions(answers)
    imports = answer_imports(answers)
    for cell in nb.cells:
        if cell.cell_type != "code" or ANSWER_TAG not in cell.metadata.get("tags", []):
            continue
        names = [n for n in defined_names(cell.source) if n in definitions]
        if names:
            body = "\n\n\n".join(definitions[n] for n in names)
            cell.source = f"{imports}\n\n\n{body}\n"
    return nb


def with_replaced(
    nb: nbformat.NotebookNode, name: str, source: str
) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and name in defined_names(cell.source):
            cell.source = source
            return nb
    raise KeyError(f"no cell defines {name}")


def with_extra_cell(nb: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """Insert an ungraded code cell right after the first answer cell."""
    nb = copy.deepcopy(nb)
    first = next(
        i for i, c in enumerate(nb.cells) if ANSWER_TAG in c.metadata.get("tags", [])
    )
    cell = nbformat.v4.new_code_cell(source)
    cell["id"] = "extra-cell"
    nb.cells.insert(first + 1, cell)
    return nb


def last_marker(cell: nbformat.NotebookNode) -> str:
    """The last question marker a markdown cell opens with (Otter merges a
    question's ``END`` with the next one's ``BEGIN``), or ``""``."""
    text, last = cell.source.lstrip() if cell.cell_type == "markdown" else "", ""
    while text.startswith((BEGIN, END)):
        last = BEGIN if text.startswith(BEGIN) else END
        text = text[len(last) :].lstrip()
    return last


def manual_blocks(nb: nbformat.NotebookNode) -> list[list[nbformat.NotebookNode]]:
    """Each manual question's cells in the release, in order (prompt excluded)."""
    blocks: list[list[nbformat.NotebookNode]] = []
    current: list[nbformat.NotebookNode] | None = None
    for cell in nb.cells:
        marker = last_marker(cell)
        if marker:
            current = [] if marker == BEGIN else None
            if current is not None:
                blocks.append(current)
        elif current is not None:
            current.append(cell)
    return blocks


def manual_names(week: str, out: Path) -> list[str]:
    spec = json.loads((out / "autograder" / week / "assignment.json").read_text())
    return [q["name"] for q in spec["questions"] if q["manual"]]


def with_written(
    nb: nbformat.NotebookNode, example: Example, week: str, repo: Path, out: Path
) -> nbformat.NotebookNode:
    """``nb`` with the example's written answers and saved plots (see
    ``course.Example``)."""
    nb = copy.deepcopy(nb)
    blocks = dict(zip(manual_names(week, out), manual_blocks(nb)))
    for question, name in example.written.items():
        cell = next(
            c
            for c in blocks[question]
            if c.cell_type == "markdown" and ANSWER_TAG in c.metadata.get("tags", [])
        )
        cell.source = (repo / WRITTEN / name).read_text().strip()
    for question, name in example.plots.items():
        cell = next(c for c in blocks[question] if c.cell_type == "code")
        png = (repo / WRITTEN / name).read_bytes()
        code = repo / WRITTEN / f"{Path(name).stem}_code.txt"
        cell.source = code.read_text().strip()
        cell.execution_count = 1
        cell.outputs = [
            nbformat.v4.new_output(
                "display_data",
                data={
                    "image/png": base64.b64encode(png).decode(),
                    "text/plain": "<Figure size 400x300 with 1 Axes>",
                },
            )
        ]
    return nb


def write_examples(week: Week, repo: Path, out: Path) -> None:
    """``examples/submissions/<week>/``: the registry's example submissions, written
    afresh (a renamed example must not linger)."""
    release = out / "assignments" / week.name
    student = nbformat.read(release / f"{week.name}.ipynb", as_version=4)
    answers_file = repo / "examples" / "answers" / f"{week.name}_independent.py"
    full = (
        complete(student, answers_file.read_text()) if answers_file.exists() else None
    )
    folder = out / "examples" / "submissions" / week.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for example in week.examples:
        nb = variant(example, student, full, week.name)
        if example.written or example.plots:
            nb = with_written(nb, example, week.name, repo, out)
        if not example.files:
            nbformat.write(nb, folder / f"{example.name}.ipynb")
            continue
        target = folder / example.name
        target.mkdir()
        nbformat.write(nb, target / f"{week.name}.ipynb")
        for name, source in example.files.items():
            (target / name).write_bytes(companion_bytes(source, week.name, repo, out))


def variant(
    example: Example,
    student: nbformat.NotebookNode,
    full: nbformat.NotebookNode | None,
    week: str,
) -> nbformat.NotebookNode:
    """The notebook of one example: untouched, complete, or complete with a slip."""
    if not example.answers:
        return student
    if full is None:
        raise FileNotFoundError(
            f"examples/answers/{week}_independent.py is missing "
            f"(example {example.name} needs it)"
        )
    nb = full
    if example.replace:
        nb = with_replaced(nb, *example.replace)
    if example.extra_cell:
        nb = with_extra_cell(nb, example.extra_cell)
    return nb


def companion_bytes(source: str, week: str, repo: Path, out: Path) -> bytes:
    """A companion file from ``solution:``, ``release:`` or ``copy:`` (see
    ``course.Example``)."""
    kind, _, name = source.partition(":")
    if kind == "solution":
        from gene46100.build.markup import strip_assign_markup

        text = (repo / "solutions" / week / name).read_text()
        return strip_assign_markup(text).encode()
    if kind == "release":
        return (out / "assignments" / week / name).read_bytes()
    if kind == "copy":
        return (repo / name).read_bytes()
    raise ValueError(
        f"example file source {source!r}: expected solution:, release: or copy:"
    )
