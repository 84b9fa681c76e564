"""A submitted answer as HTML that cannot run anything in the TA's browser.

- Markdown (markdown-it-py, CommonMark + tables) with LaTeX math: ``$...$``,
  ``$$...$$`` and ``\\begin{align}...`` become MathML on the server
  (latex2mathml), so the page needs no script and no CDN; a formula that does not
  parse is shown as its source.
- Notebook outputs: images (PNG, JPEG, GIF, SVG) as ``<img>`` from ``data:`` URLs
  (an SVG shown as an image never runs its scripts), ``text/html`` sanitised (a
  table stays a table), text as text; ``application/javascript`` and widget
  outputs are shown as inert text, never run.
- Everything a student wrote passes through nh3 (the Rust ``ammonia`` sanitiser):
  no ``<script>``, no event attributes, no ``style``, no ``javascript:`` or
  ``data:`` links, no inline SVG; images only from ``data:`` image URLs or the
  cell's attachments (the page's Content-Security-Policy also blocks remote ones).

An answer is rendered once (the store keeps the HTML, keyed by the answer's hash and
``VERSION``) and within a ``Budget``, so no answer makes its page slow to build or to
open. Before, one student's 26 cells of ``$$...$$`` (5 MB of TeX) cost 29-82 s of
CPU and 18-46 MB of MathML on every view, a page Chromium never finished loading.
The limits:

- ``MAX_CELL_CHARS`` of Markdown per cell (images' ``data:`` URLs not counted):
  markdown-it and nh3 cannot be stopped half-way through a cell, and on hostile
  input they run at about 100 KB/s, so this bounds each step to ~0.2 s;
- ``MAX_FORMULA_CHARS`` of TeX per formula (a longer one is shown as its source):
  latex2mathml cannot be stopped either (~10 us a character);
- ``MAX_NESTING`` levels of Markdown blocks (markdown-it would silently drop what is
  nested deeper);
- ``ANSWER_SECONDS`` of CPU and ``MAX_MARKUP`` characters of HTML per answer, checked
  between cells, outputs and formulas: MathML is what makes Chromium slow (on a
  loaded 2-core machine 100 KB of it takes 0.5-1 s to load, 1 MB 2-3 s), while
  plain text in a ``<pre>`` costs little.

Past a limit the cell (or, past the answer's budget, the rest of the answer) is shown
as escaped source in a ``<pre>``, at most ``SOURCE_SHOWN`` characters of it, with a
note for the TA; the answer itself is untouched. Ordinary answers (a few dozen
formulas, plots, tables) take milliseconds and stay far below every limit.
"""

from __future__ import annotations

import base64
import html
import re
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import latex2mathml.converter
import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.amsmath import amsmath_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin

