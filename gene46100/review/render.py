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
"""

from __future__ import annotations

import base64
import html
import re
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
BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAX_TEXT = 20_000  # characters of one text output shown


def math_html(latex: str, display: bool) -> str:
    try:
        mathml = latex2mathml.converter.convert(
            latex, display="block" if display else "inline"
        )
    except Exception:  # any parse failure: show the source instead
        return f'<code class="math-source">{html.escape(latex)}</code>'
    return f'<span class="math {"display" if display else "inline"}">{mathml}</span>'


def markdown_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "linkify": False})
    md.enable(["table", "strikethrough"])
    md.use(
        dollarmath_plugin,
        double_inline=True,
        renderer=lambda text, opts: math_html(text, bool(opts.get("display_mode"))),
    )
    md.use(amsmath_plugin, renderer=lambda text: math_html(text, True))
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


def markdown_html(text: str, attachments: dict | None = None) -> str:
    return sanitise(MARKDOWN.render(text), attachments)


def text_of(value: Any) -> str:
    text = "".join(str(v) for v in value) if isinstance(value, list) else str(value)
    text = ANSI.sub("", text)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "\n[... cut]"
    return text


def pre(text: str, kind: str) -> str:
    return f'<pre class="{kind}">{html.escape(text_of(text))}</pre>'


def bundle_html(data: dict) -> str:
    """One display/execute result: the richest safe representation."""
    for mime in IMAGE_MIMES:
        if mime in data:
            url = image_url(mime, data[mime])
            if url:
                return f'<img class="output" alt="{mime} output" src="{url}">'
    if "text/html" in data:
        return f'<div class="html-output">{sanitise(text_of(data["text/html"]))}</div>'
    if "text/markdown" in data:
        return markdown_html(text_of(data["text/markdown"]))
    if "text/latex" in data:
        return markdown_html(text_of(data["text/latex"]))
    if "text/plain" in data:
        return pre(data["text/plain"], "text")
    for mime in ("application/javascript", "text/javascript"):
        if mime in data:
            note = f"[{mime} output, shown as text, not run]\n"
            return pre(note + text_of(data[mime]), "blocked")
    kinds = ", ".join(sorted(str(k) for k in data)) or "empty"
    return pre(f"[output of type {kinds}: not shown]", "blocked")


def output_html(output: Any) -> str:
    if not isinstance(output, dict):
        return ""
    kind = output.get("output_type")
    if kind == "stream":
        return pre(output.get("text", ""), "stream")
    if kind == "error":
        trace = output.get("traceback") or []
        head = f"{output.get('ename', '')}: {output.get('evalue', '')}"
        return pre("\n".join([head, *map(str, trace)]), "error")
    data = output.get("data")
    return bundle_html(data) if isinstance(data, dict) else ""


def cell_html(cell: Any) -> str:
    """One cell of an answer (markdown rendered, code with its saved outputs)."""
    if not isinstance(cell, dict):
        return ""
    source = str(cell.get("source", ""))
    if cell.get("cell_type") == "markdown":
        body = markdown_html(source, cell.get("attachments"))
        return f'<div class="cell markdown">{body}</div>'
    if cell.get("cell_type") != "code":
        return f'<div class="cell raw">{pre(source, "raw")}</div>'
    outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
    parts = [pre(source, "code")] + [output_html(o) for o in outputs]
    return f'<div class="cell code">{"".join(parts)}</div>'


def cells_html(cells: Any) -> str:
    return "".join(cell_html(c) for c in cells) if isinstance(cells, list) else ""
