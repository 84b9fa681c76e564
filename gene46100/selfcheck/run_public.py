"""Execute a student notebook in this process and run its public tests (self-check).

Usage: ``python run_public.py NOTEBOOK TESTS_DIR RESULT_JSON [REQUIREMENTS]``. Runs the
cells the grader runs (not those tagged ``otter_ignore``), remembering each cell that
raised, then each question's public tests through ``voice.py`` (the words
``grader.check`` uses too). Writes one entry per question: passed, failed (a short
message) or not_implemented; or ``missing``, a package this check itself needs.
Public tests check the contract only; grades come from hidden tests.
"""

import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import voice  # noqa: E402  (beside this file in the release)

GRADER_CALL = re.compile(r"^\s*grader\.\w+\(.*\)\s*$")
QUESTION_CALL = re.compile(r"""grader\.check\(\s*["'](\w+)["']""")


def make_shell():
    """An in-process IPython shell, as the grader's (magics work; no history file)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    return InteractiveShell(config=config)


def ignored(cell):
    """Otter's ``otter_ignore`` tag: a demo or plot cell, which the grader skips too
    (so the self-check sees what the grader sees, and skips the slow demos). The
    grader's twin is ``intake``'s test; the release cannot import the grader."""
    tags = cell.get("metadata", {}).get("tags", [])
    return isinstance(tags, list) and "otter_ignore" in tags


def text_of(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def code_cells(path):
    """The cells to run, each with the question it belongs to (the next check)."""
    with open(path, encoding="utf-8") as f:
        cells = json.load(f).get("cells", [])
    found, pending = [], []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = text_of(cell)
        asked = QUESTION_CALL.search(source)
        if asked:  # the cells since the last check belong to this question
            for item in pending:
                item["question"] = asked.group(1)
            pending = []
        if not ignored(cell) and not GRADER_CALL.match(source):
            item = {"source": source, "question": None}
            found.append(item)
            pending.append(item)
    return found


def execute_cells(notebook):
    shell = make_shell()
    errors = []
    for cell in code_cells(notebook):
        result = shell.run_cell(cell["source"], store_history=False, silent=True)
        error = result.error_before_exec or result.error_in_exec
        if error is not None and not isinstance(error, NotImplementedError):
            errors.append(voice.cell_error(cell["source"], error, cell["question"]))
    return shell.user_ns, errors


def main(notebook, tests_dir, result_path, requirements=None):
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ["SELFCHECK_NO_INSTALL"] = "1"  # the setup cell reports what is missing
    pins = {}
    if requirements and os.path.exists(requirements):
        with open(requirements) as f:
            pins = voice.pins_from_requirements(f.read())
    try:
        import IPython  # noqa: F401
        import otter.test_files  # noqa: F401
    except ModuleNotFoundError as exc:
        module = (exc.name or "otter").split(".")[0]
        missing = {"missing": module, "message": voice.package_message(module, pins)}
        with open(result_path, "w") as f:
            json.dump(missing, f)
        return
    os.chdir(os.path.dirname(os.path.abspath(notebook)))
    namespace, cell_errors = execute_cells(notebook)
    results = {}
    for path in sorted(glob.glob(os.path.join(tests_dir, "*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        results[name] = voice.check_question(path, namespace, cell_errors, pins)
        # the words both self-checks print, for the pytest plug-in
        results[name]["gpu_line"] = voice.gpu_line(name, results[name])
    with open(result_path, "w") as f:
        json.dump({"questions": results, "cell_errors": cell_errors}, f)


if __name__ == "__main__":
    main(*sys.argv[1:5])
