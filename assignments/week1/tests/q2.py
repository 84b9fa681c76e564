from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = [0]

@test_case(points=None, hidden=False)
def test_q2_public(mse_loss):
    import numpy as np
    loss = mse_loss(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert isinstance(loss, (float, np.float32)), f'mse_loss should return a float (a Python float or a numpy float64/float32 scalar; convert an array or tensor with float(...)); got {type(loss).__name__}'
    half = np.isclose(loss, 2.0 / 3.0, rtol=1e-05, atol=0.0)
    assert np.isclose(loss, 4.0 / 3.0, rtol=1e-05, atol=0.0), f'one error of 2 among 3 samples: the MSE is 2**2 / 3 = 1.3333; got {loss}' + (' (that is half of it: drop the 1/2)' if half else '')

