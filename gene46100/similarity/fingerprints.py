"""Winnowing fingerprints of code: renamed names, comments and order do not matter.

Schleimer, Wilkerson and Aiken's winnowing (SIGMOD 2003, the algorithm behind MOSS)
over Python tokens, not characters:

1. ``tokens``: Python's own tokenizer; comments, blank lines and statements that are
   only a string (docstrings) are dropped; every name a student chooses becomes
   ``V`` and every string literal ``S``. Kept as they are: keywords, builtins,
   attribute names after a dot (``np.linalg.solve``'s ``linalg`` and ``solve``, the
   library's names, which a copier cannot rename) and keyword-argument names in a
   call (``dtype=``), numbers, operators and the indentation structure.
2. ``chunks``: one chunk per top-level statement (a function, a class, an import),
   so no k-gram spans two functions and moving a function changes nothing.
3. Every run of ``K`` normalised tokens is hashed (BLAKE2b: the same fingerprints on
   every run, unlike Python's salted ``hash()``); in each window of ``W`` consecutive
   hashes the smallest is kept (rightmost on ties). Any shared run of at least
   ``K + W - 1`` tokens is certain to share a fingerprint.
4. Boilerplate (the release's stubs and given code) is every k-gram hash of the
   release; a student's k-grams with those hashes are dropped before winnowing, so
   a stub left as released, or copied out of the notebook, never counts.

Each token keeps its character span in the student's source, so shared fingerprints
map back to passages to highlight.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import keyword
import re
import tokenize
from dataclasses import dataclass, field

K = 12  # tokens per k-gram: about one line of code
W = 6  # winnowing window: any shared run of K + W - 1 = 17 tokens is found

# Not ``_``: interactive shells bind it in builtins, and students use it as a name.
KEEP_NAMES = frozenset(n for n in dir(builtins) if not n.startswith("_"))
KEEP_NAMES |= frozenset(keyword.kwlist)  # not the soft ones: names too
SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
# Python 3.12 splits f-strings into parts: the whole is one string ("S").
FSTRING = getattr(tokenize, "FSTRING_START", -1)
SKIP |= {getattr(tokenize, n, -1) for n in ("FSTRING_MIDDLE", "FSTRING_END")}
STRUCTURE = {tokenize.NEWLINE: ";", tokenize.INDENT: "{", tokenize.DEDENT: "}"}
TOP_LEVEL = re.compile(r"^(?=[^\s#)\]}])", re.MULTILINE)
FALLBACK = re.compile(r"#[^\n]*|(\"\"\"|''')[\s\S]*?\1|\"[^\"\n]*\"|'[^'\n]*'|\w+|\S")


@dataclass(frozen=True)
class Token:
    text: str  # normalised: "V", "S", a keyword, an operator, ...
    start: int  # character offsets in the source
    end: int


@dataclass
class Chunk:
    """One top-level statement of one question's code, normalised and hashed."""

    question: str
    tokens: list[Token]
    hashes: list[int] = field(default_factory=list)  # one per k-gram position
    source: str = ""  # the question's whole code

    @property
    def text(self) -> str:
        """The statement as the student wrote it (comments inside included)."""
        return self.source[self.tokens[0].start : self.tokens[-1].end]


def digest(texts: list[str]) -> int:
    data = "\x1f".join(texts).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def raw_tokens(source: str) -> list[tokenize.TokenInfo]:
    """Python's tokens, or ``[]`` when the source does not tokenize (then
    ``fallback_tokens`` reads it)."""
    try:
        return list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError, ValueError):
        return []


def offsets(source: str):
    """``(row, col) -> character offset`` for tokenize's positions."""
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return lambda pos: starts[min(pos[0] - 1, len(starts) - 1)] + pos[1]


