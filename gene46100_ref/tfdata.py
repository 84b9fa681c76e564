"""TF-binding data: look-alike course files, real JASPAR motifs, real ChIP-seq peaks.

Nothing here downloads anything. Three sources:

1. ``simulate_tf_windows`` / ``write_tf_files``: files with exactly the layout of the
   course's ``chr22_sequences.txt.gz`` / ``chr22_scores.txt.gz`` (course-facts.md
   section 4), with motif sites planted into a realistic background so the ground
   truth is known.
   - ``chr22_sequences.txt.gz``: gzip, tab-separated, header
     ``sequence<TAB>window_name``, no index column; one 300-bp uppercase window per
     row, named ``chr22_<start>_<end>``
     (``end = start + 299``, the course's naming, e.g. ``chr22_10510500_10510799``).
   - ``chr22_scores.txt.gz``: gzip, tab-separated, header = the window names, no index
     column; 300 rows (positions 0..299), one column per window. A planted site scores a
     constant positive value over each of its bases, 0 elsewhere (like Homer's per-base
     scan scores). ``pd.read_csv(path, sep="\\t")`` gives shapes ``(n, 2)`` and
     ``(300, n)``, as the course's files do.
   Background: a first-order Markov chain with human-like composition (A = T = 0.295,
   C = G = 0.205, GC 0.41) and the CpG depletion of the human genome: CpG at a quarter
   of its independent frequency, the loss moved to CpA / TpG (deamination products) and
   taken from TpA, so base composition and strand symmetry are kept. With the planted
   (GC-rich) CTCF sites a window's GC is about 0.44. Sites: drawn base by base from a
   JASPAR matrix, kept when their log-odds clears a calling threshold (as a motif
   scanner calls sites), planted on either strand (half are reverse-complemented),
   never overlapping; every window has 1-3 sites (every course window has at least
   one). A site's score is its log-odds in nats against a uniform background,
   ``sum_j ln(p_j(b_j) / 0.25)`` over the forward-strand matrix (Homer reports the same
   kind of score), constant over the site's bases. Variants (``VARIANTS``):
   - ``"easy"``: one factor, CTCF (MA0139.2, 15 bp), sites drawn from the matrix itself,
     threshold 40% of the best score: scores 6.3-15.7, median about 11.9; the mean
     squared score per base is about 14 (the course's real files: about 2.4, with
     10-bp sites scoring 7-10).
   - ``"hard"``: two factors, CTCF and MAFK (MA0496.4, 10 bp), both scored, with weak
     sites: drawn from the matrix mixed 60/40 with the uniform background, threshold
     50%: scores 6.0-15.7, median about 8.8 (close to the course's 7-10); chance
     matches of the short MAFK motif in the background are common and unscored.
   Only planted sites are scored: chance matches in the background score 0 (a motif scan
   of the background would call a few; our targets are the planted ground truth).

2. ``jaspar_pwm(matrix_id)``: real position frequency matrices from the JASPAR database,
   read offline from the ``pyjaspar`` package (release ``JASPAR_RELEASE``).

3. ``load_janggu_peaks(factor, split)``: real ChIP-seq peak sequences shipped inside the
   ``janggu`` package (GPL-3.0; read from the installed package, never copied here).
   Files under ``janggu/resources/`` (janggu 0.10.2), all FASTA, 200 bp per record,
   headers ``>chrN:start-end``, repeats soft-masked in lowercase:
   ``sample.fa`` Oct4 peaks (3,897), ``sample2.fa`` MafK peaks (3,900),
   ``sample_test.fa`` Oct4 held-out peaks (100), ``sample2_test.fa`` MafK held-out
   (100).
   (The package also ships small BED/BAM/bigWig/GTF test fixtures that we do not use.)
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ALPHABET = "ACGT"
SEQ_LEN = 300
CHROM = "chr22"
FIRST_START = 10_510_500  # the course's first chr22 window starts here
SEQ_FILE = "chr22_sequences.txt.gz"
SCORE_FILE = "chr22_scores.txt.gz"
JASPAR_RELEASE = "JASPAR2024"  # pinned: pyjaspar's default moves with new releases
MIN_SITE_SCORE = 1.0

# Background: base composition of the human genome (GC 0.41) with CpG depletion.
_BASE_FREQS = np.array([0.295, 0.205, 0.205, 0.295])
_CPG_DEPLETION = 0.25


@dataclass(frozen=True)
class Variant:
    """How windows of one variant are made.

    Attributes:
        motifs: JASPAR ids of the scored factors (sites of each are planted and scored).
        strength: weight of the motif matrix in the mixture ``strength * pwm +
            (1 - strength) * uniform`` that sites are sampled from (1 = full-strength).
        min_score_frac: a site is kept only when its log-odds reaches this fraction of
            the matrix's best possible log-odds (the scanner's calling threshold).
        min_sites, max_sites: number of sites per window, uniform in this range.
    """

    motifs: tuple[str, ...]
    strength: float
    min_score_frac: float
    min_sites: int
    max_sites: int


VARIANTS: dict[str, Variant] = {
    "easy": Variant(
        motifs=("MA0139.2",), strength=1.0, min_score_frac=0.4, min_sites=1, max_sites=3
    ),
    "hard": Variant(
        motifs=("MA0139.2", "MA0496.4"),
        strength=0.6,
        min_score_frac=0.5,
        min_sites=1,
        max_sites=3,
    ),
}


# --------------------------------------------------------------------------- JASPAR
_JASPAR_LOCK = threading.Lock()


def _jaspar_db():
    """A fresh connection: sqlite objects cannot cross threads (graders use threads)."""
    try:
        from pyjaspar import jaspardb
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "jaspar_pwm needs the 'pyjaspar' package (pip install pyjaspar==4.0.0); "
            "it carries the JASPAR database offline"
        ) from err
    return jaspardb(release=JASPAR_RELEASE)


@functools.cache
def _jaspar_counts(matrix_id: str) -> tuple[str, np.ndarray]:
    with _JASPAR_LOCK:
        db = _jaspar_db()
        try:
            motif = db.fetch_motif_by_id(matrix_id)
        finally:
            db.conn.close()
    if motif is None:
        raise KeyError(f"no JASPAR matrix {matrix_id!r} in {JASPAR_RELEASE}")
    counts = np.array([motif.counts[b] for b in ALPHABET], dtype=np.float64).T  # (k, 4)
    counts.setflags(write=False)  # cached: callers get a read-only view
    return motif.name, counts


def jaspar_pwm(matrix_id: str, pseudocount: float = 0.25) -> np.ndarray:
    """Position probability matrix of a JASPAR motif, read offline.

    Args:
        matrix_id: e.g. ``"MA0139.2"`` (CTCF); without a version (``"MA0139"``) the
            latest version in ``JASPAR_RELEASE`` is used.
        pseudocount: added to every count before normalising, so no probability is 0.

    Returns:
        float64 ``(k, 4)``, columns A, C, G, T, each row summing to 1.
    """
    _, counts = _jaspar_counts(matrix_id)
    counts = counts + pseudocount
    return counts / counts.sum(axis=1, keepdims=True)


def jaspar_name(matrix_id: str) -> str:
    """The factor name JASPAR gives ``matrix_id`` (e.g. ``"CTCF"``)."""
    return _jaspar_counts(matrix_id)[0]


def log_odds(pwm: np.ndarray, background: float | np.ndarray = 0.25) -> np.ndarray:
    """Log-odds weights ``ln(pwm / background)`` for motif scans.

    Returns float64 ``(k, 4)``.
    """
    return np.log(np.asarray(pwm, dtype=np.float64) / background)


# ----------------------------------------------------------------------- background
def _dinucleotide_freqs() -> np.ndarray:
    """Joint frequencies ``D[a, b]`` of adjacent bases ``ab`` (float64 ``(4, 4)``).

    Independent composition, then the mutational signature of CpG deamination: CpG
    loses a share ``delta`` to CpA and TpG, and TpA gives up the same share. Every row
    and column sum stays at the base frequency (so the chain keeps GC 0.41 at every
    position) and the matrix stays reverse-complement symmetric (strands look alike).
    """
    joint = np.outer(_BASE_FREQS, _BASE_FREQS)
    delta = (1.0 - _CPG_DEPLETION) * joint[1, 2]
    a, c, g, t = range(4)
    joint[c, g] -= delta
    joint[t, a] -= delta
    joint[c, a] += delta
    joint[t, g] += delta
    return joint


def _transition_matrix() -> np.ndarray:
    """First-order transitions ``P(next = b | current = a)``, rows sum to 1."""
    joint = _dinucleotide_freqs()
    return joint / joint.sum(axis=1, keepdims=True)


def _background(n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """Markov-chain background as base indices, int8 ``(n, length)``."""
    cum = np.cumsum(_transition_matrix(), axis=1)
    cum[:, -1] = np.inf  # guards against rounding: a draw always lands in some base
    draws = rng.random((n, length))
    idx = np.empty((n, length), dtype=np.int8)
    first = np.cumsum(_BASE_FREQS)
    first[-1] = np.inf
    idx[:, 0] = np.searchsorted(first, draws[:, 0], side="right")
    for j in range(1, length):  # vectorised over windows, sequential along the chain
        idx[:, j] = (draws[:, j, None] >= cum[idx[:, j - 1]]).sum(axis=1)
    return idx


# --------------------------------------------------------------------------- sites
def _draw_sites(
    pwm: np.ndarray, strength: float, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` forward-strand candidates, int ``(n, k)``, and their log-odds ``(n,)``."""
    k = len(pwm)
    cum = np.cumsum(strength * pwm + (1.0 - strength) * 0.25, axis=1)  # (k, 4)
    cum[:, -1] = np.inf  # guards against rounding: a draw always lands in some base
    fwd = (rng.random((n, k))[:, :, None] >= cum[None]).sum(axis=2)  # (n, k)
    return fwd, log_odds(pwm)[np.arange(k), fwd].sum(axis=1)


