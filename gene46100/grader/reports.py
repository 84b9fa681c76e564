"""Reports for people: Gradescope results, a feedback page per student, a class report.

Everything here reads finished records (plain data, see ``grade._finish``) and writes
static, self-contained files: inline CSS, charts as inline SVG (``charts``), no
JavaScript.
File names, messages and cell errors in a record come from student submissions, so
every one of them is HTML-escaped before it reaches a page.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from pathlib import Path, PurePosixPath

from gene46100 import course
from gene46100.course import GENERIC_TOPIC
from gene46100.grader import charts
from gene46100.grader.intake import student_notes
from gene46100.grader.records import (
    LOST,
    QuestionResult,
    Record,
    read_regrade_diff,
    totals,
    write_atomic,
)

# Submission statuses a person should look at (scores stand regardless).
FLAG_STATUSES = frozenset(
    {
        "tampered",
        "timeout",
        "oom",
        "kernel_died",
        "invalid_submission",
        "internal_error",
    }
)
SAFE_SANDBOX = "bubblewrap"
UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
# Numbers (ints, decimals, exponents) vary between students; the mistake does not.
NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def write_all(out_dir: Path, spec: dict, records: list[Record]) -> Path:
    """Every report for a finished batch; returns the class report's path."""
    for record in records:
        write_gradescope_results(out_dir, record)
    write_feedback_pages(out_dir, spec, records)
    return write_class_report(out_dir, spec, records, read_regrade_diff(out_dir))


def page_name(record_id: str) -> str:
    """A file-system-safe stem for a record (ids are already safe; belt and braces)."""
    return UNSAFE_NAME.sub("_", str(record_id))[:120] or "submission"


# ====================================================================== Gradescope
def gradescope_results(record: Record) -> dict:
    """The record in Gradescope's ``results.json`` format: one test per question of
    the week, autograded and written, in the spec's order, each worth its points
    (``max_score``): the same tests and the same total for every student.

    ``score`` is the week's total as ``grades.csv`` has it (autograded plus the
    manual grades given so far); the summary says how many points are still to be
    graded by a person. Gradescope shows a test only as passed or failed (its
    ``status``; without one, failed below full marks), so a written answer not
    graded yet is a "passed" test of 0 points whose name and output say
    "pending": never a failed one. A graded written answer is "passed" too (its
    points are the grade: partial credit is no failure).
    """
    return {
        "score": totals(record).overall,
        "execution_time": round(float(record.seconds or 0)),
        "output": _gradescope_summary(record),
        # The harness's own stdout is grader plumbing; students read "output".
        "stdout_visibility": "hidden",
        "tests": [_gradescope_test(q) for q in record.questions],
    }


PENDING = (
    "Pending: graded by a person. This written answer is not graded yet, so your "
    "score does not count its {points:g} point{s} until a person grades it. "
    "(Gradescope shows every test as passed or failed: this one is marked passed "
    "only so that it is not shown as failed; it has not been graded.)"
)


def _gradescope_test(question: QuestionResult) -> dict:
    full = question.score >= question.possible > 0
    output = question.feedback if attempted(question) else "Not attempted yet."
    test = {
        "name": question.name,
        "score": question.score,
        "max_score": question.possible,
        "output": output,
        "visibility": "visible",
    }
    status = str(question.status)
    if status == "manual":
        plural = "" if question.possible == 1 else "s"
        test.update(
            name=f"{question.name} (written answer: pending, graded by a person)",
            score=0,
            output=PENDING.format(points=question.possible, s=plural),
            status="passed",
        )
        return test
    if status == "reviewed":
        test["name"] = f"{question.name} (graded by a person)"
        test["status"] = "passed"  # partial credit on a written answer: no failure
        return test
    if status == "no_response":  # left as released: 0 by rule, final
        test["name"] = f"{question.name} (written answer: no response)"
        test["status"] = "failed"
        return test
    if question.status not in ("passed", "failed"):
        test["output"] = f"[{question.status}] {output}"
    test["status"] = "passed" if full else "failed"
    return test


