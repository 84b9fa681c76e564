"""``gene46100 review <week> --out DIR``: serve the review app, or round-trip a CSV.

``add_parser(subparsers)`` registers the subcommand with the top-level parser.
"""

from __future__ import annotations

import argparse
import ipaddress
import secrets
import sys
from pathlib import Path

DEFAULT_PORT = 46100
PORT_TRIES = 10
EXPOSED = (
    "warning: serving on {host}, not only this machine: anyone who can reach it "
    "and has the URL (its token) can read every student's answers and change "
    "grades. The connection is plain HTTP, so the token and the answers cross the "
    "network unencrypted: use this only on a network you trust (or keep the "
    "default 127.0.0.1 and reach it through `ssh -L`)."
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    r = subparsers.add_parser(
        "review",
        help="grade the written answers in a local web app (or export/import CSV)",
        description="Serve a web app to grade the manual questions of DIR (the "
        "output folder of `gene46100 grade`), blind and by question; with --export "
        "or --import, round-trip the grades through a CSV file instead.",
    )
    r.add_argument("week", help="assignment id, e.g. week1")
    r.add_argument("--out", required=True, help="the output folder of `grade`")
    r.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    r.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only); another "
        "address serves a team on a trusted network",
    )
    r.add_argument("--export", metavar="FILE.csv", help="write the grades to a CSV")
    r.add_argument(
        "--import",
        dest="import_",
        metavar="FILE.csv",
        help="check a CSV whole, then merge it into the store (nothing is applied "
        "if any row is wrong)",
    )
    r.add_argument(
        "--grader",
        default="import",
        help="name recorded for imported rows without a grader (default: import)",
    )
    r.set_defaults(func=review_command)
    return r


def open_store(args: argparse.Namespace):
    """The week's store, or an error message."""
    from gene46100 import course
    from gene46100.review.store import ReviewError, Store

    try:
        week = course.week(args.week).name
    except course.UnknownWeek as exc:
        return None, str(exc)
    out = Path(args.out)
    if not (out / "records.jsonl").is_file() and not (out / "answers").is_dir():
        return None, (
            f"{out} has no records.jsonl or answers/: run `gene46100 grade {week} "
            f"... --out {out}` first"
        )
    try:
        return Store(out, week), ""
    except ReviewError as exc:
        return None, str(exc)


def review_command(args: argparse.Namespace) -> int:
    store, problem = open_store(args)
    if store is None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.import_ or args.export:
        return round_trip(store, args)
    return serve(store, args.host, args.port)


def round_trip(store, args: argparse.Namespace) -> int:
    from gene46100.review import csvio
    from gene46100.review.store import Conflict

    if args.import_:
        try:
            changed = csvio.import_csv(store, Path(args.import_), args.grader)
        except (csvio.ImportRefused, Conflict) as exc:
            print(
                f"error: nothing imported from {args.import_}:\n{exc}", file=sys.stderr
            )
            return 1
        except OSError as exc:
            print(f"error: cannot read {args.import_}: {exc}", file=sys.stderr)
            return 2
        print(f"imported {args.import_}: {changed} answer(s) changed")
    if args.export:
        rows = csvio.export_csv(store, Path(args.export))
        print(f"wrote {args.export}: {rows} row(s) (submission x question)")
    return 0


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def bind(app_for, host: str, port: int):
    """A server on ``port`` or, if taken, one of the next few (as Jupyter does),
    running ``app_for(the port it got)``: the app names its cookies after the port,
    so it is made once the port is known (``--port 0`` picks any free one)."""
    from werkzeug.serving import make_server

    for candidate in range(port, port + PORT_TRIES) if port else [0]:
        try:
            server = make_server(host, candidate, None, threaded=True)
        except OSError:
            continue
        server.app = app_for(server.server_port)
        return server
    raise OSError(f"ports {port}-{port + PORT_TRIES - 1} are all in use")


def serve(store, host: str, port: int) -> int:
    from gene46100.review.server import create_app

    token = secrets.token_urlsafe(24)
    loopback = is_loopback(host)
    try:
        server = bind(lambda p: create_app(store, token, p, loopback), host, port)
    except OSError as exc:
        print(f"error: cannot serve on {host}: {exc}", file=sys.stderr)
        return 2
    shown = "127.0.0.1" if loopback else host
    if not loopback:
        print(EXPOSED.format(host=host), file=sys.stderr)
    print(f"reviewing {store.week} in {store.out_dir} (store: {store.path})")
    print(f"open: http://{shown}:{server.server_port}/?token={token}", flush=True)
    print("Ctrl-C stops the server; every change is already saved.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
