"""The screen as a page a TA reads (``similarity.html``) and a table (``.csv``).

Everything a student wrote is hostile: every piece of text goes through
``html.escape``; the page loads nothing (no script, no external resource) and says
so to the browser (a Content-Security-Policy that allows inline styles only). CSV
cells that a spreadsheet would run as a formula are quoted with a leading ``'``.
"""

from __future__ import annotations

import csv
import io
from html import escape

from gene46100.similarity import fingerprints, shingles
from gene46100.similarity.screen import (
    CODE_MIN_FRACTION,
    CODE_MIN_TOKENS,
    COMMON_MIN_SUBMISSIONS,
    TEXT_MIN_SENTENCES,
    TEXT_MIN_WORDS,
    Pair,
    Screen,
    Submission,
)

PAGE_PAIRS = 50  # pairs shown on the page beyond the flagged ones (all in the CSV)
NOT_PROOF = (
    "Similarity is not proof of copying. This screen points a person at pairs worth "
    "a look; a person reads both submissions and decides. It never changes a score, "
    "a record or feedback."
)
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 90em;
       padding: 0 1em; color: #222; }
.notice { border-left: 4px solid #b60; background: #fff6e6; padding: .6em 1em; }
table { border-collapse: collapse; margin: .6em 0; }
th, td { border: 1px solid #ccc; padding: .25em .5em; vertical-align: top; }
td.side { width: 50%; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word;
      font: 13px/1.35 ui-monospace, monospace; }
mark { background: #ffd96a; }
.flag { color: #a30; font-weight: bold; }
h3 { margin-top: 2em; }
"""


def flag_text(flag: bool, text: str) -> str:
    return f'<span class="flag">{escape(text)}</span>' if flag else escape(text)


def highlight(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` escaped, with the spans marked."""
    out, at = [], 0
    for start, end in sorted(spans):
        if start < at:
            start = at
        if end <= start:
            continue
        out += [escape(text[at:start]), "<mark>", escape(text[start:end]), "</mark>"]
        at = end
    out.append(escape(text[at:]))
    return "".join(out)


def who(s: Submission, reveal: bool) -> str:
    if not reveal:
        return escape(s.label)
    name = f" ({s.student})" if s.student else ""
    return f"{escape(s.label)}<br><small>{escape(s.id + name)}</small>"


def shown(screen: Screen) -> list[Pair]:
    flagged = [p for p in screen.pairs if p.flags]
    return flagged + [p for p in screen.pairs if not p.flags][:PAGE_PAIRS]


def html_page(screen: Screen, reveal: bool = False) -> str:
    pairs = shown(screen)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        f"<title>Similarity screen: {escape(screen.week.name)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Similarity screen: {escape(screen.week.name)} "
        f"({escape(screen.week.title)})</h1>",
        f'<p class="notice"><strong>{escape(NOT_PROOF)}</strong></p>',
        summary(screen, reveal),
        thresholds(),
        "<h2>Pairs</h2>",
        pair_table(pairs, reveal),
    ]
    parts += [pair_detail(i, p, reveal) for i, p in enumerate(pairs, 1)]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def summary(screen: Screen, reveal: bool) -> str:
    flagged = sum(1 for p in screen.pairs if p.flags)
    terms = "".join(
        f"<li>T{i}: {escape(str(path))}</li>" for i, path in enumerate(screen.past, 1)
    )
    blind = (
        "Names are shown (<code>--reveal</code>)."
        if reveal
        else "Blind: submissions are labels that name nobody; "
        "<code>gene46100 similarity ... --reveal</code> shows ids and names."
    )
    return (
        f"<p>{len(screen.submissions)} submissions from "
        f"{escape(str(screen.folder))}; {len(screen.pairs)} pairs share something, "
        f"<strong>{flagged} flagged</strong> for a look. {blind}</p>"
        + (f"<p>Compared against earlier terms:</p><ul>{terms}</ul>" if terms else "")
    )


def thresholds() -> str:
    return (
        "<h2>How pairs are flagged</h2><ul>"
        "<li><strong>Code</strong> (graded answer cells): winnowing fingerprints "
        f"of {fingerprints.K}-token runs, names, strings and comments normalised "
        "away, each function on its own (renaming and reordering change nothing). "
        "Flagged when the shared passages cover at least "
        f"{CODE_MIN_FRACTION:.0%} of the smaller submission's own code and at "
        f"least {CODE_MIN_TOKENS} tokens.</li>"
        "<li><strong>Written answers</strong> (markdown of manual questions, math "
        f"and code left out): {shingles.SHINGLE}-word shingles and sentences of at "
        f"least {shingles.SENTENCE_MIN_WORDS} words. Flagged at "
        f"{TEXT_MIN_SENTENCES} identical sentences or {TEXT_MIN_WORDS} shared "
        "words.</li>"
        "<li>Never counted: the released stubs, the notebook's given code and its "
        "prompts, and passages shared by more than half of the submissions (and by "
        f"more than {COMMON_MIN_SUBMISSIONS}).</li>"
        "<li>Percentages are of the smaller submission's own code or words.</li>"
        "</ul>"
    )


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def pair_table(pairs: list[Pair], reveal: bool) -> str:
    if not pairs:
        return "<p>No pair shares any passage.</p>"
    rows = [
        "<table><tr><th>#</th><th>submission</th><th>submission</th>"
        "<th>code shared</th><th>written answers shared</th></tr>"
    ]
    for i, p in enumerate(pairs, 1):
        code = f"{p.code_fraction:.0%} ({p.code_tokens} tokens)"
        text = (
            f"{p.text_fraction:.0%} ({plural(p.text_words, 'word')}, "
            f"{plural(len(p.sentences), 'sentence')})"
        )
        rows.append(
            f'<tr><td><a href="#pair-{i}">{i}</a></td><td>{who(p.a, reveal)}</td>'
            f"<td>{who(p.b, reveal)}</td><td>{flag_text(p.code_flag, code)}</td>"
            f"<td>{flag_text(p.text_flag, text)}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def pair_detail(i: int, p: Pair, reveal: bool) -> str:
    flags = [n for n, f in (("code", p.code_flag), ("written", p.text_flag)) if f]
    title = f"{i}. {who(p.a, reveal)} and {who(p.b, reveal)}"
    parts = [
        f'<h3 id="pair-{i}">{title}'
        + (f' <span class="flag">flagged: {", ".join(flags)}</span>' if flags else "")
        + "</h3>"
    ]
    assert p.a.code_doc and p.b.code_doc and p.a.text_doc and p.b.text_doc
    code = [
        (cell(a, p.code_shared), cell(b, p.code_shared))
        for a, b in fingerprints.matched_chunks(
            p.a.code_doc, p.b.code_doc, p.code_shared
        )
    ]
    parts.append(side_by_side("Code (each function beside its match)", p, code, reveal))
    spans = [
        shingles.shared_spans(s.text_doc, p.text_shared, p.sentences)
        for s in (p.a, p.b)
        if s.text_doc is not None
    ]
    text = [
        tuple(
            (q, highlight(s.texts.get(q, ""), side.get(q, [])))
            for s, side in zip((p.a, p.b), spans)
        )
        for q in sorted(set(spans[0]) | set(spans[1]), key=fingerprints.natural)
    ]
    parts.append(side_by_side("Written answers", p, text, reveal))
    return "\n".join(parts)


def cell(chunk: fingerprints.Chunk | None, shared: set[int]) -> tuple[str, str]:
    """``(question, highlighted code)`` of one side of a row."""
    if chunk is None:
        return "", ""
    spans = fingerprints.shared_spans(chunk, shared)
    return chunk.question, highlight(chunk.text, spans)


def side_by_side(
    what: str, p: Pair, rows: list[tuple[tuple[str, str], ...]], reveal: bool
) -> str:
    """Rows of ``((question, html), (question, html))``, A's beside B's."""
    if not rows:
        return ""
    out = [
        f"<p><strong>{escape(what)}</strong>: shared passages marked.</p>",
        f"<table><tr><th>{who(p.a, reveal)}</th><th>{who(p.b, reveal)}</th></tr>",
    ]
    for row in rows:
        sides = "".join(
            f'<td class="side"><small>{escape(q)}</small><pre>{html}</pre></td>'
            for q, html in row
        )
        out.append(f"<tr>{sides}</tr>")
    out.append("</table>")
    return "\n".join(out)


def spreadsheet_safe(value: object) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_table(screen: Screen, reveal: bool = False) -> str:
    head = ["rank", "a", "b"]
    if reveal:
        head += ["a_id", "a_student", "a_file", "b_id", "b_student", "b_file"]
    head += [
        "code_flag",
        "code_shared_percent",
        "code_shared_tokens",
        "text_flag",
        "text_shared_percent",
        "text_shared_words",
        "text_shared_sentences",
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(head)
    for i, p in enumerate(screen.pairs, 1):
        row: list[object] = [i, p.a.label, p.b.label]
        if reveal:
            row += [p.a.id, p.a.student, p.a.file, p.b.id, p.b.student, p.b.file]
        row += [
            int(p.code_flag),
            round(100 * p.code_fraction, 1),
            p.code_tokens,
            int(p.text_flag),
            round(100 * p.text_fraction, 1),
            p.text_words,
            len(p.sentences),
        ]
        writer.writerow([spreadsheet_safe(v) for v in row])
    return out.getvalue()
