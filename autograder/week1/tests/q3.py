from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = [0, 2]

@test_case(points=None, hidden=False)
def test_q3_public(mse_gradient):
    import numpy as np
    X = np.eye(2)
    y = np.array([1.0, 1.0])
    grad = mse_gradient(X, y, np.zeros(2))
    assert isinstance(grad, np.ndarray), f'mse_gradient should return a numpy array; got {type(grad).__name__}'
    assert grad.dtype == np.float64, f'expected dtype float64; got {grad.dtype}'
    assert grad.shape == (2,), f'expected shape (p,) = (2,); got {grad.shape}'
    hints = {-0.5: 'half: that is the gradient of (1/2) MSE', 1.0: 'sign flipped: use X beta - y, not y - X beta', -2.0: 'twice too large: check the 2 and the 1/m'}
    hint = next((h for v, h in hints.items() if np.allclose(grad, [v, v])), '')
    assert np.allclose(grad, [-1.0, -1.0]), f'with X = I (m = 2), y = [1, 1] and beta = 0 the gradient is (2/2) * I^T (0 - y) = [-1, -1]; got {grad}' + (f' ({hint})' if hint else '')

@test_case(points=None, hidden=True)
def test_q3_hidden(mse_gradient):
    from gene46100_ref.checks import run_check
    run_check('week1', 'q3', {'mse_gradient': mse_gradient})

