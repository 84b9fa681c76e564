"""Static tamper flags (``grader/tamper.py``) name evidence, never an ordinary habit.

A flag puts a submission first in the TA's report and tells the student it was
flagged, so ordinary Colab and course code (Drive paths under ``gene46100/``, run
names, ``!pip``, magics, downloads in ungraded cells, ``subprocess`` for pip or
nvidia-smi, base64 images) must raise none. Code that reaches for grader state must
still raise one, in the category a TA reads.
"""

from __future__ import annotations

import re

import pytest

from gene46100.grader import tamper

REPO_RELEASE = tamper.Path(__file__).resolve().parent.parent / "assignments"
RELEASED = tamper.released_lines(REPO_RELEASE / "week1" / "week1.ipynb")

# Cells as students write them in Colab and in this course (weeks 1 to 3b).
ORDINARY: dict[str, str] = {
    "drive_mount": """from google.colab import drive
drive.mount('/content/drive')
DATA = '/content/drive/MyDrive/gene46100/week1/data.csv'
df = pd.read_csv(DATA)""",
    "drive_paths_in_os_and_torch": """import os
folder = os.path.join('/content/drive/MyDrive', 'gene46100', 'week1', 'figures')
os.makedirs(folder, exist_ok=True)
torch.save(model.state_dict(), f'/content/drive/MyDrive/gene46100/week1/{name}.pt')
plt.savefig('out/fig_q3.png')""",
    "run_names": """run_name = 'gene46100-week1-mlp'
import wandb
wandb.init(project='gene46100', name='lr-0.01', config={'lr': 0.01})
writer = SummaryWriter(log_dir=f'runs/gene46100-week3b-{run_name}')""",
    "nvidia_smi_shell": "!nvidia-smi",
    "pip_install_shell": "!pip install -q logomaker",
    "pip_magic_and_env": "%pip install -q wandb\n%env CUDA_VISIBLE_DEVICES=0",
    "matplotlib_magic": "%matplotlib inline\nimport matplotlib.pyplot as plt",
    "time_cell_magic": "%%time\nhistory = train(model, x, y, lr=0.01, n_epochs=100)",
    "capture_cell_magic": "%%capture\n!pip install pyfaidx",
    "bash_cell_magic": "%%bash\nnvidia-smi\npip install -q logomaker",
    "wget_and_cd": (
        "!wget -q https://example.org/gene46100/data/week3.tar.gz && "
        "tar xzf week3.tar.gz\n%cd /content/drive/MyDrive/gene46100/week1"
    ),
    "shell_output_assignment": "files = !ls /content/drive/MyDrive/gene46100",
    "shell_in_if_block": "if not os.path.exists('data.csv'):\n    !wget -q $URL",
    "tensorboard_magics": (
        "%load_ext tensorboard\n%tensorboard --logdir runs/gene46100-week1"
    ),
    "subprocess_pip": """import subprocess, sys
subprocess.run([sys.executable, '-m', 'pip', 'install', 'x'], check=True)""",
    "subprocess_nvidia_smi": """import subprocess
print(subprocess.check_output(['nvidia-smi']).decode())


def gpu_name():
    return subprocess.check_output(
        ['nvidia-smi', '--query-gpu=name', '--format=csv']).decode()""",
    "popen_in_with": """with subprocess.Popen(['nvidia-smi'], stdout=PIPE) as p:
    print(p.stdout.read().decode())""",
    "os_system_nvidia_smi": "import os\nos.system('nvidia-smi')",
    "base64_image": """import base64, io
from IPython.display import HTML, display
buf = io.BytesIO()
fig.savefig(buf, format='png')
encoded = base64.b64encode(buf.getvalue()).decode()
display(HTML(f'<img src="data:image/png;base64,{encoded}">'))""",
    "urlretrieve_dataset": """import urllib.request
url = 'https://example.org/gene46100/week2/sequences.csv'
urllib.request.urlretrieve(url, 'data.csv')""",
    "requests_get": """import requests
r = requests.get(url, timeout=30)
r.raise_for_status()
open('data.csv', 'wb').write(r.content)""",
    "download_helper": """from urllib.request import urlopen


def download(url, path):
    with urlopen(url) as response, open(path, 'wb') as f:
        f.write(response.read())""",
    "environment": """import os
os.environ['CUDA_VISIBLE_DEVICES'] = '0'
os.environ["OMP_NUM_THREADS"] = "1"
print(os.environ.get('COLAB_GPU'))""",
    "device": "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')",
    "colab_detection": "import sys\nIN_COLAB = 'google.colab' in sys.modules",
    "argparse_in_notebook": """import argparse, sys
parser = argparse.ArgumentParser()
parser.add_argument('--lr', type=float, default=0.01)
sys.argv = ['train.py', '--lr', '0.01']
args = parser.parse_args(args=[] if 'ipykernel' in sys.argv[0] else None)
rest = parser.parse_known_args(sys.argv[1:])""",
    "annotations": """x: np.ndarray = np.zeros(3)
losses: list[float] = []
beta: np.ndarray = np.linalg.solve(X.T @ X, X.T @ y)""",
    "dataclass_eq": """from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    chrom: str
    start: int
    end: int

    def __eq__(self, other):
        if not isinstance(other, Window):
            return NotImplemented
        return (self.chrom, self.start) == (other.chrom, other.start)

    def __bool__(self):
        return self.end > self.start""",
    "old_numpy_aliases": "import numpy as np\nnp.float = float  # logomaker needs it",
    "torch_settings": """torch.backends.cudnn.deterministic = True
torch.backends.cudnn.benchmark = False
pd.options.display.max_rows = 100
sys.stdout.flush()
print('done', file=sys.stderr)""",
    "ordinary_calls": """model.eval()
pattern = re.compile(r"\\d+")
json.dump(history, open('history.json', 'w'))
total = df.eval('a + b')
np.random.seed(0)
if np.allclose(a, b) and x == np.pi:
    sys.path.append('..')""",
    "hostname": "import socket\nprint('running on', socket.gethostname())",
    "comments_and_docstrings": '''# grader.check("q3") reads tests/q3.py
# the job runs elsewhere: /job is the grader's
def describe():
    """Outputs go to out/ and the runs to wandb (project gene46100)."""
    return "see /content/drive/MyDrive/gene46100/README"''',
    "self_check": 'grader.check("q3")',
    "writefile_script": """%%writefile predict.py
import sys
import numpy as np


def main():
    windows = np.loadtxt(sys.argv[1])
    np.savetxt(sys.argv[2], windows.mean(axis=1))


if __name__ == "__main__":
    sys.exit(main())""",
}

