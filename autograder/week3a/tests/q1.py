from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = [0, 2]

@test_case(points=None, hidden=False)
def test_q1_public(load_tf_data):
    import tempfile
    from pathlib import Path
    import pandas as pd
    with tempfile.TemporaryDirectory() as tmp:
        seq_path, score_path = (Path(tmp, 's.txt.gz'), Path(tmp, 'c.txt.gz'))
        pd.DataFrame({'sequence': ['ACGTA', 'GGNCC'], 'window_name': ['w1', 'w2']}).to_csv(seq_path, sep='\t', index=False)
        pd.DataFrame({'w2': [0.0, 0, 5, 5, 0], 'w1': [1.0, 1, 0, 0, 0]}).to_csv(score_path, sep='\t', index=False)
        seq_df, scores_df = load_tf_data(seq_path, score_path)
        assert isinstance(seq_df, pd.DataFrame) and isinstance(scores_df, pd.DataFrame), 'load_tf_data should return two pandas DataFrames'
        assert list(seq_df['window_name']) == ['w1', 'w2'], f"seq_df should keep the windows in file order; got {list(seq_df['window_name'])}"
        assert scores_df.shape == (5, 2), f'scores_df should have one row per position (5) and one column per window (2); got shape {scores_df.shape}' + (' (index_col=0 turned the first window into the index: the file has no index column)' if scores_df.shape == (5, 1) else '')
        assert list(scores_df['w2']) == [0.0, 0, 5, 5, 0], 'scores of window w2 changed'
        pd.DataFrame({'sequence': ['ACGTA'], 'name': ['w1']}).to_csv(seq_path, sep='\t', index=False)
        try:
            load_tf_data(seq_path, score_path)
        except ValueError as exc:
            assert 'window_name' in str(exc), f"the error should name the missing column 'window_name'; got: {exc}"
        else:
            raise AssertionError("a sequences file without 'window_name' must raise ValueError")

@test_case(points=None, hidden=True)
def test_q1_hidden(load_tf_data):
    from gene46100_ref.checks import run_check
    run_check('week3a', 'q1', {'load_tf_data': load_tf_data})

