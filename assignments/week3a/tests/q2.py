from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = [0]

@test_case(points=None, hidden=False)
def test_q2_public(SeqDatasetOHE):
    import pandas as pd
    import torch
    seq_df = pd.DataFrame({'sequence': ['ACGT', 'TTAA', 'GGCC'], 'window_name': ['w1', 'w2', 'w3']})
    scores_df = pd.DataFrame({'w2': [0.0, 9.0, 9.0, 0.0], 'w3': [2.0, 0.0, 0.0, 2.0], 'w1': [1.0, 1.0, 0.0, 0.0]})
    ds = SeqDatasetOHE(seq_df, scores_df)
    assert len(ds) == 3, f'len(ds) should be 3 (rows of seq_df); got {len(ds)}'
    x, y = ds[0]
    assert isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor), f'ds[i] should be two torch tensors; got {type(x).__name__}, {type(y).__name__}'
    assert x.dtype == torch.float32 and y.dtype == torch.float32, f'x and y should be float32; got {x.dtype}, {y.dtype}'
    assert tuple(x.shape) == (4, 4), f'x should have shape (L, 4) = (4, 4); got {tuple(x.shape)}'
    assert tuple(y.shape) == (4,), f'y should have shape (L,) = (4,); got {tuple(y.shape)}'
    assert torch.equal(x[0], torch.tensor([1.0, 0, 0, 0])), 'position 0 of ACGT is A'
    assert torch.equal(y, torch.tensor([1.0, 1.0, 0.0, 0.0])), f"ds[0] is window w1, so y must be the scores column named 'w1' ([1, 1, 0, 0]); got {y.tolist()} (take columns by window name, not position)"

