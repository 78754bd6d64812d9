"""Time what `weiwang demo` loads into a fresh database (issue 10's budget: 30 s on 2 cores).

    python tests/benchmarks/bench_demo_load.py [--scale 1.0] [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

Runs the command's own steps (server/cli.py), each timed:
- street: the grid demo (grid.demo.load_demo), its tier table and the cast's invitations;
- history: a year of visits, work and the points they earned, holiday campaigns, claims,
  catalogue, commendations (incentives.demo.load_incentives_demo).
The budget is their sum, the `weiwang demo` a newcomer waits for; migrating is not in it
(`weiwang migrate` comes first). Exit 1 over 30 s at scale 1, or over 15 min at scale 100 (a city:
5.47 M households, issue 15; the history then covers about one street's leaders).

SQLite goes to a new file in a temporary directory. With --postgres, a scratch
database is created next to the one in the URL and dropped afterwards.
Not collected by pytest (the file name does not start with test_).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from server.cli import _load_demo, _load_demo_incentives  # noqa: E402
from server.config import load_settings  # noqa: E402
from server.db import make_engine  # noqa: E402
from server.grid.stats import tier_table  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from tests.benchmarks.scratch import scratch_database  # noqa: E402

BUDGET = 30.0  # seconds at scale 1 (issue 10)
CITY_BUDGET = 900.0  # seconds at scale 100 on PostgreSQL (issue 15: a city, by COPY, in 15 min)
COUNTED = ("grid_node", "household", "person", "visit", "work_log_entry", "points_entry", "holiday_visit")


async def _count(url: str) -> dict:
    engine = make_engine(url)
    try:
        async with AsyncSession(engine) as db:
            rows = {t: (await db.execute(sa.text(f'SELECT count(*) FROM "{t}"'))).scalar_one() for t in COUNTED}
            started = time.perf_counter()
            table = await tier_table(db, None)
            stats_seconds = time.perf_counter() - started
        return {"rows": rows, "stats_seconds": round(stats_seconds, 3), "table": table}
    finally:
        await engine.dispose()


def bench(url: str, var_dir: str, seed: int, scale: float) -> dict:
    started = time.perf_counter()
    upgrade(url)  # asyncio.run inside: call from plain sync code
    migrate_seconds = time.perf_counter() - started
    os.environ.update(WEIWANG_DATABASE_URL=url, WEIWANG_VAR_DIR=var_dir)
    settings = load_settings()
    said = io.StringIO()  # the command's own output (tables, invitation links)
    with contextlib.redirect_stdout(said):
        started = time.perf_counter()
        asyncio.run(_load_demo(settings, seed=seed, scale=scale, if_empty=False))
        street = time.perf_counter() - started
        started = time.perf_counter()
        asyncio.run(_load_demo_incentives(settings, seed))
        history = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return {"database": url.split("://")[0], "scale": scale, "migrate_seconds": round(migrate_seconds, 2), "peak_mb": peak,
            "street_seconds": round(street, 2), "history_seconds": round(history, 2),
            "load_seconds": round(street + history, 2), **asyncio.run(_count(url))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="postgresql+asyncpg:// URL of a server to make a scratch database on")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, scratch_database(args.postgres, tmp) as url:
        report = bench(url, tmp, args.seed, args.scale)

    print(json.dumps(report, ensure_ascii=False, indent=2))
    rows = report["rows"]
    budget = CITY_BUDGET if args.scale >= 100 else BUDGET if args.scale <= 1 else None
    print(f"\n{report['database']} scale {args.scale:g}: `weiwang demo` loaded in {report['load_seconds']} s "
          f"(street {report['street_seconds']} s: {rows['household']:,} households, {rows['grid_node']:,} grid nodes; "
          f"history {report['history_seconds']} s: {rows['visit']:,} visits, {rows['points_entry']:,} points entries)"
          f"; peak memory {report['peak_mb']:,} MB; budget " + (f"{budget:g} s" if budget else "none at this scale"),
          file=sys.stderr)
    return 0 if budget is None or report["load_seconds"] <= budget else 1


if __name__ == "__main__":
    sys.exit(main())
