"""The review's store: SQLite in the output folder, every change durable at once.

``DIR/review.sqlite`` (WAL journal, ``synchronous=FULL``, one short transaction per
change) holds:

- ``items``: each manual question's rubric items, seeded from
  ``autograder/<week>/rubrics.json``; a TA may edit an item's points or text (its
  ``version`` guards against two editors). Items new in the master are added when
  the store opens; edited ones keep the TA's values.
- ``answers``: one row per submission and manual question: the hash of the answer
  as extracted (``DIR/answers/<id>.json``), whether it is the released
  placeholder, and its place in the question's stable shuffled order.
- ``grades``: the applied item ids, an adjustment in points, a comment, the grader's
  name, whether a person graded it, the answer hash it was graded against, and a
  ``version`` that every write must name (``Conflict`` otherwise: a stale page never
  overwrites another TA's grade).
- ``events``: an audit log of every change.
- ``rendered``: each answer's HTML (its cells and the evidence before them), keyed
  by the answer's hash and rendered once, when the answer is first scanned or has
  changed, or when the renderer's ``VERSION`` changes; pages only read it (a hostile
  answer costs its rendering budget once, not on every view). A database made
  before this table gets it when the store opens.

A score is never stored: it is computed from the items as they are now, so editing
an item's points rescores every answer that uses it. Score = applied items +
adjustment, clamped to [0, points possible]. An answer left as the placeholder (or
missing) is scored 0 with "No response" until a person grades it; an answer whose
content changed since it was graded returns to the queue.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gene46100.course import REPO

DB_NAME = "review.sqlite"
NO_RESPONSE = "No response"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS questions (
  name TEXT PRIMARY KEY, position INTEGER NOT NULL, points REAL NOT NULL,
  prompt TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
  question TEXT NOT NULL, id TEXT NOT NULL, position INTEGER NOT NULL,
  points REAL NOT NULL, text TEXT NOT NULL, note TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (question, id));
CREATE TABLE IF NOT EXISTS answers (
  submission TEXT NOT NULL, question TEXT NOT NULL, sha TEXT NOT NULL,
  placeholder INTEGER NOT NULL, handle TEXT NOT NULL UNIQUE,
  student TEXT NOT NULL, file TEXT NOT NULL, PRIMARY KEY (submission, question));
CREATE TABLE IF NOT EXISTS grades (
  submission TEXT NOT NULL, question TEXT NOT NULL,
  items TEXT NOT NULL DEFAULT '[]', adjustment REAL NOT NULL DEFAULT 0,
  comment TEXT NOT NULL DEFAULT '', grader TEXT NOT NULL DEFAULT '',
  graded INTEGER NOT NULL DEFAULT 0, answer_sha TEXT NOT NULL DEFAULT '',
  version INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (submission, question));
CREATE TABLE IF NOT EXISTS rendered (
  sha TEXT PRIMARY KEY, renderer TEXT NOT NULL, cells_html TEXT NOT NULL,
  before_html TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, grader TEXT NOT NULL,
  submission TEXT NOT NULL, question TEXT NOT NULL, action TEXT NOT NULL,
  detail TEXT NOT NULL);
"""


def renderer():
    """``gene46100.review.render``, imported when first needed: the gradebook reads
    this module's ``manual_grades`` and needs no Markdown, MathML or sanitiser."""
    from gene46100.review import render

    return render


class ReviewError(RuntimeError):
    """The output folder or the grading material cannot be reviewed (says why)."""


class Conflict(RuntimeError):
    """A write named a version that is no longer current (another TA changed it)."""

    def __init__(self, what: str, current: Any) -> None:
        super().__init__(f"{what} was changed by someone else since you opened it")
        self.current = current


@dataclass
class Item:
    question: str
    id: str
    position: int
    points: float
    text: str
    note: str
    version: int


