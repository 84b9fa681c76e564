from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = [0, 3]

@test_case(points=None, hidden=False)
def test_q5_public():
    import os
    import subprocess
    import sys
    import tempfile
    import pandas as pd
    import torch
    assert os.path.exists('predict.py'), 'predict.py should sit next to this notebook'
    assert os.path.exists('model_weights.pt'), "model_weights.pt is missing: torch.save(model.state_dict(), 'model_weights.pt')"
    state = torch.load('model_weights.pt', map_location='cpu', weights_only=True)
    assert isinstance(state, dict), 'model_weights.pt should hold a state_dict (a dict)'
    names = [f'chr22_{100 + 300 * i}_{399 + 300 * i}' for i in range(3)]
    seqs = ['ACGT' * 75, 'CCGCGAGGGGGCGC' + 'A' * 286, 'T' * 300]
    with tempfile.TemporaryDirectory() as tmp:
        data, out = (os.path.join(tmp, 'seqs.txt.gz'), os.path.join(tmp, 'preds.csv'))
        pd.DataFrame({'sequence': seqs, 'window_name': names}).to_csv(data, sep='\t', index=False)
        done = subprocess.run([sys.executable, 'predict.py', '--data', data, '--out', out], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f'predict.py failed:\n{done.stderr[-1500:]}'
        table = pd.read_csv(out, index_col=0)
    assert table.index.name == 'window_name', f"the CSV's first column should be the index 'window_name'; got {table.index.name!r}"
    assert sorted(table.index) == sorted(names), f'one row per window of --data expected; got rows {list(table.index)[:5]}'
    assert list(table.columns) == [str(j) for j in range(300)], f'expected 300 columns named 0..299; got {len(table.columns)} columns starting {list(table.columns)[:3]}'

@test_case(points=None, hidden=True)
def test_q5_hidden():
    from gene46100_ref.checks import run_check
    run_check('week3a', 'q5', {})

