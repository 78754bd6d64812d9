"""Approve a publicity SMS (宣传短信) to every household of the full demo street: the approval
queues one notification per number in the request that approves it (issue 11). Prints the
households, the numbers queued, the approval's wall time and the process's peak memory.

    python tests/benchmarks/bench_broadcast.py [--scale 1] [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

Not collected by pytest.
"""
from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import server.models  # noqa: E402,F401
from server.accounts.models import Person, Post, Role  # noqa: E402
from server.accounts.sessions import load_viewer, start_session  # noqa: E402
from server.db import make_engine, make_sessionmaker  # noqa: E402
from server.grid.demo import load_demo_into  # noqa: E402
from server.grid.models import GridNode, Level  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.notify import broadcasts  # noqa: E402
from server.notify.models import Broadcast, Notification  # noqa: E402
from tests.benchmarks.scratch import scratch_database  # noqa: E402


async def bench(url: str, scale: float) -> dict:
    engine = make_engine(url)
    await load_demo_into(engine, seed=1, scale=scale)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as db:
        street = (await db.execute(sa.select(GridNode).where(GridNode.level == Level.street))).scalars().first()
        author, approver = Person(name="宣传干事"), Person(name="街道审批人")
        db.add_all([author, approver])
        await db.flush()
        for person in (author, approver):  # two street posts: nobody approves their own message
            db.add(Post(person_id=person.id, node_id=street.id, node_path=street.path, role=Role.admin))
        await db.flush()
        author_viewer = await load_viewer(db, await start_session(db, author.id, None, 1), 1)
        approver_viewer = await load_viewer(db, await start_session(db, approver.id, None, 1), 1)
        broadcast = await broadcasts.compose(db, author_viewer, street, "冬季用火用电安全提醒：出门关电源，取暖勿离人。", "")
        await db.commit()
        broadcast_id = broadcast.id
    async with sessionmaker() as db:
        broadcast = await db.get(Broadcast, broadcast_id)
        started = time.perf_counter()
        queued = await broadcasts.approve(db, approver_viewer, broadcast)
        await db.commit()
        seconds = time.perf_counter() - started
        households = (await broadcasts.audience(db, street.path)).households
        stored = (await db.execute(sa.select(sa.func.count()).select_from(Notification)
                                   .where(Notification.broadcast_id == broadcast_id))).scalar_one()
    await engine.dispose()
    return {"households": households, "queued": queued, "stored": stored, "seconds": round(seconds, 2),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scratch_database(args.postgres, tmp, "weiwang_bench_broadcast") as url:
        upgrade(url)
        result = asyncio.run(bench(url, args.scale))
    backend = "postgresql" if args.postgres else "sqlite"
    print(f"{backend}: a street-wide broadcast to {result['households']} households: {result['queued']} numbers queued "
          f"({result['stored']} stored) in one approval, {result['seconds']} s; process peak {result['peak_mb']} MB")


if __name__ == "__main__":
    main()