def normalise(source: str) -> list[list[Token]]:
    """The source's top-level statements as lists of normalised tokens.

    Code that does not tokenize (a syntax error, an IPython ``!`` line) is read a
    top-level block at a time, so one broken function leaves the others (and the
    stubs' boilerplate around them) recognised."""
    found = raw_tokens(source)
    if found:
        return statements(found, source)
    out = []
    for start, segment in segments(source):
        found = raw_tokens(segment)
        chunks = statements(found, segment) if found else [fallback_tokens(segment)]
        out += [
            [Token(t.text, t.start + start, t.end + start) for t in c] for c in chunks
        ]
    return [c for c in out if c]


def segments(source: str) -> list[tuple[int, str]]:
    """``(offset, text)`` of each block that starts at column 0."""
    starts = [0] + [m.start() for m in TOP_LEVEL.finditer(source) if m.start()]
    ends = starts[1:] + [len(source)]
    return [(a, source[a:b]) for a, b in zip(starts, ends)]


def statements(found: list[tokenize.TokenInfo], source: str) -> list[list[Token]]:
    """Tokenize's tokens grouped into top-level statements, normalised."""
    significant = [t for t in found if t.type not in SKIP]
    offset = offsets(source)
    chunks: list[list[Token]] = []
    statement: list[tuple[int, Token]] = []  # (token type, token)
    depth = parens = 0  # indentation level, open brackets
    for j, tok in enumerate(significant):
        depth += {tokenize.INDENT: 1, tokenize.DEDENT: -1}.get(tok.type, 0)
        starts_statement = not statement and tok.type not in STRUCTURE
        if depth == 0 and starts_statement and (not chunks or chunks[-1]):
            chunks.append([])  # each top-level statement is a chunk
        parens = brackets(tok, parens)
        text = token_text(significant, j, parens)
        statement.append((tok.type, Token(text, offset(tok.start), offset(tok.end))))
        if tok.type in STRUCTURE or j == len(significant) - 1:
            if not chunks:
                chunks.append([])
            if not only_strings([kind for kind, _ in statement]):
                chunks[-1].extend(t for _, t in statement)
            statement = []
    return [c for c in chunks if c]


def brackets(tok: tokenize.TokenInfo, depth: int) -> int:
    if tok.type == tokenize.OP and tok.string in ("(", "[", "{"):
        return depth + 1
    if tok.type == tokenize.OP and tok.string in (")", "]", "}"):
        return max(depth - 1, 0)
    return depth


def only_strings(kinds: list[int]) -> bool:
    """A statement that is a bare string (a docstring): dropped like a comment."""
    body = [k for k in kinds if k not in STRUCTURE]
    return bool(body) and all(k == tokenize.STRING for k in body)


def token_text(significant: list[tokenize.TokenInfo], j: int, parens: int) -> str:
    """The normalised text of ``significant[j]`` (see the module docstring)."""
    tok = significant[j]
    if tok.type in STRUCTURE:
        return STRUCTURE[tok.type]
    if tok.type in (tokenize.STRING, FSTRING):
        return "S"
    if tok.type != tokenize.NAME or tok.string in KEEP_NAMES:
        return tok.string
    before = significant[j - 1].string if j else ""
    after = significant[j + 1].string if j + 1 < len(significant) else ""
    if before == ".":
        return tok.string  # an attribute: the library's name, or the contract's
    if after == "=" and parens > 0 and before in ("(", ","):
        return tok.string  # a keyword argument (or a parameter with a default)
    return "V"


def fallback_tokens(source: str) -> list[Token]:
    """Code Python cannot tokenize (a syntax error, IPython magics): words and
    symbols by pattern, comments and strings as Python would treat them."""
    out = []
    for match in FALLBACK.finditer(source):
        text = match.group()
        if text.startswith("#"):
            continue
        if text[0] in "'\"":
            text = "S"
        elif (text[0].isalpha() or text[0] == "_") and text not in KEEP_NAMES:
            text = text if out and out[-1].text == "." else "V"
        out.append(Token(text, match.start(), match.end()))
    return out