def _sample_sites(
    pwm: np.ndarray, variant: Variant, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sites as base indices int8 ``(n, k)`` (either strand) and their scores.

    Candidates are drawn from ``strength * pwm + (1 - strength) / 4`` and kept only when
    their log-odds reaches ``min_score_frac`` of the matrix's best possible score, the
    way a motif scanner calls a site only above its threshold. The score (float64
    ``(n,)``) is the forward-strand log-odds, so it does not depend on the strand.
    """
    threshold = variant.min_score_frac * log_odds(pwm).max(axis=1).sum()
    fwd, scores = np.empty((0, len(pwm)), dtype=int), np.empty(0)
    while len(scores) < n:  # rejection sampling; a few rounds at the variants' settings
        cand, cand_scores = _draw_sites(
            pwm, variant.strength, 2 * (n - len(scores)) + 8, rng
        )
        keep = cand_scores >= threshold
        fwd = np.concatenate([fwd, cand[keep]])
        scores = np.concatenate([scores, cand_scores[keep]])
    fwd, scores = fwd[:n], scores[:n]
    reverse = rng.random(n) < 0.5
    sites = np.where(
        reverse[:, None], (3 - fwd)[:, ::-1], fwd
    )  # A<->T, C<->G, reversed
    return sites.astype(np.int8), np.maximum(scores, MIN_SITE_SCORE)


def _site_layout(
    n: int,
    lengths: np.ndarray,
    variant: Variant,
    seq_len: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which motif each site slot holds, whether it is used, and where it starts.

    Non-overlapping starts are drawn "stars and bars" style: sorted uniform offsets in
    the slack ``seq_len - sum(lengths)``, each shifted by the lengths of earlier sites.

    Returns:
        motif: int ``(n, max_sites)``; used: bool ``(n, max_sites)``; start: int
        ``(n, max_sites)`` (only meaningful where ``used``).
    """
    slots = variant.max_sites
    n_sites = rng.integers(variant.min_sites, slots + 1, size=n)
    used = np.arange(slots)[None, :] < n_sites[:, None]
    motif = rng.integers(len(variant.motifs), size=(n, slots))
    k = np.where(used, lengths[motif], 0)  # (n, slots)
    slack = seq_len - k.sum(axis=1, keepdims=True)
    offsets = np.sort(
        np.where(used, rng.integers(0, slack + 1, size=(n, slots)), slack), axis=1
    )
    start = offsets + np.cumsum(k, axis=1) - k
    return motif, used, start


def _plant_sites(
    idx: np.ndarray, scores: np.ndarray, variant: Variant, rng: np.random.Generator
) -> None:
    """Plant sites in place: bases into ``idx`` ``(n, L)``, scores into ``scores``."""
    pwms = [jaspar_pwm(m) for m in variant.motifs]
    lengths = np.array([len(p) for p in pwms])
    motif, used, start = _site_layout(len(idx), lengths, variant, idx.shape[1], rng)
    for m, pwm in enumerate(pwms):
        rows, slots = np.nonzero(used & (motif == m))
        sites, site_scores = _sample_sites(pwm, variant, len(rows), rng)
        cols = start[rows, slots][:, None] + np.arange(len(pwm))  # (n_sites, k)
        idx[rows[:, None], cols] = sites
        scores[rows[:, None], cols] = site_scores[:, None]


# --------------------------------------------------------------------------- files
def _window_names(n: int, seq_len: int, rng: np.random.Generator) -> list[str]:
    """Distinct increasing ``chr22_<start>_<end>`` names (gaps between some windows)."""
    slots = np.sort(rng.choice(4 * n, size=n, replace=False))
    starts = FIRST_START + seq_len * slots
    return [f"{CHROM}_{s}_{s + seq_len - 1}" for s in starts]


def simulate_tf_windows(
    n_windows: int, seed: int, variant: str = "easy", seq_len: int = SEQ_LEN
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulated windows with planted TF sites, in the course's in-memory layout.

    Args:
        n_windows: number of windows (>= 1).
        seed: everything drawn depends on this alone.
        variant: a key of ``VARIANTS`` (``"easy"`` or ``"hard"``).
        seq_len: window length (300 in the course).

    Returns:
        seq_df: columns ``sequence`` (str, uppercase ACGT, length ``seq_len``) and
            ``window_name`` (str), one row per window, default RangeIndex.
        scores_df: float64 ``(seq_len, n_windows)``, columns = window names in the same
            order, RangeIndex 0..seq_len-1 (positions); planted sites > 0, else 0.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    if n_windows < 1:
        raise ValueError(f"n_windows must be >= 1, got {n_windows}")
    rng = np.random.default_rng(seed)
    idx = _background(n_windows, seq_len, rng)
    scores = np.zeros((n_windows, seq_len))
    _plant_sites(idx, scores, VARIANTS[variant], rng)
    letters = np.frombuffer(ALPHABET.encode(), dtype="S1")[idx]  # (n, L) bytes
    seqs = letters.view(f"S{seq_len}").ravel().astype(str)
    names = _window_names(n_windows, seq_len, rng)
    seq_df = pd.DataFrame({"sequence": seqs, "window_name": names})
    scores_df = pd.DataFrame(np.round(scores, 4).T, columns=names)
    return seq_df, scores_df


def write_tf_files(
    out_dir: Path, n_windows: int, seed: int, variant: str = "easy"
) -> tuple[Path, Path]:
    """Write look-alike ``chr22_sequences.txt.gz`` and ``chr22_scores.txt.gz``.

    The files are byte-identical for the same arguments (gzip mtime fixed at 0).

    Returns:
        ``(seq_path, score_path)``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seq_df, scores_df = simulate_tf_windows(n_windows, seed, variant)
    seq_path, score_path = out_dir / SEQ_FILE, out_dir / SCORE_FILE
    gz = {"method": "gzip", "mtime": 0}
    seq_df.to_csv(seq_path, sep="\t", index=False, compression=gz)
    scores_df.to_csv(score_path, sep="\t", index=False, compression=gz)
    return seq_path, score_path


# --------------------------------------------------------------------------- janggu
JANGGU_FILES: dict[tuple[str, str], str] = {
    ("oct4", "train"): "sample.fa",
    ("mafk", "train"): "sample2.fa",
    ("oct4", "test"): "sample_test.fa",
    ("mafk", "test"): "sample2_test.fa",
}


def janggu_resources() -> Path:
    """Folder of the data files inside the installed ``janggu`` package.

    Found without importing janggu (its ``__init__`` needs TensorFlow/Keras, which we
    do not install: the wheel is installed with ``--no-deps`` just for its data).
    """
    spec = importlib.util.find_spec("janggu")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "load_janggu_peaks reads real ChIP-seq peaks shipped inside the 'janggu' "
            "package, which is not installed. Install its wheel alone: "
            "pip install --no-deps janggu==0.10.2"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "resources"


def read_fasta(path: Path) -> tuple[list[str], list[str]]:
    """Names and uppercase sequences of a FASTA file (multi-line records allowed)."""
    names: list[str] = []
    chunks: list[list[str]] = []
    for line in Path(path).read_text().splitlines():
        if line.startswith(">"):
            names.append(line[1:].strip())
            chunks.append([])
        elif line.strip():
            chunks[-1].append(line.strip().upper())
    return names, ["".join(c) for c in chunks]


def load_janggu_peaks(factor: str, split: str) -> tuple[list[str], np.ndarray]:
    """Real ChIP-seq peaks of ``factor`` against the other factor's peaks.

    Positives are the peaks of ``factor`` ("oct4" or "mafk", any case), negatives the
    other factor's peaks from the same split, so the task is "which factor bound here?".

    Args:
        factor: ``"oct4"`` or ``"mafk"``.
        split: ``"train"`` (3,897 Oct4 + 3,900 MafK) or ``"test"`` (100 + 100, janggu's
            held-out files).

    Returns:
        seqs: list of 200-bp uppercase strings (soft-masked repeats uppercased), the
            positives first, then the negatives, each in file order.
        labels: int64 ``(len(seqs),)``, 1 for ``factor``'s peaks, 0 for the others.
    """
    factor, split = factor.lower(), split.lower()
    if (factor, split) not in JANGGU_FILES:
        raise ValueError(
            f"factor must be 'oct4' or 'mafk' and split 'train' or 'test', "
            f"got {factor!r}, {split!r}"
        )
    other = "mafk" if factor == "oct4" else "oct4"
    folder = janggu_resources()
    _, pos = read_fasta(folder / JANGGU_FILES[(factor, split)])
    _, neg = read_fasta(folder / JANGGU_FILES[(other, split)])
    labels = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))]).astype(np.int64)
    return pos + neg, labels
