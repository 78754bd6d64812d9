"""The pages at full demo scale against two references, in one run (issue 15).

    python tests/benchmarks/bench_pages.py [--requests 300] [--http 5] [--postgres URL] [--scale 1]
    python tests/benchmarks/bench_pages.py --database URL --http 0   # a city already loaded

References, measured in the same run as the pages:
- bare hello: a Litestar app rendering one Jinja template, no middleware, no database;
- hand-built: a Litestar route that does the micro-grid page's reads by hand with `sqlite3`
  in the event loop (the session lookup, the node and its trail, the households, the leaders)
  and renders a 40-row template, no middleware: the ceiling a plain hand-written page reaches
  on this machine (SQLite runs only).
Pages: the micro-grid page, a compound page, the street overview and page (street
administrator), a household page (the administrator), the worklist (the micro-grid's A
leader), the ledger (the community's secretary, default filters, 2,000 demo problems).

Two measures:
- server time: requests straight into the ASGI app (no sockets), every middleware on
  (session, CSRF, CSP, gzip, i18n); median and p95 wall time in ms, and the mean CPU time
  of the process per request (on a machine shared with other work the wall time mostly
  says how much of a core the process got; the CPU time much less so);
- over HTTP: uvicorn, one worker each, wrk -t1 -c8 for --http seconds per page (0: skip);
  req/s and the ratio to hello's req/s; and the server process's CPU ms per request (from
  /proc) with hello's CPU per request over it: the same ratio, free of how much of the
  machine the process got. Goal: >= 15% of hello, median server time <= 2 ms.
The street's two pages are also timed "cold": the per-process aggregate cache (server/cache.py)
emptied before each request. Their counts now come from grid_tally, kept on write, so cold and
warm should match; a gap would show a page leaning on the cache again. Budget: <= 200 ms at scale 100.
The machine is shared: compare ratios within one run, and run twice to see the noise.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import socket
import sqlite3
import subprocess
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from litestar import Litestar, get  # noqa: E402
from litestar.exceptions import NotAuthorizedException, NotFoundException  # noqa: E402
from litestar.params import Parameter  # noqa: E402
from litestar.response import Template  # noqa: E402
from litestar.plugins.jinja import JinjaTemplateEngine  # noqa: E402
from litestar.template.config import TemplateConfig  # noqa: E402

from server import cache as aggregate_cache  # noqa: E402
from server.accounts.models import Post, Role, current_post  # noqa: E402
from server.accounts.sessions import COOKIE_NAME, start_session  # noqa: E402
from server.app import create_app  # noqa: E402
from server.config import Settings  # noqa: E402
from server.db import make_engine, make_sessionmaker  # noqa: E402
from server.grid.demo import load_demo  # noqa: E402
from server.grid.models import GridNode, Household  # noqa: E402
from server.issues.demo import load_ledger_demo  # noqa: E402
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


async def measure(app, path: str, cookie: str, n: int, cold: bool = False) -> dict:
    """Median wall time and mean CPU time (this process, every thread) per request. `cold`: the
    aggregate cache (server/cache.py) emptied before each request, as a process finds it once a
    minute."""
    for _ in range(20):  # warm up caches and the connection pool
        _, status, _ = await call(app, path, cookie)
    assert status == 200, f"{path} answered {status}"
    times = []
    size = 0
    cpu_started = time.process_time()
    for _ in range(n):
        if cold:
            aggregate_cache.clear()
        seconds, status, size = await call(app, path, cookie)
        times.append(seconds)
    cpu = (time.process_time() - cpu_started) / n
    median = statistics.median(times)
    return {"median_ms": median * 1000, "p95_ms": sorted(times)[int(n * 0.95)] * 1000, "rps": 1 / median,
            "cpu_ms": cpu * 1000, "bytes": size}


HELLO = "<!doctype html><title>{{ title }}</title><p>{{ greeting }}</p>"

# The hand-built page: what the micro-grid page shows, as plain as it can be written.
REFERENCE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{ node.name }} · 微网</title>
<link rel="stylesheet" href="/static/css/app.css"></head><body><header class="topbar"><h1>{{ node.name }}</h1></header>
<main class="main"><nav class="breadcrumbs">{% for t in trail %}<a href="/grid/{{ t.code }}">{{ t.name }}</a> › {% endfor %}</nav>
<p class="leaders">{% for l in leaders %}<span class="leader">{{ "微网格长（A岗）" if l.post_kind == "A" else "B岗" }}：{{ l.name }}</span>{% endfor %}</p>
<p class="summary">{{ households|length }}户</p><ul class="list" id="households">{% for h in households %}
<li><a class="list-item" href="/households/{{ h.id }}"><span class="list-title">{{ h.address }} · {{ h.head_name }}</span>
<span class="list-sub">{{ h.phone[:3] }}****{{ h.phone[-4:] }} · {{ h.members }}人</span>{% if h.care_tags != "[]" %}<span class="list-tags">{{ h.care_tags }}</span>{% endif %}</a></li>
{% endfor %}</ul></main></body></html>"""

