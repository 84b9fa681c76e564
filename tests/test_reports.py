"""Reports: Gradescope results, feedback pages and the class report (synthetic records).

The records are ``records.Record`` built from their JSON form; some carry hostile
strings (file names and messages come from student submissions) that must never
reach a page unescaped.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from gene46100 import course
from gene46100.grader import provenance, reports
from gene46100.grader.assignment import Settings
from gene46100.grader.batch import grade_batch
from gene46100.grader.intake import Submission
from gene46100.grader.records import Record

HOSTILE = "<script>alert(1)</script>"
CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parent.parent
SPEC = {
    "assignment": "week1",
    "questions": [
        {"name": "m1", "points": 1, "manual": True},
        {"name": "q1", "points": 2, "manual": False},
        {"name": "q3", "points": 2, "manual": False},
        {"name": "q9", "points": 3, "manual": False},
    ],
}
HALF = (
    "mse_gradient on a hidden {m}x{p} problem is wrong (largest absolute "
    "difference {d}): exactly half the right answer: that is the gradient of (1/2) "
    "MSE"
)


def question(
    name: str,
    points: float,
    score: float | None,
    message: str = "",
    status: str | None = None,
) -> dict:
    """One question as ``grade`` writes it (``score=None``: manual)."""
    if score is None:
        return {
            "name": name,
            "score": 0,
            "possible": points,
            "status": "manual",
            "checks": [],
            "feedback": "Graded by a person.",
        }
    passed = score >= points
    checks = [
        {
            "name": "matches the reference",
            "passed": passed,
            "weight": 1.0,
            "message": message,
        }
    ]
    return {
        "name": name,
        "score": score,
        "possible": points,
        "status": status or ("passed" if passed else "failed"),
        "checks": [] if status else checks,
        "feedback": "All hidden tests passed." if passed else message,
    }


def make_record(
    rid: str, scores: dict[str, float], messages: dict[str, str] | None = None, **extra
) -> dict:
    """A record's JSON form; ``extra`` overrides any field."""
    messages = messages or {}
    questions = [
        question(
            q["name"],
            q["points"],
            None if q["manual"] else scores.get(q["name"], q["points"]),
            messages.get(q["name"], ""),
        )
        for q in SPEC["questions"]
    ]
    auto = [q for q in questions if q["status"] != "manual"]
    total = round(sum(q["score"] for q in auto), 4)
    possible = sum(q["possible"] for q in auto)
    record = {
        "id": rid,
        "file": f"subs/{rid}.ipynb",
        "assignment": "week1",
        "status": "graded",
        "message": "",
        "questions": questions,
        "total": total,
        "possible": possible,
        "percent": round(100 * total / possible, 2),
        "cells": {"0": {"status": "ok", "seconds": 0.1}},
        "restarts": 0,
        "run_seconds": 5.0,
        "seconds": 6.5,
        "sandbox": "bubblewrap",
        "flags": [],
    }
    record.update(extra)
    return record


def batch() -> list[Record]:
    """Full marks, a shared q3 mistake (two sets of numbers), timeouts, hostiles."""
    mallory = make_record(
        "mallory-00000001",
        {"q1": 0},
        {"q1": f"line one {HOSTILE}\nline two"},
        file=f"subs/{HOSTILE}.ipynb",
        status="tampered",
        flags=[f"reaches for the grader: {HOSTILE}"],
        cells={
            "3": {
                "status": "error",
                "seconds": 0.2,
                "error": {"type": "ValueError", "message": HOSTILE},
            }
        },
    )
    dave = make_record(
        "dave-00000004",
        {},
        seconds=40.0,
        cells={"13": {"status": "timeout", "seconds": 20.0}},
    )
    dave["questions"][3] = question(
        "q9", 3, 0, "q9 took longer than its 30 s budget.", status="timeout"
    )
    dave.update(total=4.0, percent=57.14)
    invalid = make_record(
        "frank-00000006",
        {},
        status="invalid_submission",
        message=f"frank.ipynb is not valid JSON {HOSTILE}",
        cells={},
        total=0.0,
        percent=0.0,
    )
    invalid["questions"] = [
        q
        if q["status"] == "manual"
        else question(q["name"], q["possible"], 0, "not graded", status="not_run")
        for q in invalid["questions"]
    ]
    raw = [
        make_record("alice-00000000", {}),
        make_record(
            "carol-00000002", {"q3": 0}, {"q3": HALF.format(m=37, p=3, d=4.08)}
        ),
        make_record("erin-00000003", {"q3": 0}, {"q3": HALF.format(m=51, p=4, d=12.5)}),
        dave,
        mallory,
        make_record(
            "unsafe-00000005",
            {},
            sandbox="none (UNSAFE: student code could read hidden tests)",
        ),
        invalid,
    ]
    return [Record.from_json(r) for r in raw]


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, list[Record]]:
    records = batch()
    reports.write_all(tmp_path, SPEC, records)
    return tmp_path, records


