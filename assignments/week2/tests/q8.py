from otter.test_files import test_case

OK_FORMAT = False

name = "q8"
points = [0]

@test_case(points=None, hidden=False)
def test_q8_public(get_filter_activations):
    import numpy as np
    import torch
    from torch import nn
    layer = nn.Conv1d(4, 1, 3)
    tat = np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0], [1, 0, 1]], dtype=np.float32)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(tat)[None])
        layer.bias.fill_(-2.5)
    counts = get_filter_activations(['TATA', 'CTAT', 'GGGG'], layer, act_thresh=0)
    assert isinstance(counts, np.ndarray), f'get_filter_activations should return a numpy array; got {type(counts).__name__}'
    assert counts.shape == (1, 4, 3), f'expected (num_filters, 4, k) = (1, 4, 3); got {counts.shape}'
    assert np.allclose(counts, 2 * tat), f"two windows read TAT (in TATA and CTAT), so the filter's matrix is twice the one-hot of TAT (rows A, C, G, T):\n{2 * tat}\ngot\n{counts[0]}"

