from otter.test_files import test_case

OK_FORMAT = False

name = "q10"
points = [0]

@test_case(points=None, hidden=False)
def test_q10_public(fit_linear_vs_mlp):
    import numpy as np
    x = np.linspace(-2.0, 2.0, 60)
    y = x ** 3
    result = fit_linear_vs_mlp(x, y, seed=0)
    assert isinstance(result, dict), f'expected a dict; got {type(result).__name__}'
    assert set(result) == {'linear_mse', 'mlp_mse'}, f"expected exactly the keys 'linear_mse' and 'mlp_mse'; got {sorted(result)}"
    for key, value in result.items():
        kind = type(value).__name__
        assert isinstance(value, (float, np.float32)), f'result[{key!r}] should be a float (a Python float or a numpy float64/float32 scalar); got {kind}'
    slope, intercept = np.polyfit(x, y, 1)
    best = float(np.mean((slope * x + intercept - y) ** 2))
    linear, mlp = (result['linear_mse'], result['mlp_mse'])
    assert abs(linear - best) < 1e-05 * max(1.0, best), f'the least-squares line with intercept has MSE {best:.6f}; got {linear:.6f} (did you forget the intercept column?)'
    assert mlp < linear, f'the MLP ({mlp:.4f}) should beat the line ({best:.4f}) on y = x^3'