def row_of(page: str, name: str) -> str:
    """The table row whose first cell is ``name`` (in bold or not)."""
    first = re.compile(rf"<td[^>]*>(<b>)?{re.escape(name)}(</b>)?</td>")
    rows = [r for r in page.split("<tr>") if first.match(r)]
    assert len(rows) == 1, name
    return rows[0]


def section(page: str, title: str) -> str:
    """The part of a page from the ``<h2>`` starting with ``title`` to the next."""
    return page.split(f"<h2>{title}")[1].split("<h2>")[0]


SVG = "{http://www.w3.org/2000/svg}"


# ====================================================================== Gradescope
def test_gradescope_results_schema_and_total(written) -> None:
    out, records = written
    for record in records:
        path = out / "gradescope" / record.id / "results.json"
        results = json.loads(path.read_text())
        assert results == reports.gradescope_results(record)
        assert set(results) == {
            "score",
            "execution_time",
            "output",
            "stdout_visibility",
            "tests",
        }
        assert results["score"] == record.total
        tests_total = sum(t["score"] for t in results["tests"])
        assert tests_total == pytest.approx(record.total)
        # every question, written ones too, in the spec's order; a written answer
        # not graded yet is a 0-point "passed" test named pending (never failed)
        names = [t["name"].split()[0] for t in results["tests"]]
        assert names == [q["name"] for q in SPEC["questions"]]
        for test, spec_q in zip(results["tests"], SPEC["questions"]):
            assert set(test) == {
                "name",
                "score",
                "max_score",
                "status",
                "output",
                "visibility",
            }
            assert test["max_score"] == spec_q["points"]
            assert test["visibility"] == "visible"
            assert test["status"] == (
                "passed"
                if spec_q["manual"] or test["score"] >= test["max_score"]
                else "failed"
            )


def test_gradescope_manual_and_lost_questions(written) -> None:
    _, records = written
    results = reports.gradescope_results(records[3])  # dave: q9 timed out
    m1 = results["tests"][0]
    assert m1["name"] == "m1 (written answer: pending, graded by a person)"
    assert (m1["score"], m1["status"]) == (0, "passed")
    assert "question m1 is graded by a person (not yet)" in results["output"].lower()
    assert "autograded 4/7, overall 4/8, 1 question not yet graded" in results["output"]
    q9 = next(t for t in results["tests"] if t["name"] == "q9")
    assert q9["output"].startswith("[timeout] q9 took longer")
    assert results["execution_time"] == 40


# ====================================================================== feedback
def test_feedback_page_per_record_with_scores(written) -> None:
    out, records = written
    for record in records:
        page = (out / "feedback" / f"{record.id}.html").read_text()
        assert f"autograded {record.total:g}/{record.possible:g}" in page
        for q in record.questions:
            shown = "&ndash;" if q.status == "manual" else f"{q.score:g}"
            assert f"{shown} / {q.possible:g}" in row_of(page, q.name)
            assert f">{q.status}</span>" in row_of(page, q.name)


