"""Deliver 1,000 queued SMS notifications to a local fake provider (budget: 10 s on 2 cores).

    python tests/benchmarks/bench_notify.py [--count 1000] [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

The provider is a local aiohttp server in its own process (tests/notify/fake_servers.py);
the worker is the app's own (server/notify/worker.py) with the HTTP gateway adapter.
Not collected by pytest.
"""
from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import server.models  # noqa: E402,F401
from server.db import make_engine, make_sessionmaker  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.notify import outbox, worker  # noqa: E402
from server.notify.gateway import HttpGateway  # noqa: E402
from server.notify.models import Channel, Delivery, Notification  # noqa: E402
from server.notify.senders import make_sms_sender  # noqa: E402
from tests.benchmarks.scratch import scratch_database  # noqa: E402



async def bench(url: str, count: int, provider_url: str) -> dict:
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as db:
        for i in range(count):
            await outbox.queue(db, channel=Channel.sms, kind="feedback", phone=f"138{i:08d}",
                               body=f"您反映的问题（查询码BENCH{i}）有了答复：已处理。", url=f"/track/BENCH{i}")
        await db.commit()
    async with aiohttp.ClientSession() as client:
        sender = make_sms_sender(sessionmaker, HttpGateway(provider_url + "/sms", "t", client), "https://wx.example.cn")
        started = time.perf_counter()
        while await worker.deliver_batch(sessionmaker, {Channel.sms: sender}):
            pass
        seconds = time.perf_counter() - started
    async with sessionmaker() as db:
        sent = (await db.execute(sa.select(sa.func.count()).select_from(Notification)
                                 .where(Notification.status == Delivery.sent))).scalar_one()
    await engine.dispose()
    return {"queued": count, "sent": sent, "seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    provider = subprocess.Popen([sys.executable, "-m", "tests.notify.fake_servers"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        provider_url = provider.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp, scratch_database(args.postgres, tmp, "weiwang_bench_notify") as url:
            upgrade(url)
            result = asyncio.run(bench(url, args.count, provider_url))
    finally:
        provider.kill()
        provider.wait()
    backend = "postgresql" if args.postgres else "sqlite"
    print(f"{backend}: {result['sent']}/{result['queued']} delivered to a local fake provider in {result['seconds']} s "
          f"(budget 10 s)")


if __name__ == "__main__":
    main()
