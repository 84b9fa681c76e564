"""The review app (Flask): grade one question across all submissions.

Security (the trust model's goal 13):

- every request needs the server's random token: ``?token=`` in the printed URL
  (then kept in an ``HttpOnly``, ``SameSite=Strict`` session cookie named after
  this port, ``g46review_<port>``, so two review servers never overwrite each
  other's), or an ``Authorization: token ...`` header; without it: 403. The token is
  new each time the server starts; a cookie made for another port is never accepted
  (another name, another token);
- every write (POST) needs the CSRF token the pages carry (form field ``csrf`` or
  header ``X-CSRF-Token``), and a cross-origin ``Origin`` is refused;
- bound to 127.0.0.1, the ``Host`` header must name this machine (no DNS
  rebinding);
- the pages' Content-Security-Policy allows scripts only from this server's
  ``/static/`` (no inline script, no ``eval``), images from here and ``data:``, and
  no frames, forms or connections elsewhere; student content is sanitised
  (``render``).

The limit, as with Jupyter: browsers do not keep cookies apart by port. The browser
sends this server's cookie to every server on 127.0.0.1 it opens, whatever the
port, so a program listening on another local port (another user's, on a shared
machine) that the TA opens in the same browser receives the token and could use it
here until this server stops. Nothing in a plain-HTTP cookie can bind it to one port
(``__Host-`` cookies need HTTPS, and ``SameSite`` ignores ports). So on a shared
machine, grade in a browser profile (or private window) used for nothing else;
stopping the server (Ctrl-C) ends any use of the token.

Concurrency: each page carries the version of what it shows; a write naming an
older version gets 409 and the current state, never a silent overwrite.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup

from gene46100.review import render
from gene46100.review.store import Conflict, Grade, Store

HERE = Path(__file__).resolve().parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
MAX_COMMENT = 10_000
MAX_NAME = 60


def create_app(
    store: Store, token: str | None = None, port: int = 0, loopback: bool = True
) -> Flask:
    """The app for ``store``; ``token`` (random when omitted) guards every request."""
    app = Flask(
        __name__,
        template_folder=str(HERE / "templates"),
        static_folder=str(HERE / "static"),
    )
    app.config.update(
        STORE=store,
        TOKEN=token or secrets.token_urlsafe(24),
        CSRF=secrets.token_urlsafe(24),
        COOKIE=f"g46review_{port}",
        GRADER_COOKIE=f"g46grader_{port}",
        LOOPBACK=loopback,
        MAX_CONTENT_LENGTH=1_000_000,
    )
    app.before_request(guard)
    app.after_request(headers)
    register_pages(app)
    register_writes(app)
    return app


# ---------------------------------------------------------------- guards
def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def supplied_token() -> str:
    from flask import current_app as app

    header = request.headers.get("Authorization", "")
    return (
        request.args.get("token")
        or request.cookies.get(app.config["COOKIE"])
        or (header[len("token ") :] if header.startswith("token ") else "")
    )


def refuse(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def guard() -> Response | None:
    from flask import current_app as app

    host = (request.host or "").rsplit(":", 1)[0]
    if app.config["LOOPBACK"] and host not in LOOPBACK:
        return refuse(403, "refused: this server answers only to 127.0.0.1")
    if not same(supplied_token(), app.config["TOKEN"]):
        return refuse(403, "refused: a valid token is required (use the printed URL)")
    if request.method != "GET":
        origin = request.headers.get("Origin")
        if origin and origin.split("//", 1)[-1] != request.host:
            return refuse(403, "refused: a write from another origin")
        sent = request.form.get("csrf") or request.headers.get("X-CSRF-Token", "")
        if not same(sent, app.config["CSRF"]):
            return refuse(403, "refused: the CSRF token is missing or wrong")
    if "token" in request.args and request.method == "GET" and request.endpoint:
        args = {k: v for k, v in request.args.items() if k != "token"}
        response = redirect(url_for(request.endpoint, **request.view_args, **args))
        set_cookie(response, app.config["COOKIE"], app.config["TOKEN"])
        return response
    return None


def set_cookie(response: Response, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="Strict", path="/")


def headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def store() -> Store:
    from flask import current_app as app

    return app.config["STORE"]


def grader_name() -> str:
    from flask import current_app as app

    return request.cookies.get(app.config["GRADER_COOKIE"], "").strip()[:MAX_NAME]


def page(template: str, **values: Any) -> str:
    from flask import current_app as app

    return render_template(
        template, csrf=app.config["CSRF"], grader=grader_name(), **values
    )


def wants_json() -> bool:
    return "application/json" in request.headers.get("Accept", "")


def question_or_404(name: str) -> dict:
    try:
        return store().question(name)
    except KeyError:
        abort(404)


def grade_or_404(question: str, handle: str) -> Grade:
    try:
        return store().grade(question, handle)
    except KeyError:
        abort(404)


# ---------------------------------------------------------------- pages
def register_pages(app: Flask) -> None:
    app.add_url_rule("/", "overview", overview)
    app.add_url_rule("/q/<question>", "next_answer", next_answer)
    app.add_url_rule("/q/<question>/a/<handle>", "answer", answer)
    app.add_url_rule("/q/<question>/rubric", "rubric", rubric)


def overview() -> str:
    progress = store().progress()
    total = {
        k: sum(p[k] for p in progress.values())
        for k in next(iter(progress.values()), {})
    }
    return page(
        "overview.html",
        week=store().week,
        questions=store().questions(),
        progress=progress,
        total=total,
        done=request.args.get("done", ""),
    )


def next_answer(question: str) -> Response:
    question_or_404(question)
    empty = request.args.get("empty") == "1"
    queue = store().queue(question, include_empty=empty)
    if not queue:
        return redirect(url_for("overview", done=question))
    args = {"empty": "1"} if empty else {}
    return redirect(
        url_for("answer", question=question, handle=queue[0].handle, **args)
    )


def answer_view(question: str, grade: Grade) -> dict[str, Any]:
    """What the grading page shows of one answer."""
    items = store().items(question)
    order = store().grades(question)
    index = next(i for i, g in enumerate(order) if g.handle == grade.handle)
    # rendered once, when the answer was scanned: a view only reads it
    cells_html, before_html = store().answer_html(grade.submission, question)
    return {
        "items": items,
        "applied": set(grade.items),
        "score": store().score_of(grade),
        "position": index + 1,
        "count": len(order),
        "previous": order[index - 1].handle if index else "",
        "following": order[index + 1].handle if index + 1 < len(order) else "",
        "left": len(store().queue(question)),
        "before_html": Markup(before_html),
        "answer_html": Markup(cells_html),
    }


def answer(question: str, handle: str) -> str:
    q = question_or_404(question)
    grade = grade_or_404(question, handle)
    return page(
        "grade.html",
        q=q,
        prompt_html=Markup(render.markdown_html(q["prompt"])),
        grade=grade,
        reveal=request.args.get("reveal") == "1",
        empty=request.args.get("empty") == "1",
        comments=store().comments(question),
        item_html=lambda item: Markup(render.markdown_html(item.text)),
        **answer_view(question, grade),
    )


def rubric(question: str) -> str:
    q = question_or_404(question)
    grades = store().grades(question)
    used = {
        i.id: sum(i.id in g.items for g in grades if g.graded)
        for i in store().items(question)
    }
    return page(
        "rubric.html",
        q=q,
        items=store().items(question),
        used=used,
        item_html=lambda item: Markup(render.markdown_html(item.text)),
    )


# ---------------------------------------------------------------- writes
def register_writes(app: Flask) -> None:
    app.add_url_rule("/name", "name", set_name, methods=["POST"])
    app.add_url_rule("/rescan", "rescan", rescan, methods=["POST"])
    app.add_url_rule(
        "/q/<question>/a/<handle>/item", "toggle", toggle, methods=["POST"]
    )
    app.add_url_rule("/q/<question>/a/<handle>/save", "save", save, methods=["POST"])
    app.add_url_rule(
        "/q/<question>/rubric/<item_id>", "edit_item", edit_item, methods=["POST"]
    )
    app.add_url_rule("/q/<question>/rubric", "add_item", add_item, methods=["POST"])


def set_name() -> Response:
    from flask import current_app as app

    name = " ".join(request.form.get("name", "").split())[:MAX_NAME]
    if not name:
        return refuse(400, "a grader name is required")
    response = redirect(url_for("overview"))
    set_cookie(response, app.config["GRADER_COOKIE"], name)
    return response


def rescan() -> Response:
    changed = store().sync()
    return redirect(url_for("overview", done=f"rescan:{changed}"))


def form_number(name: str, default: float | None = None) -> float:
    raw = request.form.get(name, "").strip()
    if not raw and default is not None:
        return default
    try:
        return float(raw)
    except ValueError:
        abort(refuse(400, f"{name}: expected a number, got {raw!r}"))


def form_version() -> int:
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        abort(refuse(400, "version: missing (reload the page)"))


def writer() -> str:
    name = grader_name()
    if not name:
        abort(refuse(400, "name yourself first (on the overview page)"))
    return name


def grade_json(grade: Grade) -> dict[str, Any]:
    return {
        "version": grade.version,
        "items": grade.items,
        "adjustment": grade.adjustment,
        "comment": grade.comment,
        "grader": grade.grader,
        "state": grade.state,
        "score": store().score_of(grade),
    }


def conflict(exc: Conflict, question: str) -> Response:
    current = exc.current
    body = grade_json(current) if isinstance(current, Grade) else vars(current)
    if wants_json():
        response = jsonify({"error": str(exc), "current": body})
    else:
        response = Response(
            page("conflict.html", message=str(exc), current=body, question=question)
        )
    response.status_code = 409
    return response


def toggle(question: str, handle: str) -> Response:
    grade_or_404(question, handle)
    name, version = writer(), form_version()
    on = request.form.get("on") == "1"
    try:
        grade = store().set_item(
            question, handle, request.form.get("item", ""), on, version, name
        )
    except KeyError:
        return refuse(400, "no such rubric item")
    except Conflict as exc:
        return conflict(exc, question)
    if wants_json():
        return jsonify(grade_json(grade))
    return redirect(url_for("answer", question=question, handle=handle))


def save(question: str, handle: str) -> Response:
    grade_or_404(question, handle)
    name, version = writer(), form_version()
    adjustment = form_number("adjustment", 0.0)
    comment = request.form.get("comment", "").strip()[:MAX_COMMENT]
    try:
        grade = store().save(question, handle, adjustment, comment, version, name)
    except ValueError as exc:
        return refuse(400, str(exc))
    except Conflict as exc:
        return conflict(exc, question)
    if wants_json():
        return jsonify(grade_json(grade))
    if request.form.get("next") == "1":
        args = {"empty": "1"} if request.form.get("empty") == "1" else {}
        return redirect(url_for("next_answer", question=question, **args))
    return redirect(url_for("answer", question=question, handle=handle))


def edit_item(question: str, item_id: str) -> Response:
    question_or_404(question)
    name, version = writer(), form_version()
    points = form_number("points")
    text, note = request.form.get("text", ""), request.form.get("note", "")
    try:
        store().edit_item(question, item_id, points, text, note, version, name)
    except KeyError:
        abort(404)
    except ValueError as exc:
        return refuse(400, str(exc))
    except Conflict as exc:
        return conflict(exc, question)
    return redirect(url_for("rubric", question=question))


def add_item(question: str) -> Response:
    question_or_404(question)
    name = writer()
    points = form_number("points")
    text, note = request.form.get("text", ""), request.form.get("note", "")
    try:
        store().add_item(question, points, text, note, name)
    except ValueError as exc:
        return refuse(400, str(exc))
    return redirect(url_for("rubric", question=question))
