from otter.test_files import test_case

OK_FORMAT = False

name = "q7"
points = [0]

@test_case(points=None, hidden=False)
def test_q7_public(train_model):
    import numpy as np
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    def zero_model():
        model = nn.Sequential(nn.Flatten(), nn.Linear(8, 1))
        nn.init.zeros_(model[1].weight)
        nn.init.zeros_(model[1].bias)
        return model
    x = torch.zeros(4, 2, 4)
    train = DataLoader(TensorDataset(x, torch.tensor([[1.0], [1.0], [1.0], [3.0]])), batch_size=3)
    val = DataLoader(TensorDataset(x[:2], torch.tensor([[2.0], [2.0]])), batch_size=1)
    result = train_model(zero_model(), train, val, lr=0.0, epochs=2, device='cpu')
    assert isinstance(result, tuple) and len(result) == 2, 'train_model should return a tuple (train_losses, val_losses)'
    train_losses, val_losses = result
    assert isinstance(train_losses, list) and isinstance(val_losses, list), 'both curves should be lists'
    assert len(train_losses) == 2 and len(val_losses) == 2, f'one loss per epoch: expected 2 and 2; got {len(train_losses)} and {len(val_losses)}'
    assert all((isinstance(v, (float, np.float32)) for v in train_losses + val_losses)), 'the curves should hold floats, one per epoch (use loss.item(); a numpy float64/float32 scalar is fine too)'
    unweighted = ' (that is the unweighted mean of the batch means)' if abs(train_losses[0] - 5.0) < 1e-06 else ''
    assert abs(train_losses[0] - 3.0) < 1e-06, f'with lr = 0 the model predicts 0: batch MSEs 1 (3 samples) and 9 (1 sample), weighted mean (3 * 1 + 1 * 9) / 4 = 3; got {train_losses[0]}{unweighted}'
    assert abs(val_losses[0] - 4.0) < 1e-06, f'the validation targets are 2, so the validation MSE is 4; got {val_losses[0]}'
    model = zero_model()
    train_losses, _ = train_model(model, train, val, lr=0.05, epochs=20, device='cpu')
    assert train_losses[-1] < 0.5 * train_losses[0], f'with lr = 0.05 the loss should fall; got {train_losses[0]:.3f} -> {train_losses[-1]:.3f} (is opt.step() called on every batch?)'

