"""The review app in a real browser: Playwright drives the Debian chromium
(``/usr/bin/chromium``, from ``scripts/ensure-chromium.sh``; never a downloaded
browser). Keyboard grading, rubric rescoring, SIGKILL and restart, hostile answers,
rendering bombs, two TAs at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from review_helpers import BOMBS, REPO, Served, batch, bomb_batch

from gene46100.review import render
from gene46100.review.store import Store, manual_grades

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every attribute whose name starts with "on", and every script element.
INLINE = """() => {
  const handlers = [...document.querySelectorAll('*')].flatMap((el) =>
    [...el.attributes].filter((a) => a.name.startsWith('on')).map((a) => a.name));
  const scripts = [...document.querySelectorAll('script')]
    .map((s) => s.src || 'inline');
  return {handlers, scripts};
}"""


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (scripts/ensure-chromium.sh)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def expect():
    from playwright.sync_api import expect

    return expect


@pytest.fixture
def out(tmp_path):
    return batch(tmp_path / "out")


def start_server(out: Path) -> tuple[subprocess.Popen, str]:
    """``gene46100 review`` as a TA runs it; returns the process and its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gene46100", "review", "week1", "--out", str(out)]
        + ["--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("open: "):
            return proc, line.split(" ", 1)[1].strip()
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("the review server printed no URL")


def name_myself(page, url: str, name: str) -> None:
    page.goto(url)
    page.fill("input[name=name]", name)
    page.click("form.name button")
    page.wait_for_selector("a.button")


def ready(page) -> None:
    """The page's script has run (its keys work)."""
    page.wait_for_selector("body[data-ready='1']", state="attached")


def grade_of(out: Path, handle: str):
    return next(g for g in Store(out, "week1").grades("m1") if g.handle == handle)


def test_keyboard_grading_rescoring_and_sigkill_lose_nothing(browser, out, expect):
    proc, url = start_server(out)
    page = browser.new_page()
    try:
        name_myself(page, url, "Ann")
        page.click("#progress-m1 a.button")  # grade next
        ready(page)
        first = page.url.rsplit("/", 1)[1]
        page.keyboard.press("1")
        page.keyboard.press("2")
        expect(page.locator("#score")).to_have_text("0.5")
        page.keyboard.press("c")
        page.keyboard.type("Clear derivation.")
        page.keyboard.press("Escape")
        page.keyboard.press("n")  # save, next ungraded
        page.wait_for_url(lambda u: first not in u and "/a/" in u)
        ready(page)
        second = page.url.rsplit("/", 1)[1]
        page.keyboard.press("3")
        expect(page.locator("#score")).to_have_text("0.25")
        os.kill(proc.pid, signal.SIGKILL)  # mid-way: the second answer is open
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    a = grade_of(out, first)
    assert (a.items, a.comment, a.grader) == (["1", "2"], "Clear derivation.", "Ann")
    assert grade_of(out, second).items == ["3"]
    proc, url = start_server(out)  # restarted: a new token, the same store
    try:
        name_myself(page, url, "Ann")
        page.goto(url.split("?")[0] + f"q/m1/a/{second}")
        expect(page.locator('button.item[data-item="3"]')).to_have_attribute(
            "aria-pressed", "true"
        )
        page.goto(url.split("?")[0] + "q/m1/rubric")
        row = page.locator("#item-1")
        row.locator("input[name=points]").fill("0.5")
        row.locator("button").click()
        page.wait_for_load_state()
        page.goto(url.split("?")[0] + f"q/m1/a/{first}")
        expect(page.locator("#score")).to_have_text("0.75")  # rescored
    finally:
        proc.kill()
        proc.wait(timeout=10)
    sid = grade_of(out, first).submission
    assert manual_grades(out)[sid]["m1"]["score"] == 0.75


def visit_hostile(page, served: Served, store: Store) -> None:
    for question in ("m1", "m4"):
        handle = store.grade_of("mallory_hostile", question).handle
        page.goto(f"{served.base}/q/{question}/a/{handle}")
        page.wait_for_load_state("load")
        links = page.locator("#answer a", has_text="click me")
        if links.count():
            links.first.click()
        page.mouse.move(10, 10)
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.__pwned") is None


def test_hostile_answers_render_inert_in_a_real_browser(browser, out):
    store = Store(out, "week1")
    served = Served(store)
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        name_myself(page, served.url, "Ann")
        visit_hostile(page, served, store)
        found = page.evaluate(INLINE)
        assert found["handlers"] == []
        assert [s.rsplit("/", 1)[1] for s in found["scripts"]] == ["app.js"]
        assert page.locator("#answer img[src^='data:image/svg+xml']").count() == 1
        assert page.locator("#answer b", has_text="bold html").count() == 1
        page.goto(f"{served.base}/q/m1/a/{store.grade_of('zoe_plot', 'm1').handle}")
        assert page.locator("#answer math").count() == 1  # $$...$$ as MathML
    finally:
        served.close()
    assert dialogs == []


def test_the_csp_alone_stops_script_that_got_past_the_sanitiser(
    browser, out, monkeypatch
):
    monkeypatch.setattr(render, "sanitise", lambda fragment, attachments=None: fragment)
    store = Store(out, "week1")
    served = Served(store)
    page = browser.new_page()
    dialogs, blocked = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: blocked.append(m.text))
    try:
        name_myself(page, served.url, "Ann")
        visit_hostile(page, served, store)
        found = page.evaluate(INLINE)
        assert "onerror" in found["handlers"]  # the markup did reach the page...
        assert "inline" in found["scripts"]
    finally:
        served.close()
    assert dialogs == []  # ... and none of it ran
    assert any("Content Security Policy" in m for m in blocked)


