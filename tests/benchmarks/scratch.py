"""A scratch database for a benchmark: a private database on the PostgreSQL server named by
--postgres (created next to the one in its URL, dropped afterwards), else a SQLite file in a
folder of the caller's. Empty: the benchmark migrates or loads it its own way."""
from __future__ import annotations

import asyncio
import contextlib
import secrets
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

from server.db import make_engine


async def _admin(server_url: str, statement: str) -> None:
    engine = make_engine(server_url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    async with engine.connect() as conn:
        await conn.execute(sa.text(statement))
    await engine.dispose()


@contextlib.contextmanager
def scratch_database(postgres_url: str | None, folder: str | Path, prefix: str = "weiwang_bench") -> Iterator[str]:
    """Yields the scratch database's URL."""
    if not postgres_url:
        yield f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        return
    name = f"{prefix}_{secrets.token_hex(3)}"
    asyncio.run(_admin(postgres_url, f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_url.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
