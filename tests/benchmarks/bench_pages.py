"""Server time of the grid pages at full demo scale, against a bare Litestar+Jinja page.

    python tests/benchmarks/bench_pages.py [--requests 300] [--postgres URL] [--http SECONDS]

Requests go straight into the ASGI app (no sockets, no HTTP client), so the time is the
server's own: routing, middleware (session lookup, CSRF, CSP, gzip), queries, template.
The "hello" app is a bare Litestar app rendering one Jinja template, measured the same way
in the same run; requests/second ratio = hello median / page median.
With --http, each page is also loaded over real HTTP with wrk (Debian package) against
uvicorn, one worker each, and compared with the hello app the same way.
Budgets (issue 2): each page's median ≤ 10 ms; ratio goal ≥ 50%.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from litestar import Litestar, get  # noqa: E402
from litestar.contrib.jinja import JinjaTemplateEngine  # noqa: E402,F401
from litestar.response import Template  # noqa: E402
from litestar.template.config import TemplateConfig  # noqa: E402

from server.accounts.models import Post  # noqa: E402
from server.accounts.sessions import COOKIE_NAME, start_session  # noqa: E402
from server.app import create_app  # noqa: E402
from server.config import Settings  # noqa: E402
from server.db import make_engine, make_sessionmaker  # noqa: E402
from server.grid.demo import load_demo  # noqa: E402
from server.grid.models import GridNode  # noqa: E402
from server.migrate import upgrade  # noqa: E402


async def call(app, path: str, cookie: str) -> tuple[float, int, int]:
    """One request through the ASGI app; returns (seconds, status, body bytes)."""
    status = 0
    size = 0

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))

    path_only, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path_only, "raw_path": path_only.encode(), "query_string": query.encode(),
        "root_path": "", "server": ("localhost", 8000), "client": ("127.0.0.1", 5000),
        "headers": [(b"host", b"localhost:8000"), (b"cookie", cookie.encode()), (b"accept-encoding", b"gzip")],
    }
    started = time.perf_counter()
    await app(scope, receive, send)
    return time.perf_counter() - started, status, size


async def measure(app, path: str, cookie: str, n: int) -> dict:
    for _ in range(20):  # warm up caches and the connection pool
        _, status, _ = await call(app, path, cookie)
    assert status == 200, f"{path} answered {status}"
    times = []
    size = 0
    for _ in range(n):
        seconds, status, size = await call(app, path, cookie)
        times.append(seconds)
    median = statistics.median(times)
    return {"median_ms": median * 1000, "p95_ms": sorted(times)[int(n * 0.95)] * 1000, "rps": 1 / median, "bytes": size}


def hello_app(templates: Path) -> Litestar:
    (templates / "hello.html").write_text("<!doctype html><title>{{ title }}</title><p>{{ greeting }}</p>")

    @get("/")
    async def hello() -> Template:
        return Template(template_name="hello.html", context={"title": "hello", "greeting": "你好"})

    return Litestar([hello], template_config=TemplateConfig(directory=templates, engine=JinjaTemplateEngine))


async def prepare(url: str) -> tuple[str, dict[str, str]]:
    """A session cookie for the street admin and the pages to measure."""
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as db:
        admin_id = (await db.execute(sa.select(Post.person_id).where(Post.role == "admin"))).scalars().first()
        token = await start_session(db, admin_id, None, days=30)
        await db.commit()
        microgrid = (await db.execute(
            sa.select(GridNode).where(GridNode.level == "microgrid", GridNode.kind == "residential").order_by(GridNode.id)
        )).scalars().first()
        compound = (await db.execute(
            sa.select(GridNode).where(GridNode.level == "compound", GridNode.kind == "residential").order_by(GridNode.id)
        )).scalars().first()
    await engine.dispose()
    return f"{COOKIE_NAME}={token}", {
        "micro-grid page": f"/grid/{microgrid.code}",
        "compound page": f"/grid/{compound.code}",
        "street overview": "/grid/JY/overview",
        "street page": "/grid/JY",
    }


async def load(url: str) -> None:
    engine = make_engine(url)
    started = time.perf_counter()
    await load_demo(engine, seed=1, scale=1.0, progress=False)
    print(f"demo street loaded in {time.perf_counter() - started:.1f} s")
    await engine.dispose()


async def run(url: str, n: int, tmp: Path) -> None:
    cookie, pages = await prepare(url)
    settings = Settings(database_url=url, secret_key=secrets.token_urlsafe(40), base_url="http://localhost:8000", var_dir=tmp)
    app = create_app(settings)
    hello = hello_app(tmp)
    async with app.lifespan(), hello.lifespan():
        base = await measure(hello, "/", "", n)
        print(f"\n{'page':<18}{'median ms':>10}{'p95 ms':>9}{'req/s':>9}{'vs hello':>10}{'bytes gz':>10}")
        print(f"{'bare hello':<18}{base['median_ms']:>10.2f}{base['p95_ms']:>9.2f}{base['rps']:>9.0f}{'100%':>10}{base['bytes']:>10}")
        for name, path in pages.items():
            result = await measure(app, path, cookie, n)
            ratio = result["rps"] / base["rps"]
            print(f"{name:<18}{result['median_ms']:>10.2f}{result['p95_ms']:>9.2f}{result['rps']:>9.0f}{ratio:>10.0%}{result['bytes']:>10}")


def hello_factory() -> Litestar:
    """For uvicorn --factory in the --http run."""
    folder = Path(tempfile.mkdtemp())
    return hello_app(folder)


def wrk(url: str, cookie: str, seconds: int) -> float:
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", "-H", f"Cookie: {cookie}",
                          "-H", "Accept-Encoding: gzip", url], capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert not non_2xx, f"{url}: {non_2xx.group(0)}"
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def serve(args: list[str], env: dict, port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", *args, "--port", str(port), "--log-level", "warning"],
                               env=env, cwd=ROOT)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def run_http(url: str, tmp: Path, seconds: int) -> None:
    """Requests per second over real HTTP (uvicorn, one worker each), measured with wrk."""
    cookie, paths = asyncio.run(prepare(url))
    env = {**os.environ, "WEIWANG_DATABASE_URL": url, "WEIWANG_VAR_DIR": str(tmp),
           "WEIWANG_SECRET_KEY": secrets.token_urlsafe(40)}
    app = serve(["server.app:create_app", "--factory"], env, 8765)
    hello = serve(["tests.benchmarks.bench_pages:hello_factory", "--factory"], env, 8766)
    try:
        base = wrk("http://127.0.0.1:8766/", "", seconds)
        print(f"\nover HTTP (uvicorn, 1 worker, wrk -c8 {seconds}s)")
        print(f"{'page':<18}{'req/s':>9}{'vs hello':>10}")
        print(f"{'bare hello':<18}{base:>9.0f}{'100%':>10}")
        for name, path in paths.items():
            rps = wrk("http://127.0.0.1:8765" + path, cookie, seconds)
            print(f"{name:<18}{rps:>9.0f}{rps / base:>10.0%}")
    finally:
        app.terminate()
        hello.terminate()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--http", type=int, default=0, metavar="SECONDS",
                        help="also measure req/s over HTTP with wrk for this many seconds per page")
    parser.add_argument("--postgres", help="server URL; a scratch database is made and dropped")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.postgres:
            from tests.benchmarks.bench_demo_load import _admin

            name = f"bench_pages_{secrets.token_hex(3)}"
            asyncio.run(_admin(args.postgres, f'CREATE DATABASE "{name}"'))
            url = args.postgres.rsplit("/", 1)[0] + "/" + name
            try:
                upgrade(url)
                asyncio.run(load(url))
                asyncio.run(run(url, args.requests, tmp_path))
                if args.http:
                    run_http(url, tmp_path, args.http)
            finally:
                asyncio.run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            url = f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"
            upgrade(url)
            asyncio.run(load(url))
            asyncio.run(run(url, args.requests, tmp_path))
            if args.http:
                run_http(url, tmp_path, args.http)


if __name__ == "__main__":
    main()
