"""Every path of corral against its floor, measured in the same run: ``python -m bench``.

    python -m bench [--engine both|sqlite|postgresql] [--quick] [--compare PATH]
                    [--only GROUP ...] [--profile ROW] [--against REV [--pairs N]]

For each engine it starts a real `corral serve` (SQLite on a temporary data directory; for
PostgreSQL, ``CORRAL_DATABASE_URL`` on a PostgreSQL server it starts itself as the tests do,
``tests/support/postgres.py``) and a local HTTP server, and measures every row of issue 13's
table, each beside its floor: a trivial action end to end (floor: 2 gRPC + 1 pipe round trip),
trivial actions/s from 16 client threads (floor: the warm parent's isolated fork rate), an SDK
callback (gRPC + pipe), a proxied GET (raw GET + gRPC + pipe), ``batch_save`` new and unchanged
(raw insert: sqlite3 ``executemany``, PostgreSQL ``COPY``), a full sync of 50,000 records over
500 link-paginated pages and again unchanged, 200 concurrent runs from 20 environments, and
memory per process idle and under load (USS for workers). On PostgreSQL it adds
``batch_save`` against ``COPY`` in the storage alone (``bench.pg_records``).

It writes ``bench/results/<time>.md`` and ``.json`` (and ``latest.md``/``latest.json``) and prints
the Markdown table; ``--compare`` prints each row's change from a previous JSON; ``--against
REV`` runs a git revision and this checkout in turns (``--pairs`` of each, ``bench.against``)
and prints each row's values and the change of their medians. Targets are a
column with pass or miss: informational, never the exit status. ``--quick`` runs every row in
seconds (its numbers mean nothing): what ``tests/test_bench.py`` runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

from bench import _report, actions, against, pg_records, profile, records, tenants
from bench._engine import Plan
from bench._engine import rows as engine_rows
from bench._rows import Row
from tests.support.postgres import PostgresServer, find_bindir

GROUPS = ("actions", "tenants", "records", "sync")

QUICK = Plan(
    sizes=actions.Sizes(runs=20, threads=4, throughput_runs=16, calls=20, forks=8),
    load=tenants.Load(environments=2, per_env=2, rounds=1),
    records=1_000,
    repeat=1,
    pages=5,
)


def _sqlite_floor(count: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        return records.floor_seconds(pathlib.Path(tmp), records.make_records(count, "a"))


def _sqlite(plan: Plan) -> list[Row]:
    return engine_rows("sqlite", "", plan, _sqlite_floor)


def _postgresql(plan: Plan, pg_records_count: int) -> list[Row]:
    root = pathlib.Path(tempfile.mkdtemp(prefix="corral-bench-pg-"))  # removed by the stop
    with PostgresServer.started(root) as server:
        url = server.create_database("bench_serve")
        out = engine_rows(
            "postgresql", url, plan, lambda count: pg_records.copy_floor(server, count)
        )
        if not plan.only or "records" in plan.only:
            out += _storage_rows(pg_records.measure(server, pg_records_count, repeat=plan.repeat))
    return out


def _storage_rows(found: dict[str, float | int | bool]) -> list[Row]:
    count = int(found["records"])
    floor = float(found["floor_raw_copy_ms"]) / 1000
    out = []
    for label in ("new", "unchanged", "changed"):
        seconds = float(found[f"batch_save_{label}_ms"]) / 1000
        out.append(
            Row(
                "records",
                f"storage save_records, {label}, no gRPC",
                "records/s",
                round(count / seconds),
                floor=round(count / floor),
                floor_what="raw COPY",
                extra={"records": count},
                engine="postgresql",
            )
        )
    return out


def _git(*args: str) -> str:
    git = shutil.which("git")
    if git is None:
        raise OSError("no git")
    root = pathlib.Path(__file__).resolve().parents[1]
    done = subprocess.run([git, *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def _commit() -> str:
    """The checkout's commit, with ``+`` when it has changes ("" outside git)."""
    try:
        head = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return ""
    return head + ("+" if dirty else "")


def _has_postgresql() -> bool:
    try:
        find_bindir()
    except RuntimeError:
        return False
    return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--engine", choices=("both", "sqlite", "postgresql"), default="both")
    parser.add_argument("--quick", action="store_true", help="every row in seconds (a smoke run)")
    parser.add_argument("--compare", type=pathlib.Path, help="a previous JSON to compare with")
    parser.add_argument(
        "--only",
        action="append",
        choices=GROUPS,
        help="measure only these row groups (the trivial action, its floors and "
        "idle memory always)",
    )
    parser.add_argument(
        "--results",
        type=pathlib.Path,
        default=_report.RESULTS,
        help="where to write (default: bench/results)",
    )
    parser.add_argument(
        "--pg-records",
        type=int,
        default=None,
        help="records of the PostgreSQL storage-only rows (default 20,000; --quick 1,000)",
    )
    parser.add_argument(
        "--against",
        metavar="REV",
        help="compare with this git revision, run in turns with this checkout (bench.against)",
    )
    parser.add_argument(
        "--pairs", type=int, default=2, help="runs of each tree with --against (default 2)"
    )
    parser.add_argument(
        "--profile",
        choices=profile.STEPS,
        help="write a py-spy profile of the serve's processes during this step to "
        "<results>/profiles/ (needs py-spy installed)",
    )
    return parser


def main() -> None:
    """Runs the benchmark, writes and prints its table."""
    parser = _parser()
    args = parser.parse_args()
    if args.profile and profile.py_spy() is None:
        parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")
    if args.against:
        if args.pairs < 1 or args.compare or args.profile:
            parser.error("--against needs --pairs of 1 or more, and no --compare or --profile")
        _against(args)
        return
    plan = dataclasses.replace(
        QUICK if args.quick else Plan(),
        only=frozenset(args.only or ()),
        profile=args.profile or "",
        profiles=args.results / "profiles",
    )
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    if not _has_postgresql():
        if args.engine == "postgresql":
            parser.error("PostgreSQL's server binaries are missing: run `make setup`")
        engines = ["sqlite"]
    started = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    start = time.perf_counter()
    rows: list[Row] = []
    for engine in engines:
        print(f"measuring {engine}...", file=sys.stderr, flush=True)
        rows += (
            _sqlite(plan)
            if engine == "sqlite"
            else _postgresql(plan, args.pg_records or (1_000 if args.quick else 20_000))
        )
    context = {
        "args": " ".join(["python -m bench", *sys.argv[1:]]),
        "commit": _commit(),
        "started": started.strftime("%Y-%m-%d %H:%M:%S"),
        "seconds": round(time.perf_counter() - start, 1),
        "load_before": load_before,
        "load_after": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "cpus": os.cpu_count(),
        "engines": engines,
        "quick": args.quick,
    }
    written = _report.write(rows, context, args.results)
    print(_report.markdown(rows, context))
    if args.compare:
        print(_report.compare(rows, args.compare))
    print(f"written: {written}", file=sys.stderr)


def _against(args: argparse.Namespace) -> None:
    options = ["--engine", args.engine, *(["--quick"] if args.quick else [])]
    options += [f"--only={group}" for group in args.only or ()]
    if args.pg_records is not None:
        options += ["--pg-records", str(args.pg_records)]
    try:
        runs = against.alternate(args.against, options, args.pairs)
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"--against {args.against}: {exc.stderr.strip()}") from None
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    print(against.table(args.against, runs))


if __name__ == "__main__":
    main()
