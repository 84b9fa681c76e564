from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = [0]

@test_case(points=None, hidden=False)
def test_q5_public(max_stable_lr):
    import numpy as np
    X = np.array([[2.0, 0.0], [0.0, 1.0]])
    lr = max_stable_lr(X)
    assert isinstance(lr, float), f'max_stable_lr should return a Python float; got {type(lr).__name__}'
    hint = ' (that is 2 / lambda_max(X^T X / m): the Hessian has a factor 2)' if abs(lr - 1.0) < 1e-12 else ''
    assert abs(lr - 0.5) < 1e-12, f'H = (2/m) X^T X = diag(4, 1) has largest eigenvalue 4, so the answer is 2/4 = 0.5; got {lr}{hint}'

