"""Intake on every layout a TA downloads, built in temp dirs (no real student data).

Plain notebooks and folders, Otter export zips, hostile zips (traversal, links,
bombs), Canvas bulk downloads (folder and zip), Gradescope exports (folder and zip),
odd file names and broken notebooks. Each test checks the count, the ids and the
message a TA would read.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import stat
import zipfile
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from gene46100.grader import intake
from gene46100.grader.intake import (
    InvalidSubmission,
    find_submissions,
    read_code_cells,
    read_notebook,
    stable_id,
)

SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# What a TA and the student read when only a PDF export was handed in.
PDF_ADVICE = (
    "report.pdf is a PDF, not the notebook: hand in the .ipynb "
    "(File > Download > Download .ipynb)"
)


def notebook(code: str = "x = 1", kernel: str = "python3") -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {
        "name": kernel,
        "display_name": kernel,
        "language": "python",
    }
    return nbformat.writes(nb).encode()


def write(path: Path, data: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data or notebook())
    return path


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def by_id(subs: list) -> dict:
    return {s.id: s for s in subs}


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture(autouse=True)
def work(tmp_path, monkeypatch) -> Path:
    """Extraction dirs go under tmp_path/work, so tests can see what was written."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(intake, "WORK_PARENT", work)
    yield work
    intake.cleanup()


# ------------------------------------------------------------ plain notebooks


def test_plain_notebooks_and_a_folder_of_them(tmp_path):
    batch = tmp_path / "batch"
    alice, bob = write(batch / "alice.ipynb"), write(batch / "bob.ipynb")
    write(batch / "README.md", b"not a submission")
    subs = find_submissions([batch])
    assert [s.id for s in subs] == [stable_id(alice, batch), stable_id(bob, batch)]
    assert [s.id.split("-")[0] for s in subs] == ["alice", "bob"]
    assert [s.notebook for s in subs] == [alice, bob]
    assert all(s.problem == "" and s.source == str(s.notebook) for s in subs)
    assert find_submissions([alice])[0].id == subs[0].id


def test_same_file_name_in_two_folders_gets_two_ids(tmp_path):
    one = write(tmp_path / "sec1/week1.ipynb")
    two = write(tmp_path / "sec2/week1.ipynb")
    for paths in ([one.parent, two.parent], [one, two]):
        subs = find_submissions(paths)
        assert len(subs) == 2 and len({s.id for s in subs}) == 2
        assert all(s.id.startswith("week1-") and SAFE.fullmatch(s.id) for s in subs)
        assert {s.notebook for s in subs} == {one, two}


def test_ids_are_stable_across_runs_and_input_order(tmp_path):
    write(tmp_path / "sec1/week1.ipynb")
    write(tmp_path / "sec2/week1.ipynb")
    write(tmp_path / "sec2/erin/week1.ipynb")
    make_zip(tmp_path / "sec2/otter.zip", {"week1.ipynb": notebook()})
    folders = [tmp_path / "sec1", tmp_path / "sec2"]
    first = [s.id for s in find_submissions(folders)]
    assert first == [s.id for s in find_submissions(folders[::-1])]
    assert first == [s.id for s in find_submissions(folders)]
    assert len(first) == len(set(first)) == 4


def test_canvas_looking_names_need_a_canvas_named_notebook(tmp_path):
    alice = write(tmp_path / "batch/alice.ipynb")
    write(tmp_path / "batch/notes_1_2_todo.txt", b"not Canvas: alice.ipynb is not")
    (sub,) = find_submissions([alice.parent])
    assert sub.notebook == alice and sub.id == stable_id(alice, alice.parent)


def test_the_same_file_reached_twice_is_one_submission(tmp_path):
    alice = write(tmp_path / "batch/alice.ipynb")
    subs = find_submissions([alice.parent, alice])
    assert len(subs) == 1 and subs[0].notebook == alice


def test_missing_path_gets_a_record(tmp_path):
    (sub,) = find_submissions([tmp_path / "nope.ipynb"])
    assert sub.notebook is None
    assert sub.problem == f"{tmp_path / 'nope.ipynb'} does not exist"


