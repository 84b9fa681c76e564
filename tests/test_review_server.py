"""The review app over HTTP (Flask's test client): refusals, CSRF, CSP, blind
grading, conflicts between TAs, inert rendering of hostile answers, and the CLI."""

from __future__ import annotations

import csv
import re

import pytest
from review_helpers import batch

from gene46100 import cli
from gene46100.review import cli as review_cli
from gene46100.review import render
from gene46100.review.server import create_app
from gene46100.review.store import Store, manual_grades

TOKEN = "the-token"


@pytest.fixture
def out(tmp_path):
    return batch(tmp_path / "out")


@pytest.fixture
def store(out):
    return Store(out, "week1")


@pytest.fixture
def app(store):
    return create_app(store, TOKEN, port=1)


def ta(app, name: str):
    """A logged-in client of TA ``name`` (token cookie and name set)."""
    client = app.test_client()
    assert client.get(f"/?token={TOKEN}").status_code == 302
    csrf = app.config["CSRF"]
    assert client.post("/name", data={"name": name, "csrf": csrf}).status_code == 302
    return client


def handle(store: Store, sid: str, question: str = "m1") -> str:
    return store.grade_of(sid, question).handle


@pytest.mark.parametrize("path", ["/", "/q/m1", "/q/m1/rubric", "/static/app.js"])
def test_requests_without_the_right_token_are_refused(app, path):
    client = app.test_client()
    assert client.get(path).status_code == 403
    assert client.get(f"{path}?token=wrong").status_code == 403
    client.set_cookie("g46review_1", "wrong")
    assert client.get(path).status_code == 403
    good = app.test_client()
    assert good.get(f"/?token={TOKEN}").status_code == 302  # sets the cookie
    assert good.get(path).status_code in (200, 302)


def test_two_servers_on_two_ports_keep_their_token_cookies_apart(store):
    one, two = create_app(store, port=46100), create_app(store, port=46101)
    client = one.test_client()
    assert client.get(f"/?token={one.config['TOKEN']}").status_code == 302
    cookie = client.get_cookie("g46review_46100")
    assert cookie.http_only and cookie.same_site == "Strict" and cookie.expires is None
    assert two.config["COOKIE"] == "g46review_46101"  # two servers: two cookies
    other = two.test_client()
    other.set_cookie("g46review_46100", cookie.value)  # the browser sends it to all
    assert other.get("/").status_code == 403
    other.set_cookie("g46review_46101", cookie.value)  # replayed under its name
    assert other.get("/").status_code == 403


def test_a_server_on_any_free_port_names_its_cookie_after_the_port_it_got(store):
    server = review_cli.bind(lambda p: create_app(store, TOKEN, p), "127.0.0.1", 0)
    try:
        assert server.server_port != 0
        assert server.app.config["COOKIE"] == f"g46review_{server.server_port}"
    finally:
        server.server_close()


def test_the_overview_counts_empty_answers_apart_from_grades_by_a_person(app, store):
    client = ta(app, "ann")
    store.set_item("m1", handle(store, "zoe_plot"), "1", True, 0, "ann")
    progress = store.progress()
    empty = sum(p["no_response"] for p in progress.values())
    page = client.get("/").data.decode()
    overall = re.search(r'id="overall">(.*?)</p>', page, re.S).group(1)
    assert " ".join(overall.split()).startswith(
        f"Overall: 1 graded by a person, {empty} no response (0, automatically)"
    )
    row = re.search(r'<tr id="progress-m1">(.*?)</tr>', page, re.S).group(1)
    assert '<td class="graded">1</td>' in row
    assert f'<td class="no-response">{progress["m1"]["no_response"]}</td>' in row


def test_a_foreign_host_header_is_refused(app):
    client = app.test_client()
    response = client.get(f"/?token={TOKEN}", headers={"Host": "evil.example:80"})
    assert response.status_code == 403


def test_writes_without_the_csrf_token_are_refused(app, store):
    client = ta(app, "ann")
    h = handle(store, "zoe_plot")
    data = {"item": "1", "on": "1", "version": "0"}
    assert client.post(f"/q/m1/a/{h}/item", data=data).status_code == 403
    wrong = {**data, "csrf": "guess"}
    assert client.post(f"/q/m1/a/{h}/item", data=wrong).status_code == 403
    good = {**data, "csrf": app.config["CSRF"]}
    foreign = {"Origin": "http://evil.example"}
    assert (
        client.post(f"/q/m1/a/{h}/item", data=good, headers=foreign).status_code == 403
    )
    assert store.grade("m1", h).items == []  # nothing applied
    assert client.post(f"/q/m1/a/{h}/item", data=good).status_code == 302
    assert store.grade("m1", h).items == ["1"]


def test_pages_forbid_inline_script_and_foreign_content(app):
    client = ta(app, "ann")
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy and "img-src 'self' data:" in policy


def test_grading_is_blind_unless_the_ta_reveals_names(app, store):
    client = ta(app, "ann")
    response = client.get("/q/m1")
    page = client.get(response.headers["Location"]).data.decode()
    grade = store.grade("m1", response.headers["Location"].rsplit("/", 1)[1])
    assert grade.submission not in page and grade.file not in page
    shown = client.get(f"/q/m1/a/{grade.handle}?reveal=1").data.decode()
    assert grade.submission in shown and grade.file in shown