@dataclass
class Grade:
    """One answer's grade as it is now (``state``: graded, no_response, changed,
    ungraded)."""

    submission: str
    question: str
    handle: str
    student: str
    file: str
    placeholder: bool
    items: list[str] = field(default_factory=list)
    adjustment: float = 0.0
    comment: str = ""
    grader: str = ""
    graded: bool = False
    changed: bool = False
    version: int = 0
    updated_at: str = ""

    @property
    def state(self) -> str:
        if self.graded and not self.changed:
            return "graded"
        if self.placeholder:
            return "no_response"
        return "changed" if self.graded else "ungraded"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def score(applied: list[str], adjustment: float, items: list[Item], possible: float):
    """Applied items' points plus the adjustment, within [0, possible]."""
    total = sum(i.points for i in items if i.id in applied) + adjustment
    return round(min(max(total, 0.0), possible), 6)


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (each statement or ``transaction`` commits)."""
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def rubrics_path(week: str, material: Path = REPO) -> Path:
    return material / "autograder" / week / "rubrics.json"


def load_rubrics(week: str, material: Path = REPO) -> dict:
    path = rubrics_path(week, material)
    if not path.is_file():
        raise ReviewError(f"{path} is missing: run `gene46100 build {week}` first")
    return json.loads(path.read_text(encoding="utf-8"))


def read_json_lines(path: Path) -> list[dict]:
    """The journal's records as plain data (a torn line is skipped)."""
    if not path.is_file():
        return []
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            found.append(data)
    return found


def read_answers(out_dir: Path, submission: str) -> dict:
    """``DIR/answers/<id>.json`` (``{}`` when missing or unreadable)."""
    path = out_dir / "answers" / f"{submission}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def answer_entry(answers: dict, question: str) -> dict | None:
    manual = answers.get("manual")
    entry = manual.get(question) if isinstance(manual, dict) else None
    return entry if isinstance(entry, dict) else None


