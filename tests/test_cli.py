"""The command line refuses bad input at once, with one line that names the problem,
and writes nothing (a typo must not become a student or an empty grade book)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gene46100 import cli

REPO = Path(__file__).resolve().parent.parent


def refused(capsys, argv: list[str]) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    return err


@pytest.mark.parametrize(
    ("week", "hint"),
    [("week9", "did you mean 'week2'"), ("Week1", "did you mean 'week1'"), ("x", "")],
)
def test_an_unknown_week_is_refused_listing_the_known_ones(
    capsys, tmp_path, week, hint
):
    err = refused(capsys, ["grade", week, str(tmp_path), "--out", str(tmp_path / "o")])
    assert f"unknown week {week!r}" in err and hint in err
    assert "known weeks: week1, week2, week3a, week3b" in err
    assert not (tmp_path / "o").exists()


def test_a_path_that_does_not_exist_is_refused(capsys, tmp_path):
    missing = tmp_path / "does_not_exist"
    err = refused(
        capsys, ["grade", "week1", str(missing), "--out", str(tmp_path / "o")]
    )
    assert str(missing) in err
    assert not (tmp_path / "o").exists()


def test_a_folder_without_submissions_is_refused(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("no notebooks here")
    err = refused(
        capsys, ["grade", "week1", str(tmp_path), "--out", str(tmp_path / "o")]
    )
    assert "no submission found" in err
    assert not (tmp_path / "o").exists()


def test_the_build_refuses_an_unknown_week(capsys):
    assert "unknown week 'week9'" in refused(capsys, ["build", "week9"])


def test_a_refusal_does_not_import_torch(tmp_path):
    """The refusal path answers before the heavy imports (about 0.2 s, not 7 s)."""
    code = (
        "import sys; from gene46100 import cli; "
        f"rc = cli.main(['grade', 'week9', {str(tmp_path)!r}, '--out', 'o']); "
        "assert rc == 2; assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
