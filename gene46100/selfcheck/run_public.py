"""Execute a student notebook in this process and run its public tests (self-check).

Usage: ``python run_public.py NOTEBOOK TESTS_DIR RESULT_JSON``. Runs the cells the
grader runs (not those tagged ``otter_ignore``). Writes one entry per question:
passed, failed (short message) or not_implemented. Public tests check the contract
only; grades come from hidden tests.
"""

import glob
import json
import os
import re
import sys

GRADER_CALL = re.compile(r"^\s*grader\.\w+\(.*\)\s*$")


def make_shell():
    """An in-process IPython shell, as the grader's (magics work; no history file)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    return InteractiveShell(config=config)


def describe_exception(exc):
    """An exception's type and its message on one bounded line."""
    return {"type": type(exc).__name__, "message": " ".join(str(exc).split())[:300]}


def ignored(cell):
    """Otter's ``otter_ignore`` tag: a demo or plot cell, which the grader skips too
    (so the self-check sees what the grader sees, and skips the slow demos). The
    grader's twin is ``intake``'s test; the release cannot import the grader."""
    tags = cell.get("metadata", {}).get("tags", [])
    return isinstance(tags, list) and "otter_ignore" in tags


def code_cells(path):
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code" and not ignored(cell):
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            if not GRADER_CALL.match(source):  # checks run below, once each
                yield {"index": index, "source": source}


def run_tests(tests_dir, namespace):
    from otter.test_files import ExceptionTestFile

    results = {}
    for path in sorted(glob.glob(os.path.join(tests_dir, "*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        test_file = ExceptionTestFile.from_file(path)
        test_file.run(namespace)
        failed = [r.message for r in test_file.test_case_results if not r.passed]
        if not failed:
            results[name] = {"status": "passed"}
        elif any("NotImplementedError" in m for m in failed):
            results[name] = {"status": "not_implemented"}
        else:
            results[name] = {"status": "failed", "message": last_lines(failed[0])}
    return results


EXCEPTION_LINE = re.compile(r"^\w*(Error|Exception|Exit|Interrupt)\b.*:")


def last_lines(message, n=8):
    """The exception and its message (it may span lines), without Otter's preamble."""
    lines = [line for line in message.splitlines() if line.strip()]
    starts = [i for i, line in enumerate(lines) if EXCEPTION_LINE.match(line)]
    return "\n".join(lines[starts[-1] if starts else -n :][:n])


def main(notebook, tests_dir, result_path):
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.chdir(os.path.dirname(os.path.abspath(notebook)))
    shell = make_shell()
    cell_errors = []
    for cell in code_cells(notebook):
        result = shell.run_cell(cell["source"], store_history=False, silent=True)
        error = result.error_before_exec or result.error_in_exec
        if error is not None and not isinstance(error, NotImplementedError):
            cell_errors.append({"cell": cell["index"], **describe_exception(error)})
    results = run_tests(tests_dir, shell.user_ns)
    with open(result_path, "w") as f:
        json.dump({"questions": results, "cell_errors": cell_errors}, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
