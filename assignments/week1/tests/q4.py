from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = [0]

@test_case(points=None, hidden=False)
def test_q4_public(gradient_descent):
    import numpy as np
    X, y = (np.eye(2), np.array([1.0, 1.0]))
    path = gradient_descent(X, y, lr=0.25, n_steps=2)
    assert isinstance(path, np.ndarray), f'gradient_descent should return a numpy array; got {type(path).__name__}'
    assert path.dtype in (np.float64, np.float32), f"expected a float array, float64 (numpy's default) or float32; got dtype {path.dtype}"
    assert path.shape == (3, 2), f'2 steps on 2 coefficients give shape (n_steps + 1, p) = (3, 2); got {path.shape}'
    assert np.allclose(path[0], 0.0), f'row 0 must be the start, zeros; got {path[0]}'
    expected = np.array([[0.0, 0.0], [0.25, 0.25], [0.4375, 0.4375]])
    assert np.allclose(path, expected, rtol=1e-05, atol=1e-06), f'expected the trajectory\n{expected}\ngot\n{path}\n(gradient descent uses the q3 gradient: if q3 fails, fix it first)'
    start = np.array([1.0, -1.0])
    path = gradient_descent(X, y, lr=0.25, n_steps=1, beta0=start)
    assert np.allclose(path[0], [1.0, -1.0]), f'row 0 must equal beta0; got {path[0]}'
    assert np.allclose(start, [1.0, -1.0]), 'gradient_descent must not modify beta0'

