"""Server time of the ledger at full demo scale with 20,000 problems and 100,000 events.

    python tests/benchmarks/bench_ledger.py [--requests 200] [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

Budgets (issue 5): the ledger page with filters, median ≤ 20 ms; the .xlsx export of a
community's month ≤ 2 s. Requests go straight into the ASGI app (as bench_pages.py).
"""
from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.accounts.models import Post  # noqa: E402
from server.accounts.sessions import COOKIE_NAME, start_session  # noqa: E402
from server.app import create_app  # noqa: E402
from server.config import Settings  # noqa: E402
from server.db import make_engine, make_sessionmaker  # noqa: E402
from server.grid.demo import load_demo  # noqa: E402
from server.grid.models import GridNode  # noqa: E402
from server.issues import queries  # noqa: E402
from server.issues.demo import load_ledger_demo  # noqa: E402
from server.issues.models import Issue  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from tests.benchmarks.bench_pages import call  # noqa: E402


async def load(url: str, issues: int, events: int) -> None:
    engine = make_engine(url)
    started = time.perf_counter()
    await load_demo(engine, seed=1, scale=1.0, progress=False)
    print(f"demo street loaded in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    async with engine.begin() as conn:
        counts = await load_ledger_demo(conn, issues=issues, events=events, seed=1)
    # Fresh statistics, as autovacuum (PostgreSQL) or PRAGMA optimize (SQLite) keep them.
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"))
    print(f"ledger loaded in {time.perf_counter() - started:.1f} s: {counts}")
    await engine.dispose()


async def prepare(url: str) -> tuple[dict[str, str], dict[str, str], str]:
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as db:
        admin_id = (await db.execute(sa.select(Post.person_id).where(Post.role == "admin"))).scalars().first()
        community = (await db.execute(sa.select(GridNode).where(GridNode.level == "community").order_by(GridNode.path))).scalars().first()
        secretary_id = (await db.execute(sa.select(Post.person_id).where(Post.role == "community", Post.node_id == community.id))).scalars().first()
        cookies = {}
        for who, person_id in (("admin", admin_id), ("secretary", secretary_id)):
            token = await start_session(db, person_id, None, days=30)
            cookies[who] = f"{COOKIE_NAME}={token}"
        month = (await db.execute(sa.select(sa.func.max(Issue.month)))).scalar()
        months = sorted({m for (m,) in (await db.execute(sa.select(Issue.month).distinct())).all()})
        month = months[-2] if len(months) > 1 else month  # a whole month
        await db.commit()
    await engine.dispose()
    pages = {
        "ledger (street, no filter)": ("admin", "/issues"),
        "ledger open, community": ("admin", f"/issues?status=open&node={community.code}"),
        "ledger month+category": ("admin", f"/issues?month={month}&category=3"),
        "ledger overdue": ("admin", "/issues?overdue=1"),
        "ledger resident, page 3": ("admin", "/issues?source=resident&page=3"),
        "ledger as secretary": ("secretary", f"/issues?status=assigned&month={month}"),
        "ledger htmx fragment": ("admin", f"/issues?status=closed&node={community.code}"),
        "rates (lazy part), street": ("admin", "/issues/rates"),
        "rates (lazy part), month": ("secretary", f"/issues/rates?month={month}"),
    }
    return cookies, pages, f"/issues/export.xlsx?node={community.code}&month={month}"


async def measure(app, path: str, cookie: str, n: int) -> float:
    return (await measure_both(app, path, cookie, n))[0]


async def measure_both(app, path: str, cookie: str, n: int) -> tuple[float, float]:
    """(median wall time, median CPU time of this process) per request. On a busy machine
    the wall time includes waiting for a core; with SQLite (in-process, its own thread)
    the CPU time is what the request costs on an idle one."""
    for _ in range(10):
        _, status, _ = await call(app, path, cookie)
    assert status == 200, f"{path} answered {status}"
    walls, cpus = [], []
    for _ in range(n):
        cpu = time.process_time()
        walls.append((await call(app, path, cookie))[0])
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


async def run(url: str, n: int, tmp: Path) -> None:
    cookies, pages, export_path = await prepare(url)
    settings = Settings(database_url=url, secret_key=secrets.token_urlsafe(40), base_url="http://localhost:8000", var_dir=tmp)
    app = create_app(settings)
    async with app.lifespan():
        print(f"\n{'page':<30}{'median ms':>10}")
        print("(cold: counts and rates recomputed on every request, as right after a change;"
              " warm: between changes)")
        print(f"{'':<30}{'cold':>10}{'warm':>10}{'cold cpu':>10}{'warm cpu':>10}")
        for name, (who, path) in pages.items():
            queries.CACHE_AGGREGATES = False
            cold, cold_cpu = await measure_both(app, path, cookies[who], n)
            queries.CACHE_AGGREGATES = True
            warm, warm_cpu = await measure_both(app, path, cookies[who], n)
            print(f"{name:<30}{cold * 1000:>10.2f}{warm * 1000:>10.2f}{cold_cpu * 1000:>10.2f}{warm_cpu * 1000:>10.2f}   {path}")
        times = []
        for _ in range(5):
            seconds, status, size = await call(app, export_path, cookies["admin"])
            assert status == 200, status
            times.append(seconds)
        print(f"{'xlsx export, community month':<30}{statistics.median(times) * 1000:>10.0f}   {export_path} ({size} bytes)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--issues", type=int, default=20000)
    parser.add_argument("--events", type=int, default=100000)
    parser.add_argument("--postgres", help="server URL; a scratch database is made and dropped")
    args = parser.parse_args()
    from tests.benchmarks.scratch import scratch_database

    with tempfile.TemporaryDirectory() as tmp, scratch_database(args.postgres, tmp) as url:
        upgrade(url)
        asyncio.run(load(url, args.issues, args.events))
        asyncio.run(run(url, args.requests, Path(tmp)))


if __name__ == "__main__":
    main()