SESSION_SQL = """SELECT s.person_id, s.expires_at, s.revoked_at, p.name, p.active, d.revoked_at AS device_revoked_at,
    post.role, post.node_path FROM web_session s JOIN person p ON p.id = s.person_id
    LEFT JOIN device d ON d.id = s.device_id
    LEFT JOIN post ON post.person_id = s.person_id AND post.ended_on IS NULL WHERE s.id = ?"""


def hello_app(templates: Path, db_path: str | None = None) -> Litestar:
    """Bare hello at /, and with a SQLite file the hand-built micro-grid page at /ref/{code}."""
    (templates / "hello.html").write_text(HELLO)
    (templates / "reference.html").write_text(REFERENCE)

    @get("/")
    async def hello() -> Template:
        return Template(template_name="hello.html", context={"title": "hello", "greeting": "你好"})

    handlers = [hello]
    if db_path:
        # One read connection for the process, used from the event loop (no thread hop).
        conn = sqlite3.connect(db_path, check_same_thread=False)
        conn.row_factory = sqlite3.Row

        @get("/ref/{code:str}")
        async def reference(code: str, cookie: str | None = Parameter(cookie=COOKIE_NAME, default=None)) -> Template:
            posts = conn.execute(SESSION_SQL, (hashlib.sha256((cookie or "").encode()).hexdigest(),)).fetchall()
            now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            if not posts or posts[0]["revoked_at"] or posts[0]["device_revoked_at"] or not posts[0]["active"] \
                    or posts[0]["expires_at"] <= now:
                raise NotAuthorizedException()
            node = conn.execute("SELECT id, code, name, path, level, kind FROM grid_node WHERE code = ?", (code,)).fetchone()
            roots = [r["node_path"] for r in posts if r["role"] in ("admin", "community", "compound", "leader")]
            if node is None or not any(node["path"].startswith(root) for root in roots):
                raise NotFoundException()
            prefixes = [node["path"][:i] for i in range(8, len(node["path"]), 8)]
            trail = conn.execute(f"SELECT code, name FROM grid_node WHERE path IN ({','.join('?' * len(prefixes))}) "
                                 "ORDER BY depth", prefixes).fetchall()
            households = conn.execute(
                "SELECT id, address, head_name, phone, members, care_tags FROM household "
                "WHERE grid_path = ? AND microgrid_id = ? AND status = 'active' ORDER BY address, id",
                (node["path"], node["id"])).fetchall()
            leaders = conn.execute(
                "SELECT post.post_kind, person.name FROM post JOIN person ON person.id = post.person_id "
                "WHERE post.node_id = ? AND post.role = 'leader' AND post.ended_on IS NULL ORDER BY post.post_kind",
                (node["id"],)).fetchall()
            return Template(template_name="reference.html",
                            context={"node": node, "trail": trail, "households": households, "leaders": leaders})

        handlers.append(reference)
    return Litestar(handlers, template_config=TemplateConfig(directory=templates, engine=JinjaTemplateEngine))


