from otter.test_files import test_case

OK_FORMAT = False

name = "q8"
points = [0, 2]

@test_case(points=None, hidden=False)
def test_q8_public(count_parameters, mlp_param_count):
    from torch import nn
    layer = nn.Linear(2, 3)
    n = count_parameters(layer)
    assert isinstance(n, int), f'count_parameters should return an int; got {type(n).__name__}'
    assert n == 9, f'nn.Linear(2, 3) has 2*3 weights + 3 biases = 9 parameters; got {n}'
    layer.bias.requires_grad_(False)
    assert count_parameters(layer) == 6, f'a frozen tensor (requires_grad False) is not trainable: expected 6, got {count_parameters(layer)}'
    k = mlp_param_count([2, 3, 1])
    assert isinstance(k, int), f'mlp_param_count should return an int; got {type(k).__name__}'
    assert k == 13, f'[2, 3, 1]: (2*3 + 3) + (3*1 + 1) = 13; got {k}'
    k = mlp_param_count([1, 1024, 1])
    assert k == 3073, f'[1, 1024, 1] has 2048 + 1024 + 1 = 3073; got {k}'

@test_case(points=None, hidden=True)
def test_q8_hidden(count_parameters, mlp_param_count):
    from gene46100_ref.checks import run_check
    run_check('week1', 'q8', {'count_parameters': count_parameters, 'mlp_param_count': mlp_param_count})

