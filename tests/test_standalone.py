"""One file is enough: a lone student notebook checks itself; the package it makes
goes through intake; one verdict for the week-3a dataset forms (issue 13)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import zipfile
import zlib
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from gene46100 import checks, course
from gene46100.build import standalone
from gene46100.grader import intake
from gene46100.selfcheck import voice

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "submissions"
POISON = 'raise ImportError("a student has no {name}")\n'


def release_notebook(week: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / f"assignments/{week}/{week}.ipynb", as_version=4)


def setup_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.source.startswith("# @title Setup"))


def embedded_payload(week: str) -> dict[str, str]:
    source = setup_cell(release_notebook(week)).source
    block = source.split("_PAYLOAD = (\n", 1)[1].split("\n)\n", 1)[0]
    text = "".join(re.findall(r'"([^"]*)"', block))
    return json.loads(zlib.decompress(base64.b85decode(text)))


@pytest.mark.parametrize("week", course.WEEKS)
def test_the_notebook_carries_its_public_tests_and_the_voice(week):
    files = embedded_payload(week)
    tests = {
        f"tests/{p.name}": p.read_text()
        for p in (REPO / f"assignments/{week}/tests").glob("*.py")
    }
    assert {k: v for k, v in files.items() if k.startswith("tests/")} == tests
    assert files["voice.py"] == (REPO / "gene46100/selfcheck/voice.py").read_text()


@pytest.mark.parametrize("week", course.WEEKS)
def test_the_notebook_carries_the_release_data_byte_for_byte(week):
    nb = release_notebook(week)
    parts: dict[str, dict[int, str]] = {}
    for cell in nb.cells:
        match = re.match(r"(?s).*?_selfcheck_data\('([^']+)', (\d+), ", cell.source)
        if match:
            chunk = "".join(re.findall(r'^    "([^"]*)"$', cell.source, re.M))
            parts.setdefault(match.group(1), {})[int(match.group(2))] = chunk
    data_dir = REPO / f"assignments/{week}/data"
    expected = sorted(p.name for p in data_dir.iterdir()) if data_dir.exists() else []
    assert sorted(Path(rel).name for rel in parts) == expected
    for rel, chunks in parts.items():
        data = base64.b85decode("".join(chunks[i] for i in sorted(chunks)))
        assert data == (REPO / f"assignments/{week}" / rel).read_bytes(), rel


@pytest.mark.parametrize("week", course.WEEKS)
def test_every_cell_fits_intake_and_the_generated_cells_are_locked(week):
    nb = release_notebook(week)
    assert max(len(c.source) for c in nb.cells) < intake.MAX_CELL_CHARS
    generated = [c for c in nb.cells if c.source.startswith("# @title")]
    assert len(generated) >= 2  # setup and submission (plus data cells)
    for cell in generated:
        assert cell.metadata["editable"] is False
        assert cell.metadata["deletable"] is False
    assert "restart" not in setup_cell(nb).source.lower()


def test_the_pins_are_the_constraints():
    pins = standalone.pins()
    cell = setup_cell(release_notebook("week3a")).source
    for name in ("otter-grader", "torch", "numpy", "pandas", "pyjaspar", "janggu"):
        assert f"{name}=={pins[name]}" in cell
    requirements = (REPO / "assignments/requirements.txt").read_text()
    assert f"pandas=={pins['pandas']}" in requirements


# ------------------------------------------------------------------ a lone notebook


def execute_alone(tmp_path: Path, notebook: Path, monkeypatch) -> nbformat.NotebookNode:
    """Run ``notebook`` alone in an empty folder, as a student with no gene46100."""
    poison = tmp_path / "poison"
    for name in ("gene46100", "gene46100_ref"):
        (poison / name).mkdir(parents=True)
        (poison / name / "__init__.py").write_text(POISON.format(name=name))
    monkeypatch.setenv("PYTHONPATH", str(poison))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    folder = tmp_path / "alone"
    folder.mkdir()
    shutil.copyfile(notebook, folder / notebook.name)  # the one file a student has
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    return nb


def printed(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if "text" in o)


def checks_printed(nb: nbformat.NotebookNode) -> dict[str, str]:
    found = {}
    for cell in nb.cells:
        match = re.match(r'grader\.check\("(\w+)"\)', cell.source)
        if match:
            found[match.group(1)] = printed(cell).strip()
    return found


def public_tests(week: str) -> int:
    """The number of public tests in the week's built release."""
    return len(list((REPO / f"assignments/{week}/tests").glob("*.py")))