def test_student_folders_one_zero_or_several_notebooks(tmp_path):
    batch = tmp_path / "batch"
    write(batch / "alice/work/week1.ipynb")
    write(batch / "alice/.ipynb_checkpoints/week1-checkpoint.ipynb")
    write(batch / "bob/report.pdf", b"%PDF")
    write(batch / "carol/week1.ipynb")
    write(batch / "carol/scratch.ipynb")
    (batch / "dave").mkdir()
    subs = {s.source.split("/")[-1]: s for s in find_submissions([batch])}
    assert len(subs) == 4
    assert subs["alice"].notebook == batch / "alice/work/week1.ipynb"
    assert subs["bob"].problem == (
        "bob holds no notebook (found: report.pdf); " + PDF_ADVICE
    )
    assert subs["carol"].problem == (
        "carol holds 2 notebooks (scratch.ipynb, week1.ipynb); submit exactly one"
    )
    assert subs["dave"].problem == "dave holds no notebook (it is empty)"
    carol = {
        s.source.split("/")[-1]: s
        for s in find_submissions([batch], assignment="week1")
    }["carol"]
    assert carol.notebook == batch / "carol/week1.ipynb"
    assert carol.ignored == ("scratch.ipynb",) and carol.id == subs["carol"].id


def test_folder_rule_names_the_assignment_when_it_cannot_decide(tmp_path):
    write(tmp_path / "batch/erin/a.ipynb")
    write(tmp_path / "batch/erin/b.ipynb")
    (sub,) = find_submissions([tmp_path / "batch"], assignment="week1")
    assert sub.problem == (
        "erin holds 2 notebooks (a.ipynb, b.ipynb); submit exactly "
        "one; exactly one should be named week1.ipynb"
    )


# --------------------------------------------------------------------- zips