def _gradescope_summary(record: Record) -> str:
    score = f"Status: {record.status}. Score: {totals(record).describe()}."
    lines = [score + _manual_note(record)]
    if record.message:
        lines.append(f"Note: {record.message}")
    lines.extend(f"Your files: {note}" for note in student_notes(record.intake_notes))
    lines.extend(f"How it ran: {note}" for note in record.grading_notes)
    if record.sandbox != SAFE_SANDBOX:
        lines.append(f"Sandbox: {record.sandbox}")
    lines.extend(f"Flagged for review: {flag}" for flag in record.flags)
    return "\n".join(lines)


def _manual_note(record: Record) -> str:
    """`` Questions m1, m2 are graded by a person (not yet): 3 points still to be
    graded, not in this score.`` for those still to grade."""
    pending = [q for q in record.questions if q.status == "manual"]
    names = [q.name for q in pending]
    points = sum(q.possible for q in pending)
    still = (
        f": {points:g} point{'' if points == 1 else 's'} still to be graded, "
        "not in this score"
    )
    if len(names) == 1:
        return f" Question {names[0]} is graded by a person (not yet){still}."
    if names:
        listed = ", ".join(names)
        return f" Questions {listed} are graded by a person (not yet){still}."
    return ""


def write_gradescope_results(out_dir: Path, record: Record) -> Path:
    """Write ``out_dir/gradescope/<id>/results.json``; returns its path."""
    folder = out_dir / "gradescope" / page_name(record.id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    write_atomic(path, json.dumps(gradescope_results(record), indent=2) + "\n")
    return path


# ====================================================================== HTML helpers
CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2430;
 background:#f4f5f8;margin:0;padding:24px}
main{max-width:1040px;margin:0 auto}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}
.card{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:16px 20px;
 margin:12px 0}
.muted{color:#5d6578}.mono{font-family:ui-monospace,Menlo,Consolas,monospace}
.big{font-size:30px;font-weight:600}.row{display:flex;gap:28px;flex-wrap:wrap;
 align-items:baseline}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e3e6ec;padding:7px 10px;text-align:left;
 vertical-align:top}
th{background:#eef1f6;font-weight:600}td.num,th.num{text-align:right;
 white-space:nowrap}
.pre{white-space:pre-wrap;word-break:break-word}
.badge{display:inline-block;padding:1px 9px;border-radius:10px;font-size:13px;
 font-weight:600;white-space:nowrap}
