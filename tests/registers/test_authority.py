"""Authority follows the post: invites, phones, posts and handovers need authority over every post
the person holds (community staff cannot enrol a phone for a peer or an administrator)."""
from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa

from server.accounts import invites
from server.accounts.models import Device, Invite, Person, Post, Role
from server.db import make_sessionmaker
from server.grid.models import GridNode, Level
from tests.conftest import csrf_headers
from tests.registers.conftest import real_viewer


async def _person(engine, name: str, posts: list[tuple[GridNode, str, str | None]]) -> int:
    async with make_sessionmaker(engine)() as db:
        person = Person(name=name, phone=f"17{secrets.randbelow(10**9):09d}")
        db.add(person)
        await db.flush()
        for node, role, kind in posts:
            db.add(Post(person_id=person.id, node_id=node.id, node_path=node.path, role=role, post_kind=kind))
        await db.commit()
        return person.id


async def _microgrid_in(engine, community: GridNode) -> GridNode:
    async with make_sessionmaker(engine)() as db:
        return (await db.execute(
            sa.select(GridNode).where(GridNode.level == Level.microgrid, GridNode.path.startswith(community.path))
            .order_by(GridNode.path.desc()).limit(1))).scalar_one()


async def _device(engine, person_id: int) -> int:
    async with make_sessionmaker(engine)() as db:
        device = Device(person_id=person_id, kind="passkey", name="x", credential_id=secrets.token_urlsafe(16), public_key=b"-")
        db.add(device)
        await db.commit()
        return device.id


@pytest.fixture
async def cast(engine, people):
    mg_here = await _microgrid_in(engine, people.community)
    mg_there = await _microgrid_in(engine, people.other_community)
    street = (await _street(engine))
    return {
        "plain leader": await _person(engine, "只在本社区", [(mg_here, Role.leader, "B")]),
        "two communities": await _person(engine, "两个社区", [(mg_here, Role.leader, "B"), (mg_there, Role.leader, "B")]),
        "admin who leads here": await _person(engine, "兼任的管理员", [(street, Role.admin, None), (mg_here, Role.leader, "B")]),
        "peer": await _person(engine, "同事", [(people.community, Role.community, None)]),
        "mg_here": mg_here, "mg_there": mg_there,
    }


async def _street(engine) -> GridNode:
    async with make_sessionmaker(engine)() as db:
        return (await db.execute(sa.select(GridNode).where(GridNode.level == Level.street))).scalars().first()


EXPECTED = {
    # (who, whom): may the community secretary / the street admin invite, revoke, end?
    "plain leader": (True, True),
    "two communities": (False, True),
    "admin who leads here": (False, True),
    "peer": (False, True),
}


@pytest.mark.parametrize("whom", list(EXPECTED))
@pytest.mark.parametrize("who", ["community", "admin"])
async def test_an_invite_needs_authority_over_every_post(who, whom, client, engine, people, cast, signed_in_as):
    allowed = EXPECTED[whom][0 if who == "community" else 1]
    await signed_in_as(people.secretary if who == "community" else people.admin)
    async with make_sessionmaker(engine)() as db:
        post = (await db.execute(sa.select(Post).where(Post.person_id == cast[whom]).order_by(Post.id.desc()))).scalars().first()
        node = await db.get(GridNode, post.node_id)
    response = await client.post("/admin/invites", data={
        "person_id": str(cast[whom]), "role": post.role, "grid": node.code, "post_kind": post.post_kind or ""},
        headers=await csrf_headers(client))
    assert response.status_code == (200 if allowed else 403), response.text[:300]
    async with make_sessionmaker(engine)() as db:
        made = (await db.execute(sa.select(Invite).where(Invite.person_id == cast[whom]))).scalars().all()
    assert len(made) == (1 if allowed else 0)
    if allowed:
        assert made[0].post_id == post.id  # the invite names the one post it grants


@pytest.mark.parametrize("whom", list(EXPECTED))
@pytest.mark.parametrize("who", ["community", "admin"])
async def test_revoking_a_phone_needs_authority_over_every_post(who, whom, client, engine, people, cast, signed_in_as):
    allowed = EXPECTED[whom][0 if who == "community" else 1]
    device_id = await _device(engine, cast[whom])
    await signed_in_as(people.secretary if who == "community" else people.admin)
    response = await client.post(f"/admin/people/{cast[whom]}/devices/{device_id}/revoke",
                                  headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == (303 if allowed else 403)
    async with make_sessionmaker(engine)() as db:
        assert ((await db.get(Device, device_id)).revoked_at is not None) == allowed


@pytest.mark.parametrize("whom", list(EXPECTED))
@pytest.mark.parametrize("who", ["community", "admin"])
async def test_ending_a_post_needs_authority_over_every_post(who, whom, client, engine, people, cast, signed_in_as):
    allowed = EXPECTED[whom][0 if who == "community" else 1]
    async with make_sessionmaker(engine)() as db:
        post = (await db.execute(sa.select(Post).where(Post.person_id == cast[whom], Post.node_path.startswith(people.community.path))
                                 .order_by(Post.id.desc()))).scalars().first()
    await signed_in_as(people.secretary if who == "community" else people.admin)
    response = await client.post(f"/registers/posts/{post.id}/end", headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == (303 if allowed else 403)
    async with make_sessionmaker(engine)() as db:
        assert ((await db.get(Post, post.id)).ended_on is not None) == allowed


async def test_a_community_post_elsewhere_does_not_let_one_appoint_here(engine, people, cast):
    """Community staff of one community who also lead a micro-grid in another appoint only in their own."""
    mixed = await _person(engine, "混合岗位", [(people.community, Role.community, None), (cast["mg_there"], Role.leader, "B")])
    viewer = await real_viewer(engine, mixed)
    assert viewer.may_appoint(Role.leader, cast["mg_here"].path)
    assert not viewer.may_appoint(Role.leader, cast["mg_there"].path)
    assert viewer.sees_path(cast["mg_there"].path)  # they see it (their own micro-grid), but may not appoint there


async def test_an_ended_post_gives_no_scope_on_the_next_request(engine, people, cast):
    person_id = cast["two communities"]
    before = await real_viewer(engine, person_id)
    assert before.sees_path(cast["mg_there"].path)
    async with make_sessionmaker(engine)() as db:
        post = (await db.execute(sa.select(Post).where(Post.person_id == person_id, Post.node_id == cast["mg_there"].id))).scalar_one()
        admin = await real_viewer(engine, people.admin.id)
        from server.registers import edits
        assert await edits.end_post(db, admin, post) == {}
        await db.commit()
    after = await real_viewer(engine, person_id)
    assert not after.sees_path(cast["mg_there"].path)
    assert after.sees_path(cast["mg_here"].path)


async def test_an_invite_for_an_ended_post_no_longer_works(engine, people, cast):
    person_id = cast["plain leader"]
    async with make_sessionmaker(engine)() as db:
        person = await db.get(Person, person_id)
        post = (await db.execute(sa.select(Post).where(Post.person_id == person_id))).scalar_one()
        _invite, token = await invites.create_invite(db, person=person, role=post.role, node=cast["mg_here"],
                                                     post_kind=post.post_kind, created_by=None, hours=24)
        await db.commit()
        assert _invite.post_id == post.id
        from server.registers import edits
        assert await edits.end_post(db, await real_viewer(engine, people.admin.id), post) == {}
        await db.commit()
        with pytest.raises(invites.InviteProblem):
            await invites.find_invite(db, token)
