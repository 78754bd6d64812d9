"""Time POST /api/sync with a 200-record batch at full demo scale (issue 4's speed goals).

    python tests/benchmarks/bench_sync.py [--scale 1.0] [--runs 5] [--postgres URL]

For each run: a fresh batch of 200 records from one leader (170 visits to the households
of their micro-grid, 10 errands, 10 mediations, 10 hazard checks) is posted to the app
in-process (session cookie, CSRF header, JSON: everything but the socket), then posted
again (the replay a lost answer causes). In the same run, the same rows (records and
receipts) are inserted with a raw sqlite3 `executemany` and committed: the floor no
application can beat. Goals: raw / sync >= 0.25; replay / first <= 0.2.
Not collected by pytest (the file name does not start with test_).
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from litestar.testing import AsyncTestClient  # noqa: E402

from server.accounts.models import Post, Role  # noqa: E402
from server.accounts.sessions import COOKIE_NAME, start_session  # noqa: E402
from server.app import create_app  # noqa: E402
from server.config import Settings  # noqa: E402
from server.db import make_engine, make_sessionmaker  # noqa: E402
from server.grid.demo import load_demo  # noqa: E402
from server.grid.models import Household  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.sync import service  # noqa: E402

CST = timezone(timedelta(hours=8))
KINDS = ["routine", "care", "policy", "survey"]


def make_batch(households: list[Household]) -> list[dict]:
    now = datetime.now(CST)
    records = []
    for i in range(170):
        h = households[i % len(households)]
        records.append({"id": str(uuid.uuid4()), "type": "visit", "created_at": (now - timedelta(minutes=200 - i)).isoformat(),
                        "data": {"household_id": h.id, "kind": KINDS[i % 4], "note": f"第{i}次走访，一切正常",
                                 "needs": ["medical"] if i % 5 == 0 else [], "policies": ["anti_fraud"] if i % 3 == 0 else []}})
    for i in range(10):
        records.append({"id": str(uuid.uuid4()), "type": "errand", "created_at": now.isoformat(),
                        "data": {"service": "elderly_subsidy", "household_id": households[i].id, "note": "代办高龄补贴"}})
        records.append({"id": str(uuid.uuid4()), "type": "mediation", "created_at": now.isoformat(),
                        "data": {"parties": "3单元201与301", "outcome": "settled"}})
        records.append({"id": str(uuid.uuid4()), "type": "hazard_check", "created_at": now.isoformat(),
                        "data": {"hazard": "电动车楼道充电", "place": "2栋1单元", "fixed": True}})
    return records


def raw_rows(records: list[dict], person_id: int, microgrid_id: int, paths: dict[int, str], default_path: str):
    """The rows the sync stores, as a raw client would write them (new ids: the tables already hold the batch)."""
    visits, work, receipts = [], [], []
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    for r in records:
        rid = uuid.uuid4().hex
        d = r["data"]
        path = paths.get(d.get("household_id"), default_path)
        digest = hashlib.sha256(json.dumps({"type": r["type"], "data": d}, sort_keys=True).encode()).hexdigest()
        receipts.append((rid, r["type"], person_id, None, digest, "created", path, now))
        if r["type"] == "visit":
            visits.append((rid, d["household_id"], path, person_id, d["kind"], json.dumps(d["needs"]),
                           json.dumps(d["policies"]), d["note"], now, now))
        else:
            work.append((rid, r["type"], person_id, microgrid_id, path, d.get("household_id"), d.get("service", ""),
                         d.get("parties", ""), d.get("outcome", ""), d.get("hazard", ""), d.get("place", ""),
                         d.get("fixed"), d.get("note", ""), now, now))
    return visits, work, receipts


def raw_insert(db_path: str, rows) -> float:
    visits, work, receipts = rows
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    started = time.perf_counter()
    conn.executemany("INSERT INTO sync_receipt (id, type, person_id, device_id, content_hash, status, grid_path, received_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", receipts)
    conn.executemany("INSERT INTO visit (id, household_id, grid_path, person_id, kind, needs, policies, note, visited_at, "
                     "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", visits)
    conn.executemany("INSERT INTO work_log_entry (id, kind, person_id, microgrid_id, grid_path, household_id, service, "
                     "parties, outcome, hazard, place, fixed, note, done_at, received_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", work)
    conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


async def run(url: str, var_dir: Path, scale: float, runs: int, db_path: str | None) -> dict:
    engine = make_engine(url)
    started = time.perf_counter()
    await load_demo(engine, seed=1, scale=scale, progress=False)
    load_seconds = time.perf_counter() - started
    async with make_sessionmaker(engine)() as db:
        post = (await db.execute(
            sa.select(Post).join(Household, Household.microgrid_id == Post.node_id)
            .where(Post.role == Role.leader, Post.post_kind == "A")
            .group_by(Post.id).order_by(sa.func.count(Household.id).desc()).limit(1)
        )).scalar_one()
        households = list((await db.execute(sa.select(Household).where(Household.microgrid_id == post.node_id))).scalars())
        token = await start_session(db, post.person_id, None, days=30)
        await db.commit()
        counts = {t: (await db.execute(sa.text(f"SELECT count(*) FROM {t}"))).scalar_one() for t in ("household", "grid_node", "person")}
    paths = {h.id: h.grid_path for h in households}
    settings = Settings(database_url=url, secret_key="bench-" + "x" * 40, base_url="http://localhost:8000", var_dir=var_dir)
    app = create_app(settings)
    first, replay, raw, service_only = [], [], [], []
    cpu_first, cpu_replay, cpu_raw = [], [], []  # CPU time: on a shared machine wall time says how much of a core we got
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        client.cookies.set(COOKIE_NAME, token)
        await client.get("/api/sync")
        headers = {"x-csrftoken": client.cookies.get("csrftoken"), "content-type": "application/json"}
        # Warm up: templates, statement caches, the connection pool.
        await client.post("/api/sync", content=json.dumps({"records": make_batch(households)[:20]}), headers=headers)
        for _ in range(runs):
            batch = make_batch(households)
            body = json.dumps({"records": batch}, ensure_ascii=False)
            t0, c0 = time.perf_counter(), time.process_time()
            response = await client.post("/api/sync", content=body, headers=headers)
            first.append(time.perf_counter() - t0)
            cpu_first.append(time.process_time() - c0)
            assert response.status_code == 200 and {r["status"] for r in response.json()["results"]} == {"created"}, response.text[:500]
            t0, c0 = time.perf_counter(), time.process_time()
            response = await client.post("/api/sync", content=body, headers=headers)
            replay.append(time.perf_counter() - t0)
            cpu_replay.append(time.process_time() - c0)
            assert {r["status"] for r in response.json()["results"]} == {"duplicate"}
            # The service function alone (no HTTP, no JSON): where the database time goes.
            from server.accounts.sessions import load_viewer

            async with make_sessionmaker(engine)() as db:
                viewer = await load_viewer(db, token, 30)
                other = make_batch(households)
                t0 = time.perf_counter()
                results = await service.store_records(db, viewer, other, "zh-CN")
                service_only.append(time.perf_counter() - t0)
                assert {r.status for r in results} == {"created"}
            if db_path:
                rows = raw_rows(batch, post.person_id, post.node_id, paths, households[0].grid_path)
                c0 = time.process_time()
                raw.append(raw_insert(db_path, rows))
                cpu_raw.append(time.process_time() - c0)
    await engine.dispose()
    median = statistics.median
    report = {
        "database": url.split("://")[0], "scale": scale, "rows": counts, "demo_load_seconds": round(load_seconds, 1),
        "batch": 200, "runs": runs,
        "sync_ms": round(median(first) * 1000, 1),
        "sync_service_only_ms": round(median(service_only) * 1000, 1),
        "replay_ms": round(median(replay) * 1000, 1),
        "replay_ratio": round(median(replay) / median(first), 3),
        "sync_cpu_ms": round(median(cpu_first) * 1000, 1),
        "replay_cpu_ms": round(median(cpu_replay) * 1000, 1),
        "replay_ratio_cpu": round(median(cpu_replay) / median(cpu_first), 3),
    }
    if raw:
        report["raw_executemany_ms"] = round(median(raw) * 1000, 2)
        report["raw_over_sync"] = round(median(raw) / median(first), 3)
        report["raw_over_service"] = round(median(raw) / median(service_only), 3)
        report["raw_executemany_cpu_ms"] = round(median(cpu_raw) * 1000, 2)
        report["raw_over_sync_cpu"] = round(median(cpu_raw) / median(cpu_first), 3)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", default=None, help="postgresql+asyncpg://... of a scratch database (no raw SQLite comparison)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            url, db_path = args.postgres, None
        else:
            db_path = str(Path(tmp) / "bench.db")
            url = f"sqlite+aiosqlite:///{db_path}"
        upgrade(url)
        report = asyncio.run(run(url, Path(tmp), args.scale, args.runs, db_path))
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
