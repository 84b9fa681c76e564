from otter.test_files import test_case

OK_FORMAT = False

name = "q6"
points = [0, 2]

@test_case(points=None, hidden=False)
def test_q6_public(DNA_CNN):
    import torch
    from torch import nn
    model = DNA_CNN(8)
    assert isinstance(model, nn.Module), 'DNA_CNN must subclass nn.Module'
    assert isinstance(getattr(model, 'conv', None), nn.Conv1d), 'model.conv should be a Conv1d'
    assert isinstance(getattr(model, 'fc', None), nn.Linear), 'model.fc should be an nn.Linear'
    shapes = (tuple(model.conv.weight.shape), tuple(model.fc.weight.shape))
    assert shapes == ((32, 4, 3), (1, 192)), f'DNA_CNN(8): conv weight (32, 4, 3) and fc weight (1, 32 * 6) = (1, 192); got {shapes}'
    n = sum((p.numel() for p in model.parameters()))
    assert n == 609, f'DNA_CNN(8) has 32*4*3 + 32 + 192 + 1 = 609 parameters; got {n}'
    out = model(torch.zeros(5, 8, 4))
    assert tuple(out.shape) == (5, 1), f'(5, 8, 4) should map to (5, 1); got {tuple(out.shape)}'
    tiny = DNA_CNN(2, num_filters=1, kernel_size=1)
    with torch.no_grad():
        tiny.conv.weight.copy_(torch.tensor([[[1.0], [2.0], [3.0], [4.0]]]))
        tiny.conv.bias.zero_()
        tiny.fc.weight.copy_(torch.tensor([[1.0, 10.0]]))
        tiny.fc.bias.zero_()
        gt = torch.tensor([[[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]])
        got = tiny(gt).item()
        assert abs(got - 43.0) < 1e-05, f"for 'GT' the filter gives [3, 4] and fc 3 + 10 * 4 = 43; got {got} (did you permute (N, L, 4) to (N, 4, L), not reshape?)"
        tiny.conv.bias.fill_(-3.5)
        got = tiny(gt).item()
        assert abs(got - 5.0) < 1e-05, f'with ReLU the output is 0 + 10 * 0.5 = 5; got {got}'

@test_case(points=None, hidden=True)
def test_q6_hidden(DNA_CNN):
    from gene46100_ref.checks import run_check
    run_check('week2', 'q6', {'DNA_CNN': DNA_CNN})