.ok{background:#dff3e4;color:#1d6b34}.bad{background:#fbe1e1;color:#9b1c1c}
.warn{background:#fff0d6;color:#8a4b00}.info{background:#e6ecf7;color:#2d4f86}
.alert{border-radius:8px;padding:12px 16px;margin:12px 0;font-weight:500}
.alert.bad{border:1px solid #e9a3a3}.alert.warn{border:1px solid #ebc27a}
.bar{background:#e8ebf0;border-radius:4px;height:8px;width:110px;margin:4px 0 0 auto}
.bar span{display:block;height:8px;border-radius:4px;background:#3f9a5a}
img,svg.chart{max-width:100%;height:auto}ul{margin:6px 0;padding-left:22px}
a{color:#2d5da8}
"""
STATUS_STYLE = {
    "reviewed": "ok",
    "no_response": "warn",
    "graded": "ok",
    "passed": "ok",
    "manual": "info",
    "failed": "bad",
    "tampered": "bad",
    "internal_error": "bad",
    "invalid_submission": "bad",
    "not_run": "info",
}


_e = charts.escape  # every page's escaping, the charts' too


# Status words as a reader should take them (the rest read as they are).
STATUS_WORDS = {"reviewed": "graded by a person", "no_response": "no response (0)"}


def _badge(status: str) -> str:
    style = STATUS_STYLE.get(status, "warn")
    words = STATUS_WORDS.get(str(status), str(status))
    return f'<span class="badge {style}">{_e(words)}</span>'


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>"
        f"<body><main>\n{body}\n</main></body></html>\n"
    )


def _table(
    header: list[str],
    rows: list[list[str]],
    numeric: set[int] = frozenset(),
    widths: list[int] | None = None,
) -> str:
    """A table of already-escaped cells; ``numeric`` columns align right and
    ``widths`` (percent) keeps short columns from taking the space text needs."""

    def cls(i: int) -> str:
        return ' class="num"' if i in numeric else ""

    cols = "".join(f'<col style="width:{w}%">' for w in widths or [])
    head = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(r)) + "</tr>\n"
        for r in rows
    )
    return (
        f"<table><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>"
        f"<tbody>\n{body}</tbody></table>"
    )


_fmt = charts.fmt


# ====================================================================== feedback
def write_feedback_pages(
    out_dir: Path, spec: dict, records: list[Record]
) -> list[Path]:
    """Write ``out_dir/feedback/<id>.html`` for every record; returns the paths."""
    folder = out_dir / "feedback"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for record in records:
        path = folder / f"{page_name(record.id)}.html"
        write_atomic(path, feedback_page(spec, record))
        paths.append(path)
    return paths


def feedback_page(spec: dict, record: Record) -> str:
    """One student's page: summary, warnings, what to review, questions, cells."""
    assignment = record.assignment or spec.get("assignment", "")
    body = "".join(
        [
            _record_header(record),
            _alerts(record),
            _review_section(assignment, record),
            _question_table(record),
            _cells_section(record),
        ]
    )
    return _page(f"{assignment} feedback: {shown_name(record)}", body)


def shown_name(record: Record) -> str:
    """The submitted file's name as a student knows it (never the TA's path)."""
    return PurePosixPath(str(record.file).replace("\\", "/")).name or record.id


def _record_header(record: Record) -> str:
    sums = totals(record)
    restarts = (
        f" The grader restarted your notebook {record.restarts} time(s), skipping "
        "the cells listed below."
        if record.restarts
        else ""
    )
    return (
        f"<h1>{_e(record.assignment)} feedback</h1>"
        f'<div class="muted mono pre">{_e(shown_name(record))}</div>'
        '<div class="card row">'
        f'<div><div class="muted">score</div><span class="big">'
        f"{_fmt(sums.overall)} / {_fmt(sums.overall_possible)}</span>"
        f'<div class="muted">{_e(sums.describe())}</div></div>'
        f'<div><div class="muted">autograded</div><span class="big">'
        f"{_fmt(record.percent)} %</span></div>"
        f'<div><div class="muted">status</div>{_badge(record.status)}</div>'
        f'<div class="muted" style="flex-basis:100%">graded in '
        f"{record.seconds:.1f} s.{_e(restarts)}{_e(_manual_note(record))}"
        "</div></div>"
    )


def _alerts(record: Record) -> str:
    """Sandbox, flags and the record's message, up front where nobody misses them."""
    parts = []
    if record.sandbox != SAFE_SANDBOX:
        parts.append(f'<div class="alert bad">Sandbox: {_e(record.sandbox)}</div>')
    if record.flags:
        items = "".join(f'<li class="pre">{_e(f)}</li>' for f in record.flags)
        parts.append(
            '<div class="alert warn">Flagged for review by a person (scores '
            f"stand as graded):<ul>{items}</ul></div>"
        )
    if record.message:
        style = "bad" if record.status in FLAG_STATUSES else "warn"
        parts.append(f'<div class="alert {style} pre">{_e(record.message)}</div>')
    notes = student_notes(record.intake_notes)
    if notes:  # which files were graded under which name: the student must know
        items = "".join(f'<li class="pre">{_e(n)}</li>' for n in notes)
        parts.append(f'<div class="alert warn">Your files:<ul>{items}</ul></div>')
    if record.grading_notes:  # nothing lost: said so the student is not surprised
        items = "".join(f'<li class="pre">{_e(n)}</li>' for n in record.grading_notes)
        parts.append(
            '<div class="alert">How your notebook ran here (none of this cost '
            f"points):<ul>{items}</ul></div>"
        )
    if untouched(record):
        parts.append(
            '<div class="alert warn">Nothing answered yet: every graded function '
            "is still the stub it came with. Implement them one by one, run "
            "<code>grader.check(...)</code> after each, and submit again.</div>"
        )
    return "".join(parts)


def topic(assignment: str, question: str) -> str:
    """What to review for a question (the course registry's ``review_topics``)."""
    week = course.COURSE.get(assignment)
    return week.topic(question) if week else GENERIC_TOPIC


def needs_review(question: QuestionResult) -> bool:
    """Lost points while it ran, and was attempted (a stub needs no topic)."""
    return (
        question.status in LOST
        and question.score < question.possible
        and attempted(question)
    )


def review_topics(assignment: str, record: Record) -> list[tuple[str, str]]:
    """``(question, topic)`` for each autograded question that lost points when run."""
    return [
        (q.name, topic(assignment, q.name)) for q in record.questions if needs_review(q)
    ]


def _review_section(assignment: str, record: Record) -> str:
    hints = review_topics(assignment, record)
    if not hints:
        return ""
    items = "".join(f"<li><b>{_e(name)}</b>: {_e(topic)}</li>" for name, topic in hints)
    return f'<h2>What to review</h2><div class="card"><ul>{items}</ul></div>'


def _question_table(record: Record) -> str:
    notes = student_notes(record.intake_notes)
    rows = [_question_row(q, record.assignment, notes) for q in record.questions]
    return "<h2>Questions</h2>" + _table(
        ["question", "score", "status", "feedback"],
        rows,
        numeric={1},
        widths=[10, 14, 12, 64],
    )


def _question_row(
    question: QuestionResult, assignment: str, notes: list[str]
) -> list[str]:
    score, possible = question.score, question.possible
    if question.status == "manual":
        text = "Not graded yet: a person grades this answer."
        return [
            f"<b>{_e(question.name)}</b>",
            f"&ndash; / {_fmt(possible)}",
            _badge("manual"),
            f'<div class="pre">{_e(text)}</div>',
        ]
    width = 100 * score / possible if possible else 0
    cell = (
        f"{_fmt(score)} / {_fmt(possible)}"
        f'<div class="bar"><span style="width:{width:.0f}%"></span></div>'
    )
    text = question.feedback if attempted(question) else "Not attempted yet."
    feedback = f'<div class="pre">{_e(text)}</div>'
    if needs_review(question):
        hint = topic(assignment, question.name)
        feedback += f'<div class="muted">Review: {_e(hint)}</div>'
    for note in files_notes(question, assignment, notes):
        feedback += f'<div class="muted pre">Your files: {_e(note)}</div>'
    return [
        f"<b>{_e(question.name)}</b>",
        cell,
        _badge(question.status),
        feedback,
    ]


def files_notes(
    question: QuestionResult, assignment: str, notes: list[str]
) -> list[str]:
    """The notes about the student's files that a question's message is about: a
    question whose feedback names a companion file (week 3a's q5 runs
    ``predict.py``, which loads ``model_weights.pt``) repeats what was graded
    under which name, beside the message it explains."""
    week = course.COURSE.get(assignment)
    names = week.companions if week else ()
    if not any(name in question.feedback for name in names):
        return []
    return [n for n in notes if any(name in n for name in names)]


def _cells_section(record: Record) -> str:
    """Notebook cells that did not finish cleanly, named by their first line."""
    bad = [
        (k, c)
        for k, c in record.cells.items()
        if isinstance(c, dict) and c.get("status") != "ok"
    ]
    if not bad:
        return ""
    rows = [
        [
            _e(cell_label(k, c)),
            _badge(str(c.get("status"))),
            f'<span class="pre">{_e(_cell_detail(c))}</span>',
        ]
        for k, c in sorted(bad, key=_cell_key)
    ]
    return (
        '<h2>Notebook cells that did not finish</h2><p class="muted">Each cell is '
        "named by its first line. Later cells still ran; one that depends on these "
        "may have failed too.</p>"
        + _table(["cell", "status", "detail"], rows, widths=[34, 12, 54])
    )


def cell_label(index: str, cell: dict) -> str:
    """How a student finds a cell: its first line (else its position)."""
    first = str(cell.get("first_line") or "").strip()
    if first:
        return first if len(first) <= 60 else first[:59] + "\u2026"
    return f"code cell at position {int(index) + 1}" if str(index).isdigit() else index


def _cell_key(item: tuple[str, dict]) -> tuple[int, str]:
    key = item[0]
    return (int(key), key) if str(key).isdigit() else (1 << 30, str(key))


def _cell_detail(cell: dict, limit: int = 200) -> str:
    error = cell.get("error")
    if isinstance(error, dict):
        kind = (
            "not defined"
            if error.get("type") == "MissingName"
            else error.get("type", "Error")
        )
        text = f"{kind}: {error.get('message', '')}"
    elif "exit_code" in cell:
        text = f"the notebook's process ended here (exit code {cell['exit_code']})"
    elif cell.get("status") == "timeout":
        text = f"still running after {_fmt(cell.get('seconds', 0))} s: stopped"
    elif "seconds" in cell:
        text = f"stopped after {_fmt(cell['seconds'])} s"
    else:
        text = ""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


# ====================================================================== class report
def write_class_report(
    out_dir: Path, spec: dict, records: list[Record], regrades: list[dict] = ()
) -> Path:
    """Write ``out_dir/report.html`` (links point at ``feedback/<id>.html``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    write_atomic(path, class_report(spec, records, list(regrades)))
    return path


def class_report(
    spec: dict, records: list[Record], regrades: list[dict] | None = None
) -> str:
    """The whole class at a glance, the submissions that need a person first."""
    name = spec.get("assignment", "")
    if not records:
        return _page(f"{name} class report", f"<h1>{_e(name)}: no submissions</h1>")
    percents = [r.percent for r in records]
    head = (
        f'<h1>{_e(name)} class report</h1><div class="card row">'
        f'<div><div class="muted">submissions</div><span class="big">'
        f'{len(records)}</span></div><div><div class="muted">median, autograded'
        f'</div><span class="big">{_fmt(round(statistics.median(percents), 1))} %'
        f'</span></div><div><div class="muted">mean, autograded</div><span '
        f'class="big">{_fmt(round(statistics.mean(percents), 1))} %</span></div>'
        f"<div>{_status_counts(records)}</div></div>"
    )
    return _page(
        f"{name} class report",
        "".join(
            [
                head,
                _flagged_section(records),
                _regrade_section(regrades or []),
                _score_section(records),
                _pass_rate_section(spec, records),
                _manual_section(spec, records),
                _not_attempted_section(spec, records),
                _mistake_section(records),
                _students_section(records),
                _timing_section(records),
            ]
        ),
    )


def _status_counts(records: list[Record]) -> str:
    counts = Counter(r.status.value for r in records)
    return '<div class="muted">statuses</div>' + " ".join(
        f"{_badge(s)} {n}" for s, n in sorted(counts.items(), key=lambda i: -i[1])
    )


def none_ran(records: list[Record]) -> bool:
    """Whether every submission was refused before it ran: their scores say
    nothing, so the report draws no chart for them."""
    return all(r.status == "invalid_submission" for r in records)


NOTHING_RAN = (
    '<div class="card muted">No submission was run (all were refused): '
    "nothing to chart.</div>"
)


def _score_section(records: list[Record]) -> str:
    if none_ran(records):
        return f"<h2>Scores</h2>{NOTHING_RAN}"
    img = charts.histogram(
        [r.percent for r in records],
        list(range(0, 105, 5)),
        xlabel="autograded score (%)",
        alt="histogram of scores",
    )
    return f'<h2>Scores</h2><div class="card">{img}</div>'


def pass_rates(spec: dict, records: list[Record]) -> list[dict]:
    """Per autograded question: how many submissions got full points, and the mean."""
    rates = []
    for q in (q for q in spec["questions"] if not q["manual"]):
        got = [x for r in records for x in r.questions if x.name == q["name"]]
        full = sum(1 for x in got if x.score >= x.possible > 0)
        mean = statistics.mean(x.score for x in got) if got else 0.0
        rates.append(
            {
                "name": q["name"],
                "points": q["points"],
                "full": full,
                "rate": full / len(records) if records else 0.0,
                "mean": mean,
            }
        )
    return rates


def _pass_rate_section(spec: dict, records: list[Record]) -> str:
    if none_ran(records):
        return f"<h2>Pass rate per question</h2>{NOTHING_RAN}"
    rates = pass_rates(spec, records)
    chart = charts.bar_chart(
        [r["name"] for r in rates],
        [100 * r["rate"] for r in rates],
        alt="pass rate per question",
        ylabel="full points (%)",
        ymax=100,
    )
    rows = [
        [
            f"<b>{_e(r['name'])}</b>",
            _fmt(r["points"]),
            f"{r['full']} / {len(records)}",
            f"{100 * r['rate']:.0f} %",
            _fmt(round(r["mean"], 2)),
        ]
        for r in rates
    ]
    table = _table(
        ["question", "points", "full points", "pass rate", "mean score"],
        rows,
        numeric={1, 2, 3, 4},
    )
    return (
        f'<h2>Pass rate per question</h2><div class="card">'
        f"{chart}{table}"
        '<p class="muted">Manual questions are graded by a person and left out.'
        "</p></div>"
    )


NOT_YET = "not implemented yet"


def _lost_messages(question: QuestionResult) -> list[str]:
    """What went wrong in one question: its failing checks, else its feedback
    (nothing for a question not attempted: a stub is no mistake)."""
    if question.status in (
        "passed",
        "manual",
        "reviewed",
        "no_response",
        "not_run",
        "internal_error",
    ):  # written answers are a person's to judge; the grader's failure is ours
        return []
    if not attempted(question):
        return []
    failed = [c["message"] for c in question.checks if not c["passed"]]
    return [m for m in failed if NOT_YET not in m] or [question.feedback]


def attempted(question: QuestionResult) -> bool:
    """False for a question whose function is still the released stub (every
    failing check says it is not implemented yet)."""
    if question.status != "failed":
        return True
    failed = [c["message"] for c in question.checks if not c["passed"]]
    messages = failed or [question.feedback]
    return not all(NOT_YET in m for m in messages)


def untouched(record: Record) -> bool:
    """Every autograded question still a stub (an untouched notebook)."""
    auto = [
        q
        for q in record.questions
        if q.status not in ("manual", "reviewed", "no_response", "not_run")
    ]
    return bool(auto) and not any(attempted(q) for q in auto)


def frequent_mistakes(records: list[Record], top: int = 10) -> list[dict]:
    """The commonest failure messages per question, numbers ignored when grouping.

    Each submission counts once per message; ``example`` is one real message.
    """
    counts: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}
    for record in records:
        keys = set()
        for question in record.questions:
            for message in _lost_messages(question):
                key = (question.name, NUMBER.sub("#", message).strip())
                keys.add(key)
                examples.setdefault(key, message)
        counts.update(keys)
    ranked = sorted(counts.items(), key=lambda i: (-i[1], _natural(i[0][0]), i[0][1]))[
        :top
    ]
    return [
        {"question": q, "pattern": p, "count": n, "example": examples[(q, p)]}
        for (q, p), n in ranked
    ]


def _natural(name: str) -> tuple[str, int]:
    """Sort key that puts q2 before q10."""
    match = re.fullmatch(r"(\D*)(\d+)", name)
    return (match[1], int(match[2])) if match else (name, -1)


PER_QUESTION = 3  # misconceptions shown per question


def _mistake_section(records: list[Record]) -> str:
    mistakes = frequent_mistakes(records, top=10_000)
    if not mistakes:
        return '<h2>Most frequent mistakes</h2><div class="card">None.</div>'
    by_question: dict[str, list[dict]] = {}
    for m in mistakes:
        by_question.setdefault(m["question"], []).append(m)
    rows = [
        [
            f"<b>{_e(q)}</b>",
            str(m["count"]),
            f'<div class="pre">{_e(m["example"])}</div>',
        ]
        for q in sorted(
            by_question, key=lambda q: (-by_question[q][0]["count"], _natural(q))
        )
        for m in by_question[q][:PER_QUESTION]
    ]
    return (
        '<h2>Most frequent mistakes</h2><p class="muted">Every question that lost '
        "points, the most common first, with its "
        f"{PER_QUESTION} commonest misconceptions: failing checks "
        "grouped by their text with numbers ignored, one example message each. "
        "Questions not attempted are counted apart, above.</p>"
        + _table(["question", "submissions", "message"], rows, numeric={1})
    )


def _manual_section(spec: dict, records: list[Record]) -> str:
    """Written answers: how far a person's grading is, and how their grades spread.

    An answer left as released is 0 by rule ("no response"), not graded by anyone:
    it is counted apart and kept out of the spread.
    """
    manual = [q for q in spec["questions"] if q["manual"]]
    if not manual:
        return ""
    rows, counts = [], Counter()
    for q in manual:
        got = [x for r in records for x in r.questions if x.name == q["name"]]
        by_status = Counter(str(x.status) for x in got)
        counts.update(by_status)
        scores = [x.score for x in got if x.status == "reviewed"]
        spread = (
            f"{_fmt(min(scores))} / {_fmt(statistics.median(scores))} / "
            f"{_fmt(max(scores))}"
            if scores
            else "&ndash;"
        )
        rows.append(
            [
                f"<b>{_e(q['name'])}</b>",
                _fmt(q["points"]),
                str(by_status["reviewed"]),
                str(by_status["no_response"]),
                str(by_status["manual"]),
                _fmt(round(statistics.mean(scores), 2)) if scores else "&ndash;",
                spread,
            ]
        )
    total = len(manual) * len(records)
    return (
        f"<h2>Written answers: {counts['reviewed']} of {total} graded by a person, "
        f"{counts['no_response']} no response (0), {counts['manual']} to grade</h2>"
        '<p class="muted">Graded by a person in the review app (gene46100 review). '
        'An answer left as released is 0, "no response", until a person grades '
        "it. Mean and spread are of the answers graded by a person.</p>"
        + _table(
            [
                "question",
                "points",
                "graded by a person",
                "no response (0)",
                "to grade",
                "mean",
                "min / median / max",
            ],
            rows,
            numeric={1, 2, 3, 4, 5},
        )
    )


def _not_attempted_section(spec: dict, records: list[Record]) -> str:
    rows = []
    for q in (q for q in spec["questions"] if not q["manual"]):
        stubs = [
            r
            for r in records
            for x in r.questions
            if x.name == q["name"] and x.status == "failed" and not attempted(x)
        ]
        if stubs:
            rows.append([f"<b>{_e(q['name'])}</b>", f"{len(stubs)} / {len(records)}"])
    if not rows:
        return ""
    untouched_count = sum(1 for r in records if untouched(r))
    return (
        '<h2>Not attempted</h2><p class="muted">Questions whose function is still '
        f"the released stub; {untouched_count} notebook(s) answered none.</p>"
        + _table(["question", "submissions"], rows, numeric={1})
    )


def _students_section(records: list[Record]) -> str:
    """Every submission, with its score, status, flags, timeouts and restarts."""
    rows = []
    for r in sorted(records, key=lambda r: r.id):
        timeouts = sum(
            1
            for c in r.cells.values()
            if isinstance(c, dict) and c.get("status") == "timeout"
        )
        notes = []
        if timeouts:
            notes.append(f"{timeouts} cell timeout(s)")
        if r.restarts:
            notes.append(f"{r.restarts} restart(s)")
        if r.late:
            notes.append("late (per the LMS)")
        rows.append(
            [
                _feedback_link(r),
                _e(r.student),
                _fmt(r.total) + " / " + _fmt(r.possible),
                _badge(r.status),
                str(len(flag_reasons(r))),
                _e(", ".join(notes)),
            ]
        )
    return f"<h2>Students ({len(records)})</h2>" + _table(
        ["submission", "student", "autograded", "status", "flags", "notes"],
        rows,
        numeric={2, 4},
    )


REGRADES_SHOWN = 200


def _regrade_section(regrades: list[dict]) -> str:
    """The latest regrade changes (``regrade-diff.csv`` holds them all)."""
    if not regrades:
        return ""
    recent = sorted(regrades, key=lambda r: r.get("graded_at", ""), reverse=True)
    rows = [
        [
            _e(r.get("graded_at", "")),
            f'<a href="feedback/{_e(page_name(r.get("submission", "")))}.html" '
            f'class="mono">{_e(r.get("submission", ""))}</a>',
            f"<b>{_e(r.get('question', ''))}</b>",
            f"{_e(r.get('before', ''))} &rarr; {_e(r.get('after', ''))}",
            _e(r.get("change", "")),
            f'<div class="pre">{_e(r.get("message_after", ""))}</div>',
            _e(r.get("why", "")),
        ]
        for r in recent[:REGRADES_SHOWN]
    ]
    return (
        f"<h2>Regrades ({len(regrades)} change(s))</h2>"
        '<p class="muted">Newest first; every change is in regrade-diff.csv and '
        "every earlier record in records.jsonl.</p>"
        + _table(
            ["when", "submission", "question", "score", "change", "message now", "why"],
            rows,
            numeric={4},
        )
    )


def _timing_section(records: list[Record]) -> str:
    if none_ran(records):
        return ""
    seconds = [float(r.seconds or 0) for r in records]
    img = charts.histogram(
        seconds,
        min(20, max(5, len(seconds))),
        xlabel="seconds per submission",
        alt="histogram of grading times",
    )
    return (
        f'<h2>Grading time</h2><div class="card"><p>median '
        f"<b>{statistics.median(seconds):.1f} s</b>, max "
        f"<b>{max(seconds):.1f} s</b>, total {sum(seconds):.0f} s</p>{img}</div>"
    )


def flag_reasons(record: Record) -> list[str]:
    """Why a person should look at this submission (empty: nothing to see)."""
    reasons = []
    if record.status in FLAG_STATUSES:
        reasons.append(f"status {record.status}")
    if record.sandbox != SAFE_SANDBOX:
        reasons.append(f"sandbox: {record.sandbox}")
    reasons.extend(record.flags)
    reasons.extend(
        f"{q.name}: the grader's check failed ("
        + "; ".join(c["message"] for c in q.checks)
        + "): fix it, then --regrade failed"
        for q in record.questions
        if q.status == "internal_error"
    )
    if record.message and record.status in FLAG_STATUSES:
        reasons.append(record.message)
    return reasons


def _feedback_link(record: Record) -> str:
    href = f"feedback/{page_name(record.id)}.html"
    return f'<a href="{_e(href)}" class="mono">{_e(record.file)}</a>'


def _flagged_section(records: list[Record]) -> str:
    flagged = [r for r in sorted(records, key=lambda r: r.id) if flag_reasons(r)]
    if not flagged:
        return '<h2>Flagged submissions</h2><div class="card">None.</div>'
    rows = [
        [
            _feedback_link(r),
            _badge(r.status),
            _fmt(r.total) + " / " + _fmt(r.possible),
            "<ul>"
            + "".join(f'<li class="pre">{_e(x)}</li>' for x in flag_reasons(r))
            + "</ul>",
        ]
        for r in flagged
    ]
    return f"<h2>Flagged submissions ({len(flagged)})</h2>" + _table(
        ["submission", "status", "score", "why"], rows, numeric={2}
    )