MATHML_TAGS = {
    "math",
    "mrow",
    "mi",
    "mo",
    "mn",
    "ms",
    "mtext",
    "mspace",
    "msup",
    "msub",
    "msubsup",
    "mfrac",
    "msqrt",
    "mroot",
    "mover",
    "munder",
    "munderover",
    "mtable",
    "mtr",
    "mtd",
    "mstyle",
    "mpadded",
    "mphantom",
    "menclose",
    "semantics",
    "annotation",
    "mfenced",
}
MATHML_ATTRIBUTES = {
    "display",
    "xmlns",
    "mathvariant",
    "stretchy",
    "fence",
    "separator",
    "accent",
    "accentunder",
    "lspace",
    "rspace",
    "minsize",
    "maxsize",
    "movablelimits",
    "displaystyle",
    "scriptlevel",
    "columnalign",
    "columnspacing",
    "rowspacing",
    "columnlines",
    "rowlines",
    "frame",
    "notation",
    "width",
    "height",
    "depth",
    "linethickness",
    "open",
    "close",
    "separators",
    "encoding",
}
TAGS = (nh3.ALLOWED_TAGS - {"area", "map"}) | MATHML_TAGS
ATTRIBUTES = {
    **{tag: set(MATHML_ATTRIBUTES) for tag in MATHML_TAGS},
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align", "colspan", "rowspan"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "code": {"class"},
    "span": {"class"},
    "div": {"class"},
}
IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")
DATA_IMAGE = re.compile(
    r"^data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]+$"
)
# An image's payload in a text or an attribute: costs Chromium and the parsers little.
DATA_PAYLOAD = re.compile(r"data:image/[\w.+-]+;base64,([A-Za-z0-9+/=]+)")
BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CUT = "\n[... cut]"
MAX_TEXT = 20_000  # characters of one text output shown
MAX_CELL_CHARS = 20_000  # of Markdown rendered per cell (a long answer is ~5,000)
MAX_FORMULA_CHARS = 2_000  # of TeX converted per formula (<= 0.03 s each)
MAX_NESTING = 20  # levels of Markdown blocks (a list in a list is 2 levels)
ANSWER_SECONDS = 1.0  # of CPU per answer (an ordinary answer takes 10-50 ms)
MAX_MARKUP = 100_000  # characters of HTML per answer (50 formulas are ~25,000)
SOURCE_SHOWN = 20_000  # characters of source shown where rendering stopped
INTACT = "the answer itself is intact, only its display is cut"
# The store re-renders every answer when this changes: the limits and the libraries
# (a fixed sanitiser must reach HTML rendered before the fix).
LIBRARIES = ("markdown-it-py", "mdit-py-plugins", "latex2mathml", "nh3")
VERSION = "2 " + " ".join(f"{name}=={version(name)}" for name in LIBRARIES)


class ShownAsSource(Exception):
    """One cell is past a limit of its own: it is shown as source (says why)."""


class OverBudget(Exception):
    """The answer's budget is spent: the rest is shown as source (says why)."""


def weight(text: str) -> int:
    """``text``'s length without images' base64 payloads."""
    return len(text) - sum(len(payload) for payload in DATA_PAYLOAD.findall(text))


def math_html(latex: str, display: bool) -> str:
    """A formula as MathML, or as its source when it does not parse or is too long."""
    if len(latex) > MAX_FORMULA_CHARS:
        return math_source(latex)
    try:
        mathml = latex2mathml.converter.convert(
            latex, display="block" if display else "inline"
        )
    except Exception:  # any parse failure: show the source instead
        return math_source(latex)
    return f'<span class="math {"display" if display else "inline"}">{mathml}</span>'


def math_source(latex: str) -> str:
    """A formula shown as the TeX the student wrote."""
    return f'<code class="math-source">{html.escape(latex)}</code>'


def too_deep(state: Any, start: int, end: int, silent: bool) -> bool:
    """A block rule that matches nothing: it stops a cell nested past
    ``MAX_NESTING``, which markdown-it would cut off without a word."""
    if state.level >= MAX_NESTING:
        raise ShownAsSource(
            f"Markdown nested deeper than {MAX_NESTING} levels is not rendered"
        )
    return False


def markdown_parser(
    math: Callable[[str, bool], str] = math_html,
) -> MarkdownIt:
    """CommonMark with tables and math; ``math(latex, display)`` renders formulas."""
    md = MarkdownIt("commonmark", {"html": True, "linkify": False})
    # one level more than too_deep allows, so that too_deep sees the level first
    md.options["maxNesting"] = MAX_NESTING + 1
    md.enable(["table", "strikethrough"])
    md.block.ruler.before("table", "too_deep", too_deep)
    md.use(
        dollarmath_plugin,
        double_inline=True,
        renderer=lambda text, opts: math(text, bool(opts.get("display_mode"))),
    )
    md.use(amsmath_plugin, renderer=lambda text: math(text, True))
    return md


MARKDOWN = markdown_parser()


def image_url(mime: str, data: Any) -> str | None:
    """A ``data:`` URL for base64 image data (SVG text is encoded), or ``None``."""
    if isinstance(data, list):
        data = "".join(str(d) for d in data)
    if not isinstance(data, str) or mime not in IMAGE_MIMES:
        return None
    if mime == "image/svg+xml":
        data = base64.b64encode(data.encode()).decode()
    elif not BASE64.match(data):
        return None
    return f"data:{mime};base64,{''.join(data.split())}"


