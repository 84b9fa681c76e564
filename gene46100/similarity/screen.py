"""What is compared with what: the submissions of a graded folder, the release as
boilerplate, passages common to much of the class, and the ranked pairs.

Reads only ``records.jsonl`` (which submissions there are, and who they are, for
``--reveal``) and ``answers/<id>.json`` (what each wrote); never scores. A pair is
*flagged* for a person to look at when either measure passes its threshold below;
every pair that shares anything is listed, flagged pairs first.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from gene46100 import course
from gene46100.grader import answers as extracted
from gene46100.similarity import fingerprints, shingles

# Code: shared passages cover this share of the smaller submission's own code
# (tokens outside the stubs and given code), and at least this many tokens.
CODE_MIN_FRACTION = 0.5
CODE_MIN_TOKENS = 50
# Written answers: at least this many identical sentences, or this many shared words.
TEXT_MIN_SENTENCES = 3
TEXT_MIN_WORDS = 40
# A passage in more than this many submissions (and more than half of them) is an
# idiom of the class, not a copy: it never counts (MOSS's -m).
COMMON_MIN_SUBMISSIONS = 10
MAX_SOURCE_CHARS = 200_000  # per answer: a pasted data dump is cut here
SAFE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
INLINE_CODE = re.compile(r"```(?:python)?\n([\s\S]*?)```|`([^`\n]+)`")


class Refused(Exception):
    """The screen cannot run; the message says why."""


@dataclass
class Submission:
    label: str  # blind: "S-1a2b3c", "T1/S-..." for an earlier term
    id: str
    file: str
    student: str
    term: str  # "" for this term, "T1", "T2"... for --against folders
    code: dict[str, str]
    texts: dict[str, str]
    code_doc: fingerprints.CodeDoc | None = None
    text_doc: shingles.TextDoc | None = None


@dataclass
class Pair:
    a: Submission
    b: Submission
    code_shared: set[int] = field(default_factory=set)
    code_tokens: int = 0
    code_fraction: float = 0.0
    text_shared: set[tuple[str, ...]] = field(default_factory=set)
    sentences: set[tuple[str, ...]] = field(default_factory=set)
    text_words: int = 0
    text_fraction: float = 0.0

    @property
    def code_score(self) -> float:
        """How far towards the code threshold (1: flagged)."""
        return min(
            self.code_fraction / CODE_MIN_FRACTION, self.code_tokens / CODE_MIN_TOKENS
        )

    @property
    def text_score(self) -> float:
        """How far towards the written-answer threshold (1: flagged)."""
        return max(
            len(self.sentences) / TEXT_MIN_SENTENCES, self.text_words / TEXT_MIN_WORDS
        )

    @property
    def code_flag(self) -> bool:
        return self.code_score >= 1

    @property
    def text_flag(self) -> bool:
        return self.text_score >= 1

    @property
    def flags(self) -> int:
        return int(self.code_flag) + int(self.text_flag)

    def rank_key(self) -> tuple:
        """Flagged on both, then on one; then nearest to a threshold."""
        scores = sorted((self.code_score, self.text_score), reverse=True)
        return (-self.flags, -scores[0], -scores[1], self.a.label, self.b.label)


@dataclass
class Screen:
    week: course.Week
    folder: Path
    past: list[Path]
    submissions: list[Submission]
    pairs: list[Pair]  # every pair that shares anything, ranked


def run(week: str, folder: Path, past: list[Path] | None = None) -> Screen:
    """Screen ``folder`` (and, against it, each earlier term's folder)."""
    spec = course.week(week)
    past = list(past or [])
    current = load(folder, spec.name, "")
    earlier = [s for i, p in enumerate(past, 1) for s in load(p, spec.name, f"T{i}")]
    everyone = current + earlier
    fingerprint(spec, everyone)
    drop_common(everyone)
    pairs = [
        compare(a, b)
        for a, b in combinations(everyone, 2)
        if not (a.term and b.term)  # earlier terms only against this one
    ]
    shared = [p for p in pairs if p.code_shared or p.text_shared or p.sentences]
    return Screen(spec, folder, past, current, sorted(shared, key=Pair.rank_key))


def load(folder: Path, week: str, term: str) -> list[Submission]:
    """The submissions of one graded folder (the last record of each id)."""
    journal = folder / "records.jsonl"
    if not journal.is_file():
        raise Refused(f"{folder} holds no records.jsonl: run `gene46100 grade` first")
    records: dict[str, dict] = {}
    for line in journal.read_text(encoding="utf-8", errors="replace").splitlines():
        record = parse(line)
        if record.get("assignment") not in (None, week):
            raise Refused(
                f"{folder} holds {str(record['assignment'])!r} records, not {week}"
            )
        if isinstance(record.get("id"), str) and SAFE_ID.match(record["id"]):
            records[record["id"]] = record
    return unique_labels([submission(folder, r, week, term) for r in records.values()])


def parse(line: str) -> dict:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def submission(folder: Path, record: dict, week: str, term: str) -> Submission:
    found = read_answers(folder / "answers" / f"{record['id']}.json", week)
    return Submission(
        label=blind_label(record["id"], term),
        id=record["id"],
        file=str(record.get("file", "")),
        student=str(record.get("student", "")),
        term=term,
        code=code_answers(found),
        texts=written_answers(found),
    )


def blind_label(record_id: str, term: str, length: int = 8) -> str:
    """A stable label that names nobody (ids carry file names, often names)."""
    label = "S-" + hashlib.sha256(record_id.encode()).hexdigest()[:length]
    return f"{term}/{label}" if term else label


def unique_labels(found: list[Submission]) -> list[Submission]:
    """Two ids whose short labels collide get their long ones."""
    seen = Counter(s.label for s in found)
    for s in found:
        if seen[s.label] > 1:
            s.label = blind_label(s.id, s.term, length=64)
    return sorted(found, key=lambda s: s.label)


def read_answers(path: Path, week: str) -> dict[str, Any]:
    """``answers/<id>.json`` as written by the grader, or ``{}``."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict) or found.get("assignment") not in (None, week):
        return {}
    return found


def code_answers(found: dict[str, Any]) -> dict[str, str]:
    code = found.get("code")
    if not isinstance(code, dict):
        return {}
    return {str(q): capped(s) for q, s in code.items() if isinstance(s, str)}


def capped(text: str) -> str:
    """At most ``MAX_SOURCE_CHARS``, cut at a line end."""
    if len(text) <= MAX_SOURCE_CHARS:
        return text
    return text[:MAX_SOURCE_CHARS].rsplit("\n", 1)[0]


def written_answers(found: dict[str, Any]) -> dict[str, str]:
    """Each manual question's markdown, unless left as released."""
    manual = found.get("manual")
    out = {}
    for name, block in manual.items() if isinstance(manual, dict) else ():
        if not isinstance(block, dict) or block.get("placeholder"):
            continue
        cells = block.get("cells") if isinstance(block.get("cells"), list) else []
        text = "\n\n".join(
            str(c.get("source", ""))
            for c in cells
            if isinstance(c, dict) and c.get("cell_type") == "markdown"
        )
        if text.strip():
            out[str(name)] = capped(text)
    return out


def release_cells(spec: course.Week) -> list[dict]:
    path = course.REPO / "assignments" / spec.name / f"{spec.name}.ipynb"
    try:
        return extracted.notebook_cells(path.read_bytes())
    except (OSError, ValueError) as exc:  # the boilerplate must be known
        raise Refused(f"cannot read the release notebook {path}: {exc}") from exc


def fingerprint(spec: course.Week, everyone: list[Submission]) -> None:
    """Each submission's code and text docs, with the release as boilerplate."""
    cells = release_cells(spec)
    code = [extracted.cell_text(c) for c in cells if c.get("cell_type") == "code"]
    markdown = [
        extracted.cell_text(c) for c in cells if c.get("cell_type") == "markdown"
    ]
    # Code the prompts spell out (`self.fc1 = nn.Linear(...)`) is given code too.
    code += [
        m.group(1) or m.group(2) for t in markdown for m in INLINE_CODE.finditer(t)
    ]
    code_boilerplate = fingerprints.kgram_hashes(code)
    text_boilerplate = shingles.boilerplate(markdown)
    for s in everyone:
        s.code_doc = fingerprints.code_doc(s.code, code_boilerplate)
        s.text_doc = shingles.text_doc(s.texts, text_boilerplate)


def drop_common(everyone: list[Submission]) -> None:
    """Remove passages that more than ``common_limit`` submissions share."""
    limit = common_limit(len(everyone))
    for attr in ("fingerprints", "shingles", "sentences"):
        docs = [doc_of(s, attr) for s in everyone]
        counts: dict[Any, int] = {}
        for doc in docs:
            for item in getattr(doc, attr):
                counts[item] = counts.get(item, 0) + 1
        common = {item for item, n in counts.items() if n > limit}
        for doc in docs:
            getattr(doc, attr).difference_update(common)


def common_limit(n: int) -> int:
    return max(COMMON_MIN_SUBMISSIONS, n // 2)


def doc_of(s: Submission, attr: str):
    return s.code_doc if attr == "fingerprints" else s.text_doc


def compare(a: Submission, b: Submission) -> Pair:
    pair = Pair(a, b)
    assert a.code_doc and b.code_doc and a.text_doc and b.text_doc
    pair.code_shared = a.code_doc.fingerprints & b.code_doc.fingerprints
    if pair.code_shared:
        tokens = [fingerprints.shared_tokens(d, pair.code_shared) for d in docs(pair)]
        pair.code_tokens = min(tokens)
        smaller = min(a.code_doc.own_tokens, b.code_doc.own_tokens)
        pair.code_fraction = min(1.0, pair.code_tokens / max(smaller, 1))
    pair.text_shared = a.text_doc.shingles & b.text_doc.shingles
    pair.sentences = a.text_doc.sentences & b.text_doc.sentences
    if pair.text_shared:
        words = [shingles.shared_words(s.text_doc, pair.text_shared) for s in (a, b)]
        pair.text_words = min(words)
        smaller = min(a.text_doc.own_words, b.text_doc.own_words)
        pair.text_fraction = min(1.0, pair.text_words / max(smaller, 1))
    return pair


def docs(pair: Pair) -> list[fingerprints.CodeDoc]:
    return [s.code_doc for s in (pair.a, pair.b) if s.code_doc is not None]
