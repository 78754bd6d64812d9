"""Server time of the grid pages at full demo scale, against a bare Litestar+Jinja page.

    python tests/benchmarks/bench_pages.py [--requests 300] [--postgres URL]

Requests go straight into the ASGI app (no sockets, no HTTP client), so the time is the
server's own: routing, middleware (session lookup, CSRF, CSP, gzip), queries, template.
The "hello" app is a bare Litestar app rendering one Jinja template, measured the same way
in the same run; requests/second ratio = hello median / page median.
Budgets (issue 2): each page's median ≤ 10 ms; ratio goal ≥ 50%.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

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


async def run(url: str, n: int, tmp: Path) -> None:
    engine = make_engine(url)
    started = time.perf_counter()
    await load_demo(engine, seed=1, scale=1.0, progress=False)
    print(f"demo street loaded in {time.perf_counter() - started:.1f} s")

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

    settings = Settings(database_url=url, secret_key=secrets.token_urlsafe(40), base_url="http://localhost:8000", var_dir=tmp)
    app = create_app(settings)
    hello = hello_app(tmp)
    cookie = f"{COOKIE_NAME}={token}"
    pages = {
        "micro-grid page": f"/grid/{microgrid.code}",
        "compound page": f"/grid/{compound.code}",
        "street overview": "/grid/JY/overview",
        "street page": "/grid/JY",
    }
    async with app.lifespan(), hello.lifespan():
        base = await measure(hello, "/", "", n)
        print(f"\n{'page':<18}{'median ms':>10}{'p95 ms':>9}{'req/s':>9}{'vs hello':>10}{'bytes gz':>10}")
        print(f"{'bare hello':<18}{base['median_ms']:>10.2f}{base['p95_ms']:>9.2f}{base['rps']:>9.0f}{'100%':>10}{base['bytes']:>10}")
        for name, path in pages.items():
            result = await measure(app, path, cookie, n)
            ratio = result["rps"] / base["rps"]
            print(f"{name:<18}{result['median_ms']:>10.2f}{result['p95_ms']:>9.2f}{result['rps']:>9.0f}{ratio:>10.0%}{result['bytes']:>10}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
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
                asyncio.run(run(url, args.requests, tmp_path))
            finally:
                asyncio.run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            url = f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"
            upgrade(url)
            asyncio.run(run(url, args.requests, tmp_path))


if __name__ == "__main__":
    main()
