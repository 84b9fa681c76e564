"""TF-binding data sources: look-alike course files, JASPAR matrices, janggu peaks."""

from __future__ import annotations

import gzip
import importlib.util
import re
import socket

import numpy as np
import pandas as pd
import pytest

from gene46100_ref import tfdata

NAME = re.compile(r"chr22_(\d+)_(\d+)")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    out = tmp_path_factory.mktemp("tf")
    return tfdata.write_tf_files(out, n_windows=120, seed=3)


def site_blocks(scores: np.ndarray) -> list[tuple[int, int, float]]:
    """(start, stop, value) of each run of equal positive scores in one window."""
    blocks, j = [], 0
    while j < len(scores):
        if scores[j] > 0:
            k = j
            while k < len(scores) and scores[k] == scores[j]:
                k += 1
            blocks.append((j, k, float(scores[j])))
            j = k
        else:
            j += 1
    return blocks


def log_odds_of(site: str, pwm: np.ndarray) -> float:
    idx = ["ACGT".index(b) for b in site]
    return float(tfdata.log_odds(pwm)[np.arange(len(site)), idx].sum())


def reverse_complement(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGT", "TGCA"))


# ------------------------------------------------------------------ file layout
def test_files_have_the_course_layout(files):
    seq_path, score_path = files
    assert seq_path.name == "chr22_sequences.txt.gz"
    assert score_path.name == "chr22_scores.txt.gz"
    with gzip.open(seq_path, "rt") as f:
        header, first = f.readline(), f.readline()
    assert header == "sequence\twindow_name\n"  # no index column
    sequence, name = first.rstrip("\n").split("\t")
    assert len(sequence) == 300 and NAME.fullmatch(name)
    seq_df = pd.read_csv(seq_path, sep="\t")
    scores_df = pd.read_csv(score_path, sep="\t")
    assert seq_df.shape == (120, 2) and scores_df.shape == (300, 120)
    assert list(scores_df.columns) == list(seq_df["window_name"])  # same order
    with gzip.open(score_path, "rt") as f:
        assert f.readline().rstrip("\n").split("\t") == list(seq_df["window_name"])


def test_window_names_are_distinct_300_bp_chr22_windows(files):
    names = pd.read_csv(files[0], sep="\t")["window_name"]
    assert names.is_unique
    spans = [tuple(map(int, NAME.fullmatch(n).groups())) for n in names]
    assert all(end - start == 299 for start, end in spans)
    starts = [s for s, _ in spans]
    assert starts == sorted(starts) and starts[0] >= tfdata.FIRST_START


def test_sequences_are_uppercase_acgt_with_human_like_composition():
    seq_df, scores_df = tfdata.simulate_tf_windows(400, seed=5)
    assert all(set(s) <= set("ACGT") and len(s) == 300 for s in seq_df["sequence"])
    background = np.concatenate(
        [
            np.frombuffer(s.encode(), dtype=np.uint8)[scores_df[n].to_numpy() == 0]
            for s, n in zip(seq_df["sequence"], seq_df["window_name"], strict=True)
        ]
    )
    gc = np.isin(background, np.frombuffer(b"GC", dtype=np.uint8)).mean()
    assert 0.39 < gc < 0.43, gc  # the background alone: GC 0.41
    text = "".join(seq_df["sequence"])
    freq = {b: text.count(b) / len(text) for b in "ACGT"}
    cpg_ratio = text.count("CG") / (len(text) * freq["C"] * freq["G"])
    assert cpg_ratio < 0.5, cpg_ratio  # CpG depleted, as in the human genome
    assert abs(freq["A"] - freq["T"]) < 0.01 and abs(freq["C"] - freq["G"]) < 0.01


# ------------------------------------------------------------------ planted sites
def test_every_window_has_one_to_three_ctcf_sites_scored_by_their_log_odds():
    seq_df, scores_df = tfdata.simulate_tf_windows(200, seed=11)
    ctcf = tfdata.jaspar_pwm("MA0139.2")
    threshold = 0.4 * tfdata.log_odds(ctcf).max(axis=1).sum()
    for seq, name in zip(seq_df["sequence"], seq_df["window_name"], strict=True):
        blocks = site_blocks(scores_df[name].to_numpy())
        assert 1 <= len(blocks) <= 3, name
        for start, stop, value in blocks:
            assert stop - start == 15  # the matrix is 15 bp wide
            site = seq[start:stop]
            scores = (
                log_odds_of(site, ctcf),
                log_odds_of(reverse_complement(site), ctcf),
            )
            assert min(abs(s - value) for s in scores) < 1e-3  # either strand
            assert value >= threshold


def test_both_strands_are_planted():
    seq_df, scores_df = tfdata.simulate_tf_windows(150, seed=12)
    ctcf = tfdata.jaspar_pwm("MA0139.2")
    strands = []
    for seq, name in zip(seq_df["sequence"], seq_df["window_name"], strict=True):
        for start, stop, value in site_blocks(scores_df[name].to_numpy()):
            strands.append(abs(log_odds_of(seq[start:stop], ctcf) - value) < 1e-3)
    assert 0.35 < np.mean(strands) < 0.65


def test_a_motif_scan_finds_the_planted_sites():
    """The planted truth is recoverable: a window's best CTCF match lies in a site."""
    seq_df, scores_df = tfdata.simulate_tf_windows(100, seed=13)
    weights = tfdata.log_odds(tfdata.jaspar_pwm("MA0139.2"))
    hits = 0
    for seq, name in zip(seq_df["sequence"], seq_df["window_name"], strict=True):
        onehot = (
            np.frombuffer(seq.encode(), np.uint8)[:, None]
            == np.frombuffer(b"ACGT", np.uint8)
        ).astype(float)
        windows = np.lib.stride_tricks.sliding_window_view(onehot, (15, 4))[:, 0]
        both = np.maximum(
            np.einsum("ikb,kb->i", windows, weights),
            np.einsum("ikb,kb->i", windows, weights[::-1, ::-1]),
        )
        hits += scores_df[name].to_numpy()[int(np.argmax(both))] > 0
    assert hits >= 97


def test_hard_variant_plants_two_factors_with_weaker_sites():
    seq_df, scores_df = tfdata.simulate_tf_windows(300, seed=14, variant="hard")
    lengths, values = set(), []
    for name in seq_df["window_name"]:
        for start, stop, value in site_blocks(scores_df[name].to_numpy()):
            lengths.add(stop - start)
            values.append(value)
    assert lengths == {10, 15}  # MAFK and CTCF
    _, easy = tfdata.simulate_tf_windows(300, seed=14)
    easy_values = easy.to_numpy()[easy.to_numpy() > 0]
    assert np.median(values) < np.median(easy_values) - 1.5


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    one = tfdata.write_tf_files(tmp_path / "a", 30, seed=1)
    two = tfdata.write_tf_files(tmp_path / "b", 30, seed=1)
    three = tfdata.write_tf_files(tmp_path / "c", 30, seed=2)
    for p, q, r in zip(one, two, three, strict=True):
        assert p.read_bytes() == q.read_bytes()
        assert p.read_bytes() != r.read_bytes()


@pytest.mark.parametrize("args", [(0, 1), (5, 1, "medium")])
def test_bad_arguments_are_refused(args):
    with pytest.raises(ValueError):
        tfdata.simulate_tf_windows(*args)


# ------------------------------------------------------------------ JASPAR
@pytest.mark.parametrize(
    ("matrix_id", "name", "consensus"),
    [
        ("MA0139.2", "CTCF", "GCCACCAGGGGGCGC"),
        ("MA0496.4", "MAFK", "CTGACTCAGC"),  # the MARE half site TGCTGA(C) on - strand
        ("MA1115.2", "POU5F1", "ATGCAAA"),  # the octamer ATGCAAAT
        ("MA0035.5", "GATA1", "CTAATCT"),  # AGATTAG on the other strand
    ],
)
def test_jaspar_matrices_are_probabilities_of_the_named_factor(
    matrix_id, name, consensus
):
    pwm = tfdata.jaspar_pwm(matrix_id)
    assert pwm.dtype == np.float64 and pwm.ndim == 2 and pwm.shape[1] == 4
    assert np.allclose(pwm.sum(axis=1), 1.0) and (pwm > 0).all()
    assert tfdata.jaspar_name(matrix_id) == name
    assert "".join("ACGT"[i] for i in pwm.argmax(axis=1)) == consensus


def test_jaspar_reads_offline(monkeypatch):
    """No network at run time: the database ships inside the pyjaspar package."""

    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    tfdata._jaspar_counts.cache_clear()
    assert tfdata.jaspar_pwm("MA0139").shape == (15, 4)  # latest version in the release


def test_unknown_matrix_is_a_key_error():
    with pytest.raises(KeyError):
        tfdata.jaspar_pwm("MA9999.9")


# ------------------------------------------------------------------ janggu
@pytest.mark.parametrize(
    ("factor", "split", "n_pos", "n_neg"),
    [
        ("oct4", "train", 3897, 3900),
        ("mafk", "train", 3900, 3897),
        ("Oct4", "test", 100, 100),
        ("MAFK", "test", 100, 100),
    ],
)
def test_janggu_peaks_are_read_from_the_installed_package(factor, split, n_pos, n_neg):
    seqs, labels = tfdata.load_janggu_peaks(factor, split)
    assert labels.dtype == np.int64 and labels.tolist() == [1] * n_pos + [0] * n_neg
    assert len(seqs) == n_pos + n_neg
    assert all(len(s) == 200 and set(s) <= set("ACGTN") for s in seqs)
    assert str(tfdata.janggu_resources()).startswith(
        str(importlib.util.find_spec("janggu").submodule_search_locations[0])
    )


def test_janggu_oct4_and_mafk_are_the_same_peaks_with_labels_swapped():
    oct4, oct4_labels = tfdata.load_janggu_peaks("oct4", "test")
    mafk, mafk_labels = tfdata.load_janggu_peaks("mafk", "test")
    assert sorted(oct4) == sorted(mafk)
    assert oct4[:100] == mafk[100:] and oct4_labels.sum() == mafk_labels.sum() == 100


def test_oct4_peaks_carry_more_octamer_matches_than_mafk_peaks():
    """The files are what they claim: POU5F1's matrix scores Oct4 peaks higher."""
    seqs, labels = tfdata.load_janggu_peaks("oct4", "train")
    weights = tfdata.log_odds(tfdata.jaspar_pwm("MA1115.2"))
    best = []
    for seq in seqs[::10]:
        onehot = (
            np.frombuffer(seq.encode(), np.uint8)[:, None]
            == np.frombuffer(b"ACGT", np.uint8)
        ).astype(float)
        windows = np.lib.stride_tricks.sliding_window_view(onehot, (7, 4))[:, 0]
        best.append(
            max(
                np.einsum("ikb,kb->i", windows, weights).max(),
                np.einsum("ikb,kb->i", windows, weights[::-1, ::-1]).max(),
            )
        )
    best, sub = np.array(best), labels[::10]
    assert best[sub == 1].mean() > best[sub == 0].mean() + 0.3


def test_bad_factor_or_split_is_refused():
    with pytest.raises(ValueError, match="oct4"):
        tfdata.load_janggu_peaks("ctcf", "train")
    with pytest.raises(ValueError, match="train"):
        tfdata.load_janggu_peaks("oct4", "validation")


def test_missing_janggu_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "janggu" else real(name, *a),
    )
    with pytest.raises(ImportError, match="--no-deps janggu"):
        tfdata.load_janggu_peaks("oct4", "test")


def test_jaspar_works_from_several_threads():
    """The grader scores submissions in threads; sqlite connections must not cross."""
    from concurrent.futures import ThreadPoolExecutor

    tfdata._jaspar_counts.cache_clear()
    ids = ["MA0139.2", "MA0496.4", "MA1115.2", "MA0035.5"] * 2
    with ThreadPoolExecutor(4) as pool:
        shapes = list(pool.map(lambda m: tfdata.jaspar_pwm(m).shape, ids))
    assert shapes[:4] == [(15, 4), (10, 4), (7, 4), (7, 4)]
