"""Files graded beside the notebook (week 3a's ``predict.py`` and ``model_weights.pt``).

Intake picks them out of a student's folder, zip or Canvas upload; the sandbox puts
them in the notebook's working directory; a script probe runs one with hidden input
files and brings back only the bytes of the files it was asked to write.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat
import pytest

from gene46100.checks import Mismatch, Plan, inprocess, script_output
from gene46100.contract.results import read_question_results
from gene46100.grader import intake, sandbox
from gene46100.grader.sandbox.supervisor import Job, Timeouts, run_sandbox

COMPANIONS = ("model_weights.pt", "predict.py")

PREDICT = """\
import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("--data")
parser.add_argument("--out")
args = parser.parse_args()
weights = open("model_weights.pt").read()
with open(args.out, "w") as out:
    out.write(weights + ":" + open(args.data).read().upper() + ":" + os.getcwd())
"""


@pytest.fixture
def companions(monkeypatch):
    monkeypatch.setattr(intake, "companion_names", lambda assignment: COMPANIONS)


def notebook_bytes() -> bytes:
    return nbformat.writes(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    ).encode()


def student_files(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "week3a.ipynb").write_bytes(notebook_bytes())
    (folder / "predict.py").write_text(PREDICT)
    (folder / "model_weights.pt").write_text("W")
    (folder / "notes.txt").write_text("scratch")
    return folder


def test_a_folder_brings_its_companions_and_lists_the_rest(tmp_path, companions):
    [sub] = intake.find_submissions(
        [student_files(tmp_path / "class" / "ada")], assignment="week3a"
    )
    assert [name for name, _ in sub.companions] == list(COMPANIONS)
    assert dict(sub.companions)["predict.py"].read_text() == PREDICT
    assert sub.ignored == ("notes.txt",)


def test_a_zip_brings_its_companions(tmp_path, companions):
    folder = student_files(tmp_path / "ada")
    archive = tmp_path / "ada.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in folder.iterdir():
            zf.write(path, f"export/{path.name}")
    [sub] = intake.find_submissions([archive], assignment="week3a")
    assert sub.problem == ""
    assert dict(sub.companions)["model_weights.pt"].read_text() == "W"
    assert sub.ignored == ("export/notes.txt",)
    intake.cleanup()


def test_canvas_uploads_bring_companions(tmp_path, companions):
    bulk = tmp_path / "submissions"
    bulk.mkdir()
    (bulk / "ada_123_9001_week3a.ipynb").write_bytes(notebook_bytes())
    (bulk / "ada_123_9002_predict.py").write_text(PREDICT)
    (bulk / "ada_123_9003_model_weights.pt").write_text("W")
    [sub] = intake.find_submissions([bulk], assignment="week3a")
    assert [name for name, _ in sub.companions] == list(COMPANIONS)
    assert sub.ignored == ()


def test_an_oversized_companion_is_an_invalid_submission(
    tmp_path, companions, monkeypatch
):
    monkeypatch.setattr(intake, "MAX_COMPANION_BYTES", 10)
    folder = student_files(tmp_path / "ada")
    (folder / "model_weights.pt").write_bytes(b"x" * 11)
    [sub] = intake.find_submissions([folder], assignment="week3a")
    assert "model_weights.pt is 11 bytes; the limit is 10" in sub.problem


def test_without_the_assignment_nothing_is_a_companion(tmp_path):
    [sub] = intake.find_submissions([student_files(tmp_path / "ada")])
    assert sub.companions == ()


def script_plan() -> Plan:
    plan = Plan()
    data = plan.file("heldout.txt", b"acgt")
    plan.run_script(
        "predict",
        "predict.py",
        ["--data", data, "--out", {"$outfile": "preds.csv"}],
        timeout_s=30,
    )
    plan.run_script("missing", "train.py", [])
    return plan


def test_script_probe_in_process(tmp_path):
    folder = student_files(tmp_path / "ada")
    run = inprocess.execute(script_plan(), {}, workdir=str(folder))
    text = script_output(run, "predict", "preds.csv", "predict.py").decode()
    assert text.startswith("W:ACGT:")
    with pytest.raises(Mismatch, match="train.py was not found next to the notebook"):
        script_output(run, "missing", "preds.csv", "train.py")


@pytest.mark.skipif(sandbox.bwrap_path() is None, reason="needs bubblewrap")
def test_script_probe_in_the_sandbox_sees_companions_and_hidden_files(tmp_path):
    folder = student_files(tmp_path / "ada")
    plan = script_plan()
    plan.run_script(
        "crash",
        "predict.py",
        ["--data", {"$file": "absent.txt"}, "--out", {"$outfile": "preds.csv"}],
    )
    job = Job(
        cells=[{"index": 0, "source": "open('note.txt', 'w').write('cwd')"}],
        questions=[
            {
                "name": "q5",
                "probes": plan.probes,
                "seed": 0,
                "timeout_s": 30.0,
                "provide": "",
            }
        ],
        arrays={},
        files={"q5": plan.files},
        work_files={n: folder / n for n in COMPANIONS},
    )
    report, job_dir = run_sandbox(job, sandbox.Limits(), Timeouts(cell_s=30))
    assert report.questions["q5"]["status"] == "ok", report
    from gene46100.contract.results import QuestionRun

    run = QuestionRun("ok", read_question_results(job_dir / "out", "q5"))
    text = script_output(run, "predict", "preds.csv", "predict.py").decode()
    # weights read from the working dir, the hidden file decoded, run in /job/work
    assert text == "W:ACGT:/job/work"
    assert (job_dir / "work" / "note.txt").read_text() == "cwd"  # cells run there too
    with pytest.raises(Mismatch, match="exited with status 1.*FileNotFoundError"):
        script_output(run, "crash", "preds.csv", "predict.py")


def test_a_class_folder_of_student_folders(tmp_path, companions):
    student_files(tmp_path / "class" / "ada")
    student_files(tmp_path / "class" / "bob")
    subs = intake.find_submissions([tmp_path / "class"], assignment="week3a")
    assert len(subs) == 2 and all(len(s.companions) == 2 for s in subs)
    assert len({s.id for s in subs}) == 2
