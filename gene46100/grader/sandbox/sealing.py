"""Keep the sandbox's progress events honest and each question's results sealed.

Student code shares the sandbox with the worker, so it can write to the supervisor's
event pipe and to ``out/``. Two things must still hold:

1. **Reference code never reaches code that could use it to answer the question it
   belongs to.** Some questions get correct earlier answers swapped in (``provide``:
   the reference ``mse_gradient`` while ``gradient_descent`` is tested). That source
   is not in the job spec; the supervisor writes ``provide-<question>.py`` into the
   (read-only) job dir only when that question starts, in order, after every earlier
   question has ended and its results are sealed.
2. **A question's results are fixed when it ends.** At each ``q_end`` its
   ``out/<q>.json`` and ``.npz`` move to ``sealed/`` (read-only in the sandbox); after
   the run, ``sealed/`` becomes ``out/``. Anything written later under those names
   (by a later question, a thread, an atexit hook) is discarded and flagged.

Events out of the worker's order (``started``, cells, ``cells_done``, questions in
job order, ``done``) are ignored and flagged: only forged events break the order.
The disk quota for the job dir is checked here too.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from gene46100.grader import sandbox

MAX_FLAGS = 20
DISK_CHECK_S = 1.0


def public_questions(questions: list[dict]) -> list[dict]:
    """Questions as the job spec shows them: ``provide`` says only *whether*."""
    return [{**q, "provide": bool(q.get("provide"))} for q in questions]


def flag(flags: list[str], text: str) -> None:
    if text not in flags and len(flags) < MAX_FLAGS:
        flags.append(text)


class Guard:
    """One attempt's view of the protocol, the seals and the disk quota."""

    def __init__(
        self,
        job_dir: Path,
        order: list[str],
        provides: dict[str, str],
        disk_mb: int,
        disk_base: int = 0,
    ) -> None:
        self.job_dir, self.order, self.provides = job_dir, order, provides
        self.stage = "start"  # start -> cells -> questions -> done
        self.in_cell = False
        self.question: str | None = None
        self.asked = 0  # questions of ``order`` started so far
        self.disk_bytes = disk_mb * 1024 * 1024
        self.disk_base = disk_base  # what the grader put there (inputs, data files)
        self.disk_checked = time.monotonic()
        self.over_quota = False
        (job_dir / "sealed").mkdir(exist_ok=True)

    # ------------------------------------------------------------ events
    def accept(self, event: dict, finished: set[str]) -> str:
        """Advance on a valid event (sealing, providing); else say what is wrong."""
        kind = event.get("ev")
        ok = {
            "started": self.stage == "start",
            "cell_start": self.stage == "cells"
            and not self.in_cell
            and isinstance(event.get("i"), int),
            "cell_end": self.in_cell,
            "cells_done": self.stage == "cells" and not self.in_cell,
            "q_start": self._next_question(event.get("q")),
            "q_end": self.question is not None,
            "done": self.stage == "questions"
            and self.question is None
            and self.asked == len(self.order),
        }.get(kind, True)
        if not ok:
            return (
                f"the sandbox sent a {str(kind)[:20]!r} progress event out of order "
                "(forged events?); it was ignored"
            )
        self._advance(kind, event, finished)
        return ""

    def _next_question(self, name: object) -> bool:
        return (
            self.stage == "questions"
            and self.question is None
            and self.asked < len(self.order)
            and name == self.order[self.asked]
        )

    def _advance(self, kind: object, event: dict, finished: set[str]) -> None:
        if kind == "started":
            self.stage = "cells"
        elif kind in ("cell_start", "cell_end"):
            self.in_cell = kind == "cell_start"
        elif kind == "cells_done":
            self.stage = "questions"
        elif kind == "q_start":
            self.question, self.asked = event["q"], self.asked + 1
            self._provide(self.question, finished)
        elif kind == "q_end":
            seal(self.job_dir, self.question)
            self.question = None
        elif kind == "done":
            self.stage = "done"

    def _provide(self, name: str, finished: set[str]) -> None:
        """Write ``name``'s reference definitions once all earlier ones are sealed."""
        source = self.provides.get(name)
        earlier = self.order[: self.order.index(name)]
        if source and all(q in finished for q in earlier):
            path = self.job_dir / f"provide-{name}.py"
            path.unlink(missing_ok=True)
            # Whole or not at all: the worker reads it the moment it exists (a
            # forked worker is quick enough to read it half written).
            partial = self.job_dir / f".provide-{name}.partial"
            partial.write_text(source)
            os.replace(partial, path)

    def close(self) -> None:
        """After the attempt: no reference source stays behind for a restart."""
        for pattern in ("provide-*.py", ".provide-*.partial"):
            for path in self.job_dir.glob(pattern):
                path.unlink(missing_ok=True)

    # ------------------------------------------------------------ disk
    def disk_full(self, now: float) -> bool:
        """Whether the sandbox wrote more than its quota into the job dir (checked
        once a second, while it runs)."""
        if now - self.disk_checked < DISK_CHECK_S:
            return False
        self.disk_checked = now
        cap = self.disk_base + self.disk_bytes
        self.over_quota = sandbox.disk_usage(self.job_dir, cap) > cap
        return self.over_quota


def seal(job_dir: Path, name: str | None) -> None:
    """Move ``out/<name>.json`` and ``.npz`` to ``sealed/`` (links are moved, never
    followed)."""
    if name is None:
        return
    for suffix in (".json", ".npz"):
        source = job_dir / "out" / f"{name}{suffix}"
        if os.path.lexists(source):
            os.replace(source, job_dir / "sealed" / f"{name}{suffix}")


def unseal(job_dir: Path, flags: list[str]) -> None:
    """After the sandbox is gone: the sealed results become ``out/``; results of a
    sealed question that were written again after it ended are flagged."""
    out, sealed = job_dir / "out", job_dir / "sealed"
    if not sealed.is_dir() or sealed.is_symlink():
        return
    names = {p.name for p in sealed.iterdir()}
    ended = {Path(n).stem for n in names}
    if out.is_dir() and not out.is_symlink():
        for path in sorted(out.iterdir()):
            if Path(path.name).stem in ended:
                flag(
                    flags,
                    f"{path.stem}: its results were rewritten after it ended; "
                    "the ones it produced were kept",
                )
    shutil.rmtree(out, ignore_errors=True)
    if out.is_symlink():
        out.unlink()
    os.replace(sealed, out)


def reset_writable(job_dir: Path, work_files: dict[str, Path]) -> None:
    """Empty the folders sandboxed code may write and restore the notebook's working
    directory (after a disk bomb, so the restart does not meet it again)."""
    for name in sandbox.WRITABLE:
        folder = job_dir / name
        if folder.is_symlink():
            folder.unlink()
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
    for rel, source in work_files.items():
        target = job_dir / "work" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