def attachment_url(attachments: dict, name: str) -> str | None:
    bundle = attachments.get(name) if isinstance(attachments, dict) else None
    if not isinstance(bundle, dict):
        return None
    for mime in IMAGE_MIMES:
        if mime in bundle:
            return image_url(mime, bundle[mime])
    return None


def sanitise(fragment: str, attachments: dict | None = None) -> str:
    """Student HTML made inert (see the module docstring)."""

    def keep(element: str, attribute: str, value: str) -> str | None:
        if attribute == "href":
            return value if re.match(r"(?i)^(https?:|mailto:|#)", value) else None
        if element == "img" and attribute == "src":
            if value.startswith("attachment:"):
                return attachment_url(attachments or {}, value[len("attachment:") :])
            return value if DATA_IMAGE.match(value) else None
        return value

    return nh3.clean(
        fragment,
        tags=TAGS,
        attributes=ATTRIBUTES,
        attribute_filter=keep,
        url_schemes={"http", "https", "mailto", "data", "attachment"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def markdown_html(
    text: str, attachments: dict | None = None, md: MarkdownIt = MARKDOWN
) -> str:
    """Markdown (the course's own text, or a student's within a ``Budget``) as
    sanitised HTML."""
    return sanitise(md.render(text), attachments)


def text_of(value: Any) -> str:
    text = "".join(str(v) for v in value) if isinstance(value, list) else str(value)
    text = ANSI.sub("", text)
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - len(CUT)] + CUT
    return text


def pre(text: str, kind: str) -> str:
    return f'<pre class="{kind}">{html.escape(text_of(text))}</pre>'


class Budget:
    """What rendering one answer may still cost (see the module docstring).

    ``cells`` renders cells one by one; a cell past a limit of its own is shown as
    source, and once the answer's CPU time or HTML is spent, so is the rest.
    """

    def __init__(
        self, seconds: float = ANSWER_SECONDS, markup: int = MAX_MARKUP
    ) -> None:
        self.seconds, self.markup = seconds, markup
        # thread_time: the server renders in several threads at once
        self.deadline = time.thread_time() + seconds
        self.markup_left = markup
        self.md = markdown_parser(self.math)

    def check(self) -> None:
        """``OverBudget`` once the answer's CPU time or HTML is spent."""
        if time.thread_time() > self.deadline:
            raise OverBudget(f"rendering stopped after {self.seconds:g} s of CPU")
        if self.markup_left < 0:
            raise OverBudget(
                f"rendering stopped at {self.markup // 1000} KB of HTML "
                "(more would make the page slow to open)"
            )

    def math(self, latex: str, display: bool) -> str:
        """``math_html``, once the budget is checked (between formulas)."""
        self.check()
        found = math_html(latex, display)
        self.markup_left -= len(found)  # counted exactly again when the cell ends
        return found

    def markdown_html(self, text: str, attachments: dict | None = None) -> str:
        """A student's Markdown (``ShownAsSource`` past ``MAX_CELL_CHARS``)."""
        size = weight(text)
        if size > MAX_CELL_CHARS:
            raise ShownAsSource(
                f"this cell has {size:,} characters of Markdown, more than the "
                f"{MAX_CELL_CHARS:,} rendered per cell"
            )
        return markdown_html(text, attachments, self.md)

    def cells(self, cells: Any) -> str:
        """``cells`` as HTML; past the budget, the rest as source."""
        found = (
            [c for c in cells if isinstance(c, dict)] if isinstance(cells, list) else []
        )
        parts = []
        for index, cell in enumerate(found):
            try:
                self.check()
                parts.append(self.cell(cell))
            except OverBudget as stop:
                parts.append(source_html(found[index:], str(stop), "from here on"))
                break
        return "".join(parts)

    def cell(self, cell: dict) -> str:
        """One cell, or its source when it is past a limit of its own."""
        left = self.markup_left
        try:
            found = cell_html(cell, self)
        except OverBudget:
            raise
        except ShownAsSource as why:
            found = source_html([cell], str(why))
        except Exception as exc:  # a parser's bug on hostile input costs one cell
            found = source_html([cell], f"the renderer failed ({type(exc).__name__})")
        self.markup_left = left - weight(found)
        return found


def cell_source(cell: dict) -> str:
    """A cell's source as the student wrote it, and what else it holds."""
    source = str(cell.get("source", ""))
    outputs = cell.get("outputs")
    if isinstance(outputs, list) and outputs:
        source += f"\n[{len(outputs)} saved output(s) not shown]"
    return source


def source_html(cells: list[dict], why: str, where: str = "") -> str:
    """``cells`` as escaped source (at most ``SOURCE_SHOWN`` characters), with a
    note for the TA saying why."""
    text = "\n\n".join(cell_source(c) for c in cells)
    if len(text) > SOURCE_SHOWN:
        hidden = len(text) - SOURCE_SHOWN
        text = text[:SOURCE_SHOWN] + f"\n[... {hidden:,} more characters not shown]"
    note = f"Shown as source{' ' + where if where else ''}: {why}; {INTACT}."
    return (
        f'<div class="cell source"><p class="source-note">{html.escape(note)}</p>'
        f'<pre class="source">{html.escape(text)}</pre></div>'
    )


def bundle_html(data: dict, budget: Budget) -> str:
    """One display/execute result: the richest safe representation."""
    for mime in IMAGE_MIMES:
        if mime in data:
            url = image_url(mime, data[mime])
            if url:
                return f'<img class="output" alt="{mime} output" src="{url}">'
    if "text/html" in data:
        return f'<div class="html-output">{sanitise(text_of(data["text/html"]))}</div>'
    for mime in ("text/markdown", "text/latex"):
        if mime in data:
            return budget.markdown_html(text_of(data[mime]))
    if "text/plain" in data:
        return pre(data["text/plain"], "text")
    for mime in ("application/javascript", "text/javascript"):
        if mime in data:
            note = f"[{mime} output, shown as text, not run]\n"
            return pre(note + text_of(data[mime]), "blocked")
    kinds = ", ".join(sorted(str(k) for k in data)) or "empty"
    return pre(f"[output of type {kinds}: not shown]", "blocked")


def output_html(output: Any, budget: Budget) -> str:
    """One saved output (the budget is checked before each)."""
    if not isinstance(output, dict):
        return ""
    budget.check()
    kind = output.get("output_type")
    if kind == "stream":
        return pre(output.get("text", ""), "stream")
    if kind == "error":
        trace = output.get("traceback") or []
        head = f"{output.get('ename', '')}: {output.get('evalue', '')}"
        return pre("\n".join([head, *map(str, trace)]), "error")
    data = output.get("data")
    return bundle_html(data, budget) if isinstance(data, dict) else ""


def cell_html(cell: dict, budget: Budget) -> str:
    """One cell of an answer (markdown rendered, code with its saved outputs)."""
    source = str(cell.get("source", ""))
    if cell.get("cell_type") == "markdown":
        body = budget.markdown_html(source, cell.get("attachments"))
        return f'<div class="cell markdown">{body}</div>'
    if cell.get("cell_type") != "code":
        return f'<div class="cell raw">{pre(source, "raw")}</div>'
    outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
    parts = [pre(source, "code")] + [output_html(o, budget) for o in outputs]
    return f'<div class="cell code">{"".join(parts)}</div>'


def answer_html(entry: dict | None) -> tuple[str, str]:
    """An answer's cells and the evidence saved before its prompt, as HTML, within
    one ``Budget`` (the cells first: they are what is graded)."""
    entry = entry if isinstance(entry, dict) else {}
    budget = Budget()
    return budget.cells(entry.get("cells")), budget.cells(entry.get("before"))
