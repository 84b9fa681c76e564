"""``gene46100 similarity <week> --out DIR [--against PAST_DIR ...] [--reveal]``.

Reads the graded folder ``DIR`` (and earlier terms' graded folders) and writes two
files, nothing else: ``DIR/similarity.html`` and ``DIR/similarity.csv``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

OUTPUTS = ("similarity.html", "similarity.csv")


def add_parser(subparsers) -> argparse.ArgumentParser:
    s = subparsers.add_parser(
        "similarity",
        help="screen a graded folder for pairs that share code or written answers "
        "(for a person to review; never changes a grade)",
    )
    s.add_argument("assignment", help="assignment id, e.g. week1")
    s.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="the graded folder (gene46100 grade --out DIR); writes "
        "DIR/similarity.html and DIR/similarity.csv",
    )
    s.add_argument(
        "--against",
        nargs="+",
        action="extend",
        default=[],
        metavar="PAST_DIR",
        help="graded folders of earlier terms, compared with this one",
    )
    s.add_argument(
        "--reveal",
        action="store_true",
        help="show submission ids and names (default: blind labels)",
    )
    s.set_defaults(func=similarity_command)
    return s


def similarity_command(args: argparse.Namespace) -> int:
    from gene46100 import course
    from gene46100.similarity import page, screen

    folder, past = Path(args.out), [Path(p) for p in args.against]
    try:
        week = course.week(args.assignment).name
        missing = [str(p) for p in [folder, *past] if not p.is_dir()]
        if missing:
            raise screen.Refused(f"no such folder: {', '.join(missing)}")
        found = screen.run(week, folder, past)
    except (course.UnknownWeek, screen.Refused) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    html_path, csv_path = (folder / name for name in OUTPUTS)
    html_path.write_text(page.html_page(found, args.reveal), encoding="utf-8")
    csv_path.write_text(page.csv_table(found, args.reveal), encoding="utf-8")
    flagged = sum(1 for p in found.pairs if p.flags)
    print(
        f"{len(found.submissions)} submissions, {len(found.pairs)} pairs share "
        f"something, {flagged} flagged for a person to look at (a screen, not a "
        f"verdict)\nwrote {html_path} and {csv_path}"
    )
    return 0
