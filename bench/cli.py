"""`python -m bench`: measure authgate against a bare FastAPI ceiling and write docs/benchmarks.*"""

import argparse
import secrets
import shlex
import sys
from pathlib import Path

from bench import docs, plot, report, tools
from bench.databases import PG_SERVER
from bench.runner import Options, run_config

WORK = tools.REPO / "bench" / ".work"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--database",
        nargs="+",
        choices=("sqlite", "postgresql"),
        default=["sqlite"],
        help="one or more (default: sqlite)",
    )
    parser.add_argument(
        "--workers",
        nargs="+",
        type=int,
        default=[1],
        help="worker processes, one or more counts (default: 1)",
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds before each run")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions (medians reported)")
    parser.add_argument("--users", type=int, default=1000, help="users seeded first")
    parser.add_argument(
        "--large-users",
        type=int,
        default=1_000_000,
        help="users for the large-table latency runs (0: skip them)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="folder for benchmarks.md and .png (default: docs/)",
    )
    parser.add_argument(
        "--pg-server",
        default=PG_SERVER,
        help=f"user@host:port of the PostgreSQL server (default: {PG_SERVER})",
    )
    parser.add_argument("--keep", action="store_true", help="keep bench/.work/ (logs, data)")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="SCENARIO",
        default=None,
        help="measure only these scenarios (e.g. me_bearer refresh login), each after its "
        "baseline; no large table, no docs unless --output: for quick comparisons while working",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny run that only checks the bench works: 1 s runs, 50 users, "
        "no large table, no docs unless --output",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.duration, args.warmup, args.repeat, args.users, args.large_users = 1, 0, 1, 50, 0
    elif args.only:
        args.large_users = 0
    elif args.output is None:
        args.output = tools.REPO / "docs"
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    wrk = tools.ensure_wrk()
    if args.output is not None:
        tools.ensure_matplotlib()
    opts = Options(
        wrk=wrk,
        seconds=args.duration,
        warmup=args.warmup,
        repeat=args.repeat,
        users=args.users,
        large_users=args.large_users,
        hash_seconds=1 if args.smoke else 4,
        work=WORK,
        pg_server=args.pg_server,
        keep=args.keep,
        only=frozenset(args.only or ()),
    )
    run_id = secrets.token_hex(3)
    configs = [
        run_config(database, workers, opts, run_id)
        for database in args.database
        for workers in args.workers
    ]
    for config in configs:
        print(f"\n## {config.name} ({config.database_version})\n")
        print(report.table(config))
        print(f"\n{report.memory_line(config)}\n")
        print(report.verdict_table(config))
    failures = [f for config in configs for f in config.failures]
    if failures:
        print("\nFAILED: non-2xx answers or socket errors are not throughput:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        sys.exit(1)
    if args.output is not None:
        command = "python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:])
        md, shown = docs.write(configs, args.output, command.strip(), tools.wrk_version(wrk))
        png = plot.write(shown, args.output / "benchmarks.png")
        print(f"\nwrote {md} and {png}")
