from otter.test_files import test_case

OK_FORMAT = False

name = "q6"
points = [0]

@test_case(points=None, hidden=False)
def test_q6_public(sgd):
    import numpy as np
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.5], [0.5, 2.0]])
    y = np.array([1.0, 2.0, 3.0, 3.0, 4.5])
    path = sgd(X, y, lr=0.1, n_epochs=3, batch_size=2, seed=0)
    assert isinstance(path, np.ndarray), f'sgd should return a numpy array; got {type(path).__name__}'
    assert path.dtype in (np.float64, np.float32), f"expected a float array, float64 (numpy's default) or float32; got dtype {path.dtype}"
    assert path.shape == (10, 2), f'm = 5 and batch_size = 2 give 3 batches per epoch (the last has 1 sample); 3 epochs -> 1 + 9 = 10 rows of p = 2; got shape {path.shape}'
    assert np.allclose(path[0], 0.0), f'row 0 must be the start, zeros; got {path[0]}'
    again = sgd(X, y, lr=0.1, n_epochs=3, batch_size=2, seed=0)
    assert np.array_equal(path, again), 'the same seed must give the same trajectory: make the generator from seed inside sgd'
    one = sgd(X, y, lr=0.1, n_epochs=1, batch_size=5, seed=0)
    step = -0.1 * (2 / 5) * X.T @ (0 - y)
    assert np.allclose(one[1], step, rtol=1e-05, atol=1e-06), f'with batch_size = m one epoch is one full-batch gradient step; expected {step}, got {one[1]} (SGD uses the q3 gradient: if q3 fails, fix it first)'

