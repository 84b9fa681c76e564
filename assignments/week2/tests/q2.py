from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = [0]

@test_case(points=None, hidden=False)
def test_q2_public(conv_output_length, conv1d_param_count):
    n = conv_output_length(50, 10)
    assert isinstance(n, int), f'conv_output_length should return an int; got {type(n).__name__}'
    assert n == 41, f'a length-50 signal and k = 10 leave 50 - 10 + 1 = 41 outputs; got {n}'
    n = conv_output_length(50, 5, stride=2, padding=1)
    assert n == 24, f'(50 + 2*1 - 5) // 2 + 1 = 24; got {n}'
    count = conv1d_param_count(1, 8, 10)
    assert isinstance(count, int), f'conv1d_param_count should return an int; got {type(count).__name__}'
    hint = ' (the 8 biases are missing)' if count == 80 else ''
    assert count == 88, f'Conv1d(1, 8, 10): 8*1*10 weights + 8 biases = 88; got {count}{hint}'
    count = conv1d_param_count(4, 32, 3, bias=False)
    assert count == 384, f'Conv1d(4, 32, 3, bias=False) has 32*4*3 = 384; got {count}'

