from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = [0]

@test_case(points=None, hidden=False)
def test_q1_public(conv1d_valid):
    import numpy as np
    signal = np.array([0, 0.2, 0.8, 1.0, 0.9, 0.3, 0.1, 0])
    out = conv1d_valid(signal, np.array([-1.0, 0.0, 1.0]))
    assert isinstance(out, np.ndarray), f'conv1d_valid should return a numpy array; got {type(out).__name__}'
    assert out.dtype in (np.float64, np.float32), f"expected a float array, float64 (numpy's default) or float32; got dtype {out.dtype}"
    assert out.shape == (6,), f'L = 8 and k = 3 give L - k + 1 = 6 outputs; got shape {out.shape}'
    expected = np.array([0.8, 0.8, 0.1, -0.7, -0.8, -0.3])
    flipped = ' (that is the flipped kernel: true convolution, not cross-correlation)'
    assert np.allclose(out, expected, rtol=1e-05, atol=1e-06), f'the rising-edge filter [-1, 0, 1] gives x[i+2] - x[i] = {expected}; got {out}' + (flipped if np.allclose(out, -expected, rtol=1e-05, atol=1e-06) else '')

