"""Shared fixtures: one migrated database per run (SQLite or PostgreSQL), the demo street
at scale 0.1, a few named people, and an in-process client that signs in as them.

`WEIWANG_TEST_BACKEND=postgresql` runs the same suite on PostgreSQL: a fresh database is
created on the server named by WEIWANG_TEST_DATABASE_URL and dropped afterwards, so
parallel runs never share data.
"""
from __future__ import annotations

import asyncio
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from litestar.testing import AsyncTestClient

from server.accounts.models import Person, Post, Role
from server.accounts.sessions import COOKIE_NAME, start_session
from server.app import create_app
from server.config import Settings
from server.db import make_engine, make_sessionmaker
from server.grid.models import GridNode, Level
from server.migrate import upgrade

BACKEND = os.environ.get("WEIWANG_TEST_BACKEND", "sqlite")


def _postgres_server_url() -> str:
    url = os.environ.get("WEIWANG_TEST_DATABASE_URL")
    if not url:
        pytest.exit("WEIWANG_TEST_BACKEND=postgresql needs WEIWANG_TEST_DATABASE_URL", returncode=2)
    return url


async def _admin_execute(server_url: str, statement: str) -> None:
    engine = make_engine(server_url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    async with engine.connect() as conn:
        await conn.execute(sa.text(statement))
    await engine.dispose()


@contextmanager
def scratch_database(tmp_path_factory, name: str):
    """An empty, migrated database of the backend under test: a file on SQLite, a private
    database on the PostgreSQL server (dropped afterwards). Yields its URL."""
    if BACKEND == "postgresql":
        server_url = _postgres_server_url()
        db_name = f"weiwang_{name}_{os.getpid()}_{secrets.token_hex(3)}"
        asyncio.run(_admin_execute(server_url, f'CREATE DATABASE "{db_name}"'))
        url = server_url.rsplit("/", 1)[0] + "/" + db_name
        try:
            upgrade(url)
            yield url
        finally:
            asyncio.run(_admin_execute(server_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp(name) / 'test.db'}"
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    with scratch_database(tmp_path_factory, "test") as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url, tmp_path_factory) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-" + "x" * 32,
        base_url="http://localhost:8000",
        var_dir=Path(tmp_path_factory.mktemp("var")),
    )


@pytest.fixture(scope="session", autouse=True)
def _sync_types():
    """The record types /api/sync accepts, as create_app installs them (some tests store records directly)."""
    from server.app import AFTER_SYNC, SYNC_TYPES
    from server.sync import registry

    registry.install(SYNC_TYPES, AFTER_SYNC)


@pytest.fixture(scope="session")
async def engine(settings):
    engine = make_engine(settings.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def demo(engine):
    """The demo street at scale 0.1, loaded once per run."""
    from server.grid.demo import load_demo_into

    return await load_demo_into(engine, seed=1, scale=0.1, progress=False)


@pytest.fixture
async def db(engine, demo):
    async with make_sessionmaker(engine)() as session:
        yield session


@dataclass
class People:
    """The cast of the access tests."""

    leader: Person  # A-post leader of `microgrid`
    microgrid: GridNode
    neighbour: Person  # A-post leader of a micro-grid in another compound of the same community
    neighbour_microgrid: GridNode
    secretary: Person  # community staff of the leader's community
    community: GridNode
    other_secretary: Person  # community staff of another community
    other_community: GridNode
    admin: Person  # street administrator
    property_staff: Person


async def _first(db, stmt):
    return (await db.execute(stmt)).first()


@pytest.fixture(scope="session")
async def people(engine, demo) -> People:
    async with make_sessionmaker(engine)() as db:
        leader_rows = (
            await db.execute(
                sa.select(Person, GridNode)
                .join(Post, Post.person_id == Person.id)
                .join(GridNode, GridNode.id == Post.node_id)
                .where(Post.role == Role.leader, Post.post_kind == "A", GridNode.kind == "residential")
                .order_by(GridNode.path)
            )
        ).all()
        leader, microgrid = leader_rows[0]
        community_path = microgrid.path[:16]
        compound_path = microgrid.path[:24]
        neighbour, neighbour_mg = next(
            (p, mg) for p, mg in leader_rows if mg.path.startswith(community_path) and not mg.path.startswith(compound_path)
        )

        async def staff_of(role: str, path_clause):
            row = await _first(db, sa.select(Person, GridNode).join(Post, Post.person_id == Person.id)
                               .join(GridNode, GridNode.id == Post.node_id).where(Post.role == role, path_clause)
                               .order_by(Person.id))
            return row

        secretary, community = await staff_of(Role.community, GridNode.path == community_path)
        other_secretary, other_community = await staff_of(Role.community, GridNode.path != community_path)
        admin, _ = await staff_of(Role.admin, GridNode.level == Level.street)
        property_staff, _ = await staff_of(Role.property, sa.true())
        return People(leader, microgrid, neighbour, neighbour_mg, secretary, community,
                      other_secretary, other_community, admin, property_staff)


@pytest.fixture(scope="session")
def _the_app(settings):
    return create_app(settings)


@pytest.fixture
async def app(_the_app, settings, demo):
    """The app, built once per run: registering Litestar's 400-odd routes costs ~0.6 s, which
    per test was half the suite's time. Each test still gets what a fresh app would have: its
    own state (a test may swap the settings), empty memory stores (rate limits) and the sync
    types; the lifespan (engine, notification worker) runs per client as before."""
    from litestar.datastructures import State
    from litestar.stores.registry import StoreRegistry

    from server.app import AFTER_SYNC, OFFLINE_PAGES, SYNC_TYPES
    from server.sync import registry

    registry.install(SYNC_TYPES, AFTER_SYNC)
    _the_app.state = State({"settings": settings, "offline_pages": OFFLINE_PAGES})
    _the_app.stores = StoreRegistry()
    return _the_app


@pytest.fixture
async def client(app):
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        yield client


async def sign_in(client: AsyncTestClient, engine, person: Person, device_id: int | None = None) -> str:
    """Start a session for `person` straight in the database (the enrolment flows have their own tests)."""
    async with make_sessionmaker(engine)() as db:
        token = await start_session(db, person.id, device_id, days=30)
        await db.commit()
    client.cookies.set(COOKIE_NAME, token)
    # The CSRF token is tied to the session (server/csrf.py): the next csrf_headers() gets a new one.
    client.cookies.delete("csrftoken")
    return token


async def csrf_headers(client: AsyncTestClient) -> dict[str, str]:
    """A CSRF token as a browser would hold it: from the cookie a page set."""
    if "csrftoken" not in client.cookies:
        await client.get("/static/js/app.js")
        await client.get("/lang-probe-for-csrf")
    token = client.cookies.get("csrftoken")
    assert token, "no csrftoken cookie was set"
    return {"x-csrftoken": token}


@pytest.fixture
def signed_in_as(client, engine):
    async def _sign_in(person: Person, device_id: int | None = None) -> AsyncTestClient:
        await sign_in(client, engine, person, device_id)
        return client

    return _sign_in


@pytest.fixture(autouse=True)
def _fresh_aggregate_cache():
    """Counts are cached a minute in the app; each test starts without them."""
    from server import cache

    cache.clear()
    yield
    cache.clear()
