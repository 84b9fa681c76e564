"""The runtime half of each student notebook's setup cell (see build/standalone.py).

The build puts the week's constants (``WEEK``, ``GRADED_WITH``, ``PACKAGES``,
``NO_DEPS``, ``_PAYLOAD``) in the cell, then everything below the ``cell`` marker.
Inside the course's grader ``otter`` is a do-nothing stand-in (self-checks never run
while grading), so the cell then only defines ``grader`` and touches nothing.
"""

WEEK, GRADED_WITH, PACKAGES, NO_DEPS, _PAYLOAD = "week1", {}, {}, [], ("",)


# --- cell ---
def _selfcheck_install(packages, no_deps):
    """pip-install the missing packages, quietly; one line each on failure."""
    import importlib
    import importlib.util
    import os
    import subprocess
    import sys

    if os.environ.get("SELFCHECK_NO_INSTALL"):  # `pytest <week>`: report, not install
        return
    missing = [n for n in packages if importlib.util.find_spec(n) is None]
    for group in (
        [n for n in missing if n not in no_deps],
        [n for n in missing if n in no_deps],
    ):
        if not group:
            continue
        specs = [packages[n] for n in group]
        flags = ["--no-deps"] if group[0] in no_deps else []
        print(f"installing {', '.join(specs)} (once per runtime)")
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", *flags, *specs],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
            print(
                f"could not install {' '.join(specs)} ({tail}); run "
                f"`%pip install {' '.join(flags + specs)}` in a new cell"
            )
    importlib.invalidate_caches()


def _selfcheck_versions(graded_with):
    """One line when versions differ from the grader's in a way that matters."""
    from importlib.metadata import PackageNotFoundError, version

    differ = []
    for name, (want, parts) in graded_with.items():
        try:
            have = version(name)
        except PackageNotFoundError:
            continue
        if have.split("+")[0].split(".")[:parts] != want.split(".")[:parts]:
            differ.append(f"{name} {have} (graded with {want})")
    if differ:
        print(
            f"note: this kernel has {'; '.join(differ)}: a result may differ from "
            "the grader's; to match, pip install "
            + " ".join(f"{n}=={w}" for n, (w, _) in graded_with.items())
        )


def _selfcheck_setup(week, graded_with, packages, no_deps, payload):
    import base64
    import json
    import types
    import zlib
    from pathlib import Path

    try:
        import otter
    except ImportError:
        otter = None
    if otter is not None and not hasattr(otter, "__path__"):
        return otter.Notebook()  # the course's grader: nothing to set up
    _selfcheck_install(packages, no_deps)
    files = json.loads(zlib.decompress(base64.b85decode("".join(payload))))
    written = 0
    for rel, text in files.items():
        path = Path(rel)
        if rel.startswith("tests/") and not path.exists():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                written += 1
            except OSError as exc:
                print(f"could not write {rel}: {exc}")
    voice = types.ModuleType("selfcheck_voice")
    exec(compile(files["voice.py"], "selfcheck_voice.py", "exec"), voice.__dict__)
    grader = _SelfCheck(voice, Path("tests"), packages)
    _selfcheck_versions(graded_with)
    tests = len([r for r in files if r.startswith("tests/")])
    versions = ", ".join(f"{n} {w}" for n, (w, _) in graded_with.items())
    print(
        f"self-checks ready: {tests} public tests"
        + (f" ({written} written to tests/)" if written else "")
        + f"; graded with {versions}"
    )
    return grader


class _SelfCheck:
    """``grader.check("q1")``: q1's public tests, in the words ``pytest`` uses too."""

    def __init__(self, voice, tests_dir, packages):
        from IPython import get_ipython

        self.voice, self.tests_dir, self.pins = voice, tests_dir, packages
        self.shell, self.cell_errors = get_ipython(), {}
        if self.shell is not None:
            old = getattr(self.shell, "_selfcheck_hook", None)
            if old is not None:
                self.shell.events.unregister("post_run_cell", old)
            self.shell.events.register("post_run_cell", self._remember)
            self.shell._selfcheck_hook = self._remember

    def _remember(self, result):
        """Keep each cell's last error (a later clean run of the cell forgets it)."""
        source = getattr(result.info, "raw_cell", "") or ""
        error = result.error_before_exec or result.error_in_exec
        key = self.voice.first_line(source)
        if error is None or isinstance(error, NotImplementedError):
            self.cell_errors.pop(key, None)
        elif "grader.check" not in source:
            self.cell_errors[key] = self.voice.cell_error(source, error)

    def check(self, question, global_env=None):
        env = global_env if global_env is not None else self.shell.user_ns
        path = self.tests_dir / f"{question}.py"
        if not path.exists():
            print(
                f"{question}: no public test here ({path} is missing: run the "
                "setup cell at the top)"
            )
            return
        errors = list(self.cell_errors.values())
        result = self.voice.check_question(str(path), env, errors, self.pins)
        print(self.voice.verdict(question, result))

    def check_all(self):
        for path in sorted(self.tests_dir.glob("q*.py"), key=lambda p: int(p.stem[1:])):
            self.check(path.stem)


def _selfcheck_data(rel, part, parts, sha256, chunk):
    """Write ``rel`` from its parts (the cells after this one) when it is missing."""
    import base64
    import hashlib
    from pathlib import Path

    store = globals().setdefault("_SELFCHECK_PARTS", {})
    path = Path(rel)
    if path.exists():
        if part == parts:
            print(f"{rel}: already here")
        return
    store.setdefault(rel, {})[part] = "".join(chunk)
    if part < parts:
        return
    if sorted(store[rel]) != list(range(1, parts + 1)):
        print(f"{rel}: run the data cells in order (Runtime > Run all does)")
        return
    chunks = store.pop(rel)
    data = base64.b85decode("".join(chunks[i] for i in range(1, parts + 1)))
    if hashlib.sha256(data).hexdigest() != sha256:
        print(f"{rel}: the data cells were changed; take a fresh copy of the notebook")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print(f"{rel}: written ({len(data):,} bytes, as in the release)")


grader = _selfcheck_setup(WEEK, GRADED_WITH, PACKAGES, NO_DEPS, _PAYLOAD)
