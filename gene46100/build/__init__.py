"""Build everything students and graders get from the master notebooks.

``solutions/<week>/<week>.ipynb`` (Otter assign format) is the one source of truth:
- ``assignments/<week>/``: the student notebook and its public tests (via otter assign);
- ``autograder/<week>/``: all tests, ``assignment.json`` (questions and points) and a
  Gradescope zip;
- ``gene46100_ref/<week>.py``: the reference, from the cells tagged ``export``;
- ``assignments/`` support files for ``pytest assignments/<week>``.

Generated files carry a banner and are never edited by hand; a test rebuilds into a
temporary tree and fails when the committed files are stale.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import yaml

from gene46100 import buildstamp, course
from gene46100.build import examples, reference, rubrics, standalone
from gene46100.build.markup import strip_assign_markup, student_script
from gene46100.course import REPO, Week

BANNER = reference.BANNER
ZIP_DATE = (2026, 1, 1, 0, 0, 0)
SELFCHECK_SOURCES = Path(__file__).resolve().parent.parent / "selfcheck"
# What ``assignments/`` gets for ``pytest assignments/<week>``: the plug-in and the
# one script it runs (students never get grader code).
SELFCHECK_TOP = ("conftest.py", "pytest.ini")
SELFCHECK_SUPPORT = ("run_public.py", "voice.py")


class BuildError(RuntimeError):
    """The master notebook is malformed or otter assign failed."""


def master_path(week: str, repo: Path = REPO) -> Path:
    return course.week(week).master(repo)


# ---------------------------------------------------------------- questions
def question_configs(master: nbformat.NotebookNode) -> list[dict]:
    """The ``# BEGIN QUESTION`` configs of a master, in order."""
    configs = []
    for cell in master.cells:
        if cell.cell_type == "raw" and cell.source.lstrip().startswith(
            "# BEGIN QUESTION"
        ):
            config = yaml.safe_load(cell.source.split("\n", 1)[1]) or {}
            if "name" not in config:
                raise BuildError(f"a BEGIN QUESTION cell has no name: {cell.source!r}")
            configs.append(config)
    return configs


def assignment_spec(week: str, master: nbformat.NotebookNode) -> dict:
    """Questions with their total points; graded in order, manual ones flagged; an
    autograded one with its CPU ``budget`` and review ``topic`` (None when its
    config lacks them: ``question_problems`` says so)."""
    questions = []
    for config in question_configs(master):
        points = config.get("points", 1)
        total = sum(p for p in points if p) if isinstance(points, list) else points
        question = {
            "name": config["name"],
            "points": total,
            "manual": bool(config.get("manual", False)),
        }
        if not question["manual"]:
            question["budget"] = config.get("budget")
            question["topic"] = config.get("topic")
        questions.append(question)
    return {
        "assignment": week,
        "questions": questions,
        "source": f"solutions/{week}/{week}.ipynb",
    }


