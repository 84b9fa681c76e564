"""Rendering an answer: once per answer (the store keeps the HTML), within a budget
of CPU time and HTML, with whatever is past a limit shown as source and a note for
the TA. The browser's side (each page loads in under 2 s) is in
``test_review_browser.py``."""

from __future__ import annotations

import base64
import itertools
import json
import sqlite3
import time

import pytest
from review_helpers import (
    HUGE_TABLE,
    LATEX_BOMB,
    MANY_FORMULAS,
    NESTED,
    PNG,
    batch,
    bomb_batch,
    plot_output,
)

from gene46100.review import render
from gene46100.review.server import create_app
from gene46100.review.store import DB_NAME, Store

TOKEN = "the-token"


def markdown(*sources: str) -> list[dict]:
    return [{"cell_type": "markdown", "metadata": {}, "source": s} for s in sources]


def rendered(*sources: str) -> str:
    return render.answer_html({"cells": markdown(*sources)})[0]


# ---------------------------------------------------------------- the budget
def test_an_ordinary_answer_with_50_formulas_renders_fully():
    derivation = " ".join(
        rf"Step {i}: $\hat\beta_{{{i}}} = (X^\top X)^{{-1}} X^\top y$,"
        for i in range(40)
    )
    aligned = "\n\n".join(
        r"$$\nabla_\beta L = -\frac{2}{n} X^\top (y - X\beta) + \lambda_%d$$" % i
        for i in range(10)
    )
    table = "| lr | loss |\n|---|---|\n" + "| 0.1 | 0.25 |\n" * 30
    code = {"cell_type": "code", "source": "plt.show()", "outputs": plot_output()}
    started = time.thread_time()
    cells_html, _ = render.answer_html(
        {"cells": [*markdown(derivation, aligned, table), code]}
    )
    took = time.thread_time() - started
    assert cells_html.count("<math") == 50
    assert "Shown as source" not in cells_html and "math-source" not in cells_html
    assert (
        cells_html.count("<tr>") == 31 and 'src="data:image/png;base64,' in cells_html
    )
    assert took < render.ANSWER_SECONDS / 5, f"an ordinary answer took {took:.2f} s"


def test_the_latex_bomb_costs_milliseconds_and_a_bounded_page():
    started = time.thread_time()
    cells_html = rendered(*LATEX_BOMB)
    took = time.thread_time() - started
    assert took < 0.5, f"26 cells of 190 KB of TeX took {took:.2f} s of CPU"
    assert len(cells_html) < render.MAX_MARKUP + 3 * render.SOURCE_SHOWN
    assert "<math" not in cells_html  # each cell is past the per-cell cap
    assert "this cell has 190,0" in cells_html and "rendering stopped at" in cells_html
    assert "the answer itself is intact" in cells_html


def test_formulas_under_every_cap_of_their_own_stop_at_the_answers_budget():
    started = time.thread_time()
    cells_html = rendered(*MANY_FORMULAS)
    took = time.thread_time() - started
    assert took < render.ANSWER_SECONDS + 0.5
    assert 0 < cells_html.count("<math") < 3 * len(MANY_FORMULAS)
    assert cells_html.count("Shown as source from here on: rendering stopped at") == 1
    assert render.weight(cells_html) < render.MAX_MARKUP + 2 * render.SOURCE_SHOWN


def test_the_cpu_budget_is_checked_between_cells(monkeypatch):
    clock = itertools.count(0.0, 0.3)  # each look at the clock: 0.3 s more
    monkeypatch.setattr(render.time, "thread_time", lambda: next(clock))
    cells_html = rendered(*[f"cell {i}: $x_{i}$" for i in range(10)])
    assert 0 < cells_html.count("<math") < 10
    assert "Shown as source from here on: rendering stopped after 1 s of CPU" in (
        cells_html
    )
    assert "cell 9: $x_9$" in cells_html  # the rest, as the student wrote it


def test_markdown_nested_past_the_limit_is_shown_as_source_not_dropped():
    cells_html = rendered(*NESTED[:2], "after")
    assert cells_html.count("Markdown nested deeper than 20 levels") == 2
    assert "deep list" in cells_html and "deep quote" in cells_html
    assert "<p>after</p>" in cells_html  # the next cell renders
    shallow = rendered("- a\n  - b\n    - c")
    assert shallow.count("<ul>") == 3 and "Shown as source" not in shallow


def test_a_huge_table_is_shown_as_source():
    cells_html = rendered(*HUGE_TABLE)
    assert "<table" not in cells_html and "more than the 20,000 rendered" in cells_html
    assert len(cells_html) < 2 * render.SOURCE_SHOWN