# Hostile one-liners (the corpus's categories): each must raise this flag.
GRADER, INTERPRETER, COMPARISONS = (
    "reaches for the grader",
    "patches the interpreter",
    "fakes comparisons",
)
PROCESS, NETWORK, HIDDEN = (
    "controls the process",
    "uses the network",
    "hides what it runs",
)
HOSTILE: list[tuple[str, str]] = [
    ("import gene46100", GRADER),
    ("from gene46100.checks import week1", GRADER),
    ("import gene46100_ref.week1 as ref", GRADER),
    ("import otter", GRADER),
    ("from otter.test_files import TestFile", GRADER),
    ("otter.Notebook.check = lambda *a: True", GRADER),
    ("log = open('.OTTER_LOG', 'rb').read()", GRADER),
    ("spec = json.load(open('/job/job.json'))", GRADER),
    ("open('../out/q3.json', 'w').write('{}')", GRADER),
    ("open('out/q3.json', 'w').write('{}')", GRADER),
    ("arrays = np.load('inputs-q1.npz')", GRADER),
    ("arrays = np.load(f'../inputs-{question}.npz')", GRADER),
    ("print(os.listdir('../sealed/'))", GRADER),
    ("source = open('../provide-q4.py').read()", GRADER),
    ("open('../worker.py', 'w').write('')", GRADER),
    ("path = '../' + 'o' + 'ut/' + name + '.json'", GRADER),
    ("target = os.path.join('..', 'o' + 'ut', 'q1.json')", GRADER),
    ("env = open('/proc/1/environ').read()", GRADER),
    ("open('/work/main/gene46100/checks/week1.py').read()", GRADER),
    ("open('/work/main/gene46100/checks/week1/q03_gradient.py').read()", GRADER),
    ("os.listdir('/srv/gene46100/checks/week1/')", GRADER),
    ("fd = int(sys.argv[2])", GRADER),
    ("run = frame.f_globals['run_probe']", GRADER),
    ("!cat ../job.json", GRADER),
    ("%%bash\ncat /job/job.json", GRADER),
    ("%%writefile ../worker.py\nprint('all passed')", GRADER),
    ("%%writefile helper.py\nimport os\nos.kill(1, 9)", PROCESS),
    ("%%time\nnp.allclose = lambda *a: True", COMPARISONS),
    ("main = sys.modules['__main__']", INTERPRETER),
    ("sys.modules.pop('numpy')", INTERPRETER),
    ("import builtins\nbuiltins.type = lambda *a: float", INTERPRETER),
    ("__builtins__.print = None", INTERPRETER),
    ("g = sys._getframe(1).f_globals", INTERPRETER),
    ("g = inspect.currentframe().f_back", INTERPRETER),
    ("frame = exc.__traceback__.tb_frame", INTERPRETER),
    ("import ctypes\nctypes.string_at(0)", INTERPRETER),
    ("get_ipython().input_transformers_post.append(f)", INTERPRETER),
    ("get_ipython().ast_transformers.append(t)", INTERPRETER),
    ("get_ipython().events.register('post_run_cell', hook)", INTERPRETER),
    ("json.dump = evil", INTERPRETER),
    ("np.savez = fake_savez", INTERPRETER),
    ("sys.settrace(tracer)", INTERPRETER),
    ("np.allclose = lambda *a, **k: True", COMPARISONS),
    ("np.testing.assert_allclose = lambda *a, **k: None", COMPARISONS),
    ("torch.allclose = lambda *a, **k: True", COMPARISONS),
    ("setattr(np, 'isclose', lambda *a, **k: True)", COMPARISONS),
    ("torch.Tensor.__eq__ = lambda a, b: True", COMPARISONS),
    ("class Yes:\n    def __eq__(self, other):\n        return True", COMPARISONS),
    ("class Yes:\n    __eq__ = lambda self, other: True", COMPARISONS),
    (
        "class Agreeable(np.ndarray):\n    def __eq__(self, other):\n"
        "        return np.ones(np.shape(other), bool)",
        COMPARISONS,
    ),
    (
        "class A(np.ndarray):\n    def __array_ufunc__(self, *a, **k):\n        pass",
        COMPARISONS,
    ),
    (
        "class T(torch.Tensor):\n    @classmethod\n"
        "    def __torch_function__(c, *a):\n        pass",
        COMPARISONS,
    ),
    ("os._exit(0)", PROCESS),
    ("os.kill(os.getpid(), 9)", PROCESS),
    ("os.killpg(0, signal.SIGKILL)", PROCESS),
    ("from os import _exit as leave\nleave(0)", PROCESS),
    ("signal.signal(signal.SIGINT, signal.SIG_IGN)", PROCESS),
    ("sys.exit(0)", PROCESS),
    ("pid = os.fork()", PROCESS),
    ("os.closerange(3, 99)", PROCESS),
    ("os.execvp('sleep', ['sleep', '100'])", PROCESS),
    ("import atexit\natexit.register(rewrite)", PROCESS),
    ("subprocess.Popen(['sleep', '1000'])", PROCESS),
    ("subprocess.run(['sleep', '9'], start_new_session=True)", PROCESS),
    ("subprocess.run(['kill', '-9', '1'])", PROCESS),
    ("os.system('pkill -f worker')", PROCESS),
    ("os.system('sleep 1000 &')", PROCESS),
    ("!kill -9 1", PROCESS),
    ("s = socket.create_connection(('1.1.1.1', 80))", NETWORK),
    ("s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)", NETWORK),
    ("exec(code, globals())", HIDDEN),
    ("value = eval(payload)", HIDDEN),
    ("getattr(__import__('o' + 's'), '_exit')(0)", HIDDEN),
    ("import marshal", HIDDEN),
    # a cell that does not parse is still read, line by line
    ("def broken(:\n    os._exit(0)", PROCESS),
    ("def broken(:\n    open('../job.json')", GRADER),
]

