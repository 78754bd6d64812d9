"""Two stateless app processes behind one PostgreSQL and one Redis behave as one app:
a rate limit counts the requests to both, and a session ended on one is ended on the other.

Runs in the PostgreSQL pass of the suite (CI always has it); Redis runs at 127.0.0.1:6379
on these machines (WEIWANG_TEST_REDIS_URL to point elsewhere).
"""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from server.accounts.sessions import COOKIE_NAME, start_session
from server.db import make_engine, make_sessionmaker
from tests.conftest import BACKEND, scratch_database

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("WEIWANG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="scale-out is PostgreSQL's job; runs in the PostgreSQL pass")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("app process exited:\n" + log.read_text())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("app process did not start:\n" + log.read_text())


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()  # a database of its own (15): yesterday's counts must not leak in
    except redis.exceptions.ConnectionError:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}")
    var = tmp_path_factory.mktemp("scale_out")
    with scratch_database(tmp_path_factory, "scale_out") as url:
        from server.grid.demo import load_demo

        async def fill():
            engine = make_engine(url)
            await load_demo(engine, seed=7, scale=0.05, progress=False)
            await engine.dispose()

        asyncio.run(fill())
        processes, ports = [], []
        for n in range(2):
            port = _free_port()
            env = {**os.environ, "WEIWANG_DATABASE_URL": url, "WEIWANG_REDIS_URL": REDIS_URL,
                   "WEIWANG_VAR_DIR": str(var), "WEIWANG_SECRET_KEY": "scale-out-secret-" + "z" * 32,
                   "WEIWANG_BASE_URL": "http://localhost:8000", "PYTHONDONTWRITEBYTECODE": "1"}
            log = var / f"app{n}.log"
            process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1",
                                        "--port", str(port)], env=env, cwd=ROOT, stdout=open(log, "w"),
                                       stderr=subprocess.STDOUT)
            _wait_for(port, process, log)
            processes.append(process)
            ports.append(port)
        try:
            yield url, [f"http://127.0.0.1:{p}" for p in ports]
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
            client.flushdb()


def _csrf(http: httpx.Client, base: str) -> dict[str, str]:
    http.get(f"{base}/signin")
    return {"x-csrftoken": http.cookies["csrftoken"], "origin": "http://localhost:8000"}


def test_it_counts_a_rate_limit_across_both_processes(two_processes):
    _, (a, b) = two_processes
    answers = []
    with httpx.Client() as http:
        headers = _csrf(http, a)
        for i in range(70):  # the sign-in limit is 60 a minute per address
            base = a if i % 2 == 0 else b
            answers.append(http.post(f"{base}/api/signin", json={}, headers=headers).status_code)
    # Each process alone saw 35: only a shared count refuses the last ten.
    assert answers[:60].count(429) == 0
    assert answers[60:] == [429] * 10


def test_it_ends_a_session_on_both_processes(two_processes):
    url, (a, b) = two_processes

    async def session_for_a_leader() -> str:
        import sqlalchemy as sa

        from server.accounts.models import Post, Role

        engine = make_engine(url)
        async with make_sessionmaker(engine)() as db:
            person_id = (await db.execute(sa.select(Post.person_id).where(Post.role == Role.leader).limit(1))).scalar_one()
            token = await start_session(db, person_id, None, days=30)
            await db.commit()
        await engine.dispose()
        return token

    token = asyncio.run(session_for_a_leader())
    with httpx.Client(cookies={COOKIE_NAME: token}) as http:
        assert http.get(f"{a}/me").status_code == 200
        assert http.get(f"{b}/me").status_code == 200
        headers = {"x-csrftoken": http.cookies.get("csrftoken") or _csrf(http, a)["x-csrftoken"],
                   "origin": "http://localhost:8000"}
        signed_out = http.post(f"{a}/signout", headers=headers)
        assert signed_out.status_code == 303
    with httpx.Client(cookies={COOKIE_NAME: token}) as http:
        after = http.get(f"{b}/me")
    assert after.status_code == 303 and after.headers["location"].startswith("/signin")