@pytest.mark.slow
def test_a_lone_week1_notebook_checks_itself(tmp_path, monkeypatch):
    nb = execute_alone(
        tmp_path, EXAMPLES / "week1/carol_half_gradient.ipynb", monkeypatch
    )
    assert f"self-checks ready: {public_tests('week1')} public tests" in printed(
        setup_cell(nb)
    )
    results = checks_printed(nb)
    assert sorted(results) == sorted(course.week("week1").budgets)
    assert results["q3"].startswith("q3: FAILED: ") and "half" in results["q3"]
    assert "assert" not in results["q3"]
    # q4 and q6 call the student's own (half) gradient in the self-check: the rest pass
    for q in sorted(set(results) - {"q3", "q4", "q6"}):
        assert results[q].startswith(f"{q}: passed"), results[q]
    folder = tmp_path / "alone"
    assert sorted(p.name for p in (folder / "tests").glob("*.py")) == sorted(
        p.name for p in (REPO / "assignments/week1/tests").glob("*.py")
    )
    package = folder / "week1-submission.zip"  # the last cell packaged it
    found = intake.find_submissions([package], assignment="week1")
    assert len(found) == 1 and found[0].notebook is not None and not found[0].problem


@pytest.mark.slow
def test_a_lone_untouched_week3a_notebook_writes_its_data_and_says_not_done(
    tmp_path, monkeypatch
):
    nb = execute_alone(tmp_path, REPO / "assignments/week3a/week3a.ipynb", monkeypatch)
    assert f"self-checks ready: {public_tests('week3a')} public tests" in printed(
        setup_cell(nb)
    )
    results = checks_printed(nb)
    assert sorted(results) == sorted(course.week("week3a").budgets)
    for q, question in checks.questions("week3a").items():
        if question.names:  # q5 is graded on predict.py and the weights
            assert results[q] == f"{q}: not implemented yet", results[q]
    assert "predict.py" in results["q5"] or "model_weights.pt" in results["q5"]
    for path in (REPO / "assignments/week3a/data").iterdir():
        assert (tmp_path / "alone/data" / path.name).read_bytes() == path.read_bytes()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[:1]


# ------------------------------------------------------------------ the package


def submit_source(week: str) -> str:
    nb = release_notebook(week)
    return next(c for c in nb.cells if c.source.startswith("# @title Package")).source


def test_the_week3a_package_goes_through_intake(tmp_path, monkeypatch):
    example = EXAMPLES / "week3a" / "alice_complete"
    folder = tmp_path / "work"
    shutil.copytree(example, folder)
    (folder / "week3a.ipynb").rename(folder / "Copy of week3a.ipynb")  # renamed: fine
    monkeypatch.chdir(folder)
    exec(compile(submit_source("week3a"), "submit", "exec"), {})
    package = folder / "week3a-submission.zip"
    with zipfile.ZipFile(package) as zf:
        assert sorted(zf.namelist()) == [
            "model_weights.pt",
            "predict.py",
            "week3a.ipynb",
        ]
    found = intake.find_submissions([package], assignment="week3a")
    assert len(found) == 1 and found[0].notebook is not None, found
    assert {name for name, _ in found[0].companions} == {
        "model_weights.pt",
        "predict.py",
    }


def test_a_package_without_its_companions_is_refused_with_reasons(
    tmp_path, monkeypatch, capsys
):
    folder = tmp_path / "work"
    folder.mkdir()
    shutil.copyfile(
        EXAMPLES / "week3a/alice_complete/week3a.ipynb", folder / "week3a.ipynb"
    )
    (folder / "model_weights.pt").write_text("not a state dict")
    monkeypatch.chdir(folder)
    exec(compile(submit_source("week3a"), "submit", "exec"), {})
    out = capsys.readouterr().out
    assert "predict.py is missing" in out and "model_weights.pt does not load" in out
    assert not (folder / "week3a-submission.zip").exists()


# ------------------------------------------------------------------ one verdict

DATASET_FORMS = {
    "transpose": "torch.tensor(scores_df[names].to_numpy().T)",
    "copy": "torch.tensor(scores_df[names].to_numpy().T.copy())",
    "contiguous": "torch.from_numpy(np.ascontiguousarray("
    "scores_df[names].to_numpy().T))",
    "rows": "torch.stack([torch.tensor(scores_df[n].to_numpy()) for n in names])",
}
DATASET = """
class SeqDatasetOHE(Dataset):
    def __init__(self, seq_df, scores_df):
        names = list(seq_df["window_name"])
        x = np.stack([one_hot_encode(s) for s in seq_df["sequence"]])
        self.x = torch.from_numpy(x)
        self.y = ({form}).float()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]
"""


def dataset_namespace(form: str) -> dict:
    namespace: dict = {}
    exec(
        "import numpy as np\nimport pandas as pd\nimport torch\n"
        "from torch.utils.data import Dataset\n"
        "from gene46100_ref.week3a import one_hot_encode\n" + DATASET.format(form=form),
        namespace,
    )
    return namespace


@pytest.mark.parametrize("form", sorted(DATASET_FORMS))
def test_each_dataset_form_gets_one_verdict_in_the_self_check_and_grading(form):
    namespace = dataset_namespace(DATASET_FORMS[form])
    public = voice.check_question(
        str(REPO / "assignments/week3a/tests/q2.py"), namespace
    )  # what grader.check and pytest week3a both run
    graded = checks.run_inprocess("week3a", "q2", namespace)
    failed = [c.message for c in graded if not c.passed]
    assert public["status"] == "passed", public
    assert not failed, failed