def chunks_of(question: str, source: str) -> list[Chunk]:
    """One question's code as hashed chunks (k-grams never span two chunks)."""
    out = []
    for tokens in normalise(source):
        texts = [t.text for t in tokens]
        hashes = [digest(texts[p : p + K]) for p in range(len(texts) - K + 1)]
        out.append(Chunk(question, tokens, hashes, source))
    return out


def kgram_hashes(sources: list[str]) -> set[int]:
    """Every k-gram hash of these sources (the boilerplate)."""
    return {h for s in sources for c in chunks_of("", s) for h in c.hashes}


def winnow(hashes: list[int], window: int = W) -> set[int]:
    """The smallest hash of every window of ``window`` hashes (rightmost on ties);
    the whole list when it is shorter than one window."""
    if len(hashes) <= window:
        return set(hashes)
    picked = set()
    for start in range(len(hashes) - window + 1):
        picked.add(min(hashes[start : start + window]))
    return picked


@dataclass
class CodeDoc:
    """One submission's graded code: chunks, fingerprints, and where each k-gram
    hash occurs (for highlighting)."""

    chunks: list[Chunk]
    fingerprints: set[int]
    own_tokens: int  # tokens covered by k-grams that are not boilerplate


def code_doc(code: dict[str, str], boilerplate: set[int]) -> CodeDoc:
    """Fingerprint ``{question: source}`` with ``boilerplate`` hashes removed."""
    chunks = [c for q in sorted(code, key=natural) for c in chunks_of(q, code[q])]
    prints: set[int] = set()
    own = 0
    for chunk in chunks:
        kept = [h for h in chunk.hashes if h not in boilerplate]
        prints |= winnow(kept)
        own += len(covered(chunk, lambda h: h not in boilerplate))
    return CodeDoc(chunks, prints, own)


def covered(chunk: Chunk, wanted) -> set[int]:
    """Token positions of ``chunk`` inside a k-gram whose hash is ``wanted``."""
    positions: set[int] = set()
    for p, h in enumerate(chunk.hashes):
        if wanted(h):
            positions.update(range(p, p + K))
    return positions


def shared_tokens(doc: CodeDoc, shared: set[int]) -> int:
    return sum(len(covered(c, shared.__contains__)) for c in doc.chunks)


def shared_spans(chunk: Chunk, shared: set[int]) -> list[tuple[int, int]]:
    """The character spans of ``chunk.text`` in shared passages (merged runs)."""
    base = chunk.tokens[0].start
    return merge(
        [
            (chunk.tokens[first].start - base, chunk.tokens[last].end - base)
            for first, last in runs(sorted(covered(chunk, shared.__contains__)))
        ]
    )


def matched_chunks(
    a: CodeDoc, b: CodeDoc, shared: set[int]
) -> list[tuple[Chunk | None, Chunk | None]]:
    """The chunks with shared passages, each of ``a``'s beside the chunk of ``b``
    it shares most with (wherever either put it), then ``b``'s that are left."""
    in_b = [(c, set(c.hashes) & shared) for c in b.chunks]
    rows: list[tuple[Chunk | None, Chunk | None]] = []
    used: set[int] = set()
    for chunk in a.chunks:
        mine = set(chunk.hashes) & shared
        if not mine:
            continue
        best = max(range(len(in_b)), key=lambda i: len(in_b[i][1] & mine))
        rows.append((chunk, in_b[best][0] if in_b[best][1] & mine else None))
        used.add(best)
    rows += [(None, c) for i, (c, h) in enumerate(in_b) if h and i not in used]
    return rows


def runs(positions: list[int]) -> list[tuple[int, int]]:
    """Consecutive positions as ``(first, last)`` runs."""
    out: list[tuple[int, int]] = []
    for p in positions:
        if out and p == out[-1][1] + 1:
            out[-1] = (out[-1][0], p)
        else:
            out.append((p, p))
    return out


def merge(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(runs):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def natural(question: str) -> tuple[str, int]:
    """``q2`` before ``q10``."""
    head = question.rstrip("0123456789")
    tail = question[len(head) :]
    return head, int(tail) if tail else -1
