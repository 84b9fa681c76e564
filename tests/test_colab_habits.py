"""Correct code scores the same whatever habits it was written with (issue 25).

Students work in Colab, often on its GPU runtime: their notebooks ask for ``cuda``
(``torch.set_default_device``, ``.to("cuda")``, ``.cuda()``, ``device=``), use
magics (``%matplotlib inline``, ``!pip``, ``!nvidia-smi``), and their weights are
saved from a GPU. On a grader without a GPU, none of that may cost a point; the
record says what ran differently. Also here: a broken check costs one question and
nobody's points, and no path of the grading machine reaches a student.
"""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
import torch
from grading import EXAMPLES, needs_bwrap

from gene46100 import cli
from gene46100.course import REPO
from gene46100.grader import sandbox, scrub
from gene46100.grader.records import QuestionStatus, Status
from gene46100.untrusted import worker


# ---------------------------------------------------------------- in the worker
class Recorder:
    """A worker shell with the grader's habits, and the notes it sends."""

    def __init__(self) -> None:
        self.read_fd, write_fd = os.pipe()
        self.events = worker.Events(write_fd)
        self.notes = worker.Notes.as_events(self.events)
        self.shell = worker.make_shell()
        worker.install_shell_habits(self.shell, self.notes)
        self._write_fd = write_fd

    def run(self, source: str, where: str = "cell 1"):
        self.notes.where = where
        result = self.shell.run_cell(source, store_history=False)
        return result.error_before_exec or result.error_in_exec

    def sent(self) -> list[dict]:
        os.close(self._write_fd)
        with os.fdopen(self.read_fd) as f:
            return [json.loads(line) for line in f.read().splitlines()]


MAGIC_CELLS = {
    "%matplotlib inline": "plots are not drawn",
    "%config InlineBackend.figure_format = 'retina'": None,
    "%load_ext autoreload\n%autoreload 2": None,
    "%load_ext tensorboard": "not installed",
    "!nvidia-smi": "skipped",
    "!pip install -q logomaker==0.8.7": "skipped",
    "%pip install wandb": "skipped",
    "%tensorboard --logdir runs": "not available",
}


@pytest.mark.parametrize("magic", list(MAGIC_CELLS))
def test_a_magic_never_loses_the_rest_of_its_cell(magic):
    shell = Recorder()
    error = shell.run(f"{magic}\ndef normal_equation(X, y):\n    return 1.0\n")
    assert error is None, error
    assert "normal_equation" in shell.shell.user_ns
    notes = [e["text"] for e in shell.sent() if e["ev"] == "note"]
    if MAGIC_CELLS[magic] is None:
        assert notes == []  # it works as in Jupyter: nothing to say
    else:
        assert any(MAGIC_CELLS[magic] in n for n in notes), notes


def test_cell_magics_as_in_jupyter():
    shell = Recorder()
    assert shell.run("%%time\nx = 1 + 1") is None
    assert shell.run("%%capture captured\nprint('hidden')\ny = 3") is None
    assert shell.shell.user_ns["x"] == 2 and shell.shell.user_ns["y"] == 3
    assert shell.run("%%wandb\nz = 1") is None  # unknown: skipped, noted
    assert any("%%wandb" in e["text"] for e in shell.sent() if e["ev"] == "note")


def test_other_shell_commands_still_run():
    shell = Recorder()
    assert shell.run("out = !echo hello") is None
    assert list(shell.shell.user_ns["out"]) == ["hello"]


CUDA_CELL = """
import torch
from torch import nn
torch.set_default_device("cuda")
device = torch.device("cuda")
model = nn.Linear(3, 1).to(device)
model.cuda()
x = torch.randn(4, 3, device="cuda").cuda().to("cuda:0")
y = model(x.to(device, non_blocking=True))
torch.cuda.synchronize()
placed = {t.device.type for t in (model.weight, x, y, torch.zeros(2))}
"""


@pytest.fixture
def cuda_on_cpu():
    """The worker's CUDA-on-CPU mode for one test (then undone)."""
    notes: list[str] = []
    mode = worker.CudaOnCpu(notes.append)
    mode.start()
    yield notes
    mode.stop()
    torch.set_default_device(None)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_requests_fail_on_this_machine_without_the_mode():
    with pytest.raises((AssertionError, RuntimeError)):
        torch.zeros(1, device="cuda")


