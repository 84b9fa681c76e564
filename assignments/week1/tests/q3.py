from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = [0]

@test_case(points=None, hidden=False)
def test_q3_public(mse_gradient):
    import numpy as np
    X = np.eye(2)
    y = np.array([1.0, 1.0])
    grad = mse_gradient(X, y, np.zeros(2))
    assert isinstance(grad, np.ndarray), f'mse_gradient should return a numpy array; got {type(grad).__name__}'
    assert grad.dtype in (np.float64, np.float32), f"expected a float array, float64 (numpy's default) or float32; got dtype {grad.dtype}"
    assert grad.shape == (2,), f'expected shape (p,) = (2,); got {grad.shape}'
    hints = {-0.5: 'half: that is the gradient of (1/2) MSE', 1.0: 'sign flipped: use X beta - y, not y - X beta', -2.0: 'twice too large: check the 2 and the 1/m'}
    hint = next((h for v, h in hints.items() if np.allclose(grad, [v, v], rtol=1e-05, atol=1e-06)), '')
    assert np.allclose(grad, [-1.0, -1.0], rtol=1e-05, atol=1e-06), f'with X = I (m = 2), y = [1, 1] and beta = 0 the gradient is (2/2) * I^T (0 - y) = [-1, -1]; got {grad}' + (f' ({hint})' if hint else '')

