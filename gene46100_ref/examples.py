"""Example submissions for the demo and the tests, derived from the student release.

``examples/answers/<week>_independent.py`` holds a completion written apart from the
reference; each top-level definition replaces the answer cell of the student
notebook that defines the same name. Variants then break one thing each.
"""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import nbformat

ANSWER_TAG = "otter_answer_cell"
INFINITE_LOOP = "# an ungraded experiment that never stops\nwhile True:\n    pass\n"
HALF_GRADIENT = (
    "def mse_gradient(X, y, beta):\n"
    "    X, y, beta = (np.asarray(a, float) for a in (X, y, beta))\n"
    "    # the gradient of (1/2) MSE: a common slip\n"
    "    return X.T @ (X @ beta - y) / len(y)\n"
)


def top_level_definitions(source: str) -> dict[str, str]:
    """Map each top-level function/class name to its source text."""
    tree = ast.parse(source)
    return {node.name: ast.get_source_segment(source, node, padded=False)
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def answer_imports(source: str) -> str:
    tree = ast.parse(source)
    return "\n".join(ast.get_source_segment(source, n) for n in tree.body
                     if isinstance(n, (ast.Import, ast.ImportFrom)))


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


def with_replaced(nb: nbformat.NotebookNode, name: str, source: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and name in defined_names(cell.source):
            cell.source = source
            return nb
    raise KeyError(f"no cell defines {name}")


def with_extra_cell(nb: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """Insert an ungraded code cell right after the first answer cell."""
    nb = copy.deepcopy(nb)
    first = next(i for i, c in enumerate(nb.cells)
                 if ANSWER_TAG in c.metadata.get("tags", []))
    cell = nbformat.v4.new_code_cell(source)
    cell["id"] = "extra-cell"
    nb.cells.insert(first + 1, cell)
    return nb


def write_week1_examples(repo: Path, out: Path) -> None:
    """``examples/submissions/week1/``: complete, untouched, half gradient, loop."""
    student = nbformat.read(out / "assignments/week1/week1.ipynb", as_version=4)
    answers = (repo / "examples/answers/week1_independent.py").read_text()
    full = complete(student, answers)
    variants = {
        "alice_complete": full,
        "bob_untouched": student,
        "carol_half_gradient": with_replaced(full, "mse_gradient",
                                             "import numpy as np\n\n\n" + HALF_GRADIENT),
        "dave_infinite_loop": with_extra_cell(full, INFINITE_LOOP),
    }
    folder = out / "examples/submissions/week1"
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in variants.items():
        nbformat.write(nb, folder / f"{name}.ipynb")


FLIPPED_KERNEL = (
    "def conv1d_valid(signal, kernel):\n"
    "    signal, kernel = np.asarray(signal, float), np.asarray(kernel, float)\n"
    "    # np.convolve flips the kernel (true convolution): a common slip\n"
    "    return np.convolve(signal, kernel, mode=\"valid\")\n"
)


def write_week2_examples(repo: Path, out: Path) -> None:
    """``examples/submissions/week2/``: complete, untouched, flipped kernel (q1)."""
    student = nbformat.read(out / "assignments/week2/week2.ipynb", as_version=4)
    answers = (repo / "examples/answers/week2_independent.py").read_text()
    full = complete(student, answers)
    variants = {
        "alice_complete": full,
        "bob_untouched": student,
        "carol_flipped_kernel": with_replaced(full, "conv1d_valid",
                                              "import numpy as np\n\n\n" + FLIPPED_KERNEL),
    }
    folder = out / "examples/submissions/week2"
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in variants.items():
        nbformat.write(nb, folder / f"{name}.ipynb")


def write_week3b_examples(repo: Path, out: Path) -> None:
    """``examples/submissions/week3b/``: complete (independent answers), untouched."""
    student = nbformat.read(out / "assignments/week3b/week3b.ipynb", as_version=4)
    answers = (repo / "examples/answers/week3b_independent.py").read_text()
    folder = out / "examples/submissions/week3b"
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in {"alice_complete": complete(student, answers),
                     "bob_untouched": student}.items():
        nbformat.write(nb, folder / f"{name}.ipynb")


def write_week3a_examples(repo: Path, out: Path) -> None:
    """``examples/submissions/week3a/``: one folder per student, as handed in.

    ``alice_complete``: the notebook completed with the independent answers, the
    reference ``predict.py`` and the committed ``model_weights.pt``; ``bob_untouched``:
    the release's notebook and ``predict.py`` template, no weights.
    """
    import shutil

    from gene46100_ref.build import strip_assign_markup

    release = out / "assignments/week3a"
    student = nbformat.read(release / "week3a.ipynb", as_version=4)
    answers = (repo / "examples/answers/week3a_independent.py").read_text()
    folder = out / "examples/submissions/week3a"
    if folder.exists():
        shutil.rmtree(folder)  # a renamed example must not linger
    alice, bob = folder / "alice_complete", folder / "bob_untouched"
    for path in (alice, bob):
        path.mkdir(parents=True)
    nbformat.write(complete(student, answers), alice / "week3a.ipynb")
    script = (repo / "solutions/week3a/predict.py").read_text()
    (alice / "predict.py").write_text(strip_assign_markup(script))
    shutil.copyfile(repo / "solutions/week3a/model_weights.pt", alice / "model_weights.pt")
    nbformat.write(student, bob / "week3a.ipynb")
    shutil.copyfile(release / "predict.py", bob / "predict.py")