def test_cuda_requests_run_on_the_cpu_and_are_noted(cuda_on_cpu):
    namespace: dict = {}
    exec(CUDA_CELL, namespace)  # noqa: S102 - the test's own code
    assert namespace["placed"] == {"cpu"}
    text = " ".join(cuda_on_cpu)
    assert ".to('cuda')" in text and ".cuda()" in text and "device='cuda'" in text


def gpu_saved_weights(path: Path) -> None:
    """A state_dict file as Colab's GPU runtime writes it (tensors located on
    ``cuda:0``), made here without a GPU by renaming the location in the pickle."""
    buffer = io.BytesIO()
    torch.save({"weight": torch.arange(6.0).reshape(2, 3)}, buffer)
    relocate_to_cuda(buffer.getvalue(), path)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_weights_saved_on_a_gpu_load_on_the_cpu(tmp_path, cuda_on_cpu):
    path = tmp_path / "model_weights.pt"
    gpu_saved_weights(path)
    state = torch.load(path)  # as the course's predict.py does
    assert state["weight"].device.type == "cpu"
    assert state["weight"].sum().item() == 15.0
    assert any("saved on a GPU" in n for n in cuda_on_cpu)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_weights_saved_on_a_gpu_fail_to_load_without_the_mode(tmp_path):
    path = tmp_path / "model_weights.pt"
    gpu_saved_weights(path)
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.load(path)


