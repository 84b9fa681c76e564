"""What a batch grades against: the settings, the assignment's spec and its plans.

Hidden inputs are drawn once per batch (the same for every submission, so grading is
deterministic); the plans and reference outputs stay in this trusted process.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from gene46100 import checks
from gene46100.checks import Plan, Question
from gene46100.course import REPO
from gene46100.grader import refcache, sandbox, tamper
from gene46100.grader.intake import Submission
from gene46100.grader.sandbox.supervisor import Job, Timeouts


@dataclass
class Settings:
    """How a batch is graded (the same for every submission in it)."""

    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    timeouts: Timeouts = field(default_factory=Timeouts)
    jobs: int = 1
    unsafe: bool = False
    warm: bool = True  # fork each submission from a warm sandbox (sandbox/warm.py)
    scheduler: str = ""  # a Dask scheduler (see cluster.py); "": this machine
    seed: int = checks.GRADING_SEED
    autograder_dir: Path = REPO / "autograder"
    release_dir: Path = REPO / "assignments"  # lines found here are never flagged
    # Reference outputs kept across runs (grader/refcache.py); None: computed each run.
    reference_cache: Path | None = field(default_factory=refcache.default_dir)


@dataclass
class Assignment:
    """The assignment's spec (from the build) and its questions' plans."""

    name: str
    spec: dict
    questions: dict[str, Question]
    plans: dict[str, Plan]
    released_lines: set[str] = field(default_factory=set)
    spec_bytes: bytes = b""  # assignment.json as built (part of every fingerprint)


def read_spec(name: str, settings: Settings) -> bytes:
    """``assignment.json`` as built: enough to fingerprint a batch and write its
    gradebook, without importing the checks (and torch) or planning anything."""
    path = settings.autograder_dir / name / "assignment.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `gene46100 build` first")
    return path.read_bytes()


def spec_only(name: str, settings: Settings) -> Assignment:
    """The assignment without plans: what records of submissions that are not run
    (refused at intake) need, for a batch with nothing to run."""
    spec_bytes = read_spec(name, settings)
    return Assignment(name, json.loads(spec_bytes), {}, {}, set(), spec_bytes)


def load_assignment(name: str, settings: Settings) -> Assignment:
    """The assignment with every question's plan (hidden inputs drawn, the checks
    and the reference imported): needed only when some submission is run."""
    spec_bytes = read_spec(name, settings)
    spec = json.loads(spec_bytes)
    graded = checks.questions(name)
    in_spec = {q["name"] for q in spec["questions"] if not q["manual"]}
    if in_spec != set(graded):
        raise RuntimeError(
            f"{name}: questions in assignment.json {sorted(in_spec)} differ "
            f"from the hidden tests {sorted(graded)}; rebuild"
        )
    check_provides_order(graded)
    # Without a sandbox, student code could plant entries that later batches trust.
    cache = None if settings.unsafe else settings.reference_cache
    cache = refcache.usable_folder(cache, sandbox.read_only_binds())
    code = refcache.code_fingerprint(name, settings.seed) if cache else {}
    # Plans already ask the reference (a learning rate from the design's spectrum).
    checks.use_reference_store(
        name, refcache.CallCache(cache, code, name) if cache else None
    )
    plans = {
        n: q.plan(checks.question_rng(name, n, settings.seed))
        for n, q in graded.items()
    }
    if cache:
        refcache.attach(plans, name, code, cache)
    released = tamper.released_lines(settings.release_dir / name / f"{name}.ipynb")
    return Assignment(name, spec, graded, plans, released, spec_bytes)


def prepare_scoring(assignment: Assignment) -> threading.Thread:
    """Start computing what scoring needs whatever the submissions do (reference
    outputs, ``Question.prepare``) in a background thread, while the first sandboxes
    start and run: the grader's own CPU is then spent while it waits anyway. A
    failure here is left for scoring to meet (and record) again."""

    def prepare() -> None:
        for name, question in assignment.questions.items():
            try:
                question.prepare(assignment.plans[name])
            except Exception:  # noqa: BLE001 - scoring recomputes it and records why
                pass

    thread = threading.Thread(target=prepare, name="prepare-scoring", daemon=True)
    thread.start()
    return thread


def check_provides_order(graded: dict[str, Question]) -> None:
    """A question's reference stand-ins (``provides``) reach the sandbox only after
    every earlier question is sealed, so the question grading a provided name must
    come earlier; otherwise student code could answer it with the reference."""
    order = list(graded)
    for name, question in graded.items():
        for other in order[order.index(name) :]:
            shared = set(question.provides) & set(graded[other].names)
            if shared:
                raise RuntimeError(
                    f"{name} provides {sorted(shared)}, graded by "
                    f"{other}, which comes later: reorder the questions"
                )


def make_job(
    assignment: Assignment,
    cells: list[dict],
    work_files: dict[str, Path] | None = None,
    device: str = "cpu",
) -> Job:
    """The sandbox's job for one submission's ``cells`` (``device``: "cuda" when
    the sandbox is lent the GPU)."""
    questions = [
        {
            "name": n,
            "probes": p.probes,
            "seed": assignment_seed(n),
            "timeout_s": assignment.questions[n].timeout_s,
            "provide": checks.provided_source(assignment.name, assignment.questions[n]),
        }
        for n, p in assignment.plans.items()
    ]
    return Job(
        cells=cells,
        questions=questions,
        arrays={n: p.arrays for n, p in assignment.plans.items()},
        files={n: p.files for n, p in assignment.plans.items() if p.files},
        work_files=work_files or {},
        device=device,
        cuda_in_code=mentions_cuda(cells, assignment.released_lines),
    )


CUDA_WORDS = ("cuda", "set_default_device")


def mentions_cuda(cells: list[dict], released: set[str]) -> bool:
    """Whether the student's own code (lines not as released: the release's
    ``get_device`` names CUDA too) mentions CUDA; only then does the sandbox
    watch every torch call for CUDA requests (``worker.CudaOnCpu``)."""
    return any(
        word in line.lower()
        for cell in cells
        for line in cell.get("source", "").splitlines()
        if line.strip() not in released
        for word in CUDA_WORDS
    )


def release_files(release_dir: Path, name: str) -> dict[str, Path]:
    """The files a student gets beside the notebook (data, templates), by relative
    path: the notebook's working directory starts with them, as the student's did.
    Public tests are left out (grading never runs them)."""
    folder = release_dir / name
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and p.name != f"{name}.ipynb"
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.relative_to(folder).parts[0] not in ("tests", "__pycache__")
    }


def work_files_for(
    assignment: Assignment, submission: Submission, settings: Settings
) -> dict[str, Path]:
    """Release files first; the student's companion files (predict.py...) win."""
    files = release_files(settings.release_dir, assignment.name)
    files.update(dict(submission.companions))
    return files


def assignment_seed(question: str) -> int:
    """The seed student code sees before a question (fixed: grades are repeatable)."""
    return sum(map(ord, question)) * 7919 % 2**31
