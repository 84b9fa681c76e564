"""Known-wrong answers: the typical mistakes a question's module lists for the tests.

A question module may define ``known_wrong() -> list[KnownWrong]``: whole wrong
answers (a notebook function with a typical mistake) and what their feedback must
say. The project's generic suite (tests/test_questions.py) grades each against the
reference namespace with the mistake swapped in, and requires the phrase. It is a
function, called by the tests only: its answers import torch and the reference,
which grading itself never needs at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple


class KnownWrong(NamedTuple):
    """One typical wrong answer and what its feedback must say.

    ``overrides``: names replaced in the reference namespace. ``phrase``: what the
    feedback says (every phrase, when a tuple). ``id``: unique within the question.
    ``check``: the check that must fail with it (None: any failed check's message).
    ``settings``: attributes of the question's module (or the week's ``common``)
    changed for a quicker run (a dict value updates a dict attribute item by item).
    ``workdir``: for a question graded on the submission's files, how the mistake
    edits the reference folder. ``slow``: its run trains for seconds (marked slow).
    """

    overrides: dict[str, Any]
    phrase: str | tuple[str, ...]
    id: str
    check: str | None = None
    settings: dict[str, Any] = {}  # never mutated
    workdir: Callable[[Path], None] | None = None
    slow: bool = False
