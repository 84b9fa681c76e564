from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = [0]

@test_case(points=None, hidden=False)
def test_q4_public(train_model, test_model):
    import numpy as np
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
    torch.manual_seed(0)
    x = torch.rand(10, 6, 4)
    y = torch.rand(10, 6)
    model = nn.Sequential(nn.Flatten(), nn.Linear(24, 6))
    dl = DataLoader(TensorDataset(x, y), batch_size=4)
    train_losses, val_losses = train_model(model, dl, dl, lr=0.01, epochs=3, device='cpu')
    for name, losses in (('train_losses', train_losses), ('val_losses', val_losses)):
        assert isinstance(losses, list) and len(losses) == 3, f'{name} should be a list of 3 floats (one per epoch); got {losses!r}'
        assert all((isinstance(v, (float, np.float32)) for v in losses)), f'{name} should hold floats (loss.item(); a numpy float64/float32 scalar is fine too); got {losses!r}'
    preds, obs, r = test_model(model, dl, device='cpu')
    assert isinstance(preds, np.ndarray) and preds.shape == (10, 6), f"preds should be a numpy array (N, L) = (10, 6); got {type(preds).__name__} {getattr(preds, 'shape', None)}"
    assert np.allclose(obs, y.numpy()), "obs should be the targets, in the loader's order"
    assert isinstance(r, np.ndarray) and r.shape == (10,), f"pearson_per_seq should have shape (N,) = (10,); got {getattr(r, 'shape', None)}"
    flat = nn.Sequential(nn.Flatten(), nn.Linear(24, 6))
    with torch.no_grad():
        flat[1].weight.zero_()
        flat[1].bias.fill_(1.0)
    _, _, r_flat = test_model(flat, dl, device='cpu')
    assert np.isnan(r_flat).all(), f'constant predictions have no Pearson correlation: expected NaN, got {r_flat[:3]}'

