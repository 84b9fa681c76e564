from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = [0]

@test_case(points=None, hidden=False)
def test_q2_public(mse_loss):
    import numpy as np
    loss = mse_loss(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert isinstance(loss, float), f'mse_loss should return a Python float; got {type(loss).__name__}'
    half = abs(loss - 2.0 / 3.0) < 1e-12
    assert abs(loss - 4.0 / 3.0) < 1e-12, f'one error of 2 among 3 samples: the MSE is 2**2 / 3 = 1.3333; got {loss}' + (' (that is half of it: drop the 1/2)' if half else '')