async def prepare(url: str) -> tuple[dict[str, str], dict[str, tuple[str, str]], str]:
    """Session cookies (street admin, a micro-grid's A leader, its community's secretary) and the pages."""
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as db:
        # A residential micro-grid with about 40 households (the hand-built page's 40 rows).
        size = sa.func.count(Household.id)
        microgrid = (await db.execute(
            sa.select(GridNode).join(Household, Household.microgrid_id == GridNode.id)
            .join(Post, sa.and_(Post.node_id == GridNode.id, Post.role == Role.leader, Post.post_kind == "A", current_post()))
            .where(GridNode.level == "microgrid", GridNode.kind == "residential")
            .group_by(GridNode.id).order_by(sa.func.abs(size - 40), GridNode.id).limit(1)
        )).scalars().first()
        compound = (await db.execute(
            sa.select(GridNode).where(GridNode.level == "compound", GridNode.kind == "residential").order_by(GridNode.id)
        )).scalars().first()
        household_id = (await db.execute(
            sa.select(Household.id).where(Household.microgrid_id == microgrid.id).order_by(Household.id)
        )).scalars().first()
        community_path = microgrid.path[:16]
        people = {
            "admin": (await db.execute(sa.select(Post.person_id).where(Post.role == Role.admin))).scalars().first(),
            "leader": (await db.execute(sa.select(Post.person_id).where(
                Post.node_id == microgrid.id, Post.role == Role.leader, Post.post_kind == "A", current_post()))).scalars().first(),
            "community": (await db.execute(sa.select(Post.person_id).where(
                Post.node_path == community_path, Post.role == Role.community, current_post()))).scalars().first(),
        }
        cookies = {}
        for who, person_id in people.items():
            cookies[who] = f"{COOKIE_NAME}={await start_session(db, person_id, None, days=30)}"
        await db.commit()
    await engine.dispose()
    return cookies, {
        "micro-grid page": ("admin", f"/grid/{microgrid.code}"),
        "household page": ("admin", f"/households/{household_id}"),
        "worklist": ("leader", "/worklist/"),
        "ledger": ("community", "/issues/"),
        "compound page": ("admin", f"/grid/{compound.code}"),
        "street overview": ("admin", "/grid/JY/overview"),
        "street page": ("admin", "/grid/JY"),
    }, microgrid.code


async def load(url: str, scale: float = 1.0) -> None:
    engine = make_engine(url)
    started = time.perf_counter()
    await load_demo(engine, seed=1, scale=scale, progress=False)
    async with engine.begin() as conn:
        await load_ledger_demo(conn, issues=2000, events=10000, seed=1)  # as `weiwang up`
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"))
    print(f"demo street (scale {scale:g}) and 2,000 problems loaded in {time.perf_counter() - started:.1f} s")
    await engine.dispose()


def _row(name: str, result: dict | None, base: dict | None, rate: tuple | None = None, base_rate: tuple | None = None) -> str:
    cells = [f"{name:<18}"]
    if result:
        cells.append(f"{result['median_ms']:>9.2f}{result['p95_ms']:>8.2f}{result['cpu_ms']:>8.2f}"
                     f"{result['rps']:>8.0f}{result['rps'] / base['rps']:>7.1%}")
    else:
        cells.append(f"{'-':>9}{'-':>8}{'-':>8}{'-':>8}{'-':>7}")
    if rate is not None:
        cells.append(f"{rate[0]:>10.0f}{rate[0] / base_rate[0]:>8.1%}{rate[1]:>9.2f}{base_rate[1] / rate[1]:>8.1%}")
    return "".join(cells)


