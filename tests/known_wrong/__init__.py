"""Known-wrong answers, one module per week (``known_wrong.<week>``), read by the
generic suite (tests/test_questions.py).

Each module exports ``KNOWN_WRONG``: typical mistakes, each a ``KnownWrong`` entry
that stands alone (its helper functions sit beside it), and ``SLOW``: the questions
whose reference run trains for seconds (their heavy tests are marked slow; the
marks only, never which questions are covered: that is the registry's).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple


class KnownWrong(NamedTuple):
    """One typical wrong answer and what its feedback must say.

    ``overrides``: names replaced in the reference namespace. ``phrase``: what the
    feedback says (every phrase, when a tuple). ``check``: the check that must fail
    with it (None: any failed check's message). ``settings``: attributes of the
    week's checks module changed for a quicker run (a dict value updates a dict
    attribute item by item). ``workdir``: for a question graded on the submission's
    files, how the mistake edits the reference folder. ``slow``: marked slow.
    """

    question: str
    overrides: dict[str, Any]
    phrase: str | tuple[str, ...]
    id: str
    check: str | None = None
    settings: dict[str, Any] = {}  # never mutated
    workdir: Callable[[Path], None] | None = None
    slow: bool = False
