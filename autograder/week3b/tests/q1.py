from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = [0, 2]

@test_case(points=None, hidden=False)
def test_q1_public(sweep_config):
    import json
    config = sweep_config()
    assert isinstance(config, dict), f'sweep_config() should return a dict; got {type(config).__name__}'
    missing = {'method', 'metric', 'parameters'} - set(config)
    assert not missing, f'the sweep config lacks the key(s) {sorted(missing)}'
    assert isinstance(config['metric'], dict) and {'name', 'goal'} <= set(config['metric']), "config['metric'] should be {'name': ..., 'goal': ...}"
    parameters = config['parameters']
    assert isinstance(parameters, dict) and parameters, "config['parameters'] should map each hyper-parameter to its values"
    for name, spec in parameters.items():
        assert isinstance(spec, dict) and isinstance(spec.get('values'), list), f"parameters[{name!r}] should look like {{'values': [...]}}; got {spec!r}"
    json.dumps(config)

@test_case(points=None, hidden=True)
def test_q1_hidden(sweep_config):
    from gene46100_ref.checks import run_check
    run_check('week3b', 'q1', {'sweep_config': sweep_config})