def test_a_script_runs_with_its_cuda_requests_on_the_cpu(tmp_path):
    """``predict.py`` runs through the worker (``--script``): the same mode."""
    import subprocess

    gpu_saved_weights(tmp_path / "model_weights.pt")
    (tmp_path / "helper.py").write_text("SCALE = 2.0\n")
    (tmp_path / "predict.py").write_text(
        "import sys, torch\nfrom helper import SCALE\n"
        "state = torch.load('model_weights.pt')\n"
        "w = state['weight'].to('cuda') * SCALE\n"
        "open(sys.argv[1], 'w').write(str(w.sum().item()))\n"
    )
    done = subprocess.run(
        [
            *(sys.executable, worker.__file__, "--script", "cpu", "notes.txt"),
            *("predict.py", "out.txt"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.txt").read_text() == "30.0"
    notes = (tmp_path / "notes.txt").read_text().splitlines()
    assert "torch.load: tensors saved on a GPU were loaded on the CPU" in notes
    assert ".to('cuda') ran on the CPU" in notes


def test_a_failed_script_is_told_its_error_and_its_own_line():
    """The end of a traceback names the error, its frames in the student's files
    name where: both, in one line (the bare tail cut the student's line off)."""
    stderr = (
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3.11/runpy.py", line 291, in run_path\n'
        "    return _run_module_code(code, init_globals, run_name,\n"
        '  File "/job/work/predict.py", line 67, in build_model\n'
        "    state = torch.load('checkpoints/best.pt')\n"
        '  File "/venv/lib/site-packages/torch/serialization.py", line 776, in f\n'
        "    super().__init__(open(name, mode))\n"
        "    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        "FileNotFoundError: [Errno 2] No such file or directory: "
        "'checkpoints/best.pt'\n"
    )
    said = worker.script_error(stderr, "/job/work/predict.py")
    assert said == (
        "FileNotFoundError: [Errno 2] No such file or directory: "
        "'checkpoints/best.pt' (at predict.py, line 67, in build_model: "
        "state = torch.load('checkpoints/best.pt'))"
    )
    assert worker.script_error("Killed\n", "predict.py") == "Killed"
    relative = stderr.replace("/job/work/predict.py", "predict.py")
    assert worker.script_error(relative, "predict.py") == said


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_questions_about_the_gpu_are_answered_not_failed(cuda_on_cpu):
    """``print(torch.cuda.get_device_name(0))`` before ``DEVICE = ...`` in one
    cell: without an answer the cell stops and DEVICE is never defined."""
    assert "no GPU" in torch.cuda.get_device_name(0)
    assert torch.cuda.get_device_properties(0).total_memory == 0
    assert torch.cuda.current_device() == 0 and torch.cuda.memory_allocated() == 0
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    assert any("get_device_name" in n for n in cuda_on_cpu)


def test_a_colab_only_import_is_explained():
    shell = Recorder()
    error = shell.run("from google.colab import drive\ndrive.mount('/content/drive')")
    assert isinstance(error, ImportError)
    assert worker.colab_only(error)
    assert not worker.colab_only(ImportError("x", name="logomaker"))


def test_notes_are_bounded():
    shell = Recorder()
    for i in range(worker.MAX_NOTES + 30):
        shell.notes.where = f"cell {i}"
        shell.notes.add("%matplotlib inline: plots are not drawn while grading")
    assert len([e for e in shell.sent() if e["ev"] == "note"]) == worker.MAX_NOTES


# ---------------------------------------------------------------- the GPU option
def test_gpu_option_is_refused_where_there_is_no_gpu(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sandbox, "gpu_devices", lambda dev=None: [])
    notebook = EXAMPLES / "week1" / "alice_complete.ipynb"
    code = cli.main(
        ["grade", "week1", str(notebook), "--out", str(tmp_path), "--gpu", "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "no /dev/nvidia" in err and "run on the CPU" in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_gpu_sandbox_binds_the_device_nodes_and_nothing_else(monkeypatch, tmp_path):
    if sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap is not available")
    fake = ["/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-uvm"]
    monkeypatch.setattr(sandbox, "gpu_devices", lambda dev=None: fake)
    plain = sandbox.bwrap_argv(tmp_path, ["python"], 1)
    lent = sandbox.bwrap_argv(tmp_path, ["python"], 1, gpu=True)

    def triples(argv: list[str], flag: str) -> list[tuple[str, str]]:
        return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]

    assert triples(lent, "--dev-bind") == [(d, d) for d in fake]
    assert triples(plain, "--dev-bind") == []
    assert dict(triples(plain, "--setenv"))["CUDA_VISIBLE_DEVICES"] == ""
    env = dict(triples(lent, "--setenv"))
    assert "CUDA_VISIBLE_DEVICES" not in env
    assert env["PYTORCH_NVML_BASED_CUDA_CHECK"] == "1"
    # nothing else differs: the same binds, limits and the rest of the environment
    assert strip(lent) == strip(plain)
    assert set(env) - {"PYTORCH_NVML_BASED_CUDA_CHECK"} == set(
        dict(triples(plain, "--setenv"))
    ) - {"CUDA_VISIBLE_DEVICES"}


def strip(argv: list[str]) -> list[str]:
    """``argv`` without its ``--dev-bind`` and ``--setenv`` triples."""
    out, skip = [], 0
    for part in argv:
        if skip:
            skip -= 1
        elif part in ("--dev-bind", "--setenv"):
            skip = 2
        else:
            out.append(part)
    return out


def test_gpu_devices_are_only_nvidia_nodes(tmp_path):
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "sda", "null"):
        (tmp_path / name).touch()
    found = [Path(p).name for p in sandbox.gpu_devices(tmp_path)]
    assert found == ["nvidia-uvm", "nvidia0", "nvidia1", "nvidiactl"]


# ---------------------------------------------------------------- a broken check
def test_a_broken_check_costs_one_question_and_no_points(monkeypatch, tmp_path):
    from gene46100.grader import pipeline
    from gene46100.grader.assignment import Assignment, Settings
    from gene46100.grader.intake import Submission
    from gene46100.grader.sandbox.supervisor import RunReport
    from gene46100.grader.scoring import scored

    spec = json.loads((REPO / "autograder/week1/assignment.json").read_text())
    auto = [q["name"] for q in spec["questions"] if not q["manual"]]
    assignment = Assignment(
        "week1", spec, {n: object() for n in auto}, {n: object() for n in auto}
    )

    def score(question, plan, status, out_dir, points, name=iter(auto)):
        current = next(name)
        if current == "q3":
            raise AssertionError("reference sanity check: gradient mismatch")
        return scored(current, points, [])

    monkeypatch.setattr(pipeline, "score_question", score)
    submission = Submission(id="alice", source="alice.ipynb", notebook=None)
    record = pipeline._record(
        assignment, submission, RunReport(), tmp_path, Settings(), []
    )
    q3 = record.question("q3")
    assert q3.status == QuestionStatus.INTERNAL_ERROR and q3.score == 0
    assert "not in your work" in q3.feedback and "does not count" in q3.feedback
    others = [q for q in record.questions if q.name in auto and q.name != "q3"]
    assert all(q.status == QuestionStatus.PASSED for q in others)
    assert record.status == Status.INTERNAL_ERROR  # first in the TA's report

    from gene46100.grader import reports

    reasons = " ".join(reports.flag_reasons(record))
    assert "q3" in reasons and "AssertionError" in reasons
    assert not reports.needs_review(q3)  # no "what to review" for our bug
    assert reports._lost_messages(q3) == []  # not a misconception of the class


# ---------------------------------------------------------------- machine paths
def test_scrub_removes_every_path_of_the_grading_machine():
    packages = next(p for p in sys.path if p.endswith("site-packages"))
    text = (
        f'Traceback: File "{packages}/torch/serialization.py", line 1, in load\n'
        f'File "{REPO}/gene46100/untrusted/worker.py", line 3\n'
        f'File "{sys.base_prefix}/lib/python3.11/runpy.py", line 4\n'
        'File "/job/work/predict.py", line 7, in <module>\n'
        'File "/job/worker.py", line 9\n'
        f"File {Path.home()}/notes.txt and /home/someone/x.py and /usr/lib/x.so"
    )
    clean = scrub.scrub(text)
    for secret in (str(REPO), packages, sys.base_prefix, str(Path.home()), "/job/"):
        assert secret not in clean, (secret, clean)
    assert "<python>/site-packages/torch/serialization.py" in clean
    assert '"predict.py", line 7' in clean  # the student's own file, by name
    assert "/home/someone" not in clean


# ---------------------------------------------------------------- end to end
def colab_form(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A correct week-1 notebook as a student on Colab's GPU runtime hands it in:
    Colab's metadata, the GPU asked for everywhere, magics, saved outputs."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.metadata.update(
        colab={"provenance": [], "gpuType": "T4"},
        accelerator="GPU",
        widgets={"application/vnd.jupyter.widget-state+json": {"state": {}}},
    )
    code = [c for c in nb.cells if c.cell_type == "code"]
    first_answer = next(c for c in code if "def normal_equation" in c.source)
    first_answer.source = "%matplotlib inline\n" + first_answer.source
    train = next(c for c in code if "def train(" in c.source)
    train.source = train.source.replace(
        "    criterion = nn.MSELoss()",
        "    device = 'cuda'\n    model.to(device)\n"
        "    x, y = x.to(device), y.to(device)\n    criterion = nn.MSELoss()",
    )
    fit = next(c for c in code if "def fit_linear_vs_mlp" in c.source)
    fit.source = fit.source.replace(
        "nn.Linear(128, 1))", "nn.Linear(128, 1)).cuda()"
    ).replace(".double().numpy()", ".double().cpu().numpy()")
    assert ".cuda()" in fit.source and "'cuda'" in train.source
    habits = nbformat.v4.new_code_cell(
        "!nvidia-smi\n!pip install -q logomaker\n%config InlineBackend.figure_format"
        " = 'retina'\nimport torch\ntorch.set_default_device('cuda')\n"
        "DATA = '/content/drive/MyDrive/gene46100/week1'"
    )
    habits.outputs = [nbformat.v4.new_output("stream", text="Tesla T4\n")]
    nb.cells.insert(nb.cells.index(first_answer), habits)
    for number, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = number + 1
    return nb


@pytest.mark.slow
@needs_bwrap
def test_a_colab_gpu_notebook_scores_what_its_clean_copy_scores(tmp_path):
    """Week 1 complete, as saved by Colab on its GPU runtime, graded beside the
    same notebook clean: every question's score equal; the record notes what ran
    on the CPU and which magics were skipped; nothing is flagged."""
    clean = EXAMPLES / "week1" / "alice_complete.ipynb"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "clean.ipynb").write_bytes(clean.read_bytes())
    nbformat.write(colab_form(nbformat.read(clean, 4)), folder / "colab.ipynb")
    out = tmp_path / "out"
    assert cli.main(["grade", "week1", str(folder), "--out", str(out), "--quiet"]) == 0
    records = {
        Path(r["file"]).stem: r
        for r in map(json.loads, (out / "records.jsonl").read_text().splitlines())
    }
    scores = {
        name: {q["name"]: q["score"] for q in r["questions"]}
        for name, r in records.items()
    }
    assert scores["colab"] == scores["clean"]
    assert records["clean"]["total"] == records["clean"]["possible"]
    colab = records["colab"]
    assert colab["status"] == "graded" and colab["flags"] == []
    notes = " ".join(colab["grading_notes"])
    for said in (
        "ran on the CPU",
        "set_default_device",
        "%matplotlib inline",
        "!nvidia-smi",
        "!pip install",
    ):
        assert said in notes, (said, colab["grading_notes"])
    assert "q9:" in notes and "q10:" in notes  # inside the graded functions too
    assert "the cell `!nvidia-smi`: !nvidia-smi: skipped" in notes  # as students see it
    assert records["clean"]["grading_notes"] == []
    # the student reads it too, and is told it cost nothing
    page = (out / "feedback" / f"{colab['id']}.html").read_text()
    assert "How your notebook ran here (none of this cost points)" in page
    assert ".cuda() ran on the CPU" in page
    results = json.loads(
        (out / "gradescope" / colab["id"] / "results.json").read_text()
    )
    assert "How it ran: q9: .to(&#x27;cuda&#x27;)" not in results["output"]
    assert "How it ran: q9: .to('cuda') ran on the CPU" in results["output"]
    assert_no_machine_paths(out)


def machine_paths() -> list[str]:
    """Paths of this machine a student must never read."""
    found = {str(REPO), sys.prefix, sys.base_prefix, str(Path.home())}
    found |= {p for p in sys.path if p.endswith("site-packages")}
    return sorted(p for p in found if len(p) > 1)


def assert_no_machine_paths(out: Path) -> None:
    """Feedback pages, Gradescope results and answers/ quote no path of ours."""
    shown = [
        *out.glob("feedback/*.html"),
        *out.glob("gradescope/*/results.json"),
        *out.glob("answers/*.json"),
    ]
    assert shown
    for path in shown:
        text = path.read_text()
        for secret in machine_paths():
            assert secret not in text, (path, secret)


# ---------------------------------------------------------------- the self-check
def test_the_self_check_says_in_one_line_when_a_function_asks_for_a_gpu():
    """``grader.check("q8")`` on a count_parameters that moves the model to
    ``cuda``: it passes (on the CPU here, as the grader runs it) and says so."""
    from gene46100.selfcheck import voice

    test = REPO / "assignments" / "week1" / "tests" / "q8.py"

    def count_parameters(model):
        model = model.to("cuda")
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    def mlp_param_count(sizes):
        return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))

    env = {"count_parameters": count_parameters, "mlp_param_count": mlp_param_count}
    result = voice.check_question(str(test), env)
    text = voice.verdict("q8", result)
    assert result["status"] == "passed", result
    lines = text.splitlines()
    assert len(lines) == 2 and lines[1].startswith("q8: note: asks for a GPU (.to())")
    assert "runs it on the CPU, with the same score" in lines[1]
    plain = {"count_parameters": lambda m: 9 if m.bias.requires_grad else 6}
    plain["mlp_param_count"] = mlp_param_count
    assert (
        len(voice.verdict("q8", voice.check_question(str(test), plain)).splitlines())
        == 1
    )


