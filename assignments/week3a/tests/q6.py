from otter.test_files import test_case

OK_FORMAT = False

name = "q6"
points = [0]

@test_case(points=None, hidden=False)
def test_q6_public(score_peaks):
    import numpy as np
    rng = np.random.default_rng(0)

    def peak(with_site: bool) -> str:
        bases = ''.join(rng.choice(list('ACGT'), size=60))
        return bases[:25] + 'ATGCAAAT' + bases[33:] if with_site else bases
    labels = np.array([1, 0] * 40)
    train = [peak(bool(v)) for v in labels]
    test = [peak(True), peak(False), peak(True)]
    scores = score_peaks(train, labels, test, seed=0)
    assert isinstance(scores, np.ndarray), f'score_peaks should return a numpy array; got {type(scores).__name__}'
    assert scores.shape == (3,), f'one score per test sequence: expected shape (3,); got {scores.shape}'
    assert scores.dtype in (np.float64, np.float32), f"expected a float array, float64 (numpy's default) or float32; got dtype {scores.dtype}"
    assert np.isfinite(scores).all(), f'scores should be finite; got {scores}'

