"""Registers fixtures: a private empty database (round trips), a small street of one's own
(tests that move, retire or hand over must not disturb the shared demo street), workbooks."""
from __future__ import annotations

import io
import os
from contextlib import asynccontextmanager
import secrets
import uuid

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from server.accounts.models import Person, Post, Role
from server.accounts.scope import Viewer
from server.accounts.sessions import load_viewer, start_session
from server.db import make_engine, make_sessionmaker
from server.grid.models import GridNode, Household, Level
from server.migrate import upgrade
from server.registers import sheets
from server.tree import child_path
from tests.conftest import BACKEND, _admin_execute, _postgres_server_url


@asynccontextmanager
async def empty_database(tmp_path, label: str = "empty"):
    """A migrated database with nothing in it, on the backend under test; dropped afterwards."""
    import asyncio

    if BACKEND == "postgresql":
        server_url = _postgres_server_url()
        name = f"weiwang_{label}_{os.getpid()}_{secrets.token_hex(3)}"
        await _admin_execute(server_url, f'CREATE DATABASE "{name}"')
        url = server_url.rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / (label + '.db')}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()
        if BACKEND == "postgresql":
            await _admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def empty_engine(tmp_path):
    async with empty_database(tmp_path) as engine:
        yield engine


async def real_viewer(engine, person_id: int) -> Viewer:
    """The Viewer the app itself would load for this person's next request."""
    async with make_sessionmaker(engine)() as db:
        token = await start_session(db, person_id, None, days=30)
        await db.commit()
        viewer = await load_viewer(db, token, 30)
    assert viewer is not None
    return viewer


def workbook(**sheets_rows: list[list]) -> bytes:
    """A workbook whose sheets (by kind: grid, households, people, posts, companies) hold these rows
    under the template's headers."""
    book = Workbook()
    book.remove(book.active)
    for sheet in sheets.SHEETS:
        if sheet.kind in sheets_rows:
            ws = book.create_sheet(sheet.title)
            ws.append(sheet.headers)
            for row in sheets_rows[sheet.kind]:
                ws.append(row)
                for cell in ws[ws.max_row]:
                    if isinstance(cell.value, str) and cell.value.startswith("="):
                        cell.data_type = "s"  # typed as text ('=...), not a formula
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class Street:
    """A small community of its own under the demo street: one compound, two micro-grids with
    households and A-post leaders, a community secretary."""

    def __init__(self, prefix: str, ids: dict):
        self.prefix = prefix
        self.__dict__.update(ids)


@pytest.fixture
async def own_community(engine, demo):
    """Made fresh for each test that changes the tree, with unique codes and phones."""
    tag = uuid.uuid4().hex[:6].upper()
    async with make_sessionmaker(engine)() as db:
        street = (await db.execute(sa.select(GridNode).where(GridNode.level == Level.street))).scalars().first()

        async def node(parent, level, code, name, kind=None):
            n = GridNode(parent_id=parent.id, level=level, kind=kind, code=code, name=name, path="!" + code,
                         depth=parent.depth + 1)
            db.add(n)
            await db.flush()
            n.path = child_path(parent.path, n.id)
            await db.flush()
            return n

        community = await node(street, Level.community, f"T{tag}", f"测试社区{tag}")
        compound = await node(community, Level.compound, f"T{tag}-001", "测试小区", "residential")
        other = await node(community, Level.compound, f"T{tag}-002", "另一小区", "residential")
        mg1 = await node(compound, Level.microgrid, f"T{tag}-001-01", "1号微网格", "residential")
        mg2 = await node(compound, Level.microgrid, f"T{tag}-001-02", "2号微网格", "residential")
        people = {}
        for key, role, at, kind, title in (("secretary", Role.community, community, None, "社区党委书记"),
                                           ("leader1", Role.leader, mg1, "A", "微网格长"),
                                           ("leader2", Role.leader, mg2, "A", "微网格长")):
            person = Person(name=f"{key}{tag}", phone=f"19{secrets.randbelow(10**9):09d}")
            db.add(person)
            await db.flush()
            db.add(Post(person_id=person.id, node_id=at.id, node_path=at.path, role=role, post_kind=kind, title=title))
            people[key] = person.id
        for i, mg in enumerate((mg1, mg1, mg2)):
            db.add(Household(microgrid_id=mg.id, grid_path=mg.path, address=f"{i + 1}号", head_name=f"住户{i}",
                             phone="13800000000", members=2))
        await db.commit()
        return Street(f"T{tag}", {"street": street, "community": community, "compound": compound, "other": other,
                                  "mg1": mg1, "mg2": mg2, **people})
