"""An output folder to review, made without grading: ``records.jsonl`` and
``answers/<id>.json`` as ``gene46100 grade`` writes them, from notebooks built
here (the release with written answers, plots and hostile markup)."""

from __future__ import annotations

import json
from pathlib import Path

from gene46100.grader import answers

REPO = Path(__file__).resolve().parent.parent
RELEASE = REPO / "assignments/week1/week1.ipynb"
MANUAL = ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9a"
    "wAAAABJRU5ErkJggg=="
)
# Each vector sets window.__pwned (or opens a dialog) if it ever runs.
HOSTILE_MARKDOWN = "\n\n".join(
    [
        "Hostile answer. <script>window.__pwned = 'script';</script>",
        '<img src="x" onerror="window.__pwned = \'onerror\'">',
        "[a link](javascript:window.__pwned=1) and "
        '<a id="jslink" href="javascript:window.__pwned=\'href\'">click me</a>',
        "<svg><script>window.__pwned = 'svg'</script>"
        '<circle r="5" onload="window.__pwned=\'svgload\'"/></svg>',
        '<iframe src="javascript:alert(1)"></iframe>'
        '<form action="https://example.invalid"><input autofocus '
        "onfocus=\"window.__pwned='focus'\"></form>",
        "Math still renders: $\\sum_i x_i$ and $\\text{<script>alert(1)</script>}$",
    ]
)
HOSTILE_OUTPUTS = [
    {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "text/html": "<b>bold html</b><script>window.__pwned='html'</script>"
            "<img src=x onerror=\"window.__pwned='htmlimg'\">",
        },
    },
    {
        "output_type": "display_data",
        "metadata": {},
        "data": {"application/javascript": "window.__pwned = 'js'; alert(1);"},
    },
    {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg" '
            "onload=\"window.__pwned='svgimg'\"><script>alert(1)</script></svg>"
        },
    },
]


def release_cells() -> list[dict]:
    return json.loads(RELEASE.read_text())["cells"]


def notebook(written: dict[str, str], outputs: dict[str, list] | None = None) -> dict:
    """The week-1 release with ``written`` answers (question -> Markdown) and
    saved ``outputs`` on a question's code cell."""
    nb = json.loads(RELEASE.read_text())
    blocks = dict(zip(MANUAL, answers.manual_blocks(nb["cells"])))
    for question, text in written.items():
        cell = next(c for c in blocks[question] if c["cell_type"] == "markdown")
        cell["source"] = text
    for question, found in (outputs or {}).items():
        cell = next(c for c in blocks[question] if c["cell_type"] == "code")
        cell["source"] = "plt.plot(x, y)\nplt.show()"
        cell["outputs"] = found
    return nb


def make_out(out: Path, students: dict[str, dict]) -> Path:
    """``out`` holding a graded batch of ``students`` (id -> notebook dict)."""
    (out / "answers").mkdir(parents=True, exist_ok=True)
    lines = []
    for sid, nb in students.items():
        path = out / "_nb" / f"{sid}.ipynb"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(nb))
        found = answers.extract(path, MANUAL, RELEASE)
        answers.write_answers(out, sid, "week1", found)
        record = {"id": sid, "file": f"/submissions/{sid}.ipynb", "student": sid}
        lines.append(json.dumps({**record, "assignment": "week1", "status": "graded"}))
    (out / "records.jsonl").write_text("\n".join(lines) + "\n")
    return out


def plot_output() -> list[dict]:
    return [
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {"image/png": PNG, "text/plain": "<Figure>"},
        }
    ]


def batch(out: Path, n: int = 8) -> Path:
    """``n`` students: math answers, a plot, hostile markup and an empty one."""
    students = {
        f"student_{i:02d}_{'abcdefgh'[i % 8]}": notebook(
            {"m1": f"Answer {i}: $X^\\top X \\hat\\beta = X^\\top y$", "m5": "One."}
        )
        for i in range(n - 3)
    }
    students["zoe_plot"] = notebook(
        {"m1": "See $$\\nabla_\\beta L = 0$$", "m4": "The plot below."},
        {"m4": plot_output()},
    )
    students["mallory_hostile"] = notebook(
        {"m1": HOSTILE_MARKDOWN, "m4": "outputs"}, {"m4": HOSTILE_OUTPUTS}
    )
    students["eve_empty"] = notebook({})
    return make_out(out, students)


class Served:
    """The review app on a free port of 127.0.0.1, in a thread of this process."""

    def __init__(self, store, token: str = "test-token") -> None:
        import threading

        from werkzeug.serving import make_server

        from gene46100.review.server import create_app

        self.server = make_server("127.0.0.1", 0, None, threaded=True)
        port = self.server.server_port
        self.app = create_app(store, token, port)
        self.server.app = self.app
        self.url = f"http://127.0.0.1:{port}/?token={token}"
        self.base = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- rendering bombs
def nested_frac(size: int) -> str:
    """``\\frac{\\frac{...}{y}}{y}`` of about ``size`` characters."""
    depth = size // 10
    return r"\frac{" * depth + "x" + "}{y}" * depth


def long_sum(size: int) -> str:
    """``x^{0}+x^{1}+...`` of about ``size`` characters."""
    terms, length = [], 0
    while length < size:
        terms.append(f"x^{{{len(terms)}}}")
        length += len(terms[-1]) + 1
    return "+".join(terms)


# One student's 5 MB of TeX (26 cells of ~190 KB, each under intake's per-cell cap):
# 82 s of CPU and 46 MB of MathML on every view before answers had a budget.
LATEX_BOMB = [
    "$$" + (nested_frac if i % 2 else long_sum)(190_000) + "$$" for i in range(26)
]
# Formulas under every cap of their own (a cell, a formula): only the answer's
# budget stops them.
MANY_FORMULAS = ["\n\n".join(["$$" + long_sum(1_900) + "$$"] * 3)] * 26
NESTED = ["- " * 2000 + "deep list", "> " * 2000 + "deep quote", "<ul><li>" * 2000]
HUGE_TABLE = [
    "|" + "a|" * 20 + "\n|" + "-|" * 20 + "\n" + ("|" + "x|" * 20 + "\n") * 4500
]
BOMBS = {"m1": LATEX_BOMB, "m2": MANY_FORMULAS, "m3": NESTED, "m4": HUGE_TABLE}


def notebook_of_cells(written: dict[str, list[str]]) -> dict:
    """The week-1 release with each question of ``written`` answered in several
    Markdown cells."""
    nb = notebook({q: sources[0] for q, sources in written.items()})
    blocks = dict(zip(MANUAL, answers.manual_blocks(nb["cells"])))
    for question, sources in written.items():
        first = next(c for c in blocks[question] if c["cell_type"] == "markdown")
        at = next(i for i, c in enumerate(nb["cells"]) if c is first) + 1
        extra = [
            {"cell_type": "markdown", "metadata": {}, "source": s} for s in sources
        ]
        nb["cells"][at:at] = extra[1:]
    return nb


def bomb_batch(out: Path) -> Path:
    """``out`` with one student's rendering bombs (``BOMBS``) and an honest one."""
    students = {
        "rita_bombs": notebook_of_cells(BOMBS),
        "zoe_plot": notebook(
            {"m1": "See $$\\nabla_\\beta L = 0$$", "m4": "The plot below."},
            {"m4": plot_output()},
        ),
    }
    return make_out(out, students)