async def server_times(url: str, n: int, tmp: Path, cookies: dict, pages: dict, code: str, db_path: str | None) -> dict:
    """Median server time of each page, in-process (no sockets)."""
    settings = Settings(database_url=url, secret_key=secrets.token_urlsafe(40), base_url="http://localhost:8000", var_dir=tmp)
    app = create_app(settings)
    hello = hello_app(tmp, db_path)
    results = {}
    async with app.lifespan(), hello.lifespan():
        results["bare hello"] = await measure(hello, "/", "", n)
        if db_path:
            results["hand-built"] = await measure(hello, f"/ref/{code}", cookies["admin"], n)
        for name, (who, path) in pages.items():
            results[name] = await measure(app, path, cookies[who], n)
        for name in ("street overview", "street page"):
            who, path = pages[name]
            results[f"{name} cold"] = await measure(app, path, cookies[who], max(5, n // 15), cold=True)
    return results


def hello_factory() -> Litestar:
    """For uvicorn --factory in the HTTP run (BENCH_SQLITE: the database of the hand-built page)."""
    folder = Path(tempfile.mkdtemp())
    return hello_app(folder, os.environ.get("BENCH_SQLITE") or None)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, cookie: str, seconds: int, pid: int) -> tuple[float, float]:
    """(requests per second, the server's CPU ms per request) under wrk -t1 -c8."""
    cpu_before = cpu_seconds(pid)
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", "-H", f"Cookie: {cookie}",
                          "-H", "Accept-Encoding: gzip", url], capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - cpu_before
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert not non_2xx, f"{url}: {non_2xx.group(0)}"
    done = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), cpu / max(done, 1) * 1000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(args: list[str], env: dict) -> tuple[subprocess.Popen, int]:
    """A uvicorn process on a free port of 127.0.0.1 (a busy machine may take a while to import the app)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", *args, "--host", "127.0.0.1", "--port", str(port),
                                "--log-level", "warning"], env=env, cwd=ROOT)
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn {args[0]} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, port
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("server did not start")


def http_rates(url: str, tmp: Path, seconds: int, cookies: dict, pages: dict, code: str, db_path: str | None) -> dict:
    """Requests per second over real HTTP (uvicorn, one worker each), measured with wrk."""
    env = {**os.environ, "WEIWANG_DATABASE_URL": url, "WEIWANG_VAR_DIR": str(tmp),
           "WEIWANG_SECRET_KEY": secrets.token_urlsafe(40), "BENCH_SQLITE": db_path or ""}
    app, app_port = serve(["server.app:create_app", "--factory"], env)
    try:
        hello, hello_port = serve(["tests.benchmarks.bench_pages:hello_factory", "--factory"], env)
    except BaseException:
        app.terminate()
        raise
    rates = {}
    try:
        rates["bare hello"] = wrk(f"http://127.0.0.1:{hello_port}/", "", seconds, hello.pid)
        if db_path:
            rates["hand-built"] = wrk(f"http://127.0.0.1:{hello_port}/ref/{code}", cookies["admin"], seconds, hello.pid)
        for name, (who, path) in pages.items():
            rates[name] = wrk(f"http://127.0.0.1:{app_port}" + path, cookies[who], seconds, app.pid)
    finally:
        app.terminate()
        hello.terminate()
        app.wait()
        hello.wait()
    return rates


def run(url: str, n: int, seconds: int, tmp: Path, db_path: str | None) -> None:
    cookies, pages, code = asyncio.run(prepare(url))
    times = asyncio.run(server_times(url, n, tmp, cookies, pages, code, db_path))
    print("server times measured", flush=True)
    rates = http_rates(url, tmp, seconds, cookies, pages, code, db_path) if seconds else {}
    base = times["bare hello"]
    print(f"\n{url.split('://')[0]}; server time: in-process, {n} requests each; HTTP: uvicorn 1 worker, wrk -t1 -c8 {seconds}s")
    print(f"{'page':<18}{'median':>9}{'p95':>8}{'CPU':>8}{'req/s':>8}{'ratio':>7}" + (f"{'HTTP r/s':>10}{'ratio':>8}{'CPU/req':>9}{'ratio':>8}" if rates else ""))
    for name, result in times.items():
        print(_row(name, result, base, rates.get(name), rates.get("bare hello")))
    if "hand-built" in times:
        worst = max(times[name]["median_ms"] for name in ("micro-grid page", "household page", "worklist", "ledger"))
        print(f"\nslowest of the four pages: {worst:.2f} ms median (goal <= 2 ms); hand-built {times['hand-built']['median_ms']:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--http", type=int, default=5, metavar="SECONDS",
                        help="measure req/s over HTTP with wrk for this many seconds per page (0: skip)")
    parser.add_argument("--postgres", help="server URL; a scratch database is made and dropped")
    parser.add_argument("--keep", help="a SQLite file to reuse between runs (loaded once)")
    parser.add_argument("--database", help="a PostgreSQL database with the demo already loaded (weiwang demo "
                                           "--scale N): measured as it is, kept afterwards")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="demo scale: 100 is a city (5.47 M households; with --postgres), its pages against scale 1's")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.database:
            run(args.database, args.requests, args.http, tmp_path, None)
        elif args.postgres:
            from tests.benchmarks.scratch import scratch_database

            with scratch_database(args.postgres, tmp_path, "bench_pages") as url:
                upgrade(url)
                asyncio.run(load(url, args.scale))
                run(url, args.requests, args.http, tmp_path, None)
        else:
            db_path = args.keep or str(tmp_path / "bench.db")
            url = f"sqlite+aiosqlite:///{db_path}"
            fresh = not Path(db_path).exists()
            upgrade(url)
            if fresh:
                asyncio.run(load(url, args.scale))
            run(url, args.requests, args.http, tmp_path, db_path)


if __name__ == "__main__":
    main()
