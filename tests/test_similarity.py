"""The similarity screen points a person at copied work and at nothing else.

Batches are graded folders written directly (``records.jsonl`` and
``answers/<id>.json``, as ``gene46100 grade`` writes them), from the repository's
own completions: the reference (``gene46100_ref/<week>.py``), the examples'
independent answers (``examples/answers/<week>_independent.py``) and the released
stubs. One slow test grades real notebooks end to end first.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gene46100 import cli, course
from gene46100.grader import answers, sandbox
from gene46100.similarity import fingerprints, screen

REPO = Path(__file__).resolve().parent.parent
PARAGRAPH = (
    "With 0.01 every step moves only a hundredth of the gradient, so after fifty "
    "steps the coefficients have covered a small part of the way. With 0.1 the "
    "steps are ten times longer and the path reaches the minimum well before the "
    "end. Above the stable limit each update overshoots the minimum by more than "
    "it corrects, so the error grows and the path zigzags outwards."
)
STOCK = "The learning rate is too large."


def release_cells(week: str) -> list[dict]:
    path = REPO / "assignments" / week / f"{week}.ipynb"
    return answers.notebook_cells(path.read_bytes())


def stubs(week: str) -> dict[str, str]:
    return answers.code_answers(release_cells(week))


def defined(source: str) -> list[str]:
    return [
        n.name
        for n in ast.parse(source).body
        if isinstance(n, (ast.FunctionDef, ast.ClassDef))
    ]


def completion(week: str, path: Path) -> dict[str, str]:
    """Per graded question, the definitions in ``path`` that replace its stub."""
    source = path.read_text()
    found = {
        n.name: ast.get_source_segment(source, n)
        for n in ast.parse(source).body
        if isinstance(n, (ast.FunctionDef, ast.ClassDef))
    }
    out = {}
    for question, stub in stubs(week).items():
        names = [n for n in defined(stub) if n in found]
        out[question] = "\n\n\n".join(found[n] for n in names) if names else stub
    return out


def reference(week: str) -> dict[str, str]:
    return completion(week, REPO / "gene46100_ref" / f"{week}.py")


def independent(week: str) -> dict[str, str]:
    return completion(week, REPO / "examples" / "answers" / f"{week}_independent.py")


def rename_locals(source: str) -> str:
    """Every local variable of every function renamed, as a copier would."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        params = {a.arg for a in ast.walk(fn.args) if isinstance(a, ast.arg)}
        stores = {
            n.id
            for n in ast.walk(fn)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        for n in ast.walk(fn):
            if isinstance(n, ast.Name) and n.id in stores - params:
                edits.append((n.lineno, n.col_offset, n.id))
    for row, col, name in sorted(set(edits), reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + f"my_{name}_v2" + line[col + len(name) :]
    return "".join(lines)


def recomment(source: str) -> str:
    """Comments dropped and others added (indentation kept)."""
    out = []
    for line in source.splitlines():
        if line.strip().startswith("#"):
            continue
        code = line.split("  # ")[0].rstrip()
        if code.strip().startswith("return"):
            indent = code[: len(code) - len(code.lstrip())]
            out.append(f"{indent}# my own work, honestly")
        out.append(code)
    return "\n".join(out) + "\n"


def disguise(code: dict[str, str]) -> dict[str, str]:
    """A copy with renamed variables, changed comments, and its functions reordered:
    each answer's definitions reversed, and the answers moved one cell along."""
    changed = {}
    for question, source in code.items():
        tree = ast.parse(source)
        parts = [ast.get_source_segment(source, n) for n in tree.body]
        changed[question] = recomment(rename_locals("\n\n\n".join(reversed(parts))))
    names = sorted(changed)
    return {q: changed[names[(i + 1) % len(names)]] for i, q in enumerate(names)}


def manual(week: str, texts: dict[str, str] | None = None) -> dict:
    """The manual answers as the grader extracts them: ``texts`` written, the rest
    left as released (placeholder)."""
    texts = texts or {}
    names = [
        q["name"]
        for q in json.loads(
            (REPO / "autograder" / week / "assignment.json").read_text()
        )["questions"]
        if q["manual"]
    ]
    blocks = answers.manual_blocks(release_cells(week))
    out = {}
    for name, block in zip(names, blocks):
        cells = [answers.plain_cell(c) for c in block]
        if name in texts:
            cells[0] = {"cell_type": "markdown", "source": texts[name]}
        out[name] = {"placeholder": name not in texts, "cells": cells}
    return out


def write_batch(folder: Path, week: str, subs: dict[str, dict]) -> Path:
    """A graded folder: ``subs`` maps an id to ``{"code", "manual", "student"}``."""
    (folder / "answers").mkdir(parents=True)
    lines = []
    for sid, sub in subs.items():
        record = {
            "id": sid,
            "assignment": week,
            "file": f"{sid}.ipynb",
            "student": sub.get("student", ""),
            "status": "graded",
            "questions": [],
        }
        lines.append(json.dumps(record))
        body = {
            "id": sid,
            "assignment": week,
            "notebook_sha256": "0" * 64,
            "code": sub["code"],
            "manual": sub.get("manual") or manual(week),
        }
        (folder / "answers" / f"{sid}.json").write_text(json.dumps(body))
    (folder / "records.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def labels(found: screen.Screen) -> dict[str, str]:
    return {s.id: s.label for s in found.submissions}


def pair_of(found: screen.Screen, a: str, b: str) -> screen.Pair | None:
    names = labels(found)
    want = {names[a], names[b]}
    return next((p for p in found.pairs if {p.a.label, p.b.label} == want), None)


def similarity(*argv: str) -> int:
    return cli.main(["similarity", *argv])


@pytest.mark.parametrize("week", course.WEEKS)
def test_a_disguised_copy_is_the_top_pair(week, tmp_path):
    ind = independent(week)
    batch = {
        "reference": {"code": reference(week)},
        "independent": {"code": ind},
        "copy": {"code": disguise(ind)},
        "untouched": {"code": stubs(week)},
    }
    found = screen.run(week, write_batch(tmp_path, week, batch))
    top = found.pairs[0]
    names = labels(found)
    assert {top.a.label, top.b.label} == {names["independent"], names["copy"]}
    assert top.code_flag and top.code_fraction > 0.9, top.code_fraction
    assert [p for p in found.pairs if p.flags] == [top]


@pytest.mark.parametrize("week", course.WEEKS)
def test_independent_completions_of_the_same_questions_are_not_flagged(week, tmp_path):
    batch = {"reference": {"code": reference(week)}, "ind": {"code": independent(week)}}
    found = screen.run(week, write_batch(tmp_path, week, batch))
    pair = pair_of(found, "reference", "ind")
    assert pair is None or not pair.flags, (pair.code_fraction, pair.code_tokens)
    assert pair is None or pair.code_fraction < screen.CODE_MIN_FRACTION * 0.8


@pytest.mark.parametrize("week", course.WEEKS)
def test_the_stubs_and_the_given_code_alone_share_nothing(week, tmp_path):
    given = [
        answers.cell_text(c)
        for c in release_cells(week)
        if c["cell_type"] == "code"
        and "otter_answer_cell" not in answers.tags(c)
        and len(answers.cell_text(c)) > 200
    ]
    pasted = stubs(week)  # the notebook's helpers and setup pasted into an answer
    first = min(pasted, key=fingerprints.natural)
    pasted[first] += "\n\n\n" + "\n\n".join(given)
    batch = {
        "untouched1": {"code": stubs(week)},
        "untouched2": {"code": stubs(week)},
        "pasted1": {"code": pasted},
        "pasted2": {"code": pasted},
    }
    found = screen.run(week, write_batch(tmp_path, week, batch))
    assert found.pairs == []
    assert all(s.code_doc.own_tokens == 0 for s in found.submissions)


def test_a_shared_paragraph_is_flagged_and_a_stock_phrase_is_not(tmp_path):
    code = stubs("week1")
    prompt = answers.cell_text(answers.manual_blocks(release_cells("week1"))[2][0])
    texts = {
        "para1": {"m3": f"My view. {PARAGRAPH} That is all I saw."},
        "para2": {"m3": f"{PARAGRAPH}\n\nI also tried lr 0.5, which was fine."},
        "stock1": {"m3": f"{STOCK} Below 0.1 the steps are tiny and slow."},
        "stock2": {"m3": f"It zigzags outwards. {STOCK}", "m5": "One parameter."},
        "prompt1": {"m5": prompt + "\n\nIt has one parameter, beta."},
        "prompt2": {"m5": prompt + "\n\nAdd x^3 as a feature; not general."},
    }
    batch = {k: {"code": code, "manual": manual("week1", v)} for k, v in texts.items()}
    found = screen.run("week1", write_batch(tmp_path, "week1", batch))
    shared = pair_of(found, "para1", "para2")
    assert shared is not None and shared.text_flag
    assert len(shared.sentences) >= 3 and found.pairs[0] is shared
    stock = pair_of(found, "stock1", "stock2")
    assert stock is not None and not stock.flags  # seen, never flagged
    assert pair_of(found, "prompt1", "prompt2") is None  # the prompt never counts
    assert [p for p in found.pairs if p.flags] == [shared]


def test_three_identical_sentences_are_flagged(tmp_path):
    three = (
        "The small rate crawls towards the answer. The middle rate lands on "
        "it quickly. The large rate overshoots every single time."
    )
    texts = {"a": {"m3": three + " Mine."}, "b": {"m3": "Hello there. " + three}}
    batch = {
        k: {"code": stubs("week1"), "manual": manual("week1", v)}
        for k, v in texts.items()
    }
    found = screen.run("week1", write_batch(tmp_path, "week1", batch))
    pair = pair_of(found, "a", "b")
    assert pair is not None and pair.text_flag and len(pair.sentences) == 3


HOSTILE_CODE = (
    "def normal_equation(X, y):\n"
    '    """</pre></td><script>alert(1)</script>"""\n'
    "    # </pre><img src=x onerror=alert(2)>\n"
    '    note = "<script>alert(3)</script>"\n'
    "    gram = X.T @ X + 0 * len(note)\n"
    "    if np.linalg.matrix_rank(gram) < gram.shape[0]:\n"
    '        raise ValueError("<b>singular</b>")\n'
    "    return np.linalg.solve(gram, X.T @ y)\n"
)
HOSTILE_TEXT = (
    "<script>alert(4)</script> <img src=x onerror=alert(5)> "
    '<a href="https://example.com/x">link</a> ' + PARAGRAPH
)


def hostile_batch(tmp_path: Path) -> Path:
    code = {**stubs("week1"), "q1": HOSTILE_CODE}
    sub = {"code": code, "manual": manual("week1", {"m3": HOSTILE_TEXT})}
    batch = {
        "evil1": {**sub, "student": "<script>alert(6)</script> =HYPERLINK(1)"},
        "evil2": {**sub, "student": "=cmd|' /C calc'!A0"},
    }
    return write_batch(tmp_path / "graded", "week1", batch)


OUR_TAGS = set(
    "html head meta title style body h1 h2 h3 p strong ul li code table tr th td "
    "a pre mark span br small".split()
)


def page_tags(page: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every start tag of the page with its attributes, as a browser parses it."""
    found = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, [(k, v or "") for k, v in attrs]))

    Tags().feed(page)
    return found


@pytest.mark.parametrize("reveal", [False, True])
def test_the_outputs_contain_no_unescaped_student_markup(tmp_path, reveal):
    folder = hostile_batch(tmp_path)
    assert similarity("week1", "--out", str(folder), *["--reveal"] * reveal) == 0
    page = (folder / "similarity.html").read_text()
    tags = page_tags(page)
    assert {t for t, _ in tags} <= OUR_TAGS
    attributes = {a for _, attrs in tags for a, _ in attrs}
    assert attributes <= {
        "lang",
        "charset",
        "http-equiv",
        "content",
        "href",
        "id",
        "class",
    }
    assert all(v.startswith("#pair-") for _, a in tags for k, v in a if k == "href")
    assert "&lt;script&gt;alert(" in page  # shown, as text
    assert "<mark>" in page and "default-src 'none'" in page
    rows = list(csv.reader(io.StringIO((folder / "similarity.csv").read_text())))
    assert rows[1][rows[0].index("text_flag")] == "1"
    assert all(not c.startswith(("=", "+", "-", "@")) for r in rows for c in r)


def test_blind_by_default_names_on_request(tmp_path):
    ind = independent("week1")
    batch = {
        "alice_nb-1234abcd": {"code": ind, "student": "Alice Liddell <al@x.edu>"},
        "bob_nb-5678abcd": {"code": disguise(ind), "student": "Bob Ross <br@x.edu>"},
    }
    folder = write_batch(tmp_path, "week1", batch)
    assert similarity("week1", "--out", str(folder)) == 0
    blind = (folder / "similarity.html").read_text()
    blind += (folder / "similarity.csv").read_text()
    for secret in ("alice", "Alice", "Liddell", "bob_nb", "Ross", "ipynb"):
        assert secret not in blind
    assert "Similarity is not proof" in blind and "a person" in blind
    assert f"{screen.CODE_MIN_FRACTION:.0%}" in blind  # thresholds on the page
    assert similarity("week1", "--out", str(folder), "--reveal") == 0
    revealed = (folder / "similarity.html").read_text()
    assert "alice_nb-1234abcd" in revealed and "Bob Ross" in revealed


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_records_and_answers_are_untouched(tmp_path):
    folder = hostile_batch(tmp_path)
    (folder / "grades.csv").write_text("id,total\n")
    before = snapshot(folder)
    assert similarity("week1", "--out", str(folder)) == 0
    after = snapshot(folder)
    assert set(after) - set(before) == {"similarity.html", "similarity.csv"}
    assert {k: after[k] for k in before} == before


def test_earlier_terms_are_compared_with_this_one_only(tmp_path):
    ind = independent("week1")
    now = write_batch(tmp_path / "now", "week1", {"new": {"code": disguise(ind)}})
    then = write_batch(
        tmp_path / "then",
        "week1",
        {"old": {"code": ind}, "old_twin": {"code": ind}},
    )
    found = screen.run("week1", now, [then])
    assert [s.id for s in found.submissions] == ["new"]
    flagged = [p for p in found.pairs if p.flags]
    assert len(flagged) == 2  # new vs each old one; the two old ones never paired
    assert all(p.a.term != p.b.term for p in found.pairs)
    assert all(
        p.a.label.startswith("T1/") != p.b.label.startswith("T1/") for p in flagged
    )
    assert similarity("week1", "--out", str(now), "--against", str(then)) == 0
    assert "T1/S-" in (now / "similarity.csv").read_text()


def test_refusals(tmp_path, capsys):
    assert similarity("week9", "--out", str(tmp_path)) == 2
    assert "known weeks" in capsys.readouterr().err
    assert similarity("week1", "--out", str(tmp_path / "nope")) == 2
    assert "no such folder" in capsys.readouterr().err
    assert similarity("week1", "--out", str(tmp_path)) == 2
    assert "records.jsonl" in capsys.readouterr().err
    other = write_batch(tmp_path / "w2", "week2", {"a": {"code": stubs("week2")}})
    assert similarity("week1", "--out", str(other)) == 2
    assert "week2" in capsys.readouterr().err
    assert not list(tmp_path.rglob("similarity.*"))


def test_the_same_batch_gives_the_same_page(tmp_path):
    ind = independent("week1")
    batch = {
        "a": {"code": ind},
        "b": {"code": disguise(ind)},
        "c": {"code": reference("week1")},
    }
    folder = write_batch(tmp_path, "week1", batch)
    outputs = []
    for _ in range(2):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "gene46100",
                "similarity",
                "week1",
                "--out",
                str(folder),
            ],
            check=True,
            capture_output=True,
        )
        outputs.append(snapshot(folder))
    assert outputs[0] == outputs[1]


def notebook_with(week: str, code: dict[str, str], texts: dict[str, str]) -> dict:
    """The release notebook with answer cells replaced (code) and written (texts)."""
    nb = json.loads((REPO / "assignments" / week / f"{week}.ipynb").read_text())
    cells = nb["cells"]
    for i, cell in enumerate(cells):
        check = answers.CHECK_CALL.match(answers.cell_text(cell))
        if check and check.group(1) in code:
            answer = next(
                c for c in reversed(cells[:i]) if "otter_answer_cell" in answers.tags(c)
            )
            answer["source"] = code[check.group(1)]
    blocks = answers.manual_blocks(cells)
    for name, block in zip([f"m{i}" for i in range(1, 8)], blocks):
        if name in texts:
            block[0]["source"] = texts[name]
    return nb


@pytest.mark.slow
@pytest.mark.skipif(sandbox.bwrap_path() is None, reason="bubblewrap is not available")
def test_graded_notebooks_end_to_end(tmp_path):
    """``gene46100 grade week1`` on alice, a disguised copy of alice, the reference
    and the untouched release, then ``gene46100 similarity``."""
    subs = tmp_path / "subs"
    subs.mkdir()
    alice = REPO / "examples/submissions/week1/alice_complete.ipynb"
    shutil.copy(alice, subs / "alice.ipynb")
    shutil.copy(
        REPO / "examples/submissions/week1/bob_untouched.ipynb", subs / "bob.ipynb"
    )
    alice_code = answers.code_answers(answers.notebook_cells(alice.read_bytes()))
    # In a notebook the answers stay in their cells: the copy renames and reorders
    # inside each cell, and writes m3 with alice's paragraph.
    copy = {
        q: recomment(
            rename_locals(
                "\n\n\n".join(
                    reversed([ast.get_source_segment(s, n) for n in ast.parse(s).body])
                )
            )
        )
        for q, s in alice_code.items()
    }
    nb = json.loads(alice.read_text())
    (subs / "alice.ipynb").write_text(json.dumps(notebook_with_texts(nb, PARAGRAPH)))
    (subs / "mallory.ipynb").write_text(
        json.dumps(notebook_with("week1", copy, {"m3": "In short: " + PARAGRAPH}))
    )
    (subs / "ref.ipynb").write_text(
        json.dumps(notebook_with("week1", reference("week1"), {"m3": STOCK}))
    )
    out = tmp_path / "graded"
    assert (
        cli.main(
            ["grade", "week1", str(subs), "--out", str(out), "--jobs", "2", "--quiet"]
        )
        == 0
    )
    before = snapshot(out)
    assert similarity("week1", "--out", str(out)) == 0
    after = snapshot(out)
    assert {k: after[k] for k in before} == before
    found = screen.run("week1", out)
    ids = {Path(s.file).stem: s.id for s in found.submissions}
    top = found.pairs[0]
    assert {top.a.id, top.b.id} == {ids["alice"], ids["mallory"]}
    assert top.code_flag and top.text_flag
    assert [p for p in found.pairs if p.flags] == [top]
    rows = list(csv.reader(io.StringIO((out / "similarity.csv").read_text())))
    assert rows[1][:3] == ["1", top.a.label, top.b.label]


def notebook_with_texts(nb: dict, m3: str) -> dict:
    blocks = answers.manual_blocks(nb["cells"])
    blocks[2][0]["source"] = m3
    return nb


def test_renamed_variables_and_changed_comments_normalise_alike():
    for source in independent("week2").values():
        disguised = recomment(rename_locals(source))
        assert disguised != source
        assert texts_of(disguised) == texts_of(source)


def texts_of(source: str) -> list[list[str]]:
    return [[t.text for t in chunk] for chunk in fingerprints.normalise(source)]


def test_code_that_does_not_parse_is_still_compared():
    broken = "%timeit f(x)\n!ls\ndef f(x:\n    return np.linalg.solve(x.T @ x, x)\n"
    chunks = fingerprints.chunks_of("q1", broken * 3)
    functions = [c for c in chunks if c.tokens[0].text == "def"]
    assert len(functions) == 3 and all(c.hashes for c in functions)
    assert "solve" in [t.text for t in functions[0].tokens]
    assert functions[0].text.startswith("def f(x:") and functions[0].text.endswith(
        "x, x)"
    )
    assert fingerprints.normalise("") == [] and fingerprints.normalise("# hi\n") == []


def test_a_passage_most_of_the_class_shares_counts_for_nothing(tmp_path):
    """MOSS's rule: what more than half the class (and more than 10) writes is an
    idiom of the course, not a copy."""
    ref = reference("week1")
    n = 2 * screen.COMMON_MIN_SUBMISSIONS + 2
    batch = {f"s{i}": {"code": {**stubs("week1"), "q9": ref["q9"]}} for i in range(n)}
    batch["own"] = {"code": independent("week1")}
    found = screen.run("week1", write_batch(tmp_path, "week1", batch))
    assert not [p for p in found.pairs if p.flags]
    few = {k: batch[k] for k in ("s0", "s1", "own")}
    found = screen.run("week1", write_batch(tmp_path / "few", "week1", few))
    assert pair_of(found, "s0", "s1").code_flag  # two of three: worth a look