@pytest.mark.slow
@needs_bwrap
def test_predict_script_loads_weights_saved_on_a_gpu(tmp_path):
    """Week 3a: ``model_weights.pt`` saved on Colab's GPU and a ``predict.py`` that
    asks for ``cuda``: q5 scores what the clean copy scores, and the student's page
    names no path of the grading machine."""
    import shutil

    clean = EXAMPLES / "week3a" / "alice_complete"
    folder = tmp_path / "in" / "alice"
    shutil.copytree(clean, folder)
    # bob's predict.py fails inside torch: its traceback names torch's files
    broken = tmp_path / "in" / "bob"
    shutil.copytree(clean, broken)
    text = (broken / "predict.py").read_text().replace("WEIGHTS,", "'missing.pt',")
    (broken / "predict.py").write_text(text)
    state = torch.load(folder / "model_weights.pt")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    relocate_to_cuda(buffer.getvalue(), folder / "model_weights.pt")
    # As the course writes it on Colab: the model on the GPU, no map_location.
    script = (folder / "predict.py").read_text()
    for before, after in (
        ('map_location="cpu", ', ""),
        ("return model.eval()", "return model.to('cuda').eval()"),
        (
            "model(torch.from_numpy(batch)).numpy()",
            "model(torch.from_numpy(batch).cuda()).cpu().numpy()",
        ),
    ):
        assert before in script
        script = script.replace(before, after)
    (folder / "predict.py").write_text(script)
    out = tmp_path / "out"
    code = cli.main(
        ["grade", "week3a", str(tmp_path / "in"), "--out", str(out), "--quiet"]
    )
    assert code == 0
    records = {
        Path(r["file"]).name: r
        for r in map(json.loads, (out / "records.jsonl").read_text().splitlines())
    }
    q5 = {
        name: next(q for q in r["questions"] if q["name"] == "q5")
        for name, r in records.items()
    }
    assert q5["alice"]["score"] == q5["alice"]["possible"], q5["alice"]["feedback"]
    bob = q5["bob"]["feedback"]
    assert q5["bob"]["score"] == 0 and "No such file or directory: 'missing.pt'" in bob
    assert "(at predict.py, line " in bob and "in build_model" in bob  # their line
    notes = " ".join(records["alice"]["grading_notes"])
    assert "q5: predict.py: torch.load: tensors saved on a GPU" in notes
    assert_no_machine_paths(out)