def test_feedback_escapes_and_keeps_newlines(written) -> None:
    out, _ = written
    page = (out / "feedback" / "mallory-00000001.html").read_text()
    assert "<script" not in page.lower()
    # the message, the flag and the cell's error; the file by its base name
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3
    assert "script&gt;.ipynb" in page  # what follows the name's last "/"
    assert "line one &lt;script&gt;alert(1)&lt;/script&gt;\nline two" in page
    assert "Flagged for review" in page
    assert "ValueError" in row_of(page, "code cell at position 4")


def test_student_pages_speak_to_students(tmp_path) -> None:
    """No TA paths, no jargon, cells named by their first line, and an untouched
    notebook gets one kind line instead of a wall of "not implemented yet"."""
    stubs = {q["name"]: 0 for q in SPEC["questions"] if not q["manual"]}
    raw = make_record(
        "bob-00000009",
        stubs,
        {q: f"{q}: not implemented yet" for q in stubs},
        file="/home/ta/course/subs/bob.ipynb",
        restarts=0,
        cells={
            "7": {"status": "timeout", "seconds": 20.0, "first_line": "while True:"},
            "9": {
                "status": "error",
                "error": {"type": "MissingName", "message": "X is not defined"},
            },
        },
    )
    page = reports.feedback_page(SPEC, Record.from_json(raw))
    assert "/home/ta" not in page and "bob.ipynb" in page
    assert "restart(s)" not in page and "counted from 0" not in page
    assert "Nothing answered yet" in page
    assert page.count("not implemented yet") == 0
    assert page.count("Not attempted yet.") == len(stubs)
    assert "What to review" not in page  # nothing was attempted to review
    assert "while True:" in row_of(page, "while True:")
    assert "MissingName" not in page and "not defined" in page


def test_feedback_review_hints_cells_and_sandbox(written) -> None:
    out, _ = written
    carol = (out / "feedback" / "carol-00000002.html").read_text()
    assert "What to review" in carol and "the MSE gradient and the chain rule" in carol
    alice = (out / "feedback" / "alice-00000000.html").read_text()
    assert "What to review" not in alice
    dave = (out / "feedback" / "dave-00000004.html").read_text()
    assert "the PyTorch training loop" in dave  # a timeout earns a hint too
    cell = row_of(dave, "code cell at position 14")  # no first line in this record
    assert "timeout" in cell and "20 s" in cell
    unsafe = (out / "feedback" / "unsafe-00000005.html").read_text()
    assert 'class="alert bad">Sandbox: none (UNSAFE' in unsafe


def test_review_topics_fall_back_to_generic() -> None:
    record = Record.from_json(make_record("x-1", {"q3": 0, "q9": 1}))
    assert reports.review_topics("week1", record) == [
        ("q3", course.WEEK1.review_topics["q3"]),
        ("q9", course.WEEK1.review_topics["q9"]),
    ]
    assert reports.review_topics("week7", record)[0] == ("q3", course.GENERIC_TOPIC)
    assert set(course.WEEK1.review_topics) == set(course.WEEK1.budgets)
    assert list(course.WEEK1.review_topics) == [
        q["name"] for q in course.autograded("week1")
    ]


