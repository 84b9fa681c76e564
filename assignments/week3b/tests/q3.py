from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = [0]

@test_case(points=None, hidden=False)
def test_q3_public(run_sweep):
    import numpy as np

    class Recorder:

        def __init__(self, config):
            self.config, self.logs = (dict(config), [])

        def watch(self, model):
            pass

        def log(self, metrics):
            self.logs.append(dict(metrics))

        def finish(self):
            pass
    runs = []

    def make_logger(config):
        runs.append(Recorder(config))
        return runs[-1]
    rng = np.random.default_rng(1)

    def split(n):
        x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, 20))]
        return (x, rng.gamma(1.0, 2.0, (n, 20)).astype(np.float32))
    data = {'train': split(12), 'val': split(6), 'test': split(6)}
    result = run_sweep(3, seed=0, data=data, make_logger=make_logger, epochs=1)
    assert isinstance(result, tuple) and len(result) == 2, 'run_sweep should return a tuple (best_config, best_score)'
    best_config, best_score = result
    assert isinstance(best_config, dict) and isinstance(best_score, (float, np.floating)), f'expected (dict, float); got ({type(best_config).__name__}, {type(best_score).__name__})'
    assert len(runs) == 3, f'n_runs=3: make_logger should be called 3 times; got {len(runs)}'
    wanted = {'num_filters', 'kernel_size', 'add_sigmoid', 'learning_rate', 'batch_size', 'optimizer', 'epochs', 'seed'}
    for run in runs:
        assert wanted <= set(run.config), f"each run's config needs {sorted(wanted)}; got {sorted(run.config)}"
        assert run.config['epochs'] == 1, "every run's config carries epochs=epochs"
    scores = [next((m['test_avg_pearsonr'] for m in run.logs if 'test_avg_pearsonr' in m)) for run in runs]
    best = int(np.nanargmax(scores))
    assert best_score == scores[best], f'best_score should be the highest test_avg_pearsonr of the runs ({scores[best]:.4f}); got {best_score:.4f}'
    assert best_config == runs[best].config, "best_config should be that run's config"