def test_a_formula_too_long_to_convert_is_shown_as_its_source():
    latex = "+".join(["x"] * (render.MAX_FORMULA_CHARS // 2 + 1))
    cells_html = rendered(f"Long: ${latex}$ and short: $y^2$")
    assert cells_html.count("<math") == 1
    assert f'<code class="math-source">{latex}</code>' in cells_html


def test_a_pasted_image_does_not_count_toward_a_cells_cap():
    payload = base64.b64encode(base64.b64decode(PNG) * 3000).decode()
    assert len(payload) > 2 * render.MAX_CELL_CHARS
    cells_html = rendered(f"The plot: ![plot](data:image/png;base64,{payload})")
    assert f'src="data:image/png;base64,{payload}"' in cells_html
    assert "Shown as source" not in cells_html


def test_a_cell_the_renderer_fails_on_costs_only_that_cell(monkeypatch):
    plain = render.markdown_html

    def fragile(text, attachments=None, md=render.MARKDOWN):
        if "boom" in text:
            raise RecursionError("maximum recursion depth exceeded")
        return plain(text, attachments, md)

    monkeypatch.setattr(render, "markdown_html", fragile)
    cells_html = rendered("before", "boom", "after")
    assert "<p>before</p>" in cells_html and "<p>after</p>" in cells_html
    assert "the renderer failed (RecursionError)" in cells_html


def test_evidence_before_the_prompt_shares_the_answers_budget():
    cells_html, before_html = render.answer_html(
        {"cells": markdown(*MANY_FORMULAS), "before": markdown("$x$")}
    )
    assert "rendering stopped at" in cells_html
    assert "Shown as source from here on" in before_html and "<math" not in before_html


# ---------------------------------------------------------------- rendered once
@pytest.fixture
def counted(monkeypatch):
    """``render.answer_html``, counting its calls per answer (``calls``)."""
    calls: list[str] = []
    plain = render.answer_html

    def counting(entry):
        calls.append(json.dumps(entry, sort_keys=True)[:200])
        return plain(entry)

    monkeypatch.setattr(render, "answer_html", counting)
    return calls


def test_an_answer_is_rendered_once_not_on_every_view(tmp_path, counted):
    out = batch(tmp_path / "out")
    store = Store(out, "week1")
    first = len(counted)
    distinct = len({g.submission for g in store.grades()}) * len(store.question_names())
    assert 0 < first <= distinct  # at the scan: identical answers share one rendering
    client = create_app(store, TOKEN, port=1).test_client()
    client.get(f"/?token={TOKEN}")
    handle = store.grade_of("zoe_plot", "m1").handle
    for _ in range(3):
        page = client.get(f"/q/m1/a/{handle}").data.decode()
        assert "<math" in page
    Store(out, "week1")  # a restart
    assert len(counted) == first


def test_a_changed_answer_is_rendered_again(tmp_path, counted):
    out = batch(tmp_path / "out")
    store = Store(out, "week1")
    first = len(counted)
    path = out / "answers" / "zoe_plot.json"
    data = json.loads(path.read_text())
    data["manual"]["m1"]["cells"][0]["source"] = "Now: $$\\sum_i x_i$$"
    path.write_text(json.dumps(data))
    assert store.sync() == 1
    assert len(counted) == first + 1
    cells_html, _ = store.answer_html("zoe_plot", "m1")
    assert "<munderover>" in cells_html or "<msub>" in cells_html
    assert "nabla" not in cells_html and "∇" not in cells_html


def test_a_new_renderer_renders_every_answer_again(tmp_path, counted, monkeypatch):
    out = batch(tmp_path / "out")
    Store(out, "week1")
    first = len(counted)
    monkeypatch.setattr(render, "VERSION", render.VERSION + " (a fixed sanitiser)")
    store = Store(out, "week1")
    assert len(counted) == 2 * first
    with sqlite3.connect(store.path) as conn:
        versions = {v for (v,) in conn.execute("SELECT renderer FROM rendered")}
    assert versions == {render.VERSION}  # the old HTML is gone


def test_a_review_database_from_before_rendering_was_stored_opens(tmp_path):
    out = batch(tmp_path / "out")
    Store(out, "week1")
    with sqlite3.connect(out / DB_NAME) as conn:
        conn.execute("DROP TABLE rendered")
    store = Store(out, "week1")
    assert "<math" in store.answer_html("zoe_plot", "m1")[0]


def test_the_bombs_cost_their_budget_once_at_the_scan(tmp_path, counted):
    out = bomb_batch(tmp_path / "out")
    started = time.process_time()
    store = Store(out, "week1")
    assert time.process_time() - started < 4 * render.ANSWER_SECONDS
    started = time.process_time()
    for question in ("m1", "m2", "m3", "m4"):
        cells_html, _ = store.answer_html("rita_bombs", question)
        assert "Shown as source" in cells_html and len(cells_html) < 300_000
    assert time.process_time() - started < 0.2  # reading, not rendering