def test_next_ungraded_follows_the_shuffled_queue_and_skips_empty(app, store):
    client = ta(app, "ann")
    seen = []
    for _ in range(10):
        location = client.get("/q/m1").headers["Location"]
        if "/a/" not in location:
            break
        h = location.rsplit("/", 1)[1]
        seen.append(store.grade("m1", h).submission)
        data = {"csrf": app.config["CSRF"], "version": "0", "next": "1"}
        assert client.post(f"/q/m1/a/{h}/save", data=data).status_code == 302
    assert seen == [g.submission for g in store.grades("m1") if not g.placeholder]
    assert "eve_empty" not in seen
    assert "done=m1" in client.get("/q/m1").headers["Location"]
    with_empty = client.get("/q/m1?empty=1").headers["Location"]
    assert store.grade("m1", with_empty.split("/")[-1].split("?")[0]).placeholder


def test_two_tas_on_one_answer_get_a_conflict_not_a_lost_update(app, store):
    ann, bob = ta(app, "ann"), ta(app, "bob")
    h = handle(store, "zoe_plot")
    ann.get(f"/q/m1/a/{h}")
    bob.get(f"/q/m1/a/{h}")  # both opened version 0
    csrf, js = app.config["CSRF"], {"Accept": "application/json"}
    first = ann.post(
        f"/q/m1/a/{h}/item",
        data={"csrf": csrf, "item": "1", "on": "1", "version": "0"},
        headers=js,
    )
    assert first.status_code == 200 and first.json["version"] == 1
    second = bob.post(
        f"/q/m1/a/{h}/save",
        data={"csrf": csrf, "comment": "bob's view", "version": "0"},
        headers=js,
    )
    assert second.status_code == 409
    assert second.json["current"]["grader"] == "ann"
    page = bob.post(
        f"/q/m1/a/{h}/item", data={"csrf": csrf, "item": "2", "on": "1", "version": "0"}
    )
    assert page.status_code == 409 and b"Not saved" in page.data
    grade = store.grade("m1", h)
    assert (grade.items, grade.comment, grade.grader) == (["1"], "", "ann")


def test_rubric_edit_over_http_rescores(app, store):
    client = ta(app, "ann")
    for sid in ("zoe_plot", "student_00_a"):
        store.set_item("m1", handle(store, sid), "3", True, 0, "ann")
    item = store.item("m1", "3")
    data = {
        "csrf": app.config["CSRF"],
        "points": "0.75",
        "text": item.text,
        "note": "",
        "version": str(item.version),
    }
    assert client.post("/q/m1/rubric/3", data=data).status_code == 302
    grades = manual_grades(store.out_dir)
    assert grades["zoe_plot"]["m1"]["score"] == 0.75
    assert grades["student_00_a"]["m1"]["score"] == 0.75
    assert client.post("/q/m1/rubric/3", data=data).status_code == 409  # stale


EVENT_ATTRIBUTE = re.compile(r"<[^>]+\son\w+\s*=", re.I)


def test_hostile_answers_are_sanitised_on_the_server(app, store):
    client = ta(app, "ann")
    for question in ("m1", "m4"):
        page = client.get(
            f"/q/{question}/a/{handle(store, 'mallory_hostile', question)}"
        )
        html = page.data.decode()
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts == ['<script src="/static/app.js" defer>'], scripts
        assert not EVENT_ATTRIBUTE.search(html)
        assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", html, re.I)
        assert "<svg" not in html and "<iframe" not in html
    m4 = client.get(f"/q/m4/a/{handle(store, 'mallory_hostile', 'm4')}").data.decode()
    assert "<b>bold html</b>" in m4  # text/html output: shown, sanitised
    assert "application/javascript output, shown as text, not run" in m4
    assert 'src="data:image/svg+xml;base64,' in m4  # SVG only as an image


def test_math_is_rendered_to_mathml_on_the_server():
    html = render.markdown_html(r"$\hat\beta = (X^\top X)^{-1}X^\top y$ and $$a^2$$")
    assert html.count("<math") == 2 and "<mfrac" not in html and "<msup>" in html
    assert "<code" in render.markdown_html(r"$\frac{1}{$")  # bad TeX: source shown


def test_review_cli_exports_and_imports(out, tmp_path, capsys):
    path = tmp_path / "g.csv"
    assert cli.main(["review", "week1", "--out", str(out), "--export", str(path)]) == 0
    rows = list(csv.DictReader(path.open()))
    row = next(
        r for r in rows if (r["submission"], r["question"]) == ("zoe_plot", "m2")
    )
    row[next(c for c in rows[0] if c.startswith("m2:1 "))] = "1"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    args = ["review", "week1", "--out", str(out), "--import", str(path)]
    assert cli.main([*args, "--grader", "dana"]) == 0
    assert "1 answer(s) changed" in capsys.readouterr().out
    got = manual_grades(out)["zoe_plot"]["m2"]
    assert got["grader"] == "dana" and got["score"] == 0.4
    row[next(c for c in rows[0] if c.startswith("m2:2 "))] = "perhaps"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert cli.main(args) == 1
    assert "column 'm2:2 (+0.2)'" in capsys.readouterr().err


def test_review_cli_refuses_a_folder_with_nothing_graded(tmp_path, capsys):
    assert cli.main(["review", "week1", "--out", str(tmp_path)]) == 2
    assert "run `gene46100 grade week1" in capsys.readouterr().err
    assert cli.main(["review", "week9", "--out", str(tmp_path)]) == 2
