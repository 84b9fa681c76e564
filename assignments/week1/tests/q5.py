from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = [0]

@test_case(points=None, hidden=False)
def test_q5_public(max_stable_lr):
    import numpy as np
    X = np.array([[2.0, 0.0], [0.0, 1.0]])
    lr = max_stable_lr(X)
    assert isinstance(lr, (float, np.float32)), f'max_stable_lr should return a float (a Python float or a numpy float64/float32 scalar); got {type(lr).__name__}'
    hint = ' (that is 2 / lambda_max(X^T X / m): the Hessian has a factor 2)' if np.isclose(lr, 1.0, rtol=1e-05, atol=0.0) else ''
    assert np.isclose(lr, 0.5, rtol=1e-05, atol=0.0), f'H = (2/m) X^T X = diag(4, 1) has largest eigenvalue 4, so the answer is 2/4 = 0.5; got {lr}{hint}'