# A graded function's answer must come from its inputs: fetching it is evidence.
GRADED_NETWORK = """import urllib.request
import numpy as np


def mse_gradient(X, y, beta):
    data = urllib.request.urlopen("http://example.com/answer", timeout=3).read()
    return np.frombuffer(data, float)[: len(beta)]
"""

FLAG = re.compile(r"^cell \d+, line \d+: [a-z ]+ \(.+\)$")


def flags_for(source: str, exempt: set[str] | frozenset[str] = frozenset()) -> list:
    return tamper.scan([{"index": 7, "source": source}], set(exempt))


@pytest.mark.parametrize("name", sorted(ORDINARY))
@pytest.mark.parametrize("exempt", ["none", "release"])
def test_ordinary_cells_raise_no_flag(name, exempt):
    assert flags_for(ORDINARY[name], RELEASED if exempt == "release" else set()) == []


def test_ordinary_cells_together_raise_no_flag():
    cells = [{"index": i, "source": s} for i, s in enumerate(ORDINARY.values())]
    assert tamper.scan(cells, RELEASED) == []


def test_release_notebook_itself_raises_no_flag():
    import nbformat

    nb = nbformat.read(REPO_RELEASE / "week1" / "week1.ipynb", as_version=4)
    cells = [
        {"index": i, "source": c.source}
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
    ]
    assert tamper.scan(cells, RELEASED) == []