class Canary:
    """Unpickling this creates ``path``: proof that something loaded the pickle."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def otter_zip(path: Path, marker: Path) -> Path:
    """What ``otter.Notebook.export`` writes: notebook, PDF, its log (a pickle)."""
    return make_zip(
        path,
        {
            "week1.ipynb": notebook("answer = 42"),
            "week1.pdf": b"%PDF-1.4",
            ".OTTER_LOG": pickle.dumps(Canary(marker)),
            ".OTTER_SUBMISSION_ZIP_NAME": path.name.encode(),
            "__MACOSX/._week1.ipynb": b"\x00\x05\x16\x07",
        },
    )


def test_otter_export_zip_grades_the_notebook_and_never_unpickles_the_log(
    tmp_path, work, monkeypatch
):
    live = tmp_path / "canary-works"
    pickle.loads(pickle.dumps(Canary(live)))  # the payload is live ...
    assert live.exists()
    marker = tmp_path / "unpickled"
    path = otter_zip(tmp_path / "week1_2024_01_02T03_04_05_123456.zip", marker)

    def refuse(*args, **kwargs):
        raise AssertionError("intake must never unpickle")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    (sub,) = find_submissions([path])
    assert sub.problem == "" and sub.id == stable_id(path, tmp_path)
    assert sub.id.startswith("week1_2024_01_02T03_04_05_123456-")
    assert sub.notebook.name == "week1.ipynb" and sub.notebook.parent == sub.workdir
    assert read_code_cells(sub.notebook) == [{"index": 0, "source": "answer = 42"}]
    assert files_under(work) == [sub.notebook]  # only the notebook came out
    assert not marker.exists()  # ... and intake never ran it
    assert sub.notes == (".OTTER_LOG (Otter's log, a pickle) was not opened",)
    assert set(sub.ignored) == {"week1.pdf", ".OTTER_LOG", ".OTTER_SUBMISSION_ZIP_NAME"}


def test_zip_with_zero_notebooks_says_what_it_found(tmp_path):
    path = make_zip(tmp_path / "hw.zip", {"notes.txt": b"hi", "report.pdf": b"%PDF"})
    (sub,) = find_submissions([path])
    assert sub.notebook is None
    assert sub.problem == (
        "hw.zip holds no notebook (found: notes.txt, report.pdf); " + PDF_ADVICE
    )


def test_nested_zip_is_not_opened_and_the_message_says_so(tmp_path):
    inner = make_zip(tmp_path / "inner.zip", {"week1.ipynb": notebook()}).read_bytes()
    path = make_zip(tmp_path / "outer/hw.zip", {"inner.zip": inner})
    (sub,) = find_submissions([path])
    assert sub.problem == (
        "hw.zip holds no notebook (found: inner.zip); zip "
        "archives inside a zip are not opened: submit the notebook "
        "or Otter's export zip itself"
    )


def test_zip_with_two_notebooks_is_invalid_unless_one_is_the_assignment(tmp_path):
    path = make_zip(
        tmp_path / "hw.zip",
        {"a/week1.ipynb": notebook(), "a/scratch.ipynb": notebook()},
    )
    (sub,) = find_submissions([path])
    assert sub.problem == (
        "hw.zip holds 2 notebooks (a/scratch.ipynb, a/week1.ipynb); submit exactly one"
    )
    (sub,) = find_submissions([path], assignment="week1")
    assert sub.problem == "" and sub.notebook.name == "week1.ipynb"
    assert sub.ignored == ("a/scratch.ipynb",)


@pytest.mark.parametrize(
    "member",
    [
        "../evil.ipynb",
        "/abs.ipynb",
        "a/../../evil.ipynb",
        "..\\evil.ipynb",
        "C:/evil.ipynb",
    ],
)
def test_zip_traversal_is_refused_and_nothing_is_written(tmp_path, work, member):
    path = make_zip(
        tmp_path / "in/hw.zip", {"week1.ipynb": notebook(), member: notebook()}
    )
    (sub,) = find_submissions([path])
    assert sub.notebook is None
    assert sub.problem == (
        f"hw.zip holds {member!r}, a path outside the archive "
        "(absolute or with '..'): refusing to unpack it"
    )
    assert files_under(tmp_path) == [path]  # nothing extracted, anywhere
    assert list(work.iterdir()) == []


def test_symlink_member_is_refused(tmp_path):
    link = zipfile.ZipInfo("week1.ipynb")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = tmp_path / "hw.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(link, "/etc/passwd")
    (sub,) = find_submissions([path])
    assert sub.problem == (
        "hw.zip holds a symbolic link (week1.ipynb): refusing to unpack it"
    )


def test_encrypted_member_is_refused(tmp_path):
    path = make_zip(tmp_path / "hw.zip", {"week1.ipynb": b"ciphertext"})
    data = bytearray(path.read_bytes())  # set the "encrypted" flag zipfile won't write
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        data[data.find(signature) + offset] |= 0x1
    path.write_bytes(bytes(data))
    (sub,) = find_submissions([path])
    assert sub.problem == "hw.zip: week1.ipynb is password-protected"


def zeros_zip(path: Path, megabytes: int, name: str = "week1.ipynb") -> Path:
    """A member written from a generator of zeros, in chunks (never all in memory)."""
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf,
        zf.open(name, "w") as member,
    ):
        for _ in range(megabytes):
            member.write(bytes(1024 * 1024))
    return path


def test_zip_bomb_over_the_member_cap_is_refused_before_extracting(
    tmp_path, work, monkeypatch
):
    monkeypatch.setattr(
        intake, "ZIP_CAPS", replace(intake.ZIP_CAPS, member_bytes=1024 * 1024)
    )
    (sub,) = find_submissions([zeros_zip(tmp_path / "bomb.zip", 8)])
    assert sub.problem == (
        "bomb.zip: week1.ipynb would expand to 8388608 bytes; the "
        "limit is 1048576: refusing to unpack it"
    )
    assert list(work.iterdir()) == []


def test_zip_bomb_compression_ratio_is_refused(tmp_path, work):
    (sub,) = find_submissions([zeros_zip(tmp_path / "bomb.zip", 8)])
    assert re.fullmatch(
        r"bomb\.zip: week1\.ipynb is compressed \d+:1 \(the limit is "
        r"200:1\), like a zip bomb: refusing to unpack it",
        sub.problem,
    )
    assert list(work.iterdir()) == []


def forge_sizes(path: Path, size: int) -> None:
    """Rewrite the uncompressed size a zip declares (local header and directory)."""
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = size.to_bytes(4, "little")
    path.write_bytes(bytes(data))


def test_declared_gigabyte_is_refused_from_the_directory(tmp_path, work):
    path = make_zip(tmp_path / "bomb.zip", {"week1.ipynb": notebook()})
    forge_sizes(path, 1024**3)
    (sub,) = find_submissions([path])
    assert sub.problem == (
        "bomb.zip: week1.ipynb would expand to 1073741824 bytes; "
        f"the limit is {intake.ZIP_CAPS.member_bytes}: refusing to unpack it"
    )
    assert list(work.iterdir()) == []


def test_understated_size_stops_extraction_at_the_declared_size(tmp_path, work):
    path = zeros_zip(tmp_path / "liar.zip", 2)
    forge_sizes(path, 100)  # claims 100 bytes; 2 MiB of zeros are really inside
    (sub,) = find_submissions([path])
    assert sub.notebook is None
    assert sub.problem.startswith(
        "liar.zip: week1.ipynb could not be unpacked (BadZipFile: Bad CRC-32"
    )
    assert files_under(work) == []  # the partial file was removed


def test_extraction_stops_at_the_cap_while_reading(tmp_path):
    path = zeros_zip(tmp_path / "big.zip", 1)
    target = tmp_path / "out/week1.ipynb"
    caps = replace(intake.ZIP_CAPS, member_bytes=1000)
    with zipfile.ZipFile(path) as zf, pytest.raises(InvalidSubmission) as raised:
        intake._extract(zf, zf.getinfo("week1.ipynb"), target, caps, "big.zip")
    assert str(raised.value) == (
        "big.zip: week1.ipynb expands past 1000 bytes: refusing to unpack it"
    )
    assert not target.exists()


def test_member_count_and_total_size_caps(tmp_path, monkeypatch):
    monkeypatch.setattr(
        intake, "ZIP_CAPS", replace(intake.ZIP_CAPS, members=5, total_bytes=10_000)
    )
    many = make_zip(tmp_path / "many.zip", {f"f{i}.txt": b"x" for i in range(10)})
    big = make_zip(
        tmp_path / "big.zip",
        {"week1.ipynb": notebook(), "data.bin": os.urandom(20_000)},
    )
    subs = {s.source.split("/")[-1]: s for s in find_submissions([many, big])}
    assert subs["many.zip"].problem == "many.zip holds 10 files; the limit is 5"
    assert subs["big.zip"].problem.startswith("big.zip would expand to ")
    assert subs["big.zip"].problem.endswith(
        "bytes; the limit is 10000: refusing to unpack it"
    )


def test_not_a_zip_and_a_truncated_zip(tmp_path):
    junk = write(tmp_path / "junk.zip", b"this is not a zip")
    good = make_zip(tmp_path / "cut.zip", {"week1.ipynb": notebook()}).read_bytes()
    cut = write(tmp_path / "cut.zip", good[: len(good) // 2])
    subs = {s.source.split("/")[-1]: s for s in find_submissions([junk, cut])}
    for name in ("junk.zip", "cut.zip"):
        assert subs[name].problem == (
            f"{name} is not a zip archive (no end record): is it truncated?"
        )


# ------------------------------------------------------------------- Canvas

CANVAS = {
    "smithjohn_12345_67890_week1.ipynb": notebook("v = 1"),
    "smithjohn_12345_67999_week1-1.ipynb": notebook("v = 2"),
    "doejane_LATE_22222_70000_week1.ipynb": notebook("late = True"),
    "leeann_33333_71000_week1.ipynb": notebook("real = 1"),
    "leeann_33333_71001_scratch.ipynb": notebook("scratch = 1"),
    "parkmin_55555_73000_report.pdf": b"%PDF",
}
CANVAS_IDS = [
    "canvas-doejane-22222",
    "canvas-kimbo-44444",
    "canvas-leeann-33333",
    "canvas-parkmin-55555",
    "canvas-smithjohn-12345",
]


def canvas_files(tmp_path: Path) -> dict[str, bytes]:
    otter = otter_zip(tmp_path / "otter.zip", tmp_path / "unpickled").read_bytes()
    return {**CANVAS, "kimbo_44444_72000_week1_2024_01_02T03_04_05_123456.zip": otter}


def check_canvas(subs: list, assignment: str | None) -> None:
    subs = by_id(subs)
    assert sorted(subs) == CANVAS_IDS
    smith = subs["canvas-smithjohn-12345"]
    assert smith.source.endswith("smithjohn_12345_67999_week1-1.ipynb")
    assert read_code_cells(smith.notebook)[0]["source"] == "v = 2"
    assert smith.ignored == ("smithjohn_12345_67890_week1.ipynb",)
    older = "older versions not graded: smithjohn_12345_67890_week1.ipynb"
    assert smith.notes == (older,)
    assert subs["canvas-doejane-22222"].notes == (
        "Canvas marks doejane_LATE_22222_70000_week1.ipynb late",
    )
    kim = subs["canvas-kimbo-44444"]
    assert kim.problem == "" and kim.notebook.name == "week1.ipynb"
    assert subs["canvas-parkmin-55555"].problem == (
        "parkmin (Canvas user 55555) holds no notebook (found: report.pdf); "
        + PDF_ADVICE
    )
    lee = subs["canvas-leeann-33333"]
    if assignment is None:
        assert lee.notebook is None and lee.problem == (
            "leeann (Canvas user 33333) holds 2 notebooks (scratch.ipynb, "
            "week1.ipynb); submit exactly one"
        )
    else:
        assert read_code_cells(lee.notebook)[0]["source"] == "real = 1"
        assert lee.ignored == ("leeann_33333_71001_scratch.ipynb",)


@pytest.mark.parametrize("assignment", [None, "week1"])
def test_canvas_bulk_download_folder(tmp_path, assignment):
    folder = tmp_path / "submissions"
    for name, data in canvas_files(tmp_path).items():
        write(folder / name, data)
    write(folder / "grades.csv", b"a TA's own file: not a submission")
    check_canvas(find_submissions([folder], assignment=assignment), assignment)
    assert not (tmp_path / "unpickled").exists()


@pytest.mark.parametrize("assignment", [None, "week1"])
def test_canvas_bulk_download_zip_has_the_same_ids(tmp_path, work, assignment):
    path = make_zip(tmp_path / "submissions.zip", canvas_files(tmp_path))
    subs = find_submissions([path], assignment=assignment)
    check_canvas(subs, assignment)
    assert all(s.notebook is None or work in s.notebook.parents for s in subs)
    # only the chosen files came out of the bulk zip (no PDF, no older version)
    names = {p.name for p in files_under(work)}
    assert "parkmin_55555_73000_report.pdf" not in names
    assert "smithjohn_12345_67890_week1.ipynb" not in names
    assert not (tmp_path / "unpickled").exists()


def test_canvas_resubmitted_otter_zips_take_the_newest(tmp_path):
    folder = tmp_path / "submissions"
    old = make_zip(tmp_path / "a.zip", {"week1.ipynb": notebook("old = 1")})
    new = make_zip(tmp_path / "b.zip", {"week1.ipynb": notebook("new = 1")})
    write(
        folder / "kimbo_44444_100_week1_2024_01_01T00_00_00_000000.zip",
        old.read_bytes(),
    )
    write(
        folder / "kimbo_44444_200_week1_2024_01_02T00_00_00_000000.zip",
        new.read_bytes(),
    )
    (sub,) = find_submissions([folder])
    assert sub.id == "canvas-kimbo-44444"
    assert read_code_cells(sub.notebook)[0]["source"] == "new = 1"


def test_a_bad_member_of_a_canvas_zip_costs_only_that_student(tmp_path):
    link = zipfile.ZipInfo("evilguy_666_1_week1.ipynb")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = tmp_path / "submissions.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("smithjohn_12345_67890_week1.ipynb", notebook())
        zf.writestr(link, "/etc/passwd")
        with zf.open("bomber_777_2_week1.ipynb", "w") as member:
            for _ in range(8):
                member.write(bytes(1024 * 1024))
    subs = by_id(find_submissions([path]))
    assert subs["canvas-smithjohn-12345"].problem == ""
    assert subs["canvas-evilguy-666"].problem == (
        "submissions.zip holds a symbolic link (evilguy_666_1_week1.ipynb): refusing "
        "to unpack it"
    )
    assert "like a zip bomb: refusing to unpack it" in subs["canvas-bomber-777"].problem


# --------------------------------------------------------------- Gradescope

METADATA = """\
submission_111:
  :submitters:
  - :name: Ada Lovelace
    :sid: '001'
    :email: ada@uni.edu
  :created_at: 2024-01-02 03:04:05.000000000 -08:00
  :score: 10.0
