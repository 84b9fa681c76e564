from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = [0]

@test_case(points=None, hidden=False)
def test_q3_public(TFBindingCNN):
    import torch
    model = TFBindingCNN()
    n_params = sum((p.numel() for p in model.parameters()))
    assert n_params == 2814156, f'TFBindingCNN() should have 2,814,156 parameters; got {n_params:,}'
    small = TFBindingCNN(seq_len=20, num_filters=3, kernel_size=5, num_outputs=7)
    assert hasattr(small, 'conv') and hasattr(small, 'fc'), 'the layers must be called self.conv and self.fc'
    out = small(torch.zeros(2, 20, 4))
    assert tuple(out.shape) == (2, 7), f'a batch (2, 20, 4) should give (2, num_outputs) = (2, 7); got {tuple(out.shape)}'

