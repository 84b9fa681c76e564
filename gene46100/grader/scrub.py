"""Nothing of the grading machine reaches a student.

Student-facing text (feedback, cell errors, a script's error output, notes) can
quote paths: a traceback through torch names the TA's Python environment, a
sandbox error names the job folder. ``scrub`` replaces each with what a student
can use (``<python>/site-packages/torch/serialization.py``, ``predict.py``) before
a record is written, so the feedback pages, Gradescope's results and the journal
all say the same.
"""

from __future__ import annotations

import re
import site
import sys
import sysconfig
import tempfile
from functools import lru_cache
from pathlib import Path

from gene46100.course import REPO
from gene46100.grader.sandbox import JOB_MOUNT

# Any Python's installed packages, on this machine or a cluster worker's.
PACKAGES = re.compile(r"(?:[^\s'\"():,]*/)?(?:site|dist)-packages/")
# The notebook's folder inside the sandbox (the student's own files) and the rest
# of the job folder (the grader's plumbing).
WORK = re.compile(re.escape(JOB_MOUNT) + r"/work/")
JOB = re.compile(re.escape(JOB_MOUNT) + r"/")
HOME = re.compile(r"/(?:home|Users)/[^/\s'\"]+/|/root/")


@lru_cache(maxsize=1)
def machine_prefixes() -> tuple[tuple[str, str], ...]:
    """This machine's folders a message could name, longest first, with the label
    that replaces each."""
    labels = {
        str(REPO): "<grader>",
        sys.prefix: "<python>",
        sys.base_prefix: "<python>",
        sys.exec_prefix: "<python>",
        sysconfig.get_paths().get("stdlib", ""): "<python>/lib",
        tempfile.gettempdir(): "<tmp>",
        str(Path.home()): "~",
    }
    for packages in [*site.getsitepackages(), site.getusersitepackages()]:
        labels[packages] = "<python>/site-packages"
    found = {p.rstrip("/"): label for p, label in labels.items() if len(p) > 1}
    return tuple(sorted(found.items(), key=lambda item: -len(item[0])))


def scrub(text: str) -> str:
    """``text`` with every path of the grading machine replaced by a label."""
    if not text or "/" not in text:
        return text
    text = PACKAGES.sub("<python>/site-packages/", text)
    for prefix, label in machine_prefixes():
        text = text.replace(prefix, label)
    text = WORK.sub("", text)
    text = JOB.sub("<job>/", text)
    return HOME.sub("~/", text)


def scrub_value(value: object) -> object:
    """``scrub`` applied to every string in nested lists and dicts."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [scrub_value(v) for v in value]
    if isinstance(value, dict):
        return {k: scrub_value(v) for k, v in value.items()}
    return value


def scrub_record(record) -> None:
    """Scrub what a student reads of a record (in place): the message, notes,
    cells' errors, and each question's feedback and checks. ``file`` and
    ``traceback`` stay as they are: the TA's, never shown to a student."""
    record.message = scrub(record.message)
    record.intake_notes = scrub_value(record.intake_notes)
    record.grading_notes = scrub_value(record.grading_notes)
    record.cells = scrub_value(record.cells)
    record.flags = scrub_value(record.flags)
    for question in record.questions:
        question.feedback = scrub(question.feedback)
        question.checks = scrub_value(question.checks)
