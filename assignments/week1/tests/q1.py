from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = [0]

@test_case(points=None, hidden=False)
def test_q1_public(normal_equation):
    import numpy as np
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([1.0, 2.0, 3.0])
    beta = normal_equation(X, y)
    assert isinstance(beta, np.ndarray), f'normal_equation should return a numpy array; got {type(beta).__name__}'
    assert beta.dtype in (np.float64, np.float32), f"expected a float array, float64 (numpy's default) or float32; got dtype {beta.dtype}"
    assert beta.shape == (2,), f'expected shape (p,) = (2,) for X of shape (3, 2); got {beta.shape}'
    assert np.allclose(beta, [1.0, 2.0], rtol=1e-05, atol=1e-06), f'y = X @ [1, 2] exactly, so beta should be [1, 2]; got {beta}'

