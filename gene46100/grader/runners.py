"""Where submissions are graded: one interface, two runners.

A runner takes the batch's assignment and settings and the submissions left to
grade, and yields each record as soon as it is done (``batch`` journals it):

- ``LocalRunner``: ``settings.jobs`` threads on this machine, each driving one
  sandbox: a warm slot (``sandbox/warm.py``: a warm sandbox per thread) from which
  each submission is forked, unless ``settings.warm`` is off or there is no
  bubblewrap to make one;
- ``cluster.DaskRunner``: each submission sent to a Dask cluster's worker, which
  grades it in its own sandbox there (needs the ``cluster`` extra).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Protocol

from gene46100.grader.assignment import Assignment, Settings
from gene46100.grader.intake import Submission
from gene46100.grader.pipeline import grade_submission
from gene46100.grader.records import Record
from gene46100.grader.sandbox import warm


class Runner(Protocol):
    """Grades submissions somewhere and yields their records as they finish."""

    def warm_up(
        self, settings: Settings, count: int
    ) -> contextlib.AbstractContextManager: ...

    def grade_each(
        self, assignment: Assignment, submissions: list[Submission], settings: Settings
    ) -> Iterator[Record]: ...


class LocalRunner:
    """This machine: ``settings.jobs`` threads, each driving one sandbox."""

    def __init__(self) -> None:
        self.pool: warm.WarmPool | None = None

    @contextlib.contextmanager
    def warm_up(self, settings: Settings, count: int) -> Iterator[None]:
        """Start the warm sandboxes for ``count`` submissions now (their imports
        overlap the host's planning); they are torn down on leaving."""
        if not settings.warm or settings.unsafe or not warm.warm_supported():
            yield
            return
        with warm.WarmPool(min(max(1, settings.jobs), count), settings.limits) as pool:
            self.pool = pool
            try:
                yield
            finally:
                self.pool = None

    def grade_each(
        self, assignment: Assignment, submissions: list[Submission], settings: Settings
    ) -> Iterator[Record]:
        with ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
            futures = [
                pool.submit(grade_submission, assignment, s, settings, self.pool)
                for s in submissions
            ]
            for future in as_completed(futures):
                yield future.result()


def runner_for(settings: Settings) -> Runner:
    """A Dask runner when ``settings.scheduler`` names a cluster, else local."""
    if settings.scheduler:
        from gene46100.grader.cluster import DaskRunner  # needs dask: only if asked

        return DaskRunner()
    return LocalRunner()
