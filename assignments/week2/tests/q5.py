from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = [0]

@test_case(points=None, hidden=False)
def test_q5_public(pwm_scan):
    import numpy as np
    pwm = np.array([[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
    scores = pwm_scan('CGATAG', pwm)
    assert isinstance(scores, np.ndarray), f'pwm_scan should return a numpy array; got {type(scores).__name__}'
    assert scores.dtype in (np.float64, np.float32), f"expected a float array, float64 (numpy's default) or float32; got dtype {scores.dtype}"
    assert scores.shape == (4,), f'L = 6, k = 3: expected 4 windows; got shape {scores.shape}'
    hint = ' (that is the flipped PWM, i.e. a search for TAG: do not reverse the rows)' if np.allclose(scores, [0, 1, 0, 3], rtol=1e-05, atol=1e-06) else ''
    assert np.allclose(scores, [0, 3, 0, 1], rtol=1e-05, atol=1e-06), f'windows CGA, GAT, ATA, TAG match the GAT matrix at 0, 3, 0 and 1 positions; got {scores}{hint} (pwm_scan uses q1 and q3: if they fail, fix them first)'

