"""Shared passages in written answers: word shingles and whole sentences.

A student's markdown for each manual question is read as words (lower case; math,
HTML tags and comments, links' targets and code spans left out: correct derivations
and the names the prompt gives look alike in every good answer). Two measures:

- shingles: every run of ``SHINGLE`` consecutive words inside one answer; a pair's
  shared words are the words covered by shingles both have;
- sentences: answers split at ``.``, ``!``, ``?``, blank lines and list items; a
  sentence of at least ``SENTENCE_MIN_WORDS`` words written identically (same words
  in the same order) by both counts once.

The release's markdown (prompts, the placeholder ``_Type your answer here..._``) is
boilerplate: its shingles and sentences never count, so quoting the prompt shares
nothing. One stock phrase ("the learning rate is too large") is one sentence and a
few words; three identical sentences are a paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SHINGLE = 5  # words per shingle
SENTENCE_MIN_WORDS = 5  # shorter sentences are too generic to count

MASK = re.compile(
    r"\$\$[\s\S]*?\$\$|\$[^$\n]+\$|\\\[[\s\S]*?\\\]|\\\([\s\S]*?\\\)"  # math
    r"|<!--[\s\S]*?-->|<[^>\n]*>"  # HTML comments and tags
    r"|```[\s\S]*?```|`[^`\n]*`"  # code
    r"|\]\([^)\n]*\)"  # a link's target
)
WORD = re.compile(r"[^\W_]+(?:['.][^\W_]+)*")
BREAK = re.compile(r"[.!?]|\n\s*\n|\n\s*(?:[-*+]|\d+[.)])\s")


@dataclass(frozen=True)
class Word:
    text: str  # lower case
    start: int
    end: int


@dataclass
class Answer:
    """One written answer: its text, words, sentences and shingles."""

    question: str
    text: str
    words: list[Word]
    sentences: list[tuple[int, int]]  # (first word, last word + 1)
    shingles: list[tuple[str, ...]] = field(default_factory=list)  # one per position


def masked(text: str) -> str:
    """``text`` with the parts that never count blanked (offsets unchanged)."""
    return MASK.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


def answer(question: str, text: str) -> Answer:
    plain = masked(text)
    words = [Word(m.group().lower(), m.start(), m.end()) for m in WORD.finditer(plain)]
    sentences, first = [], 0
    for i in range(1, len(words) + 1):
        last = i == len(words)
        if last or BREAK.search(plain, words[i - 1].end, words[i].start):
            sentences.append((first, i))
            first = i
    texts = [w.text for w in words]
    shingles = [tuple(texts[p : p + SHINGLE]) for p in range(len(texts) - SHINGLE + 1)]
    return Answer(question, text, words, sentences, shingles)


def sentence_keys(found: Answer) -> set[tuple[str, ...]]:
    """The answer's sentences long enough to count, as word tuples."""
    texts = [w.text for w in found.words]
    return {
        tuple(texts[a:b]) for a, b in found.sentences if b - a >= SENTENCE_MIN_WORDS
    }


@dataclass(frozen=True)
class Boilerplate:
    shingles: frozenset[tuple[str, ...]]
    sentences: frozenset[tuple[str, ...]]


def boilerplate(texts: list[str]) -> Boilerplate:
    """The shingles and sentences of the release's markdown."""
    found = [answer("", t) for t in texts]
    return Boilerplate(
        frozenset(s for a in found for s in a.shingles),
        frozenset(s for a in found for s in sentence_keys(a)),
    )


@dataclass
class TextDoc:
    """One submission's written answers, with boilerplate taken out."""

    answers: list[Answer]
    shingles: set[tuple[str, ...]]
    sentences: set[tuple[str, ...]]
    own_words: int  # words covered by shingles that are not boilerplate


def text_doc(texts: dict[str, str], common: Boilerplate) -> TextDoc:
    found = [answer(q, t) for q, t in texts.items() if t.strip()]
    shingles = {s for a in found for s in a.shingles} - common.shingles
    sentences = {s for a in found for s in sentence_keys(a)} - common.sentences
    own = sum(len(covered(a, lambda s: s not in common.shingles)) for a in found)
    return TextDoc(found, shingles, sentences, own)


def covered(found: Answer, wanted) -> set[int]:
    """Word positions inside a shingle that is ``wanted``."""
    positions: set[int] = set()
    for p, s in enumerate(found.shingles):
        if wanted(s):
            positions.update(range(p, p + SHINGLE))
    return positions


def shared_words(doc: TextDoc, shared: set[tuple[str, ...]]) -> int:
    return sum(len(covered(a, shared.__contains__)) for a in doc.answers)


def shared_spans(
    doc: TextDoc, shared: set[tuple[str, ...]], sentences: set[tuple[str, ...]]
) -> dict[str, list[tuple[int, int]]]:
    """Per question, the character spans of shared passages and sentences."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for found in doc.answers:
        positions = covered(found, shared.__contains__)
        texts = [w.text for w in found.words]
        for a, b in found.sentences:
            if tuple(texts[a:b]) in sentences:
                positions.update(range(a, b))
        runs: list[tuple[int, int]] = []
        for p in sorted(positions):
            word = found.words[p]
            if runs and p - 1 in positions:
                runs[-1] = (runs[-1][0], word.end)
            else:
                runs.append((word.start, word.end))
        if runs:
            spans[found.question] = runs
    return spans
