from otter.test_files import test_case

OK_FORMAT = False

name = "q9"
points = [0]

@test_case(points=None, hidden=False)
def test_q9_public(train):
    import numpy as np
    import torch
    from torch import nn

    class Line(nn.Module):

        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 1)
            nn.init.zeros_(self.lin.weight)
            nn.init.zeros_(self.lin.bias)

        def forward(self, x):
            return self.lin(x).squeeze(1)
    x = torch.tensor([[1.0], [2.0]])
    y = torch.tensor([2.0, 4.0])
    curve = train(Line(), x, y, lr=0.01, n_epochs=5)
    assert isinstance(curve, list), f'train should return a list; got {type(curve).__name__}'
    assert len(curve) == 5, f'one loss per epoch: expected 5 values; got {len(curve)}'
    assert all((isinstance(v, (float, np.float32)) for v in curve)), f'the curve should hold floats, one per epoch (use loss.item(); a numpy float64/float32 scalar is fine too); got {curve}'
    assert abs(curve[0] - 10.0) < 1e-05, f'the first entry is the loss before any update: mean((0 - 2)^2, (0 - 4)^2) = 10; got {curve[0]}'
    assert abs(curve[1] - 8.6866) < 0.0001, f'after one SGD step with lr 0.01 the loss is 8.6866; got {curve[1]}'
    assert all((a > b for a, b in zip(curve, curve[1:]))), f'loss should fall: {curve}'
    adam = train(Line(), x, y, lr=0.1, n_epochs=3, optimizer='adam')
    assert len(adam) == 3 and adam[-1] < adam[0], f'Adam should also train; got {adam}'