# ====================================================================== class report
def test_class_report_histogram_and_pass_rates(written) -> None:
    out, records = written
    page = section((out / "report.html").read_text(), "Pass rate")
    bars = chart_bars(page, "pass rate per question")
    for q in (q for q in SPEC["questions"] if not q["manual"]):
        full = sum(
            1
            for r in records
            for x in r.questions
            if x.name == q["name"] and x.score >= x.possible
        )
        row = row_of(page, q["name"])
        assert f"{full} / {len(records)}" in row
        assert f"{100 * full / len(records):.0f} %" in row
    rates = {r["name"]: r["rate"] for r in reports.pass_rates(SPEC, records)}
    assert rates == pytest.approx({"q1": 5 / 7, "q3": 4 / 7, "q9": 5 / 7})
    # One bar per question, as tall as its pass rate (the axis runs 0 to 100 %).
    assert [label for label, _, _ in bars] == ["q1", "q3", "q9"]
    for label, value, height in bars:
        assert value == pytest.approx(100 * rates[label], abs=1e-3)
        assert height == pytest.approx(value / 100 * bars_full_height(page), rel=1e-2)
    whole = (out / "report.html").read_text()
    scores = chart_bars(whole, "histogram of scores")
    assert len(scores) == 20 and sum(v for _, v, _ in scores) == len(records)
    histogram = Counter(min(19, int(r.percent // 5)) for r in records)
    assert [v for _, v, _ in scores] == [histogram[i] for i in range(20)]
    times = chart_bars(whole, "histogram of grading times")
    assert sum(v for _, v, _ in times) == len(records)
    assert whole.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 3


def test_the_class_report_draws_without_matplotlib(tmp_path: Path) -> None:
    """The charts are inline SVG: writing every report of a batch imports no
    plotting library (it cost the grading command ~0.7 CPU s per batch)."""
    records = tmp_path / "records.json"
    records.write_text(json.dumps([r.to_json() for r in batch()]))
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from gene46100.grader import reports\n"
        "from gene46100.grader.records import Record\n"
        f"records = [Record.from_json(r) for r in json.loads(Path({str(records)!r})"
        ".read_text())]\n"
        f"reports.write_all(Path({str(tmp_path)!r}), {SPEC!r}, records)\n"
        "print(sorted(m for m in ('matplotlib', 'PIL') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
    assert "histogram of scores" in (tmp_path / "report.html").read_text()


def chart_svg(page: str, alt: str) -> ET.Element:
    """The report's inline SVG chart labelled ``alt``, parsed."""
    found = re.search(rf'<svg[^>]*aria-label="{re.escape(alt)}".*?</svg>', page, re.S)
    assert found, f"no chart {alt!r}"
    return ET.fromstring(found.group(0))


def chart_bars(page: str, alt: str) -> list[tuple[str, float, float]]:
    """(label, value, drawn height) of every bar: the label and value from the
    bar's tooltip (``<title>label: value</title>``)."""
    bars = []
    for rect in chart_svg(page, alt).iter(f"{SVG}rect"):
        label, value = rect.find(f"{SVG}title").text.rsplit(": ", 1)
        bars.append((label, float(value), float(rect.get("height"))))
    return bars


def bars_full_height(page: str) -> float:
    """The plot area's height in the pass-rate chart (a bar at 100 %)."""
    lines = chart_svg(page, "pass rate per question").iter(f"{SVG}line")
    ys = [float(line.get("y1")) for line in lines]
    return max(ys) - min(ys)


def test_class_report_top_mistake(written) -> None:
    out, records = written
    top = reports.frequent_mistakes(records)[0]
    assert (top["question"], top["count"]) == ("q3", 2)  # numbers differ, text agrees
    assert top["pattern"].startswith("mse_gradient on a hidden #x# problem")
    mistakes = section((out / "report.html").read_text(), "Most frequent mistakes")
    first = mistakes.split("<tbody>")[1].split("</tr>")[0]
    assert "<b>q3</b>" in first and ">2</td>" in first and "37x3" in first
    assert "not graded" not in mistakes  # questions never run are no mistake


def test_class_report_flagged_list_and_escaping(written) -> None:
    out, _ = written
    page = (out / "report.html").read_text()
    assert "<script" not in page.lower()
    flagged = section(page, "Flagged submissions")
    links = re.findall(r'href="feedback/([^"]+)\.html"', flagged)
    assert links == ["frank-00000006", "mallory-00000001", "unsafe-00000005"]
    assert "subs/&lt;script&gt;alert(1)&lt;/script&gt;.ipynb" in flagged
    assert "UNSAFE" in flagged and "status invalid_submission" in flagged
    assert "not valid JSON &lt;script&gt;" in flagged
    assert "dave" not in flagged  # a cell timeout alone is graded, not flagged
    assert all((out / "feedback" / f"{link}.html").exists() for link in links)


def test_empty_batch_writes_a_report(tmp_path: Path) -> None:
    assert "no submissions" in reports.write_all(tmp_path, SPEC, []).read_text()


def test_grade_batch_writes_reports(tmp_path: Path) -> None:
    """Records already in the journal are not re-graded, but the reports are written."""
    spec = json.loads(
        (Path(__file__).parents[1] / "autograder/week1/assignment.json").read_text()
    )
    record = {
        **make_record("alice-00000000", {}),
        "questions": [
            question(q["name"], q["points"], None if q["manual"] else q["points"])
            for q in spec["questions"]
        ],
    }
    submissions = [Submission("alice-00000000", "subs/alice.ipynb", None)]
    spec_bytes = (REPO / "autograder/week1/assignment.json").read_bytes()
    batch = provenance.batch_fingerprint("week1", spec_bytes, 46100)
    record["provenance"] = provenance.fingerprint(batch, submissions[0])
    (tmp_path / "records.jsonl").write_text(json.dumps(record) + "\n")
    grade_batch("week1", submissions, tmp_path, Settings())
    assert (tmp_path / "feedback" / "alice-00000000.html").exists()
    assert (tmp_path / "gradescope" / "alice-00000000" / "results.json").exists()
    page = (tmp_path / "report.html").read_text()
    assert "alice-00000000.html" not in section(page, "Flagged submissions")
    assert "alice-00000000.html" in section(page, "Students")  # everyone is listed


# ====================================================================== rendering
def screenshot(page: Path, png: Path, profile: Path) -> None:
    """Render ``page`` in headless Chromium (fresh profile, nothing fetched)."""
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            "--window-size=1200,1600",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.slow
@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs /usr/bin/chromium (scripts/ensure-chromium.sh installs it)",
)
def test_pages_render_in_chromium(written, tmp_path_factory) -> None:
    import matplotlib.image

    out, _ = written
    shots = tmp_path_factory.mktemp("shots")
    for page in (out / "report.html", out / "feedback" / "mallory-00000001.html"):
        png = shots / f"{page.stem}.png"
        profile = tmp_path_factory.mktemp("chromium-profile")
        screenshot(page, png, profile)
        shutil.rmtree(profile, ignore_errors=True)
        assert png.stat().st_size > 10_000, page
        pixels = matplotlib.image.imread(png)[..., :3].reshape(-1, 3)
        assert len(np.unique(pixels, axis=0)) > 20, page  # text, badges, charts


def test_class_report_leads_with_what_matters(written) -> None:
    """Not attempted apart from mistakes, every student listed with a link, cell
    timeouts and restarts shown."""
    out, records = written
    page = (out / "report.html").read_text()
    students = section(page, "Students")
    links = re.findall(r'href="feedback/([^"]+)\.html"', students)
    assert sorted(links) == sorted(r.id for r in records)
    assert "1 cell timeout(s)" in row_of(students, _link_cell("dave-00000004"))
    mistakes = section(page, "Most frequent mistakes")
    assert "not implemented yet" not in mistakes


def _link_cell(record_id: str) -> str:
    return (
        f'<a href="feedback/{record_id}.html" class="mono">subs/{record_id}.ipynb</a>'
    )


def test_an_untouched_notebook_is_not_attempted_not_a_mistake() -> None:
    stub = make_record("bob-1", {"q1": 0}, {"q1": "q1: not implemented yet"})
    wrong = make_record("eve-2", {"q1": 0}, {"q1": "normal_equation is off by 2x"})
    records = [Record.from_json(stub), Record.from_json(wrong)]
    mistakes = reports.frequent_mistakes(records)
    assert [m["count"] for m in mistakes] == [1]
    assert "off by 2x" in mistakes[0]["example"]
    page = reports.class_report(SPEC, records)
    assert "1 / 2" in row_of(section(page, "Not attempted"), "q1")
