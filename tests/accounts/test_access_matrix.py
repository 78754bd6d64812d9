"""Walks every registered route for every role, inside and outside their part of the grid."""
from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.accounts import invites
from server.accounts.models import Device, Person, Post, Role
from server.app import create_app
from server.config import Settings
from server.db import make_sessionmaker
from server.grid.models import GridNode, Household, Level
from tests.accounts.access_matrix import ROLES, SIGNIN, all_entries
from tests.conftest import csrf_headers, sign_in

# Not routes of ours: files, and the HEAD/OPTIONS answers Litestar adds to every path.
SKIPPED_PATHS = ("/static/",)
SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def registered_routes() -> list[tuple[str, str]]:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:", secret_key="k" * 40,
                              base_url="http://localhost:8000", var_dir=Path("/tmp")))
    found = set()
    for route in app.routes:
        if route.path.startswith(SKIPPED_PATHS) or not hasattr(route, "methods"):
            continue
        for method in route.methods - SKIPPED_METHODS:
            found.add((method, route.path))
    return sorted(found, key=lambda k: (k[1], k[0]))


ROUTES = registered_routes()


class Env:
    """The objects the matrix points at, and factories for the ones a request uses up."""

    def __init__(self, engine, people, compound_staff, outside_microgrid):
        self.engine = engine
        self.people = people
        self.compound_staff = compound_staff
        self.outside = outside_microgrid
        self._households: dict[str, int] = {}

    def person_of(self, role: str) -> Person | None:
        return {"visitor": None, "leader": self.people.leader, "compound": self.compound_staff,
                "community": self.people.secretary, "admin": self.people.admin,
                "property": self.people.property_staff}[role]

    def microgrid(self, where: str) -> GridNode:
        return self.people.microgrid if where == "inside" else self.outside

    async def household_id(self, where: str) -> int:
        if where not in self._households:
            async with make_sessionmaker(self.engine)() as db:
                self._households[where] = (await db.execute(
                    sa.select(Household.id).where(Household.microgrid_id == self.microgrid(where).id).limit(1)
                )).scalar_one()
        return self._households[where]

    async def new_person_in(self, node: GridNode) -> int:
        async with make_sessionmaker(self.engine)() as db:
            person = Person(name="矩阵测试")
            db.add(person)
            await db.flush()
            db.add(Post(person_id=person.id, node_id=node.id, node_path=node.path, role=Role.leader, post_kind="B"))
            await db.commit()
            return person.id

    async def new_device(self, person_id: int) -> int:
        async with make_sessionmaker(self.engine)() as db:
            device = Device(person_id=person_id, kind="passkey", name="matrix", credential_id=secrets.token_urlsafe(16),
                            public_key=b"-")
            db.add(device)
            await db.commit()
            return device.id

    async def invite_token(self) -> str:
        async with make_sessionmaker(self.engine)() as db:
            person = await db.get(Person, self.people.leader.id)
            _, token = await invites.create_invite(db, person=person, role=Role.leader, node=self.people.microgrid,
                                                   post_kind="A", created_by=None, hours=1)
            await db.commit()
            return token


@pytest.fixture
async def env(engine, people):
    async with make_sessionmaker(engine)() as db:
        compound_path = people.microgrid.path[:24]
        compound_staff = (await db.execute(
            sa.select(Person).join(Post, Post.person_id == Person.id)
            .where(Post.role == Role.compound, Post.node_path == compound_path).order_by(Person.id)
        )).scalars().first()
        outside = (await db.execute(
            sa.select(GridNode).join(Household, Household.microgrid_id == GridNode.id)
            .where(GridNode.level == Level.microgrid, GridNode.path.startswith(people.other_community.path))
            .order_by(GridNode.path).limit(1)
        )).scalars().first()
    assert compound_staff is not None and outside is not None
    return Env(engine, people, compound_staff, outside)


def answer_of(response) -> object:
    if response.status_code in (302, 303) and (
        response.headers.get("location", "").startswith("/signin?next=") or response.headers.get("location") == "/signin"
    ):
        return SIGNIN
    if response.status_code == 204 and response.headers.get("hx-redirect", "").startswith("/signin"):
        return SIGNIN
    if response.status_code == 401 and response.headers.get("content-type", "").startswith("application/json"):
        if response.json().get("detail") == "signed_out":  # the guard's answer to a JSON client
            return SIGNIN
    return response.status_code


def test_it_has_an_entry_for_every_registered_route():
    entries = all_entries()
    missing = [f"{method} {path}" for method, path in ROUTES if (method, path) not in entries]
    assert not missing, (
        "routes with no entry in the access matrix (add them to tests/<area>/access.py, "
        "see tests/accounts/access_matrix.py):\n  " + "\n  ".join(missing)
    )
    stale = [f"{m} {p}" for m, p in entries if (m, p) not in ROUTES]
    assert not stale, "access matrix entries for routes that no longer exist:\n  " + "\n  ".join(stale)


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
async def test_it_answers_each_role_as_the_matrix_says(method, path, client, engine, env):
    entry = all_entries().get((method, path))
    if entry is None:
        pytest.fail(f"{method} {path} has no entry in the access matrix")
    wrong = []
    for role in ROLES:
        for index, where in enumerate(("inside", "outside")):
            client.cookies.clear()
            person = env.person_of(role)
            if person is not None:
                await sign_in(client, engine, person)
            call = await entry.build(env, where, role)
            headers = {**(await csrf_headers(client)), **call.headers}
            if path.startswith("/api/"):
                headers.setdefault("accept", "application/json")
            response = await client.request(method, call.url, data=call.data, json=call.json, headers=headers,
                                            follow_redirects=False)
            got = answer_of(response)
            if got != entry.answers[role][index]:
                wrong.append(f"{role} {where} {call.url}: expected {entry.answers[role][index]}, got {got}")
    assert not wrong, f"{method} {path}:\n  " + "\n  ".join(wrong)
