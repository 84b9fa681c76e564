from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = [0]

@test_case(points=None, hidden=False)
def test_q2_public(train_sweep):
    import numpy as np

    class Recorder:

        def __init__(self):
            self.calls = []

        def watch(self, model):
            self.calls.append(('watch', None))

        def log(self, metrics):
            self.calls.append(('log', dict(metrics)))

        def finish(self):
            self.calls.append(('finish', None))
    rng = np.random.default_rng(0)

    def split(n):
        x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, 20))]
        return (x, rng.gamma(1.0, 2.0, (n, 20)).astype(np.float32))
    data = {'train': split(12), 'val': split(6), 'test': split(6)}
    config = {'num_filters': 4, 'kernel_size': 4, 'add_sigmoid': False, 'learning_rate': 0.05, 'batch_size': 5, 'optimizer': 'SGD', 'epochs': 2, 'seed': 0}
    logger = Recorder()
    score = train_sweep(config, logger, data=data, device='cpu')
    assert isinstance(score, (float, np.floating)), f'train_sweep should return a float (Python or numpy); got {type(score).__name__}'
    kinds = [kind for kind, _ in logger.calls]
    assert 'watch' in kinds, 'call logger.watch(model) once the model is built'
    assert kinds[-1] == 'finish' and kinds.count('finish') == 1, f'call logger.finish() once, as the very last step; calls were {kinds}'
    logs = [metrics for kind, metrics in logger.calls if kind == 'log']
    epochs = [m for m in logs if 'train_loss' in m]
    assert len(epochs) == 2, f'epochs=2: expected 2 log calls with train_loss (one per epoch); got {len(epochs)}'
    for m in epochs:
        assert {'epoch', 'train_loss', 'val_loss'} <= set(m), f'each epoch logs epoch, train_loss and val_loss; got {sorted(m)}'
    for key in ('test_avg_pearsonr', 'best_pearsonr'):
        found = [m[key] for m in logs if key in m]
        assert len(found) == 1, f'log {key} once, after training; it was logged {len(found)} time(s)'
    logged = next((m['test_avg_pearsonr'] for m in logs if 'test_avg_pearsonr' in m))
    assert logged == score, 'return the test_avg_pearsonr you logged'

