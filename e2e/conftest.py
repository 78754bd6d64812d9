"""End-to-end fixtures: a real `weiwang serve` process and Debian's Chromium at phone size.

Browse http://localhost:PORT, never 127.0.0.1: WebAuthn refuses an IP address as its
relying-party id. Screenshots go to test-output/screenshots/ (look at them).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM = os.environ.get("WEIWANG_CHROMIUM", "/usr/lib/chromium/chromium")
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Mobile Safari/537.36"
    ),
    "locale": "zh-CN",
}
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    base_url: str
    database_url: str
    var_dir: Path
    process: subprocess.Popen
    env: dict

    @property
    def sync_database_url(self) -> str:
        return self.database_url.replace("sqlite+aiosqlite", "sqlite")

    @property
    def is_postgresql(self) -> bool:
        return self.database_url.startswith("postgresql")

    def _run(self, statement, params, write: bool):
        statement = sa.text(statement) if isinstance(statement, str) else statement
        if self.is_postgresql:
            # No synchronous PostgreSQL driver here: asyncpg, on a thread of its own.
            from server.db import make_engine

            async def run():
                engine = make_engine(self.database_url)
                try:
                    async with (engine.begin() if write else engine.connect()) as conn:
                        result = await conn.execute(statement, params)
                        return None if write else result.all()
                finally:
                    await engine.dispose()
            return run_async(run())
        engine = sa.create_engine(self.sync_database_url)
        try:
            with (engine.begin() if write else engine.connect()) as conn:
                result = conn.execute(statement, params)
                return None if write else result.all()
        finally:
            engine.dispose()

    def query(self, statement, **params):
        """Read the server's database directly (assert what the server stored)."""
        return self._run(statement, params, write=False)

    def execute(self, statement, **params) -> None:
        """Change the server's database behind its back (a household moved, a session expired)."""
        self._run(statement, params, write=True)

    def cli(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "server.cli", *args], env=self.env, cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout


def _start_server(tmp: Path, scale: float = 0.1, database_url: str | None = None) -> LiveServer:
    port = free_port()
    database_url = database_url or f"sqlite+aiosqlite:///{tmp / 'e2e.db'}"
    env = {
        **os.environ,
        "WEIWANG_DATABASE_URL": database_url,
        "WEIWANG_VAR_DIR": str(tmp),
        "WEIWANG_BASE_URL": f"http://localhost:{port}",
        "WEIWANG_SECRET_KEY": "e2e-secret-key-" + "y" * 32,
        "PYTHONUNBUFFERED": "1",
    }
    subprocess.run([sys.executable, "-m", "server.cli", "migrate"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    subprocess.run([sys.executable, "-m", "server.cli", "demo", "--scale", str(scale), "--seed", "1"],
                   env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)
    log = open(tmp / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited:\n" + (tmp / "server.log").read_text())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.terminate()
        raise RuntimeError("server did not start:\n" + (tmp / "server.log").read_text())
    return LiveServer(f"http://localhost:{port}", database_url, tmp, process, env)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """One server for the run, demo street at scale 0.1 (each journey uses its own people/objects)."""
    server = _start_server(tmp_path_factory.mktemp("live"))
    yield server
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def pg_live_server(tmp_path_factory):
    """The same server on PostgreSQL (a private database on WEIWANG_TEST_DATABASE_URL's server,
    dropped afterwards), for the journeys where the backend matters. Without that variable the
    journeys on PostgreSQL are skipped, except in CI, where they fail."""
    import secrets

    admin_url = os.environ.get("WEIWANG_TEST_DATABASE_URL")
    if not admin_url:
        if os.environ.get("CI"):
            pytest.fail("CI needs WEIWANG_TEST_DATABASE_URL for the journeys on PostgreSQL")
        pytest.skip("WEIWANG_TEST_DATABASE_URL not set: no PostgreSQL journeys")
    from server.db import make_engine

    name = f"weiwang_e2e_{os.getpid()}_{secrets.token_hex(3)}"

    async def admin(statement: str) -> None:
        engine = make_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
        await engine.dispose()

    run_async(admin(f'CREATE DATABASE "{name}"'))
    server = None
    try:
        server = _start_server(tmp_path_factory.mktemp("live-pg"), database_url=admin_url.rsplit("/", 1)[0] + "/" + name)
        yield server
    finally:
        if server is not None:
            server.process.terminate()
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.process.kill()
        run_async(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def fresh_server(tmp_path):
    """A server of its own, for a journey that must own the whole database."""
    server = _start_server(tmp_path)
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, **PHONE}


@pytest.fixture
def csp_violations(page):
    """Collects CSP violations from the console; a test asserts the list is empty."""
    found: list[str] = []
    page.on("console", lambda msg: found.append(msg.text) if "Content Security Policy" in msg.text else None)
    return found


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # caret="initial": hiding the caret makes Playwright insert a <style>, which the strict CSP
    # refuses and reports, and the csp_violations checks would blame the page.
    page.screenshot(path=str(path), full_page=True, caret="initial")
    return path


def run_async(coroutine):
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def session_cookie(server: LiveServer, person_id: int, device_id: int | None = None) -> dict:
    """A session made straight in the database, for journeys that are not about signing in."""
    from server.accounts.sessions import COOKIE_NAME, start_session
    from server.db import make_engine, make_sessionmaker

    async def make() -> str:
        engine = make_engine(server.database_url)
        async with make_sessionmaker(engine)() as db:
            token = await start_session(db, person_id, device_id, days=30)
            await db.commit()
        await engine.dispose()
        return token

    # Sync Playwright owns this thread's event loop: run the coroutine on a thread of its own.
    token = run_async(make())
    return {"name": COOKIE_NAME, "value": token, "url": server.base_url, "httpOnly": True, "sameSite": "Lax"}


def sign_in_by_cookie(context, server: LiveServer, person_id: int) -> None:
    context.add_cookies([session_cookie(server, person_id)])


def find_person(server: LiveServer, role: str, *, post_kind: str | None = None, kind: str | None = None, offset: int = 0):
    """(person_id, name, node code, node path) of someone holding `role` in the demo street."""
    sql = (
        "SELECT person.id, person.name, grid_node.code, grid_node.path FROM post "
        "JOIN person ON person.id = post.person_id JOIN grid_node ON grid_node.id = post.node_id "
        "WHERE post.role = :role"
        + (" AND post.post_kind = :post_kind" if post_kind else "")
        + (" AND grid_node.kind = :kind" if kind else "")
        + " ORDER BY grid_node.path, person.id LIMIT 1 OFFSET :offset"
    )
    params = {"role": role, "offset": offset}
    if post_kind:
        params["post_kind"] = post_kind
    if kind:
        params["kind"] = kind
    rows = server.query(sql, **params)
    assert rows, f"no {role} in the demo street"
    return rows[0]