@pytest.mark.parametrize(("source", "what"), HOSTILE, ids=[s for s, _ in HOSTILE])
def test_hostile_lines_are_flagged_with_their_category(source, what):
    flags = flags_for(source)
    assert any(f": {what} (" in f for f in flags), flags
    assert all(FLAG.match(f) for f in flags), flags


def test_network_in_a_graded_function_is_flagged():
    flags = flags_for(GRADED_NETWORK, RELEASED)
    assert flags == [
        'cell 7, line 6: uses the network (urllib.request.urlopen("http://example.c)'
    ]
    # the same download in a helper of the student's own is ordinary
    helper = GRADED_NETWORK.replace("def mse_gradient", "def fetch")
    assert flags_for(helper, RELEASED) == []


def test_flag_names_cell_line_and_text():
    source = "x = 1\n\nimport os\nos._exit(3)"
    assert flags_for(source) == ["cell 7, line 4: controls the process (os._exit)"]


def test_lines_identical_to_the_release_are_exempt():
    source = "import otter\notter.Notebook.check = lambda *a: True"
    assert flags_for(source, {"import otter"}) == [
        "cell 7, line 2: reaches for the grader (otter.Notebook.check)"
    ]


@pytest.mark.parametrize(
    "source",
    [
        "x = " + " + ".join(["a"] * 3000),  # deeper than ``ast`` builds
        "x = " + "-" * 5000 + "1",
        "x = " + "[" * 250 + "]" * 250,
        "x = 1\x00",
        "",
        "%%time\n",
        "%%bash\n" + "echo " * 5000,
        "def broken(:\n    pass",
    ],
    ids=lambda s: repr(s[:20]),
)
def test_odd_cells_are_scanned_without_error(source):
    assert flags_for(source) == []


def test_a_cell_too_deep_for_ast_is_read_as_text():
    source = "y = " + "'a' + " * 2000 + "'../job.json'"
    assert flags_for(source) == ["cell 7, line 1: reaches for the grader (../job.json)"]


@pytest.mark.parametrize(
    "source",
    [
        "open('%s' % '../job.json')",
        "open('{}'.format('../job.json'))",
        "open(f'{base}/../job.json')",
        "open(Path('..') / 'job.json')",
        "open(''.join(['..', '/', 'job', '.json']))",
    ],
)
def test_paths_built_from_pieces_are_read_whole(source):
    assert [f.split(": ", 1)[1] for f in flags_for(source)] == [
        "reaches for the grader (../job.json)"
    ]
