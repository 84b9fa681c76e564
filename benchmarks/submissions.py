"""Batches of submissions for the grading benchmarks, written to a temp folder.

Made from a week's student release (``assignments/<week>/<week>.ipynb``) and the
independent answers (``examples/answers/<week>_independent.py``), in kinds so the
batch looks like a class: ``complete`` (every answer filled), ``partial`` (only the
first few answers filled, the rest still raise ``NotImplementedError``),
``untouched`` (the release as handed out) and, for week 1, ``wrong`` (complete but
one function has a typical mistake). Week 3a's submissions are folders: the notebook
with its companions (``predict.py``, ``model_weights.pt``) from the course's example
submissions (``examples/submissions/week3a/``): a complete student's for a complete
or partial notebook, the release's template for an untouched one.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import nbformat

from benchmarks.common import REPO
from gene46100 import course
from gene46100.build import examples

RELEASE = REPO / "assignments/week1/week1.ipynb"
ANSWERS = REPO / "examples/answers/week1_independent.py"
WEEKS = ("week1", "week2", "week3a", "week3b")
EXAMPLES = REPO / "examples/submissions"

# Share of each kind in a batch (a class where most students finish).
MIX = (("complete", 0.40), ("wrong", 0.25), ("partial", 0.20), ("untouched", 0.15))
# The training weeks: no typical-mistake variants, so complete takes wrong's share.
TRAINING_MIX = (("complete", 0.65), ("partial", 0.20), ("untouched", 0.15))


def mix_for(week: str) -> tuple[tuple[str, float], ...]:
    return MIX if week == "week1" else TRAINING_MIX


def release_for(week: str) -> Path:
    return REPO / "assignments" / week / f"{week}.ipynb"


def answers_for(week: str) -> Path:
    return REPO / "examples" / "answers" / f"{week}_independent.py"


# Typical mistakes, one function each (whole definitions, replacing the right one).
WRONG = {
    "mse_gradient": course.HALF_GRADIENT,
    "mse_loss": (
        "def mse_loss(y_hat, y):\n"
        "    # sums instead of averaging\n"
        "    residual = np.asarray(y_hat, float) - np.asarray(y, float)\n"
        "    return float(np.sum(residual**2))\n"
    ),
    "gradient_descent": (
        "def gradient_descent(X, y, lr, n_steps, beta0=None):\n"
        "    X = np.asarray(X, float)\n"
        "    beta = np.zeros(X.shape[1]) if beta0 is None else np.asarray(beta0)\n"
        "    rows = []  # forgets the starting point\n"
        "    for _ in range(n_steps):\n"
        "        beta = beta - lr * mse_gradient(X, y, beta)\n"
        "        rows.append(beta)\n"
        "    return np.array(rows)\n"
    ),
    "max_stable_lr": (
        "def max_stable_lr(X):\n"
        "    X = np.asarray(X, float)\n"
        "    # 1 / lambda_max of X^T X / m: a factor 2 off\n"
        "    top = np.linalg.svd(X, compute_uv=False)[0] ** 2\n"
        "    return float(X.shape[0] / top / 2)\n"
    ),
    "train": (
        'def train(model, x, y, lr, n_epochs, optimizer="sgd"):\n'
        "    opt = torch.optim.SGD(model.parameters(), lr=lr)  # ignores optimizer\n"
        "    history = []\n"
        "    for _ in range(n_epochs):\n"
        "        loss = nn.MSELoss()(model(x), y)\n"
        "        opt.zero_grad()\n"
        "        loss.backward()\n"
        "        opt.step()\n"
        "        history.append(loss.item())\n"
        "    return history\n"
    ),
}


def kinds_for(n: int, mix: tuple[tuple[str, float], ...] = MIX) -> list[str]:
    """``n`` kinds in ``mix`` proportions (largest remainder), interleaved."""
    exact = {kind: share * n for kind, share in mix}
    counts = {kind: int(value) for kind, value in exact.items()}
    by_remainder = sorted(
        exact, key=lambda k: counts[k] - exact[k]
    )  # stable: MIX order
    for kind in by_remainder[: n - sum(counts.values())]:
        counts[kind] += 1
    kinds, left = [], dict(counts)
    while len(kinds) < n:
        for kind, _ in mix:
            if left[kind]:
                kinds.append(kind)
                left[kind] -= 1
    return kinds


def answer_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The cells students fill in that define graded functions, in notebook order."""
    return [
        c
        for c in nb.cells
        if c.cell_type == "code"
        and examples.ANSWER_TAG in c.metadata.get("tags", [])
        and examples.defined_names(c.source)
    ]


def make_variant(
    kind: str,
    i: int,
    release: nbformat.NotebookNode,
    complete: nbformat.NotebookNode,
    definitions: dict[str, str],
) -> nbformat.NotebookNode:
    """Submission number ``i`` of the given kind (deterministic in ``i``)."""
    if kind == "untouched":
        return copy.deepcopy(release)
    nb = copy.deepcopy(complete)
    cells = answer_cells(nb)
    if kind == "partial":
        # The first 2..len-1 answers done, the rest left as stubs.
        done = 2 + i % max(1, len(cells) - 2)
        stubs = answer_cells(release)
        for cell, stub in zip(cells[done:], stubs[done:], strict=True):
            cell.source = stub.source
    elif kind == "wrong":
        names = sorted(WRONG)
        name = names[i % len(names)]
        cell = next(c for c in cells if name in examples.defined_names(c.source))
        cell.source = cell.source.replace(definitions[name], WRONG[name].rstrip("\n"))
    # Distinct files, as real students' are (a comment changes nothing graded).
    cells[0].source = f"# submission {i:02d} ({kind})\n" + cells[0].source
    return nb


def write_batch(folder: Path, n: int, week: str = "week1") -> list[Path]:
    """Write ``n`` submissions ``sNN_<kind>`` of ``week`` into ``folder`` (notebooks,
    or for week 3a folders with the companions); return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    release = nbformat.read(release_for(week), as_version=4)
    answers = answers_for(week).read_text()
    complete = examples.complete(release, answers)
    definitions = examples.top_level_definitions(answers)
    paths = []
    for i, kind in enumerate(kinds_for(n, mix_for(week))):
        nb = make_variant(kind, i, release, complete, definitions)
        if week == "week3a":
            path = folder / f"s{i:02d}_{kind}"
            path.mkdir(exist_ok=True)
            nbformat.write(nb, path / f"{week}.ipynb")
            companions = (
                EXAMPLES
                / week
                / ("bob_untouched" if kind == "untouched" else "alice_complete")
            )
            for companion in companions.iterdir():
                if companion.suffix != ".ipynb":
                    shutil.copyfile(companion, path / companion.name)
        else:
            path = folder / f"s{i:02d}_{kind}.ipynb"
            nbformat.write(nb, path)
        paths.append(path)
    return paths
