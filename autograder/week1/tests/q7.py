from otter.test_files import test_case

OK_FORMAT = False

name = "q7"
points = [0, 2]

@test_case(points=None, hidden=False)
def test_q7_public(MLP):
    import torch
    from torch import nn
    model = MLP(1, 2, 1)
    assert isinstance(model, nn.Module), 'MLP must subclass nn.Module'
    for name, shape in [('fc1', (2, 1)), ('fc2', (1, 2))]:
        layer = getattr(model, name, None)
        assert isinstance(layer, nn.Linear), f'model.{name} should be an nn.Linear'
        got = tuple(layer.weight.shape)
        assert got == shape, f'model.{name}.weight should have shape {shape}; got {got}'
    with torch.no_grad():
        model.fc1.weight.copy_(torch.tensor([[1.0], [-1.0]]))
        model.fc1.bias.zero_()
        model.fc2.weight.copy_(torch.tensor([[1.0, 1.0]]))
        model.fc2.bias.zero_()
        out = model(torch.tensor([[-2.0], [3.0]]))
    assert tuple(out.shape) == (2,), f'forward should return shape (N,) = (2,); got {tuple(out.shape)}'
    assert out.dtype == torch.float32, f'expected float32 output; got {out.dtype}'
    assert torch.allclose(out, torch.tensor([2.0, 3.0])), f'with these weights the MLP computes relu(x) + relu(-x) = |x|, i.e. [2, 3]; got {out} (is the ReLU between fc1 and fc2?)'
    shape = tuple(MLP(3, 5, 1)(torch.zeros(4, 3)).shape)
    assert shape == (4,), f'MLP(3, 5, 1) maps (4, 3) to (4,); got {shape}'

@test_case(points=None, hidden=True)
def test_q7_hidden(MLP):
    from gene46100_ref.checks import run_check
    run_check('week1', 'q7', {'MLP': MLP})

