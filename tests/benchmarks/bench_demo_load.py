"""Time a full-scale demo load into a fresh database (the budget is 30 s on 2 cores).

    python tests/benchmarks/bench_demo_load.py [--scale 1.0] [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

SQLite goes to a new file in a temporary directory. With --postgres, a scratch
database is created next to the one in the URL and dropped afterwards.
Not collected by pytest (the file name does not start with test_).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from server.db import make_engine  # noqa: E402
from server.grid.demo import load_demo  # noqa: E402
from server.grid.stats import tier_table  # noqa: E402
from server.migrate import upgrade  # noqa: E402


async def _admin(server_url: str, statement: str) -> None:
    engine = make_engine(server_url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    async with engine.connect() as conn:
        await conn.execute(sa.text(statement))
    await engine.dispose()


async def _load_and_count(url: str, seed: int, scale: float) -> dict:
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        result = await load_demo(engine, seed=seed, scale=scale, progress=False)
        wall = time.perf_counter() - started
        async with AsyncSession(engine) as db:
            started = time.perf_counter()
            table = await tier_table(db, None)
            stats_seconds = time.perf_counter() - started
        return {"load_seconds": round(wall, 2), "stats_seconds": round(stats_seconds, 3), "rows": result, "table": table}
    finally:
        await engine.dispose()


def bench(url: str, seed: int, scale: float) -> dict:
    started = time.perf_counter()
    upgrade(url)  # asyncio.run inside: call from plain sync code
    migrate_seconds = time.perf_counter() - started
    report = asyncio.run(_load_and_count(url, seed, scale))
    return {"database": url.split("://")[0], "scale": scale, "migrate_seconds": round(migrate_seconds, 2), **report}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="postgresql+asyncpg:// URL of a server to make a scratch database on")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    if args.postgres:
        name = f"weiwang_bench_{secrets.token_hex(3)}"
        asyncio.run(_admin(args.postgres, f'CREATE DATABASE "{name}"'))
        try:
            report = bench(args.postgres.rsplit("/", 1)[0] + "/" + name, args.seed, args.scale)
        finally:
            asyncio.run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            report = bench(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args.seed, args.scale)

    print(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"\n{report['database']} scale {args.scale:g}: loaded in {report['load_seconds']} s "
          f"({report['rows']['households']:,} households, {report['rows']['grid_nodes']:,} grid nodes)",
          file=sys.stderr)
    return 0 if args.scale > 1 or report["load_seconds"] <= 30 else 1


if __name__ == "__main__":
    sys.exit(main())