def test_two_tas_in_two_browsers_get_a_conflict(browser, out, expect):
    store = Store(out, "week1")
    served = Served(store)
    ann, bob = browser.new_context(), browser.new_context()
    try:
        pages = []
        for context, name in ((ann, "Ann"), (bob, "Bob")):
            page = context.new_page()
            name_myself(page, served.url, name)
            page.goto(f"{served.base}/q/m1/a/{store.grade_of('zoe_plot', 'm1').handle}")
            ready(page)
            pages.append(page)
        pages[0].keyboard.press("1")
        expect(pages[0].locator("#score")).to_have_text("0.25")
        pages[1].keyboard.press("2")
        expect(pages[1].locator("#conflict")).to_contain_text("Ann changed this answer")
    finally:
        served.close()
        ann.close()
        bob.close()
    grade = store.grade_of("zoe_plot", "m1")
    assert (grade.items, grade.grader) == (["1"], "Ann")


def open_timed(page, url: str) -> tuple[float, int]:
    """Seconds from navigation to ``load`` (the server's reply included), and the
    bytes of HTML served."""
    started = time.monotonic()
    response = page.goto(url, wait_until="load", timeout=20_000)
    return time.monotonic() - started, len(response.body())


def test_every_page_of_the_rendering_bombs_loads_in_under_2_s(
    browser, tmp_path, expect
):
    store = Store(bomb_batch(tmp_path / "out"), "week1")
    served = Served(store)
    page = browser.new_page()
    found = {}
    try:
        name_myself(page, served.url, "Ann")
        for question in BOMBS:  # the LaTeX bomb, formulas, nesting, a huge table
            handle = store.grade_of("rita_bombs", question).handle
            took, size = open_timed(page, f"{served.base}/q/{question}/a/{handle}")
            found[question] = (round(took, 2), size)
            expect(page.locator("#answer .source-note").first).to_contain_text(
                "the answer itself is intact"
            )
            assert page.locator("#answer math").count() < 50
    finally:
        served.close()
    assert all(took < 2.0 and size < 2_000_000 for took, size in found.values()), found