def question_problems(
    week: str, spec: dict, master: nbformat.NotebookNode | None = None
) -> list[str]:
    """What keeps the master and the hidden checks from describing the same
    questions: one line each, naming the question and the file to edit.

    Every autograded question has a check (and every check a question), a CPU
    ``budget`` and a review ``topic`` in its config, and, given ``master``, its
    prompt states that same budget ("CPU budget: 10 s").
    """
    from gene46100 import checks

    master_file = f"solutions/{week}/{week}.ipynb"
    package = f"gene46100/checks/{week}"
    found = []
    try:
        modules = checks.question_modules(week)
    except ModuleNotFoundError:
        modules = {}  # no checks package yet: every autograded question says so
    checked = set()
    for name, module in modules.items():
        try:
            checks.question_class(module)
        except checks.CheckLayoutError as exc:
            found.append(f"{week}: {exc}")
        checked.add(name)
    auto = [q for q in spec["questions"] if not q["manual"]]
    manual = {q["name"] for q in spec["questions"] if q["manual"]}
    names = [q["name"] for q in spec["questions"]]
    for name in sorted({n for n in names if names.count(n) > 1}):
        found.append(
            f"{week}: {names.count(name)} questions are named {name} in "
            f"{master_file}: give each BEGIN QUESTION config its own name"
        )
    for question in auto:
        name = question["name"]
        if not re.fullmatch(r"q[1-9]\d*", name):
            found.append(
                f"{week}: the autograded question {name!r} in {master_file} needs a "
                'name of the form q<N> ("q11"), which names its check module'
            )
        elif name not in checked:
            found.append(
                f"{week}: {name} is autograded in {master_file} (its BEGIN "
                f"QUESTION has no `manual: true`) but has no hidden check: add "
                f"{package}/{question_file(name)} defining one Question with "
                f'name = "{name}" (see docs/authoring.md)'
            )
        budget = question.get("budget")
        if (
            not isinstance(budget, (int, float))
            or isinstance(budget, bool)
            or budget <= 0
        ):
            found.append(
                f"{week}: {name} has no CPU budget: add `budget: SECONDS` (the CPU "
                f"time its hidden tests may take) to its BEGIN QUESTION config in "
                f"{master_file}"
            )
        if not isinstance(question.get("topic"), str) or not question["topic"].strip():
            found.append(
                f"{week}: {name} has no review topic: add `topic: ...` (what a "
                f"student who lost its points should review) to its BEGIN QUESTION "
                f"config in {master_file}"
            )
    for name in sorted(checked - {q["name"] for q in auto}):
        where = "is a manual question" if name in manual else "has no question"
        module = Path(modules[name].__file__ or "").name
        found.append(
            f"{week}: the hidden check {package}/{module} checks {name}, which "
            f"{where} in {master_file}: add its BEGIN QUESTION cell there (or "
            "remove the check)"
        )
    if master is not None:
        found += prompt_budget_problems(week, master)
    return found


def question_file(name: str) -> str:
    """The file name a question's check module takes: ``q3`` -> ``q03_<topic>.py``."""
    return f"q{int(name[1:]):02d}_<topic>.py"


STATED_BUDGET = re.compile(r"CPU budget: (\d+(?:\.\d+)?) s")


def prompt_budget_problems(week: str, master: nbformat.NotebookNode) -> list[str]:
    """Each autograded question's prompt (the text cells after its config) states
    the budget of its config, once, so the students read what grading enforces."""
    current = None  # the autograded question whose prompt is being read
    stated: dict[str, tuple[object, list[float]]] = {}  # name -> (budget, said)
    for cell in master.cells:
        source = cell.source.lstrip()
        if cell.cell_type == "raw" and source.startswith("# BEGIN"):
            current = None
            if source.startswith("# BEGIN QUESTION"):
                config = yaml.safe_load(cell.source.split("\n", 1)[1]) or {}
                if not config.get("manual"):
                    current = config["name"]
                    stated[current] = (config.get("budget"), [])
        elif cell.cell_type == "markdown" and current is not None:
            said = STATED_BUDGET.findall(cell.source)
            stated[current][1].extend(float(n) for n in said)
        elif cell.cell_type != "markdown":
            current = None  # the prompt ends where the answer cells start
    found = []
    for name, (budget, numbers) in stated.items():
        if numbers != [budget]:
            said = ", ".join(f"{n:g} s" for n in numbers) or "nothing"
            found.append(
                f"{week}: {name}'s prompt in solutions/{week}/{week}.ipynb states "
                f"{said} as its CPU budget, its config says `budget: {budget}`: "
                'make the prompt say "CPU budget: N s" once, with the config\'s N'
            )
    return found


# ---------------------------------------------------------------- ignored cells
IGNORE_TAG = "otter_ignore"