def entry_sha(entry: dict | None) -> str:
    text = json.dumps(entry, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def is_placeholder(entry: dict | None) -> bool:
    """No answer, the released placeholder, or cells with nothing in them."""
    if entry is None or entry.get("placeholder"):
        return True
    cells = entry.get("cells") if isinstance(entry.get("cells"), list) else []
    return not any(
        isinstance(c, dict) and (str(c.get("source", "")).strip() or c.get("outputs"))
        for c in cells
    )


def submissions(out_dir: Path) -> dict[str, dict]:
    """Submission id -> {student, file}: the journal's records (the last line of an
    id wins), plus any answers file without a record."""
    found: dict[str, dict] = {}
    for record in read_json_lines(out_dir / "records.jsonl"):
        found[record["id"]] = {
            "student": str(record.get("student") or ""),
            "file": str(record.get("file") or ""),
        }
    for path in sorted((out_dir / "answers").glob("*.json")):
        found.setdefault(path.stem, {"student": "", "file": ""})
    return found


class Store:
    """The review store of one output folder and one week.

    Each method opens its own short-lived connection, so one ``Store`` serves the
    threads of the server; every write is one transaction, committed before it
    returns.
    """

    def __init__(self, out_dir: Path, week: str, material: Path = REPO) -> None:
        self.out_dir = Path(out_dir)
        self.week = week
        self.path = self.out_dir / DB_NAME
        if not self.out_dir.is_dir():
            raise ReviewError(f"no such output folder: {self.out_dir}")
        self.rubrics = load_rubrics(week, material)
        self.init_schema()
        self.seed_rubrics()
        self.sync()

    # ------------------------------------------------------------ plumbing
    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        conn = connect(self.path)
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``: writers queue, never mix)."""
        with self.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def init_schema(self) -> None:
        with self.connection() as conn:
            conn.executescript(SCHEMA)
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO meta VALUES ('salt', ?)",
                (secrets.token_hex(16),),
            )
            row = conn.execute("SELECT value FROM meta WHERE key='week'").fetchone()
            if row is not None and row["value"] != self.week:
                raise ReviewError(
                    f"{self.path} reviews {row['value']}, not {self.week}"
                )
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('week', ?)", (self.week,))

    def salt(self) -> str:
        with self.connection() as conn:
            return conn.execute("SELECT value FROM meta WHERE key='salt'").fetchone()[0]

    def seed_rubrics(self) -> None:
        """Questions from the rubrics file; items new there are added, items a TA
        edited keep their values."""
        with self.transaction() as conn:
            for position, q in enumerate(self.rubrics["questions"]):
                conn.execute(
                    "INSERT INTO questions VALUES (?, ?, ?, ?) ON CONFLICT(name) DO "
                    "UPDATE SET position=excluded.position, points=excluded.points, "
                    "prompt=excluded.prompt",
                    (q["name"], position, float(q["points"]), q["prompt"]),
                )
                for index, item in enumerate(q["items"]):
                    conn.execute(
                        "INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?, ?, ?, 1)",
                        (
                            q["name"],
                            str(item["id"]),
                            index,
                            float(item["points"]),
                            item["text"],
                            item.get("note", ""),
                        ),
                    )

    def sync(self) -> int:
        """Read the output folder again: new answers join the queue; an answer whose
        content changed since it was graded returns to it. Returns how many answers
        changed."""
        subs, salt, changed = submissions(self.out_dir), self.salt(), 0
        for sid, who in subs.items():
            changed += self.sync_submission(sid, who, salt)
        self.forget_renderings()
        return changed

    def sync_submission(self, sid: str, who: dict, salt: str) -> int:
        answers, changed = read_answers(self.out_dir, sid), 0
        with self.transaction() as conn:
            for q in self.question_names():
                entry = answer_entry(answers, q)
                sha = entry_sha(entry)
                handle = hashlib.sha256(f"{salt}:{q}:{sid}".encode()).hexdigest()[:20]
                old = conn.execute(
                    "SELECT sha FROM answers WHERE submission=? AND question=?",
                    (sid, q),
                ).fetchone()
                changed += int(old is not None and old["sha"] != sha)
                conn.execute(
                    "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT"
                    "(submission, question) DO UPDATE SET sha=excluded.sha, "
                    "placeholder=excluded.placeholder, student=excluded.student, "
                    "file=excluded.file",
                    (
                        sid,
                        q,
                        sha,
                        int(is_placeholder(entry)),
                        handle,
                        who["student"],
                        who["file"],
                    ),
                )
                conn.execute(
                    "INSERT OR IGNORE INTO grades (submission, question) VALUES (?, ?)",
                    (sid, q),
                )
        self.render_new(answers)
        return changed

    # ------------------------------------------------------------ rendering
    def render_new(self, answers: dict) -> None:
        """Render the answers of one submission whose HTML is not stored yet (outside
        any write transaction: a hostile answer takes up to its budget)."""
        found = [answer_entry(answers, q) for q in self.question_names()]
        entries = {entry_sha(entry): entry for entry in found}
        with self.connection() as conn:
            stored = {
                r["sha"]
                for r in conn.execute(
                    "SELECT sha FROM rendered WHERE renderer=? AND sha IN "
                    f"({','.join('?' * len(entries))})",
                    (renderer().VERSION, *entries),
                )
            }
        for sha, entry in entries.items():
            if sha not in stored:
                self.render_answer(sha, entry)

    def render_answer(self, sha: str, entry: dict | None) -> tuple[str, str]:
        """Render ``entry`` and store its HTML under its hash."""
        render = renderer()
        cells_html, before_html = render.answer_html(entry)
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO rendered VALUES (?, ?, ?, ?)",
                (sha, render.VERSION, cells_html, before_html),
            )
        return cells_html, before_html

    def forget_renderings(self) -> None:
        """Drop HTML that no answer uses any more, or an older renderer made."""
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM rendered WHERE renderer != ? OR sha NOT IN "
                "(SELECT sha FROM answers)",
                (renderer().VERSION,),
            )

    def answer_html(self, submission: str, question: str) -> tuple[str, str]:
        """The stored HTML of an answer's cells and of the evidence before them, as
        scanned (should it be missing, it is rendered from the answer on disk)."""
        with self.connection() as conn:
            row = conn.execute(
                "SELECT r.cells_html, r.before_html FROM answers a JOIN rendered r "
                "ON r.sha=a.sha AND r.renderer=? WHERE a.submission=? AND "
                "a.question=?",
                (renderer().VERSION, submission, question),
            ).fetchone()
        if row is not None:
            return row["cells_html"], row["before_html"]
        entry = self.answer(submission, question)
        return self.render_answer(entry_sha(entry), entry)

    # ------------------------------------------------------------ reading
    def question_names(self) -> list[str]:
        return [q["name"] for q in self.rubrics["questions"]]

    def questions(self) -> list[dict]:
        with self.connection() as conn:
            rows = conn.execute("SELECT * FROM questions ORDER BY position").fetchall()
        names = set(self.question_names())
        return [dict(r) for r in rows if r["name"] in names]

    def question(self, name: str) -> dict:
        found = next((q for q in self.questions() if q["name"] == name), None)
        if found is None:
            raise KeyError(name)
        return found

    def items(self, question: str) -> list[Item]:
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT * FROM items WHERE question=? ORDER BY position, id",
                (question,),
            ).fetchall()
        return [Item(**dict(r)) for r in rows]

    def item(self, question: str, item_id: str) -> Item:
        found = next((i for i in self.items(question) if i.id == item_id), None)
        if found is None:
            raise KeyError(item_id)
        return found

    GRADE_SQL = (
        "SELECT a.submission, a.question, a.handle, a.student, a.file, "
        "a.placeholder, a.sha, g.items, g.adjustment, g.comment, g.grader, g.graded, "
        "g.answer_sha, g.version, g.updated_at FROM answers a JOIN grades g "
        "ON g.submission=a.submission AND g.question=a.question"
    )

    @staticmethod
    def to_grade(row: sqlite3.Row) -> Grade:
        return Grade(
            submission=row["submission"],
            question=row["question"],
            handle=row["handle"],
            student=row["student"],
            file=row["file"],
            placeholder=bool(row["placeholder"]),
            items=json.loads(row["items"]),
            adjustment=row["adjustment"],
            comment=row["comment"],
            grader=row["grader"],
            graded=bool(row["graded"]),
            changed=bool(row["graded"]) and row["answer_sha"] != row["sha"],
            version=row["version"],
            updated_at=row["updated_at"],
        )

    def grades(self, question: str | None = None) -> list[Grade]:
        """Every answer's grade, in each question's shuffled order."""
        where, args = ("WHERE a.question=?", (question,)) if question else ("", ())
        with self.connection() as conn:
            rows = conn.execute(
                f"{self.GRADE_SQL} {where} ORDER BY a.question, a.handle", args
            ).fetchall()
        return [self.to_grade(r) for r in rows]

    def grade(self, question: str, handle: str) -> Grade:
        with self.connection() as conn:
            row = conn.execute(
                f"{self.GRADE_SQL} WHERE a.question=? AND a.handle=?",
                (question, handle),
            ).fetchone()
        if row is None:
            raise KeyError(handle)
        return self.to_grade(row)

    def grade_of(self, submission: str, question: str) -> Grade:
        with self.connection() as conn:
            row = conn.execute(
                f"{self.GRADE_SQL} WHERE a.submission=? AND a.question=?",
                (submission, question),
            ).fetchone()
        if row is None:
            raise KeyError((submission, question))
        return self.to_grade(row)

    def score_of(self, grade: Grade) -> float:
        if grade.state == "no_response":
            return 0.0
        possible = self.question(grade.question)["points"]
        return score(
            grade.items, grade.adjustment, self.items(grade.question), possible
        )

    def queue(self, question: str, include_empty: bool = False) -> list[Grade]:
        """The answers still to grade, in the stable shuffled order."""
        wanted = {"ungraded", "changed"} | ({"no_response"} if include_empty else set())
        return [g for g in self.grades(question) if g.state in wanted]

    def progress(self) -> dict[str, dict[str, int]]:
        """Per question: total answers and how many are graded, no response (auto),
        changed since graded and still to grade."""
        found: dict[str, dict[str, int]] = {}
        for name in self.question_names():
            counts = {"total": 0, "graded": 0, "no_response": 0}
            counts |= {"changed": 0, "ungraded": 0}
            for g in self.grades(name):
                counts["total"] += 1
                counts[g.state] += 1
            found[name] = counts
        return found

    def comments(self, question: str) -> list[str]:
        """Comments given on this question, most used first (for reuse)."""
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT comment, COUNT(*) AS n FROM grades WHERE question=? AND "
                "comment != '' GROUP BY comment ORDER BY n DESC, comment LIMIT 30",
                (question,),
            ).fetchall()
        return [r["comment"] for r in rows]

    def answer(self, submission: str, question: str) -> dict | None:
        return answer_entry(read_answers(self.out_dir, submission), question)

    # ------------------------------------------------------------ writing
    def write_grade(
        self,
        conn: sqlite3.Connection,
        grade: Grade,
        version: int,
        grader: str,
        action: str,
        detail: dict,
    ) -> Grade:
        """Store ``grade`` if its version is still ``version`` (else ``Conflict``)."""
        sha = conn.execute(
            "SELECT sha FROM answers WHERE submission=? AND question=?",
            (grade.submission, grade.question),
        ).fetchone()["sha"]
        at = now()
        cursor = conn.execute(
            "UPDATE grades SET items=?, adjustment=?, comment=?, grader=?, graded=1, "
            "answer_sha=?, version=version+1, updated_at=? WHERE submission=? AND "
            "question=? AND version=?",
            (
                json.dumps(grade.items),
                grade.adjustment,
                grade.comment,
                grader,
                sha,
                at,
                grade.submission,
                grade.question,
                version,
            ),
        )
        if cursor.rowcount != 1:
            raise Conflict("this answer's grade", self.current(conn, grade))
        self.log(conn, grader, grade.submission, grade.question, action, detail, at)
        grade.grader, grade.graded, grade.changed = grader, True, False
        grade.version, grade.updated_at = version + 1, at
        return grade

    def current(self, conn: sqlite3.Connection, grade: Grade) -> Grade:
        row = conn.execute(
            f"{self.GRADE_SQL} WHERE a.submission=? AND a.question=?",
            (grade.submission, grade.question),
        ).fetchone()
        return self.to_grade(row)

    @staticmethod
    def log(conn, grader, submission, question, action, detail, at=None) -> None:
        conn.execute(
            "INSERT INTO events (at, grader, submission, question, action, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (at or now(), grader, submission, question, action, json.dumps(detail)),
        )

    def set_item(
        self,
        question: str,
        handle: str,
        item_id: str,
        on: bool,
        version: int,
        grader: str,
    ) -> Grade:
        """Apply (``on``) or remove one rubric item; marks the answer graded."""
        self.item(question, item_id)  # KeyError for an unknown item
        with self.transaction() as conn:
            grade = self.grade_in(conn, question, handle)
            applied = [i for i in grade.items if i != item_id]
            grade.items = applied + [item_id] if on else applied
            return self.write_grade(
                conn, grade, version, grader, "item", {"item": item_id, "on": on}
            )

    def save(
        self,
        question: str,
        handle: str,
        adjustment: float,
        comment: str,
        version: int,
        grader: str,
    ) -> Grade:
        """Store the adjustment and comment; marks the answer graded."""
        if not math.isfinite(adjustment):
            raise ValueError("the adjustment must be a finite number")
        with self.transaction() as conn:
            grade = self.grade_in(conn, question, handle)
            grade.adjustment, grade.comment = adjustment, comment
            detail = {"adjustment": adjustment, "comment": comment}
            return self.write_grade(conn, grade, version, grader, "save", detail)

    def grade_in(self, conn: sqlite3.Connection, question: str, handle: str) -> Grade:
        row = conn.execute(
            f"{self.GRADE_SQL} WHERE a.question=? AND a.handle=?", (question, handle)
        ).fetchone()
        if row is None:
            raise KeyError(handle)
        return self.to_grade(row)

    def edit_item(
        self,
        question: str,
        item_id: str,
        points: float,
        text: str,
        note: str,
        version: int,
        grader: str,
    ) -> Item:
        """Change a rubric item (every answer using it is rescored: scores are
        computed from the items as they are now)."""
        if not math.isfinite(points) or not text.strip():
            raise ValueError("an item needs finite points and a text")
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE items SET points=?, text=?, note=?, version=version+1 "
                "WHERE question=? AND id=? AND version=?",
                (points, text.strip(), note.strip(), question, item_id, version),
            )
            if cursor.rowcount != 1:
                raise Conflict("this rubric item", self.item(question, item_id))
            detail = {"item": item_id, "points": points, "text": text, "note": note}
            self.log(conn, grader, "", question, "edit_item", detail)
        return self.item(question, item_id)

    def add_item(
        self, question: str, points: float, text: str, note: str, grader: str
    ) -> Item:
        """A new rubric item (id ``t1``, ``t2``, ...: added during the review)."""
        if not math.isfinite(points) or not text.strip():
            raise ValueError("an item needs finite points and a text")
        with self.transaction() as conn:
            ids = {
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM items WHERE question=?", (question,)
                )
            }
            item_id = next(
                f"t{n}" for n in range(1, len(ids) + 2) if f"t{n}" not in ids
            )
            position = len(ids)
            conn.execute(
                "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, 1)",
                (question, item_id, position, points, text.strip(), note.strip()),
            )
            detail = {"item": item_id, "points": points, "text": text}
            self.log(conn, grader, "", question, "add_item", detail)
        return self.item(question, item_id)


# ---------------------------------------------------------------- read API
def manual_grades(out_dir: Path, week: str | None = None) -> dict[str, dict]:
    """The manual grades of an output folder, as plain data, for the gradebook.

    ``{submission_id: {question: {"score", "possible", "items": [{"id", "text",
    "points"}], "comment", "grader", "graded_at", "auto"}}}``: only answers that
    are graded now, i.e. graded by a person against the answer as it is in
    ``DIR/answers/`` (a changed answer is absent until regraded), or left as the
    placeholder (``auto``: 0, comment "No response", grader ``auto``). An absent
    question is not graded yet. Works without a review database (then only the
    automatic "No response" grades), and returns ``{}`` when the folder has no
    answers or the week's rubrics are missing. Reads; writes nothing.
    """
    out_dir = Path(out_dir)
    week = week or guess_week(out_dir)
    if week is None:
        return {}
    try:
        rubrics = load_rubrics(week)
    except (ReviewError, OSError, ValueError):
        return {}
    stored = stored_grades(out_dir / DB_NAME)
    found: dict[str, dict] = {}
    for sid in submissions(out_dir):
        answers = read_answers(out_dir, sid)
        for q in rubrics["questions"]:
            entry = answer_entry(answers, q["name"])
            got = stored.get((sid, q["name"]))
            result = grade_result(q, entry, got)
            if result is not None:
                found.setdefault(sid, {})[q["name"]] = result
    return found


def grade_result(question: dict, entry: dict | None, stored: dict | None):
    """One answer's entry in ``manual_grades`` (``None``: not graded yet)."""
    possible = float(question["points"])
    if stored is not None and stored["answer_sha"] == entry_sha(entry):
        items = [i for i in stored["rubric"] if i.id in stored["items"]]
        return {
            "score": score(stored["items"], stored["adjustment"], items, possible),
            "possible": possible,
            "items": [{"id": i.id, "text": i.text, "points": i.points} for i in items],
            "comment": stored["comment"],
            "grader": stored["grader"],
            "graded_at": stored["updated_at"],
            "auto": False,
        }
    if is_placeholder(entry):
        return {
            "score": 0.0,
            "possible": possible,
            "items": [],
            "comment": NO_RESPONSE,
            "grader": "auto",
            "graded_at": "",
            "auto": True,
        }
    return None


def stored_grades(path: Path) -> dict[tuple[str, str], dict]:
    """Graded rows of a review database (``{}`` when there is none)."""
    if not path.is_file():
        return {}
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
        conn.row_factory = sqlite3.Row
        try:
            rows = conn.execute("SELECT * FROM grades WHERE graded=1").fetchall()
            items = [Item(**dict(r)) for r in conn.execute("SELECT * FROM items")]
        finally:
            conn.close()
    except sqlite3.Error:
        return {}
    rubric: dict[str, list[Item]] = {}
    for item in items:
        rubric.setdefault(item.question, []).append(item)
    return {
        (r["submission"], r["question"]): {
            **dict(r),
            "items": json.loads(r["items"]),
            "rubric": rubric.get(r["question"], []),
        }
        for r in rows
    }


def guess_week(out_dir: Path) -> str | None:
    """The assignment an output folder grades (from its journal or answers)."""
    for record in read_json_lines(out_dir / "records.jsonl"):
        if isinstance(record.get("assignment"), str):
            return record["assignment"]
    for path in sorted((out_dir / "answers").glob("*.json")):
        week = read_answers(out_dir, path.stem).get("assignment")
        if isinstance(week, str):
            return week
    return None
