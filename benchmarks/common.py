"""Timing, result rows and tables shared by the benchmark modules.

Every figure is the median of several runs with its spread (min-max); a comparison
row also carries the ratio to its baseline, computed over all pairs of runs so the
spread of the ratio is honest about both sides' noise.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@dataclass
class Stat:
    """Repeated measurements of one quantity (seconds unless the row says otherwise)."""

    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def lo(self) -> float:
        return min(self.values)

    @property
    def hi(self) -> float:
        return max(self.values)

    def scaled(self, factor: float) -> Stat:
        return Stat([v * factor for v in self.values])


@dataclass
class Row:
    """One line of the results table.

    ``ours`` and ``baseline`` are in ``unit``. The ratio is the speed-up of ours over
    the baseline: ``baseline / ours`` when lower is better (times), ``ours /
    baseline`` when higher is better (throughputs). A goal is either a minimum ratio
    (``goal_ratio``) or a maximum for ours (``goal_max``, in ``unit``).
    """

    bench: str
    metric: str
    unit: str
    ours: Stat | None = None
    baseline: Stat | None = None
    baseline_name: str = ""
    higher_is_better: bool = False
    goal_ratio: float | None = None
    goal_max: float | None = None
    note: str = ""
    status: str = "ok"  # ok | skipped | error

    def ratio(self) -> Stat | None:
        """The speed-up over every pair of runs (ours_i, baseline_j)."""
        if self.ours is None or self.baseline is None:
            return None
        pairs = [(o, b) for o in self.ours.values for b in self.baseline.values]
        if self.higher_is_better:
            return Stat([o / b if b else float("inf") for o, b in pairs])
        return Stat([b / o if o else float("inf") for o, b in pairs])

    def goal_met(self) -> bool | None:
        if self.status != "ok" or self.ours is None:
            return None
        if self.goal_ratio is not None:
            ratio = self.ratio()
            return None if ratio is None else ratio.median >= self.goal_ratio
        if self.goal_max is not None:
            return self.ours.median <= self.goal_max
        return None

    def goal_text(self) -> str:
        if self.goal_ratio is not None:
            text = f">= {self.goal_ratio:g}x"
        elif self.goal_max is not None:
            text = f"<= {fmt_value(self.goal_max, self.unit)}"
        else:
            return ""
        met = self.goal_met()
        return text if met is None else f"{text} {'met' if met else 'NOT met'}"

    def to_json(self) -> dict:
        data = asdict(self)
        for key in ("ours", "baseline"):
            stat = getattr(self, key)
            data[key] = (
                None
                if stat is None
                else {
                    "median": stat.median,
                    "min": stat.lo,
                    "max": stat.hi,
                    "values": stat.values,
                }
            )
        ratio = self.ratio()
        data["ratio"] = (
            None
            if ratio is None
            else {"median": ratio.median, "min": ratio.lo, "max": ratio.hi}
        )
        data["goal_met"] = self.goal_met()
        return data


def skipped(bench: str, metric: str, reason: str) -> Row:
    return Row(bench, metric, "", note=reason, status="skipped")


@dataclass
class Context:
    """What every benchmark gets: mode, repeats, threads, a private scratch folder."""

    quick: bool
    repeats: int
    threads: int
    scratch: Path
    log: Callable[[str], None] = field(
        default=lambda message: print(message, file=sys.stderr, flush=True)
    )

    def tool(self, name: str) -> str:
        """A console script of this environment (``otter``, ``gene46100``)."""
        path = VENV_BIN / name
        return str(path) if path.exists() else name


def measure(func: Callable[[], object], repeats: int, warmup: int = 0) -> Stat:
    """Wall-clock seconds of ``func()``, ``repeats`` times after ``warmup`` calls."""
    for _ in range(warmup):
        func()
    values = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        values.append(time.perf_counter() - start)
    return Stat(values)


def fmt_value(value: float, unit: str) -> str:
    if unit == "s" and value < 0.1:
        return f"{value * 1000:.3g} ms"
    if unit == "s":
        return f"{value:.3g} s"
    return f"{value:.3g} {unit}".rstrip()


def fmt_stat(stat: Stat | None, unit: str) -> str:
    if stat is None:
        return ""
    if len(stat.values) == 1:
        return fmt_value(stat.median, unit)
    return (
        f"{fmt_value(stat.median, unit)} "
        f"[{fmt_value(stat.lo, unit)}-{fmt_value(stat.hi, unit)}]"
    )


def fmt_ratio(row: Row) -> str:
    ratio = row.ratio()
    if ratio is None:
        return ""
    if len(ratio.values) == 1:
        return f"{ratio.median:.3g}x"
    return f"{ratio.median:.3g}x [{ratio.lo:.3g}-{ratio.hi:.3g}]"


HEADER = ("benchmark", "metric", "ours", "baseline", "ratio", "goal", "note")


def table_cells(row: Row) -> tuple[str, ...]:
    if row.status != "ok":
        return (row.bench, row.metric, row.status.upper(), "", "", "", row.note)
    baseline = fmt_stat(row.baseline, row.unit)
    if baseline and row.baseline_name:
        baseline = f"{row.baseline_name}: {baseline}"
    return (
        row.bench,
        row.metric,
        fmt_stat(row.ours, row.unit),
        baseline,
        fmt_ratio(row),
        row.goal_text(),
        row.note,
    )


def text_table(rows: list[Row]) -> str:
    """A plain fixed-width table (notes may run long: they come last)."""
    cells = [HEADER] + [table_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER) - 1)]
    lines = []
    for i, row in enumerate(cells):
        lines.append(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False))
            + "  "
            + row[-1]
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  ----")
    return "\n".join(line.rstrip() for line in lines)


def markdown_table(rows: list[Row], machine: dict) -> str:
    """The README's table: one line per row, then the machine it ran on."""

    def clean(text: str) -> str:
        return text.replace("|", "/")

    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(clean(c) for c in table_cells(r)) + " |" for r in rows]
    lines.append("")
    lines.append(f"Machine: {describe_machine(machine)}.")
    return "\n".join(lines)


