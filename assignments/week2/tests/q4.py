from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = [0]

@test_case(points=None, hidden=False)
def test_q4_public(kmers, score_seqs_motif):
    import numpy as np
    two = kmers(2)
    assert isinstance(two, list), f'kmers should return a list; got {type(two).__name__}'
    assert all((isinstance(s, str) for s in two)), "kmers should return strings like 'AC'"
    assert len(two) == 16, f'there are 4**2 = 16 2-mers; got {len(two)}'
    assert two[:5] == ['AA', 'AC', 'AG', 'AT', 'CA'], f'expected AA, AC, AG, AT, CA, ... (itertools.product order); got {two[:5]}'
    assert len(kmers(5)) == 1024 and kmers(1) == ['A', 'C', 'G', 'T']
    seqs = ['AAAAAAAA', 'AAAAAAAC', 'CCCCCTAT', 'TGCGTTTT']
    scores = score_seqs_motif(seqs)
    assert isinstance(scores, np.ndarray), f'score_seqs_motif should return a numpy array; got {type(scores).__name__}'
    assert scores.dtype in (np.float64, np.float32), f"expected a float array, float64 (numpy's default) or float32; got dtype {scores.dtype}"
    assert scores.shape == (4,), f'one score per sequence: expected (4,); got {scores.shape}'
    assert np.allclose(scores, [20.0, 19.625, 25.875, 2.5], rtol=1e-05, atol=1e-06), f"the course's checks are 20, 19.625, 25.875 and 2.5; got {scores}"
    twice = score_seqs_motif(['TATTAT'])[0]
    assert np.isclose(twice, 14.0 + 10.0, rtol=1e-05, atol=1e-06), f'TATTAT: mean (4 * 11 + 2 * 20) / 6 = 14, +10 once (not per copy) = 24; got {twice}'

