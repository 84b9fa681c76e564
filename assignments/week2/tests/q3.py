from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = [0]

@test_case(points=None, hidden=False)
def test_q3_public(one_hot_encode):
    import numpy as np
    x = one_hot_encode('ACGTN')
    assert isinstance(x, np.ndarray), f'one_hot_encode should return a numpy array; got {type(x).__name__}'
    assert x.dtype == np.float32, f'expected dtype float32; got {x.dtype}'
    transposed = ' (that is (4, L): one row per position, please)' if x.shape == (4, 5) else ''
    assert x.shape == (5, 4), f'expected shape (L, 4) = (5, 4); got {x.shape}{transposed}'
    expected = np.vstack([np.eye(4), np.zeros(4)])
    assert np.array_equal(x, expected), f'ACGT gives the identity (columns A, C, G, T) and N a row of zeros:\n{expected}\ngot\n{x}'
    assert np.array_equal(one_hot_encode('acgtn'), expected), 'lowercase must be accepted'
    try:
        one_hot_encode('ACXT')
    except ValueError as exc:
        message = str(exc)
        assert 'X' in message and '2' in message, f"the message should name the bad character 'X' and its position 2; got {message!r}"
    else:
        raise AssertionError("one_hot_encode('ACXT') should raise ValueError")