def relocate_to_cuda(saved: bytes, path: Path) -> None:
    """``torch.save``'s bytes with every tensor located on ``cuda:0``."""
    source = zipfile.ZipFile(io.BytesIO(saved))
    with zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("data.pkl"):
                assert b"X\x03\x00\x00\x00cpu" in data
                data = data.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
            target.writestr(info, data)


def test_only_code_that_mentions_cuda_pays_for_the_watch():
    """Every torch call through the mode costs training questions time, so the
    sandbox watches only when the student's own lines name CUDA (the release's
    ``get_device`` names it too, and is exempt)."""
    from gene46100.grader.assignment import mentions_cuda

    released = {"if torch.cuda.is_available():", 'return torch.device("cuda")'}
    given = [
        {"source": 'if torch.cuda.is_available():\n    return torch.device("cuda")'}
    ]
    assert not mentions_cuda(given, released)
    assert not mentions_cuda([{"source": "device = get_device()"}], released)
    for line in ("model.to('cuda')", "x = x.CUDA()", "torch.set_default_device(d)"):
        assert mentions_cuda([*given, {"source": line}], released), line


@pytest.mark.gpu
@pytest.mark.slow
@needs_bwrap
def test_on_a_gpu_grader_the_gpu_option_gives_the_same_scores(tmp_path):
    """``grade --gpu`` (a CUDA machine only): the Colab notebook's questions run on
    the GPU and score what they score on the CPU."""
    if not torch.cuda.is_available() or not sandbox.gpu_devices():
        pytest.skip("no CUDA device")
    clean = EXAMPLES / "week1" / "alice_complete.ipynb"
    nbformat.write(colab_form(nbformat.read(clean, 4)), tmp_path / "colab.ipynb")
    scores = {}
    for option in ([], ["--gpu"]):
        out = tmp_path / f"out{len(option)}"
        argv = ["grade", "week1", str(tmp_path / "colab.ipynb"), "--out", str(out)]
        assert cli.main([*argv, "--quiet", *option]) == 0
        (record,) = map(json.loads, (out / "records.jsonl").read_text().splitlines())
        scores[bool(option)] = {q["name"]: q["score"] for q in record["questions"]}
        if option:
            assert "nvidia" in record["limits"]["gpu"]
            assert not any("q9: .to" in n for n in record["grading_notes"])
    assert scores[True] == scores[False]


def test_a_gpu_request_does_not_end_the_check_early(tmp_path):
    """Every case of a public test file runs, also after one asked for a GPU."""
    from gene46100.selfcheck import voice

    test = tmp_path / "q1.py"
    test.write_text(
        "from otter.test_files import test_case\n\nOK_FORMAT = False\nname = 'q1'\n"
        "points = [0, 0]\n\n@test_case(points=None, hidden=False)\n"
        "def test_first(f):\n    import torch\n    f(torch.zeros(1).to('cuda'))\n\n"
        "@test_case(points=None, hidden=False)\n"
        "def test_second(f):\n    assert f(None) == 1, 'f(None) should be 1'\n"
    )
    result = voice.check_question(str(test), {"f": lambda x: 0})
    assert result["status"] == "failed" and "f(None) should be 1" in result["message"]
    assert result["gpu"] == ".to()"
