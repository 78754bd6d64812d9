"""Speed of the incentives at full demo scale with a year of history (issue 10).

    python tests/benchmarks/bench_incentives.py [--db PATH.db] [--problems 20000] [--runs 7] [--requests 200] [--postgres URL]

Builds (or reuses, with --db) the full demo street: 54,707 households, 1,352 leaders, a year
of visits and work and the points they earned (server/incentives/demo.py), and a made-up
ledger of problems. Then measures, with the default rule table:
- the street's scorecards for this month (1,352 leader cards, computed afresh each run,
  no cache): median of --runs, and the whole dashboard page uncached;
- a leader's points page (GET /points, 李春秀, straight into the ASGI app: routing,
  session, CSRF, queries, template), median of --requests.
Budgets: street scorecard ≤ 200 ms; points page ≤ 10 ms median.
Not collected by pytest (the file name does not start with test_).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server import cache  # noqa: E402
from server.accounts.models import Person, Post  # noqa: E402
from server.accounts.sessions import COOKIE_NAME, start_session  # noqa: E402
from server.app import create_app  # noqa: E402
from server.clock import recent_months  # noqa: E402
from server.config import Settings  # noqa: E402
from server.db import make_engine, make_sessionmaker  # noqa: E402
from server.grid.models import GridNode, Level  # noqa: E402
from server.incentives import scorecard  # noqa: E402
from server.incentives.commands import everything  # noqa: E402
from server.incentives.models import PointsEntry  # noqa: E402
from server.incentives.rules import DEFAULT  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from tests.benchmarks.bench_pages import call  # noqa: E402


async def build(url: str, problems: int) -> dict:
    from server.grid.demo import load_demo
    from server.incentives.demo import load_incentives_demo
    from server.issues.demo import load_ledger_demo

    engine = make_engine(url)
    try:
        started = time.perf_counter()
        await load_demo(engine, seed=1, scale=1.0, progress=False)
        street = time.perf_counter() - started
        async with engine.begin() as conn:
            if problems:
                await load_ledger_demo(conn, issues=problems, events=problems * 5, seed=1)
        ledger = time.perf_counter() - started - street
        async with engine.begin() as conn:
            counts = await load_incentives_demo(conn, seed=1)
        history = time.perf_counter() - started - street - ledger
        return {"street_s": round(street, 1), "problems_s": round(ledger, 1), "history_s": round(history, 1), **counts}
    finally:
        await engine.dispose()


async def measure(url: str, runs: int, requests: int) -> dict:
    engine = make_engine(url)
    out: dict = {}
    try:
        async with make_sessionmaker(engine)() as db:
            street = (await db.execute(sa.select(GridNode).where(GridNode.level == Level.street))).scalar_one()
            out["points_entries"] = (await db.execute(sa.select(sa.func.count()).select_from(PointsEntry))).scalar_one()
            month = recent_months(1)[0]
            for label, which in (("this_month", month), ("last_full_month", recent_months(2)[1])):
                times, cpu = [], []
                for _ in range(runs):
                    started, cpu_started = time.perf_counter(), time.process_time()
                    cards = await scorecard.scorecards(db, street.path, everything, DEFAULT.weights, which)
                    times.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - cpu_started)
                # CPU time (this process and SQLite's thread): what a quiet machine's wall time would be;
                # the wall time depends on what else runs on the two cores.
                out[f"street_scorecard_ms_{label}"] = {
                    "month": which, "cards": len(cards), "wall_median": round(statistics.median(times) * 1000, 1),
                    "wall_min": round(min(times) * 1000, 1), "cpu_median": round(statistics.median(cpu) * 1000, 1)}
            star = (await db.execute(sa.select(Person).where(Person.name == "李春秀"))).scalar_one()
            admin = (await db.execute(sa.select(Post.person_id).where(Post.role == "admin").limit(1))).scalar_one()
            star_cookie = f"{COOKIE_NAME}={await start_session(db, star.id, None, days=1)}"
            admin_cookie = f"{COOKIE_NAME}={await start_session(db, admin, None, days=1)}"
            await db.commit()
        settings = Settings(database_url=url, secret_key=secrets.token_hex(32), base_url="http://localhost:8000",
                            var_dir=Path(tempfile.mkdtemp()))
        app = create_app(settings)
        async with app.lifespan():
            page_times = []
            for _ in range(runs):
                cache.clear()
                seconds, status, _ = await call(app, f"/scorecards?month={month}", admin_cookie)
                assert status == 200, status
                page_times.append(seconds)
            out["street_dashboard_uncached_ms"] = round(statistics.median(page_times) * 1000, 1)
            times, cpu = [], []
            for i in range(requests + 20):
                cpu_started = time.process_time()
                seconds, status, size = await call(app, "/points", star_cookie)
                assert status == 200, status
                if i >= 20:  # warm-up: the first view folds anything new
                    times.append(seconds)
                    cpu.append(time.process_time() - cpu_started)
            times.sort()
            out["points_page_ms"] = {"median": round(statistics.median(times) * 1000, 2),
                                     "p90": round(times[int(len(times) * 0.9)] * 1000, 2), "requests": len(times),
                                     "cpu_median": round(statistics.median(cpu) * 1000, 2)}
    finally:
        await engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", help="SQLite file to build (or reuse when it exists)")
    parser.add_argument("--postgres", help="a PostgreSQL database URL, already migrated and loaded by this script once")
    parser.add_argument("--problems", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    if args.postgres:
        url = args.postgres
        fresh = False
    else:
        path = Path(args.db or Path(tempfile.mkdtemp()) / "bench.db")
        fresh = not path.exists()
        url = f"sqlite+aiosqlite:///{path}"
    if fresh or args.postgres and "--build" in sys.argv:
        upgrade(url)
        print("built:", asyncio.run(build(url, args.problems)))
    print(asyncio.run(measure(url, args.runs, args.requests)))
    print("load average:", " ".join(f"{x:.1f}" for x in os.getloadavg()), "on", os.cpu_count(), "CPUs")


if __name__ == "__main__":
    main()
