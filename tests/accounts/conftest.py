"""Accounts fixtures: invites, and phones (software authenticators) that enrol through them."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from server.accounts import invites
from server.accounts.models import Device, Person, Post, Role
from server.db import make_sessionmaker
from server.grid.models import GridNode
from tests.accounts.softkeys import SoftAuthenticator, SoftDeviceKey, b64url
from tests.conftest import csrf_headers

GOOD_PIN = "582914"


@pytest.fixture
def new_invite(engine, settings):
    """new_invite(person, node=None, role=None, hours=None) -> token; defaults to the person's first post."""

    async def _new_invite(person: Person, node: GridNode | None = None, role: str | None = None,
                          post_kind: str | None = None, hours: int | None = None) -> str:
        async with make_sessionmaker(engine)() as db:
            if node is None or role is None:
                post = (await db.execute(sa.select(Post).where(Post.person_id == person.id).order_by(Post.id))).scalars().first()
                node = node or await db.get(GridNode, post.node_id)
                role = role or post.role
                post_kind = post_kind or post.post_kind
            _, token = await invites.create_invite(db, person=person, role=role, node=node, post_kind=post_kind,
                                                   created_by=None, hours=hours or settings.invite_hours)
            await db.commit()
        return token

    return _new_invite


async def post_json(client, url: str, body: dict):
    return await client.post(url, json=body, headers={**(await csrf_headers(client)), "accept": "application/json"})


async def enrol_passkey(client, token: str, authenticator: SoftAuthenticator | None = None):
    authenticator = authenticator or SoftAuthenticator()
    options = await post_json(client, f"/api/invite/{token}/options", {"kind": "passkey"})
    assert options.status_code == 200, options.text
    response = await post_json(client, f"/api/invite/{token}/enrol",
                               {"kind": "passkey", "credential": authenticator.register(options.json()["publicKey"]),
                                "name": "测试手机"})
    return authenticator, response


async def enrol_device_key(client, token: str, pin: str = GOOD_PIN, key: SoftDeviceKey | None = None,
                           origin: str = "http://localhost:8000"):
    key = key or SoftDeviceKey()
    options = await post_json(client, f"/api/invite/{token}/options", {"kind": "device_key"})
    assert options.status_code == 200, options.text
    challenge = options.json()["challenge"]
    response = await post_json(client, f"/api/invite/{token}/enrol", {
        "kind": "device_key", "public_key": b64url(key.spki),
        "challenge": challenge, "signature": key.sign(f"weiwang:enrol_device_key:{origin}:{challenge}"),
        "pin": pin, "name": "华为手机"})
    return key, response


async def sign_in_passkey(client, authenticator: SoftAuthenticator, next_path: str = "/", **tamper):
    options = await post_json(client, "/api/signin/options", {"kind": "passkey"})
    assert options.status_code == 200, options.text
    credential = authenticator.assert_(options.json()["publicKey"], **tamper)
    return await post_json(client, "/api/signin", {"kind": "passkey", "credential": credential, "next": next_path})


async def sign_in_device_key(client, key: SoftDeviceKey, pin: str = GOOD_PIN, origin: str = "http://localhost:8000",
                             credential_id: str | None = None):
    options = await post_json(client, "/api/signin/options", {"kind": "device_key"})
    assert options.status_code == 200, options.text
    challenge = options.json()["challenge"]
    return await post_json(client, "/api/signin", {
        "kind": "device_key", "credential_id": credential_id or key.credential_id, "challenge": challenge,
        "signature": key.sign(f"weiwang:sign_in_device_key:{origin}:{challenge}"), "pin": pin, "next": "/"})


@pytest.fixture
async def fresh_leader(engine, people):
    """A new person with an A post on the leader's micro-grid: devices and lockouts stay private to a test."""
    async with make_sessionmaker(engine)() as db:
        person = Person(name="李春秀", phone="13912345678")
        db.add(person)
        await db.flush()
        db.add(Post(person_id=person.id, node_id=people.microgrid.id, node_path=people.microgrid.path,
                    role=Role.leader, post_kind="B", title="微网格长"))
        await db.commit()
        return person


async def devices_of(engine, person_id: int) -> list[Device]:
    async with make_sessionmaker(engine)() as db:
        return list((await db.execute(sa.select(Device).where(Device.person_id == person_id))).scalars())
