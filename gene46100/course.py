"""The course registry: one record per week, read by every other part of the tool.

Adding a week starts here: its master notebook, the files students get beside the
notebook (simulated data, script templates), the files graded beside the notebook
(companions) and the example submissions the build writes. A question's points, CPU
budget (``budget``) and review topic (``topic``) sit in its config in the master, and
reach the tool through the build (``autograder/<week>/assignment.json``).
The build, the hidden checks, intake, the reports, the tests and the Makefile all
read this module; none of them lists weeks or per-week files of its own.

It imports nothing heavy (no torch, no numpy), so intake and refusals stay fast.
"""

from __future__ import annotations

import difflib
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GRADING_SEED = 46100  # hidden inputs: fixed per (seed, week, question)
GENERIC_TOPIC = "this question's section of the notebook and its public tests"


class UnknownWeek(KeyError):
    """A week the course does not have; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Example:
    """One example submission the build writes to ``examples/submissions/<week>/``.

    ``answers``: complete the release with ``examples/answers/<week>_independent.py``
    (else the untouched release, which must score 0). ``loses``: the questions a
    completed example must lose points on (none: full marks); the tests and the
    README's demo read it. ``replace``: (name, source) of one answer swapped
    for a typical mistake. ``extra_cell``: a cell appended after the first answer.
    ``files``: companion files, ``name -> source``, where the source is
    ``solution:<name>`` (the master's script, solutions kept), ``release:<name>``
    (the student template) or ``copy:<path>`` (a repository file); a submission with
    files is a folder, as a student would hand it in. ``written``: manual question
    -> a Markdown file in ``examples/answers/written/``, the written answer (a
    manual question not named keeps the placeholder: "No response").
    ``plots``: manual question -> a PNG there, saved as the output of the
    question's code cell (whose code is ``<name>_code.txt`` beside it), as if the
    student had run it.
    """

    name: str
    what: str
    answers: bool = True
    loses: tuple[str, ...] = ()
    replace: tuple[str, str] | None = None
    extra_cell: str = ""
    files: dict[str, str] = field(default_factory=dict)
    written: dict[str, str] = field(default_factory=dict)
    plots: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Week:
    """One assignment: where its master is and everything the tool needs to know."""

    name: str
    title: str
    examples: tuple[Example, ...]
    release_data: tuple[int, int] | None = None  # (n_windows, seed) for tfdata
    release_scripts: tuple[str, ...] = ()  # templates from solutions/<week>/
    companions: tuple[str, ...] = ()  # graded beside the notebook
    # Exported names that are an earlier week's code: the master keeps a copy (the
    # student notebook stands alone), the reference imports the original.
    reuses: tuple[str, ...] = ()
    # Packages the notebook needs beyond numpy, pandas, torch, matplotlib and
    # otter-grader (pinned from constraints.txt by the notebook's setup cell).
    packages: tuple[str, ...] = ()
    # The week's assignment in the course's Canvas: an exact title, or "Title (id)"
    # (Canvas's assignment id, once the course site exists). `gene46100 canvas`
    # fills only that column; "" means "Week 1" for week1.
    canvas: str = ""

    def canvas_name(self) -> str:
        """The Canvas assignment this week's grades go to (title or "Title (id)")."""
        return self.canvas or "Week " + self.name.removeprefix("week")

    def master(self, repo: Path = REPO) -> Path:
        return repo / "solutions" / self.name / f"{self.name}.ipynb"

    @property
    def budgets(self) -> dict[str, float]:
        """Graded question -> CPU seconds for its hidden tests: the ``budget`` of its
        question config in the master, as the build wrote it to assignment.json."""
        return {q["name"]: float(q["budget"]) for q in autograded(self.name)}

    @property
    def review_topics(self) -> dict[str, str]:
        """Graded question -> what a student who lost points should review: the
        ``topic`` of its question config in the master (through the build)."""
        return {q["name"]: q["topic"] for q in autograded(self.name)}

    def topic(self, question: str) -> str:
        return self.review_topics.get(question, GENERIC_TOPIC)


def autograded(week: str, repo: Path = REPO) -> list[dict]:
    """The autograded questions of ``autograder/<week>/assignment.json`` (name,
    points, budget, topic): what the build took from the master's question configs.

    Raises:
        FileNotFoundError: the week is not built (``make build``).
    """
    path = repo / "autograder" / week / "assignment.json"
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is missing: run `make build`") from None
    return [q for q in _spec(path, stamp)["questions"] if not q["manual"]]


@functools.lru_cache(maxsize=16)
def _spec(path: Path, stamp: int) -> dict:
    """``path`` parsed, once per version of it (``stamp``: its mtime)."""
    return json.loads(path.read_text())


HALF_GRADIENT = (
    "def mse_gradient(X, y, beta):\n"
    "    X, y, beta = (np.asarray(a, float) for a in (X, y, beta))\n"
    "    # the gradient of (1/2) MSE: a common slip\n"
    "    return X.T @ (X @ beta - y) / len(y)\n"
)
FLIPPED_KERNEL = (
    "def conv1d_valid(signal, kernel):\n"
    "    signal, kernel = np.asarray(signal, float), np.asarray(kernel, float)\n"
    "    # np.convolve flips the kernel (true convolution): a common slip\n"
    '    return np.convolve(signal, kernel, mode="valid")\n'
)
INFINITE_LOOP = "# an ungraded experiment that never stops\nwhile True:\n    pass\n"
COMPLETE = Example("alice_complete", "complete (independent answers): full marks")
ALICE_WRITTEN = {  # week 1: written answers with math, one with a plot
    "m1": "week1_alice_m1.md",
    "m3": "week1_alice_m3.md",
    "m4": "week1_alice_m4.md",
    "m5": "week1_alice_m5.md",
}
UNTOUCHED = Example("bob_untouched", "the release as is: 0", answers=False)

WEEK1 = Week(
    name="week1",
    title="linear regression to an MLP",
    examples=(
        Example(
            "alice_complete",
            "complete (independent answers): full marks; m1, m3-m5 written "
            "(math, a plot), m2, m6, m7 left empty",
            written=ALICE_WRITTEN,
            plots={"m4": "week1_alice_m4.png"},
        ),
        UNTOUCHED,
        Example(
            "carol_half_gradient",
            "gradient half the right answer: loses q3 only; m1 and m5 written "
            "(with mistakes a rubric deducts for)",
            loses=("q3",),
            replace=("mse_gradient", "import numpy as np\n\n\n" + HALF_GRADIENT),
            written={"m1": "week1_carol_m1.md", "m5": "week1_carol_m5.md"},
        ),
        Example(
            "dave_infinite_loop",
            "an infinite loop in an ungraded cell: bounded, the rest graded",
            extra_cell=INFINITE_LOOP,
        ),
    ),
)

WEEK2 = Week(
    name="week2",
    title="CNNs for DNA scoring",
    examples=(
        Example(
            "alice_complete",
            "complete (independent answers): full marks; m1 written (math)",
            written={"m1": "week2_alice_m1.md"},
        ),
        UNTOUCHED,
        Example(
            "carol_flipped_kernel",
            "convolution flips the kernel: loses q1 only",
            loses=("q1",),
            replace=("conv1d_valid", "import numpy as np\n\n\n" + FLIPPED_KERNEL),
        ),
    ),
    packages=("logomaker",),
)

WEEK3A = Week(
    name="week3a",
    title="TF-binding project",
    examples=(
        Example(
            "alice_complete",
            "complete, with predict.py and model_weights.pt: full marks",
            files={
                "predict.py": "solution:predict.py",
                "model_weights.pt": "copy:solutions/week3a/model_weights.pt",
            },
        ),
        Example(
            "bob_untouched",
            "the release and its predict.py template: 0",
            answers=False,
            files={"predict.py": "release:predict.py"},
        ),
    ),
    release_data=(4000, 46100),
    release_scripts=("predict.py",),
    reuses=("get_device", "one_hot_encode"),
    packages=("pyjaspar", "logomaker", "janggu"),
    companions=("model_weights.pt", "predict.py"),
)

WEEK3B = Week(
    name="week3b",
    title="hyper-parameter tuning",
    examples=(COMPLETE, UNTOUCHED),
    release_data=(2000, 46103),
    reuses=("get_device", "one_hot_encode"),
)

COURSE: dict[str, Week] = {w.name: w for w in (WEEK1, WEEK2, WEEK3A, WEEK3B)}
WEEKS: tuple[str, ...] = tuple(COURSE)  # in course order: later weeks reuse earlier


def week(name: str) -> Week:
    """The week called ``name``; ``UnknownWeek`` lists the known ones (and the
    likely one, for a case or typing slip)."""
    if name in COURSE:
        return COURSE[name]
    raise UnknownWeek(
        f"unknown week {name!r}{suggestion(name)}; known weeks: {', '.join(WEEKS)}"
    )


def suggestion(name: str) -> str:
    """``" (did you mean 'week1'?)"`` for a near miss, else ``""``."""
    lowered = {w.lower(): w for w in WEEKS}
    close = lowered.get(name.lower()) or next(
        iter(difflib.get_close_matches(name.lower(), list(lowered), n=1)), None
    )
    if close:
        return f" (did you mean {lowered.get(close, close)!r}?)"
    return ""


def earlier(name: str) -> tuple[str, ...]:
    """The weeks before ``name``, whose exported code ``name`` may reuse."""
    return WEEKS[: WEEKS.index(week(name).name)]


if __name__ == "__main__":  # ``python -m gene46100.course``: the weeks, for make
    print(" ".join(WEEKS))
