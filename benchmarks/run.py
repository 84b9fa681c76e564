"""Run the benchmarks side by side on this machine and print one table of ratios.

    python -m benchmarks.run [--quick] [--only NAME...] [--repeats N] [--json OUT]
                             [--markdown] [--threads T]

Each figure is the median of ``--repeats`` runs with its spread [min-max]; a ratio
is the speed-up over the baseline named in its row, with a goal where the issue sets
one. ``--quick`` shrinks every workload so the whole thing checks that it *runs*
(CI); the figures worth quoting come from a full run on a quiet machine.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks.common import (
    Context,
    Row,
    describe_machine,
    machine_info,
    markdown_table,
    text_table,
    write_json,
)

# In the order they run: the cheap ones first.
BENCHMARKS = ("kernels", "selfcheck", "training", "breakdown", "grading")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="small workloads, 1 repeat unless --repeats: checks they run",
    )
    p.add_argument(
        "--only",
        nargs="+",
        choices=BENCHMARKS,
        metavar="NAME",
        help=f"run only these ({', '.join(BENCHMARKS)})",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="runs per figure (default 3; 1 with --quick)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=2,
        help="torch threads in this process (default 2: the 2-core figures)",
    )
    p.add_argument(
        "--json", type=Path, metavar="OUT", help="also write results as JSON"
    )
    p.add_argument(
        "--markdown",
        action="store_true",
        help="print the table in markdown (for the README)",
    )
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return p


def run_one(name: str, ctx: Context) -> list[Row]:
    """One benchmark's rows; a crash becomes an error row (the others still run)."""
    module = importlib.import_module(f"benchmarks.{name}")
    ctx.log(f"[{name}] {module.DESCRIPTION}")
    started = time.perf_counter()
    try:
        rows = module.run(ctx)
    except Exception as exc:  # noqa: BLE001 - report it and carry on
        ctx.log(traceback.format_exc())
        rows = [
            Row(
                name,
                "(benchmark failed)",
                "",
                status="error",
                note=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                if str(exc)
                else type(exc).__name__,
            )
        ]
    ctx.log(f"[{name}] done in {time.perf_counter() - started:.1f} s")
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.list:
        for name in BENCHMARKS:
            print(
                f"{name:10} {importlib.import_module(f'benchmarks.{name}').DESCRIPTION}"
            )
        return 0
    import torch

    torch.set_num_threads(args.threads)
    repeats = args.repeats or (1 if args.quick else 3)
    machine = machine_info(args.threads)
    names = [n for n in BENCHMARKS if not args.only or n in args.only]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="gene46100-bench-") as tmp:
        ctx = Context(
            quick=args.quick, repeats=repeats, threads=args.threads, scratch=Path(tmp)
        )
        for name in names:
            rows += run_one(name, ctx)
    machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    mode = "quick (workloads shrunk: not figures to quote)" if args.quick else "full"
    print(f"\ngene46100 benchmarks, {mode}; median of {repeats} run(s) [min-max]")
    print(
        f"machine: {describe_machine(machine)}; load average "
        f"{machine['load_average_end']} at the end\n"
    )
    print(markdown_table(rows, machine) if args.markdown else text_table(rows))
    if args.json:
        write_json(args.json, rows, machine, {"quick": args.quick, "repeats": repeats})
    return 1 if any(r.status == "error" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