def _defined_names(tree: ast.AST) -> set[str]:
    """Names a cell binds at any level (assignments, imports, defs, loops, withs)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):  # a function's own parameter
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _used_names(tree: ast.AST) -> set[str]:
    return {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def _cell_tree(source: str) -> ast.AST:
    # IPython magics and shell escapes are not Python; drop those lines.
    lines = [
        line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
    ]
    return ast.parse(strip_assign_markup("\n".join(lines)))


def _runs_a_demo(tree: ast.AST) -> bool:
    """Whether a cell holds a ``with needs(...):`` block: the masters' demos, which
    run once the questions they need are answered (training runs, plots)."""
    return any(
        isinstance(node, ast.With)
        and any(
            isinstance(item.context_expr, ast.Call)
            and isinstance(item.context_expr.func, ast.Name)
            and item.context_expr.func.id == "needs"
            for item in node.items
        )
        for node in ast.walk(tree)
    )


def check_ignored_cells(week: str, master: nbformat.NotebookNode) -> None:
    """The grader skips cells tagged ``otter_ignore``. Every demo cell (``with
    needs(...)``) is tagged, or grading would run it (train its models) for every
    submission; and nothing the other cells use may come only from tagged cells, or
    a complete submission would fail when graded."""
    cells = [c for c in master.cells if c.cell_type == "code"]
    from_ignored: dict[str, int] = {}
    for index, cell in enumerate(cells):
        tree = _cell_tree(cell.source)
        if IGNORE_TAG in cell.metadata.get("tags", []):
            for name in _defined_names(tree):
                from_ignored[name] = index
            continue
        if _runs_a_demo(tree):
            raise BuildError(
                f"{week}: code cell {index} runs a demo (`with needs(...)`) but is "
                f"not tagged {IGNORE_TAG}: grading would run it for every "
                f"submission; tag it {IGNORE_TAG}"
            )
        # A name this cell binds itself (e.g. a local in one of its functions) does
        # not count: the approximation errs towards letting the build pass.
        missing = sorted((_used_names(tree) - _defined_names(tree)) & set(from_ignored))
        if missing:
            raise BuildError(
                f"{week}: code cell {index} uses {', '.join(missing)}, "
                f"defined in a cell tagged {IGNORE_TAG} (which the "
                "grader skips); define it in an untagged cell"
            )
        for name in _defined_names(tree):
            from_ignored.pop(name, None)


def reused_definitions(week: Week, out: Path) -> reference.Definitions:
    """The earlier weeks' definitions ``week`` reuses, from their fresh modules in
    ``out`` (earliest definer first)."""
    found: reference.Definitions = {}
    for earlier in course.earlier(week.name):
        path = reference.reference_path(out, earlier)
        if not path.exists():  # building later weeks alone: the committed module
            path = reference.reference_path(REPO, earlier)
        for name, entry in reference.definitions(
            path.read_text(), f"gene46100_ref.{earlier}"
        ).items():
            if name in week.reuses:
                found.setdefault(name, entry)
    return found


def export_reference(week: str, master: nbformat.NotebookNode, out: Path) -> str:
    """The reference module of ``week`` (earlier weeks' modules must be in ``out``)."""
    spec = course.week(week)
    try:
        return reference.export_reference(week, master, reused_definitions(spec, out))
    except reference.ReferenceError as exc:
        raise BuildError(str(exc)) from exc


# ---------------------------------------------------------------- otter assign
def run_otter_assign(master: Path, out: Path) -> None:
    otter = Path(sys.executable).with_name("otter")
    command = [
        str(otter) if otter.exists() else "otter",
        "assign",
        str(master),
        str(out),
        "--no-pdfs",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"otter assign failed for {master}:\n{result.stderr[-3000:]}")


def normalise_notebook(path: Path, week: str) -> None:
    """Stable cell ids (otter makes random ones) so rebuilds are byte-identical."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{week}-{i:03d}"
    nbformat.write(nb, path)


def deterministic_zip(files: dict[str, bytes], path: Path) -> None:
    """A zip whose bytes depend only on its contents (sorted, fixed dates)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            executable = name in ("run_autograder", "setup.sh")
            info.external_attr = (0o755 if executable else 0o644) << 16
            zf.writestr(info, files[name], zipfile.ZIP_DEFLATED)


def copy_tree(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)


def build_week(week: str, repo: Path = REPO, out: Path | None = None) -> None:
    """Regenerate one week's student release, autograder and reference module (its
    Gradescope zip is written by ``build``, once every reference module is fresh)."""
    out = out or repo
    master_file = master_path(week, repo)
    master = nbformat.read(master_file, as_version=4)
    check_ignored_cells(week, master)
    problems = question_problems(week, assignment_spec(week, master), master)
    if problems:
        raise BuildError("\n".join(problems))
    with tempfile.TemporaryDirectory() as tmp:
        dist = Path(tmp) / "dist"
        run_otter_assign(master_file, dist)  # its autograder/ is Otter's, not ours
        student_dir = out / "assignments" / week
        student_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(
            dist / "student" / f"{week}.ipynb", student_dir / f"{week}.ipynb"
        )
        normalise_notebook(student_dir / f"{week}.ipynb", week)
        copy_tree(dist / "student" / "tests", student_dir / "tests")
        write_release_data(week, student_dir)
        write_release_scripts(week, repo, student_dir)
        standalone.embed(week, student_dir, repo)  # one file is enough
    module = reference.reference_path(out, week)
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text(export_reference(week, master, out))
    write_autograder(week, master, out / "autograder" / week, repo)


def write_release_data(week: str, student_dir: Path) -> None:
    """``data/chr22_sequences.txt.gz`` and ``data/chr22_scores.txt.gz`` for a week
    whose registry record has ``release_data`` (simulated, deterministic: rebuilds
    are byte-identical)."""
    spec = course.week(week)
    if spec.release_data:
        from gene46100_ref import tfdata

        n_windows, seed = spec.release_data
        tfdata.write_tf_files(student_dir / "data", n_windows, seed)


def write_release_scripts(week: str, repo: Path, student_dir: Path) -> None:
    """Scripts students get beside the notebook, from ``solutions/<week>/``, released
    as templates (solution blocks removed, prompt blocks unwrapped, as otter assign
    does for the notebook)."""
    for name in course.week(week).release_scripts:
        source = (repo / "solutions" / week / name).read_text()
        try:
            template = student_script(source)
        except ValueError as exc:
            raise BuildError(f"solutions/{week}/{name}: {exc}") from exc
        (student_dir / name).write_text(template)


def write_autograder(
    week: str, master: nbformat.NotebookNode, dst: Path, repo: Path = REPO
) -> None:
    """``autograder/<week>/assignment.json``: the questions and points the grader
    reads; ``rubrics.json``: the manual questions' prompts and rubrics (read by the
    review; see ``build.rubrics``). (Otter's test files are not written: our grader
    runs the hidden checks itself, and nothing read them.)"""
    dst.mkdir(parents=True, exist_ok=True)
    if (dst / "tests").exists():
        shutil.rmtree(dst / "tests")  # from an older build: nothing reads them
    spec = assignment_spec(week, master)
    # What it was built from: grading refuses a build older than its sources.
    spec[buildstamp.KEY] = buildstamp.sources_sha256(week, repo)
    try:
        rubric_spec = rubrics.rubrics_spec(week, master)
    except rubrics.RubricError as exc:
        raise BuildError(str(exc)) from exc
    (dst / "assignment.json").write_text(json.dumps(spec, indent=2) + "\n")
    text = json.dumps(rubric_spec, indent=2, ensure_ascii=False) + "\n"
    (dst / "rubrics.json").write_text(text, encoding="utf-8")


SETUP_SH = """#!/usr/bin/env bash
# {banner}
# Gradescope runs this once when it builds the autograder image (Ubuntu 22.04: its
# python3 is 3.10, which constraints.txt pins for): the one install that gives
# everything grading needs (scripts/install.sh, as on every machine).
# AUTOGRADER_ROOT (default /autograder) lets a test run it in a simulated root.
set -euo pipefail
root="${{AUTOGRADER_ROOT:-/autograder}}"
# apt only for what is missing: python3 and its venv (ensurepip), bubblewrap.
missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -m ensurepip --version >/dev/null 2>&1 || missing+=(python3-venv)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
if (( ${{#missing[@]}} )); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${{missing[@]}}"
fi
python3 -m venv "$root/venv"
PYTHON="$root/venv/bin/python" bash "$root/source/gene46100/scripts/install.sh"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# {banner}
# Gradescope runs this for every submission: the same grader as `gene46100 grade`.
set -euo pipefail
root="${{AUTOGRADER_ROOT:-/autograder}}"
python="${{AUTOGRADER_PYTHON:-$root/venv/bin/python}}"
cd "$root/source/gene46100"
exec "$python" -m gene46100.grader.gradescope {week}
"""
# Repository files the zip carries besides the two packages' sources.
PACKAGE_EXTRAS = (
    "pyproject.toml",
    "constraints.txt",
    "scripts/install.sh",
    "gene46100/selfcheck/pytest.ini",
)


def package_files(week: str, repo: Path, out: Path) -> dict[str, bytes]:
    """The grader as the zip carries it: this tool and its install files (from the
    tool's own checkout), the reference (from ``repo``, every week's generated module
    taken from ``out``: later weeks import earlier ones, so the zip is written after
    they are all regenerated), this week's spec and release notebook."""
    files = {}
    for root, package in ((REPO, "gene46100"), (repo, "gene46100_ref")):
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if (out / rel).exists():
                path = out / rel
            files[f"gene46100/{rel.as_posix()}"] = path.read_bytes()
    for rel in PACKAGE_EXTRAS:
        files[f"gene46100/{rel}"] = (REPO / rel).read_bytes()
    for rel in (
        f"autograder/{week}/assignment.json",
        f"assignments/{week}/{week}.ipynb",
    ):
        files[f"gene46100/{rel}"] = (out / rel).read_bytes()
    return files


def write_gradescope_zip(week: str, repo: Path, out: Path) -> None:
    """``autograder/<week>/<week>-autograder.zip``: upload it to Gradescope as is."""
    banner = BANNER.format(source=f"solutions/{week}/{week}.ipynb")
    files = package_files(week, repo, out)
    files["setup.sh"] = SETUP_SH.format(banner=banner).encode()
    files["run_autograder"] = RUN_AUTOGRADER.format(banner=banner, week=week).encode()
    deterministic_zip(files, out / "autograder" / week / f"{week}-autograder.zip")


def write_selfcheck_support(out: Path) -> None:
    """``assignments/``'s pytest plug-in and the script it runs (no grader code)."""
    target = out / "assignments"
    target.mkdir(parents=True, exist_ok=True)
    banner = BANNER.format(source="gene46100/selfcheck")
    for name in SELFCHECK_TOP:
        text = (SELFCHECK_SOURCES / name).read_text()
        (target / name).write_text(f"# {banner}\n{text}")
    support = target / "_selfcheck"
    if support.exists():
        shutil.rmtree(support)  # nothing stale (an older build shipped more)
    support.mkdir()
    for name in SELFCHECK_SUPPORT:
        text = (SELFCHECK_SOURCES / name).read_text()
        (support / name).write_text(f"# {banner}\n{text}")


def build(
    weeks: tuple[str, ...] = course.WEEKS, repo: Path = REPO, out: Path | None = None
) -> None:
    """Build ``weeks`` and the self-check support into ``out`` (default: the repo).

    Raises:
        course.UnknownWeek: before any work, for a week the course does not have.
    """
    out = out or repo
    specs = [course.week(w) for w in weeks]  # refuse unknown weeks first
    ordered = [w for w in course.WEEKS if w in {s.name for s in specs}]
    for week in ordered:  # course order: later weeks import earlier modules
        build_week(week, repo, out)
    for week in ordered:  # after every reference module: each zip carries them all
        write_gradescope_zip(week, repo, out)
    write_selfcheck_support(out)
    for week in ordered:
        examples.write_examples(course.week(week), repo, out)