submission_222:
  :submitters:
  - :name: Alan Turing
    :email: alan@uni.edu
  - :name: 42
    :email: [not, a, string]
submission_333:
  :submitters: "not a list"
"""


def gradescope_tree(root: Path) -> None:
    write(root / "submission_metadata.yml", METADATA.encode())
    write(root / "submission_111/week1.ipynb")
    write(root / "submission_222/week1.ipynb")
    write(root / "submission_222/scratch.ipynb")
    write(root / "submission_333/notes.txt", b"no notebook")


def check_gradescope(subs: list) -> None:
    subs = by_id(subs)
    assert sorted(subs) == ["gradescope-111", "gradescope-222", "gradescope-333"]
    assert subs["gradescope-111"].student == "Ada Lovelace <ada@uni.edu>"
    assert subs["gradescope-111"].notebook.name == "week1.ipynb"
    assert subs["gradescope-111"].submitted_at.startswith("2024-01-02")  # kept
    assert subs["gradescope-222"].student == "Alan Turing <alan@uni.edu>"
    assert subs["gradescope-222"].problem == (
        "submission_222 holds 2 notebooks (scratch.ipynb, week1.ipynb); submit "
        "exactly one"
    )
    assert subs["gradescope-333"].student == ""
    assert subs["gradescope-333"].problem == (
        "submission_333 holds no notebook (found: notes.txt)"
    )


def test_gradescope_export_folder(tmp_path):
    gradescope_tree(tmp_path / "export")
    check_gradescope(find_submissions([tmp_path / "export"]))
    subs = by_id(find_submissions([tmp_path / "export"], assignment="week1"))
    assert subs["gradescope-222"].notebook.name == "week1.ipynb"


def test_gradescope_export_zip_has_the_same_ids(tmp_path, work):
    gradescope_tree(tmp_path / "export")
    members = {
        f"assignment_9_export/{p.relative_to(tmp_path / 'export').as_posix()}": (
            p.read_bytes()
        )
        for p in files_under(tmp_path / "export")
    }
    subs = find_submissions([make_zip(tmp_path / "export.zip", members)])
    check_gradescope(subs)
    assert subs[0].source == f"{tmp_path / 'export.zip'} > submission_111"
    assert work in subs[0].notebook.parents


@pytest.mark.parametrize(
    "text, note",
    [
        (
            "!!python/object/apply:os.system ['touch {pwned}']",
            (
                "submission_metadata.yml could not be read (ConstructorError); "
                "students are known by submission id only"
            ),
        ),
        (
            "submission_111: [unclosed",
            (
                "submission_metadata.yml could not be read (ParserError); students are "
                "known by submission id only"
            ),
        ),
        ("- just\n- a list\n", "submission_metadata.yml is not a mapping; ignored"),
    ],
)
def test_hostile_gradescope_metadata_is_only_a_note(tmp_path, text, note):
    pwned = tmp_path / "pwned"
    write(
        tmp_path / "export/submission_metadata.yml", text.format(pwned=pwned).encode()
    )
    write(tmp_path / "export/submission_111/week1.ipynb")
    (sub,) = find_submissions([tmp_path / "export"])
    assert sub.id == "gradescope-111" and sub.problem == "" and sub.student == ""
    assert sub.notes == (note,) and not pwned.exists()


# --------------------------------------------------------- odd names, parsing

ODD = [
    "-rf week 1 ✓.ipynb",
    "new\nline.ipynb",
    "José Núñez.ipynb",
    " spaced .ipynb",
    os.fsdecode(b"bad\xff.ipynb"),
    "..ipynb",
    "$(touch x);.ipynb",
]


def test_odd_file_names_work_and_get_safe_ids(tmp_path):
    folder = tmp_path / "odd"
    for name in ODD:
        write(folder / name)
    subs = find_submissions([folder])
    assert len(subs) == len(ODD) == len({s.id for s in subs})
    assert all(SAFE.fullmatch(s.id) and len(s.id) <= 80 for s in subs)
    assert all(s.problem == "" and read_code_cells(s.notebook) for s in subs)
    assert all(s.source.isprintable() for s in subs)
    assert any(s.id.startswith("Jose_Nunez-") for s in subs)
    assert any(s.id.startswith("rf_week_1_-") for s in subs)
    assert [s.id for s in subs] == [s.id for s in find_submissions([folder])]
    assert not (tmp_path / "x").exists()


def test_odd_member_names_in_a_zip(tmp_path):
    path = make_zip(
        tmp_path / "-odd zip ✓.zip", {"-rf dir/new\nline ✓.ipynb": notebook()}
    )
    (sub,) = find_submissions([path])
    assert sub.problem == "" and sub.notebook.name == "new\nline ✓.ipynb"
    assert SAFE.fullmatch(sub.id) and sub.id.startswith("odd_zip_-")


def test_bom_is_accepted(tmp_path):
    path = write(tmp_path / "bom.ipynb", b"\xef\xbb\xbf" + notebook("y = 2"))
    assert read_code_cells(path) == [{"index": 0, "source": "y = 2"}]


@pytest.mark.parametrize(
    "content, message",
    [
        (
            b"[1, 2, 3]",
            (
                "x.ipynb is not a Jupyter notebook: its JSON is a list, not an "
                "object with a cell list"
            ),
        ),
        (
            b"42",
            (
                "x.ipynb is not a Jupyter notebook: its JSON is a number, not an "
                "object with a cell list"
            ),
        ),
        (
            b'"cells"',
            (
                "x.ipynb is not a Jupyter notebook: its JSON is a string, not "
                "an object with a cell list"
            ),
        ),
        (b"", "x.ipynb is empty (0 bytes): save the notebook and submit it again"),
        (b"  \n", "x.ipynb is empty (3 bytes): save the notebook and submit it again"),
        (
            b'{"cells": [], "nbformat": 4, "n": ' + b"9" * 5000 + b"}",
            "x.ipynb is not a usable notebook (ValueError: ",
        ),
        (b"[" * 100_000, "x.ipynb is not a usable notebook (RecursionError: "),
        (b"\xff\xfe{}", "x.ipynb is not UTF-8 text (byte 0)"),
    ],
)
def test_broken_notebooks_have_clear_messages(tmp_path, content, message):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    with pytest.raises(InvalidSubmission) as raised:
        read_code_cells(path)
    assert str(raised.value).startswith(message)


def test_directory_named_like_a_notebook_is_invalid(tmp_path):
    (tmp_path / "batch/x.ipynb").mkdir(parents=True)
    write(tmp_path / "batch/alice.ipynb")
    subs = find_submissions([tmp_path / "batch"])
    assert len(subs) == 2
    (bad,) = [s for s in subs if s.notebook is None]
    assert bad.problem == "x.ipynb is a directory, not a notebook file"
    (given,) = find_submissions([tmp_path / "batch/x.ipynb"])
    assert given.problem == bad.problem and given.id == bad.id
    with pytest.raises(InvalidSubmission, match="is a directory, not a notebook file"):
        read_code_cells(tmp_path / "batch/x.ipynb")


def test_unknown_kernel_is_graded_anyway(tmp_path):
    path = write(tmp_path / "r.ipynb", notebook("x <- 1", kernel="ir"))
    (sub,) = find_submissions([path])
    assert sub.problem == ""
    parsed = read_notebook(path)
    assert parsed.kernel == "ir" and parsed.cells == [{"index": 0, "source": "x <- 1"}]
    nb = json.loads(notebook())
    del nb["metadata"]["kernelspec"]
    bare = write(tmp_path / "none.ipynb", json.dumps(nb).encode())
    assert read_notebook(bare).kernel == ""


def test_cleanup_removes_extraction_dirs(tmp_path, work):
    (sub,) = find_submissions([make_zip(tmp_path / "hw.zip", {"w.ipynb": notebook()})])
    assert sub.notebook.exists() and oct(sub.workdir.stat().st_mode & 0o777) == "0o700"
    intake.cleanup()
    assert not sub.workdir.exists() and list(work.iterdir()) == []
