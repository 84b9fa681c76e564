"""The body of each student notebook's last cell (see build/standalone.py).

It writes ``<week>-submission.zip`` beside the notebook: the saved notebook (under
its canonical name, whatever the copy is called) and the week's companion files,
each checked first; on Colab it also asks the browser to download the zip.

A large notebook (saved plots) is packaged all the same, with a warning that says how
to clear outputs: the grader never takes points for outputs (it sets them aside and
keeps a capped share for the written answers), but a file over its cap for a
notebook with outputs is refused, and a big one is slow to upload.
"""


# --- cell ---
def _submission_problems(companions):
    """What is missing or broken among the files handed in beside the notebook."""
    from pathlib import Path

    problems = [
        f"{name} is missing (it must sit beside this notebook)"
        for name in companions
        if not Path(name).is_file()
    ]
    if "model_weights.pt" in companions and Path("model_weights.pt").is_file():
        try:
            import torch

            state = torch.load(
                "model_weights.pt", map_location="cpu", weights_only=True
            )
            if not isinstance(state, dict):
                problems.append("model_weights.pt does not hold a state_dict")
        except Exception as exc:  # the grader loads it the same way
            problems.append(
                f"model_weights.pt does not load ({type(exc).__name__}: {exc})"
            )
    if "predict.py" in companions and Path("predict.py").is_file():
        try:
            compile(Path("predict.py").read_text(), "predict.py", "exec")
        except SyntaxError as exc:
            problems.append(
                f"predict.py has a SyntaxError: {exc.msg}, line {exc.lineno}"
            )
    return problems


def _size_warning(notebook):
    """A warning for a notebook of more than 10 MB ("" otherwise): how large it is,
    how much of it is saved outputs, and how to clear them (a warning only)."""
    import json

    large, limit, mb = 10 * 1024 * 1024, 200 * 1024 * 1024, 1024 * 1024
    if len(notebook) <= large:
        return ""
    try:
        cells = json.loads(notebook.decode("utf-8")).get("cells", [])
        outputs = sum(len(json.dumps(c.get("outputs", []))) for c in cells)
        pasted = sum(len(json.dumps(c.get("attachments", {}))) for c in cells)
    except Exception:  # an unusual notebook: say the size alone
        outputs = pasted = 0
    share = f", {outputs / mb:.1f} MB of it saved outputs (plots)" if outputs else ""
    if pasted > mb:  # kept for the TA up to 8 MB an answer
        share += (
            f" and {pasted / mb:.1f} MB images pasted into text cells (a person "
            "sees at most 8 MB of them per written answer: paste smaller photos)"
        )
    over = (
        f" Over {limit // mb} MB the grader refuses it: clear outputs first."
        if len(notebook) > limit
        else " Outputs never cost points, but a large file is slow to upload."
    )
    return (
        f"Warning: this notebook is {len(notebook) / mb:.1f} MB{share}.{over} To "
        "make it smaller: clear the outputs (Colab: Edit > Clear all outputs; "
        "Jupyter: Kernel > Restart & Clear Output), run again the cells whose plots "
        "your written answers discuss, save, and run this cell again."
    )


def _saved_notebook(week):
    """The notebook's bytes: Colab's live copy, else the newest saved copy here."""
    import json
    from pathlib import Path

    try:
        from google.colab import _message

        reply = _message.blocking_request("get_ipynb", timeout_sec=30)
        return json.dumps(reply["ipynb"], ensure_ascii=False).encode("utf-8")
    except Exception:  # not Colab, or Colab did not answer
        pass
    copies = []
    for path in Path().glob("*.ipynb"):
        try:
            meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        except (OSError, ValueError):
            continue
        if meta.get("otter", {}).get("assignment_name") == week:
            copies.append((path.stat().st_mtime, path))
    return max(copies)[1].read_bytes() if copies else None


def _package_submission(week, companions):
    import zipfile
    from pathlib import Path

    problems = _submission_problems(companions)
    notebook = _saved_notebook(week)
    if notebook is None:
        problems.append(
            f"no saved copy of {week}.ipynb here: save it (File > Save), "
            "or download it with File > Download > Download .ipynb"
        )
    if problems:
        print("Not packaged yet:\n- " + "\n- ".join(problems))
        return
    warning = _size_warning(notebook)
    if warning:
        print(warning)
    target = Path(f"{week}-submission.zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{week}.ipynb", notebook)
        for name in companions:
            zf.write(name, name)
    names = ", ".join([f"{week}.ipynb", *companions])
    print(
        f"wrote {target} ({target.stat().st_size:,} bytes: {names}); hand it in "
        "where the first cell of this notebook says."
    )
    try:
        from google.colab import files

        files.download(str(target))
    except ImportError:
        pass  # not Colab: the zip is beside this notebook
    except Exception:
        print(
            f"Colab did not start the download: open the file browser (folder icon, "
            f"left), right-click {target} > Download. Or hand in the notebook alone "
            "with File > Download > Download .ipynb"
            + (" plus " + ", ".join(companions) if companions else "")
            + "."
        )