# ---------------------------------------------------------------- the machine
def machine_info(threads: int) -> dict:
    """CPU, cores, memory, load, library versions and GPU (if any) of this run."""
    info: dict = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "threads": threads,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        info["memory_gib"] = round(kb / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    info["otter"] = _otter_version()
    return info


def describe_machine(info: dict) -> str:
    parts = [
        info.get("cpu", "unknown CPU"),
        f"{info.get('usable_cpus')} usable cores",
        f"{info.get('memory_gib', '?')} GiB",
        f"Python {info.get('python')}",
        f"torch {info.get('torch', '-')}",
        f"otter-grader {info.get('otter', '-')}",
        f"{info.get('threads')} torch threads",
        f"load average {info.get('load_average')} at start",
        info.get("date", ""),
    ]
    if info.get("gpu"):
        parts.insert(1, f"GPU {info['gpu']}")
    return ", ".join(str(p) for p in parts if p)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _otter_version() -> str:
    try:
        from importlib.metadata import version

        return version("otter-grader")
    except Exception:  # noqa: BLE001 - informational only
        return "-"


# ---------------------------------------------------------------- CPU accounting
CPUACCT = Path("/sys/fs/cgroup/cpuacct")  # cgroup v1's CPU accounting hierarchy


class CpuAccount:
    """CPU seconds used by a group of processes and all their descendants.

    ``getrusage(RUSAGE_CHILDREN)`` misses processes that are killed before their
    parent reaps them, which is how a sandbox ends; a cgroup counts them all. Our
    grader moves sandboxes into a *pids* cgroup of its own, which leaves their place
    in the separate *cpuacct* hierarchy (cgroup v1) unchanged, so an account made
    there sees everything. Unavailable (``available`` False) without a writable
    cgroup-v1 cpuacct hierarchy; callers then say so instead of guessing.
    """

    def __init__(self, label: str) -> None:
        self.path: Path | None = None
        if (CPUACCT / "cpuacct.usage").exists() and os.access(CPUACCT, os.W_OK):
            path = CPUACCT / f"gene46100-bench-{os.getpid()}-{label}"
            try:
                path.mkdir(exist_ok=True)
                self.path = path
            except OSError:
                self.path = None

    def __enter__(self) -> CpuAccount:  # noqa: PYI034 - typing.Self needs 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def available(self) -> bool:
        return self.path is not None

    def add(self, pid: int) -> None:
        """Account for ``pid`` (and every process it starts from now on)."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(pid))

    def wrap(self, command: list[str]) -> list[str]:
        """``command`` made to join the account before it execs, so nothing it
        starts (however fast, e.g. bubblewrap's first fork) escapes the count."""
        if self.path is None:
            return command
        join = 'echo $$ > "$0" && exec "$@"'
        return ["/bin/sh", "-c", join, str(self.path / "cgroup.procs"), *command]

    def seconds(self) -> float:
        if self.path is None:
            return float("nan")
        return int((self.path / "cpuacct.usage").read_text()) / 1e9

    def close(self) -> None:
        """Move this process back out (if it joined) and remove the account."""
        if self.path is None:
            return
        try:
            for pid in (self.path / "cgroup.procs").read_text().split():
                (CPUACCT / "cgroup.procs").write_text(pid)
            self.path.rmdir()
        except OSError:
            pass  # a process still exiting: the empty group goes with the machine
        self.path = None


def run_quiet(
    command: list[str],
    cwd: Path | None = None,
    timeout: float = 3600,
    env: dict | None = None,
    account: CpuAccount | None = None,
) -> subprocess.CompletedProcess:
    """Run a command, capturing its output; raise with its tail when it fails.

    With ``account``, the command's CPU time (descendants included) is counted there.
    """
    argv = account.wrap(command) if account is not None else command
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    if process.returncode != 0:
        tail = (stdout[-1500:] + "\n" + stderr[-1500:]).strip()
        raise RuntimeError(
            f"{' '.join(command[:3])}... exited {process.returncode}:\n{tail}"
        )
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def write_json(path: Path, rows: list[Row], machine: dict, extra: dict) -> None:
    path.write_text(
        json.dumps(
            {"machine": machine, "rows": [r.to_json() for r in rows], **extra},
            indent=2,
            default=str,
        )
        + "\n"
    )
