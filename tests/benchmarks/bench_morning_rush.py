"""The morning rush (issue 15): every leader of the street sends her records at once while
staff browse the ledger. A load run, not a CI test.

    python tests/benchmarks/bench_morning_rush.py                       # SQLite, 1 process
    python tests/benchmarks/bench_morning_rush.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres --workers 2

A fresh database (a temporary SQLite file, or a private PostgreSQL database made and dropped
here) gets the full demo street; `weiwang serve` runs it on 127.0.0.1. Then two phases, each
spread over --window seconds:
  forms   every leader posts --records visits one by one through the visit form (online);
  outbox  every leader sends --records visits as one /api/sync batch (the phone's outbox);
while --staff community staff page through the ledger (GET /issues) with a second's pause.
A request's latency counts from the moment it was due, so time spent waiting for a
connection (the server falling behind) shows. Afterwards the database is counted: every
record stored exactly once. Traffic goes only to 127.0.0.1, bounded in count and time.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.accounts.models import Post, Role, current_post  # noqa: E402
from server.accounts.sessions import COOKIE_NAME, start_session  # noqa: E402
from server.db import make_engine, make_sessionmaker  # noqa: E402
from server.grid.demo import load_demo  # noqa: E402
from server.grid.models import GridNode, Household  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.visits.models import Visit  # noqa: E402
from tests.benchmarks.scratch import scratch_database  # noqa: E402

CST = timezone(timedelta(hours=8))


@dataclass
class Leader:
    cookie: str
    households: list[int]
    csrf: str = ""


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    staff_latencies: list[float] = field(default_factory=list)
    staff_errors: int = 0
    elapsed: float = 0.0

    def fail(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def prepare(url: str, records: int, staff_count: int, max_leaders: int | None) -> tuple[list[Leader], list[str]]:
    engine = make_engine(url)
    started = time.perf_counter()
    await load_demo(engine, seed=1, scale=1.0, progress=False)
    print(f"demo street loaded in {time.perf_counter() - started:.0f} s")
    leaders: list[Leader] = []
    async with make_sessionmaker(engine)() as db:
        posts = (await db.execute(
            sa.select(Post.person_id, GridNode.id).join(GridNode, GridNode.id == Post.node_id)
            .where(Post.role == Role.leader, current_post()).order_by(Post.person_id, Post.post_kind)
        )).all()
        grid_of: dict[int, int] = {}
        for person_id, node_id in posts:
            grid_of.setdefault(person_id, node_id)  # the A post when she has one
        households: dict[int, list[int]] = {}
        for household_id, microgrid_id in await db.execute(sa.select(Household.id, Household.microgrid_id)):
            households.setdefault(microgrid_id, []).append(household_id)
        for person_id, node_id in list(grid_of.items())[:max_leaders]:
            mine = households.get(node_id)
            if not mine:
                continue
            token = await start_session(db, person_id, None, days=1)
            leaders.append(Leader(f"{COOKIE_NAME}={token}", [mine[i % len(mine)] for i in range(records)]))
        staff_ids = list((await db.execute(
            sa.select(Post.person_id).where(Post.role.in_([Role.community, Role.admin]), current_post())
            .distinct().order_by(Post.person_id)
        )).scalars())
        staff = []
        for i in range(staff_count):  # fewer staff than sessions: a person may browse on two phones
            staff.append(f"{COOKIE_NAME}={await start_session(db, staff_ids[i % len(staff_ids)], None, days=1)}")
        await db.commit()
    await engine.dispose()
    return leaders, staff


async def csrf_for(client: httpx.AsyncClient, leader: Leader) -> None:
    """A leader opens her worklist first: the page hands out her CSRF token."""
    response = await client.get("/", headers={"cookie": leader.cookie})
    token = response.cookies.get("csrftoken") or client.cookies.get("csrftoken")
    if not token:
        for header in response.headers.get_list("set-cookie"):
            if header.startswith("csrftoken="):
                token = header.split(";")[0].split("=", 1)[1]
    if not token:
        raise RuntimeError(f"no CSRF token from / (status {response.status_code})")
    leader.csrf = token
    client.cookies.clear()


async def timed(phase: Phase, due: float, send, ok_status: int, gate: asyncio.Semaphore) -> None:
    await asyncio.sleep(max(0.0, due - time.perf_counter()))
    try:
        # At most `concurrency` records in the client at once: httpx's pool walks its whole queue on
        # every change, so 27,000 requests queued there took the client (not the server) 11 minutes
        # of CPU. Waiting here still counts: the latency runs from when the record was due.
        async with gate:
            response = await send()
    except httpx.HTTPError as error:
        phase.fail(type(error).__name__)
        return
    phase.latencies.append(time.perf_counter() - due)
    if response.status_code != ok_status:
        phase.fail(str(response.status_code))


def form_sends(client, phase: Phase, leader: Leader, start: float, window: float, origin: str, gate):
    headers = {"cookie": f"{leader.cookie}; csrftoken={leader.csrf}", "origin": origin}
    for i, household_id in enumerate(leader.households):
        due = start + random.uniform(0, window)

        def send(household_id=household_id):
            return client.post(f"/households/{household_id}/visits", headers=headers,
                               data={"kind": "routine", "note": f"早高峰 {i}", "_csrf_token": leader.csrf})
        yield timed(phase, due, send, 303, gate)


def outbox_sends(client, phase: Phase, leader: Leader, start: float, window: float, origin: str, sent: list[str], gate):
    records = []
    for household_id in leader.households:
        record_id = str(uuid.uuid4())
        sent.append(record_id)
        records.append({"id": record_id, "type": "visit", "created_at": datetime.now(CST).isoformat(),
                        "data": {"household_id": household_id, "kind": "routine", "note": "离线记录"}})
    headers = {"cookie": f"{leader.cookie}; csrftoken={leader.csrf}", "x-csrftoken": leader.csrf, "origin": origin}

    def send():
        return client.post("/api/sync", headers=headers, json={"records": records})
    yield timed(phase, start + random.uniform(0, window), send, 200, gate)


async def browse(client, phase: Phase, cookie: str, until: float) -> None:
    page = random.randint(1, 20)
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            response = await client.get(f"/issues?page={page}", headers={"cookie": cookie})
            if response.status_code != 200:
                phase.staff_errors += 1
        except httpx.HTTPError:
            phase.staff_errors += 1
        phase.staff_latencies.append(time.perf_counter() - started)
        page = page % 20 + 1
        await asyncio.sleep(1.0)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def count_visits(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    async with engine.connect() as conn:
        total = (await conn.execute(sa.select(sa.func.count()).select_from(Visit))).scalar_one()
        distinct = (await conn.execute(sa.select(sa.func.count(sa.distinct(Visit.id))))).scalar_one()
    await engine.dispose()
    return total, distinct


async def stored_ids(url: str, ids: list[str]) -> int:
    engine = make_engine(url)
    found = 0
    async with engine.connect() as conn:
        for start in range(0, len(ids), 1000):
            chunk = [uuid.UUID(i) for i in ids[start:start + 1000]]
            found += (await conn.execute(sa.select(sa.func.count()).select_from(Visit).where(Visit.id.in_(chunk)))).scalar_one()
    await engine.dispose()
    return found


async def rush(base: str, url: str, leaders: list[Leader], staff: list[str], window: float, concurrency: int) -> list[Phase]:
    # Connections for the records (at most `concurrency` at once) and one for each browsing staff.
    # An idle connection is dropped by the client before uvicorn's 5 s keep-alive closes it: with
    # both at 5 s, a request sent on a connection as the server closed it failed (7 ReadErrors in
    # the PostgreSQL forms phase, stop 21). A browser does the same (and retries such a request).
    limits = httpx.Limits(max_connections=concurrency + len(staff), max_keepalive_connections=concurrency + len(staff),
                          keepalive_expiry=3.0)
    gate = asyncio.Semaphore(concurrency)
    timeout = httpx.Timeout(120.0, pool=None)
    origin = base.replace("127.0.0.1", "localhost")
    phases = []
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        for leader in leaders:
            await csrf_for(client, leader)
        for name in ("forms", "outbox"):
            phase = Phase(name)
            before, _ = await count_visits(url)
            sent: list[str] = []
            start = time.perf_counter() + 1.0
            jobs = []
            for leader in leaders:
                if name == "forms":
                    jobs.extend(form_sends(client, phase, leader, start, window, origin, gate))
                else:
                    jobs.extend(outbox_sends(client, phase, leader, start, window, origin, sent, gate))
            browsing = [browse(client, phase, cookie, start + window) for cookie in staff]
            await asyncio.gather(*jobs, *browsing)
            phase.elapsed = time.perf_counter() - start
            after, distinct = await count_visits(url)
            expected = sum(len(leader.households) for leader in leaders)
            phase.errors["stored"] = after - before
            phase.errors["expected"] = expected
            phase.errors["duplicates"] = after - distinct
            if sent:
                phase.errors["outbox ids found"] = await stored_ids(url, sent)
            phases.append(phase)
    return phases


def report(phases: list[Phase], label: str) -> None:
    print(f"\n{label}")
    print(f"{'phase':<8}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'done in s':>10}"
          f"{'staff p50':>10}{'staff p99':>10}{'staff err':>10}  stored")
    for p in phases:
        counts = {k: v for k, v in p.errors.items() if k in ("stored", "expected", "duplicates", "outbox ids found")}
        errors = {k: v for k, v in p.errors.items() if k not in counts}
        print(f"{p.name:<8}{len(p.latencies) + sum(errors.values()):>9}{sum(errors.values()):>8}"
              f"{pct(p.latencies, 0.5):>9.0f}{pct(p.latencies, 0.99):>9.0f}{pct(p.latencies, 1.0):>9.0f}{p.elapsed:>10.1f}"
              f"{pct(p.staff_latencies, 0.5):>10.0f}{pct(p.staff_latencies, 0.99):>10.0f}{p.staff_errors:>10}  {counts}"
              + (f"  errors by kind: {errors}" if errors else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a private database is made there and dropped)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--leaders", type=int, default=None, help="at most this many leaders (default: all)")
    parser.add_argument("--concurrency", type=int, default=100, help="open connections at most")
    args = parser.parse_args()
    random.seed(1)

    tmp = Path(tempfile.mkdtemp(prefix="weiwang-rush-"))
    try:
        with scratch_database(args.postgres, tmp, "weiwang_rush") as url:
            server = None
            try:
                upgrade(url)
                leaders, staff = asyncio.run(prepare(url, args.records, args.staff, args.leaders))
                port = free_port()
                env = {**os.environ, "WEIWANG_DATABASE_URL": url, "WEIWANG_VAR_DIR": str(tmp),
                       "WEIWANG_SECRET_KEY": secrets.token_urlsafe(40), "WEIWANG_BASE_URL": f"http://localhost:{port}"}
                env.pop("WEIWANG_REDIS_URL", None) if args.workers == 1 else None
                server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                                           "--workers", str(args.workers)], cwd=ROOT, env=env)
                base = f"http://127.0.0.1:{port}"
                for _ in range(120):
                    try:
                        if httpx.get(base + "/signin", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.5)
                label = (f"{'PostgreSQL' if args.postgres else 'SQLite'}, weiwang serve --workers {args.workers}: "
                         f"{len(leaders)} leaders x {args.records} records in {args.window:.0f} s, {len(staff)} staff browsing")
                phases = asyncio.run(rush(base, url, leaders, staff, args.window, args.concurrency))
                report(phases, label)
            finally:
                if server:  # before its database is dropped
                    server.terminate()
                    server.wait(timeout=30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
