"""Handing a micro-grid over: the new leader has it at once, the old leader's phones lose it,
their records stay theirs."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from server.accounts.models import Post, Role
from server.db import make_sessionmaker
from server.grid.models import Household
from server.visits import queries as visit_queries
from server.visits.models import Visit
from tests.conftest import csrf_headers
from tests.registers.conftest import real_viewer


async def test_community_staff_hand_a_microgrid_over(client, engine, people, own_community, signed_in_as):
    c = own_community
    async with make_sessionmaker(engine)() as db:
        household = (await db.execute(sa.select(Household).where(Household.microgrid_id == c.mg1.id).limit(1))).scalar_one()
        now = datetime.now(timezone.utc)
        db.add(Visit(id=uuid.uuid4(), household_id=household.id, grid_path=household.grid_path, person_id=c.leader1,
                     kind="routine", visited_at=now, received_at=now))
        await db.commit()
    old_before = await real_viewer(engine, c.leader1)
    assert old_before.sees_path(c.mg1.path)
    secretary = await db_person(engine, c.secretary)
    await signed_in_as(secretary)
    page = await client.get(f"/registers/grid/{c.mg1.code}/handover")
    assert page.status_code == 200 and "立即交接" in page.text
    response = await client.post(f"/registers/grid/{c.mg1.code}/handover", data={
        "post_kind": "A", "person_id": str(c.leader2)}, headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == 303, response.text[:500]

    old_after = await real_viewer(engine, c.leader1)
    new_after = await real_viewer(engine, c.leader2)
    assert not old_after.sees_path(c.mg1.path)
    assert new_after.sees_path(c.mg1.path)
    async with make_sessionmaker(engine)() as db:
        worklist = await visit_queries.worklist(db, new_after)
        assert c.mg1.id in {m.id for m in worklist.microgrids}
        assert (await db.execute(sa.select(sa.func.count()).select_from(Visit).where(Visit.person_id == c.leader1))).scalar_one() == 1
        posts = (await db.execute(sa.select(Post).where(Post.node_id == c.mg1.id, Post.role == Role.leader)
                                  .order_by(Post.id))).scalars().all()
        assert \
            [(p.person_id, p.ended_on is not None) for p in posts] == [(c.leader1, True), (c.leader2, False)]
        assert posts[-1].started_on is not None
        entries = (await db.execute(sa.text(
            "SELECT count(*) FROM audit_entry WHERE action = 'registers_handover' AND object_id = :id"), {"id": str(c.mg1.id)})).scalar_one()
        assert entries == 1


async def test_a_handover_to_a_new_person_and_errors_keep_the_input(client, engine, own_community, signed_in_as):
    c = own_community
    await signed_in_as(await db_person(engine, c.secretary))
    bad = await client.post(f"/registers/grid/{c.mg2.code}/handover", data={"post_kind": "A", "name": "新来的", "phone": "123"},
                            headers=await csrf_headers(client))
    assert bad.status_code == 422 and "请输入11位手机号" in bad.text and 'value="新来的"' in bad.text
    good = await client.post(f"/registers/grid/{c.mg2.code}/handover", data={"post_kind": "A", "name": "新来的", "phone": "13712340000"},
                             headers=await csrf_headers(client), follow_redirects=False)
    assert good.status_code == 303
    async with make_sessionmaker(engine)() as db:
        holder = (await db.execute(sa.text(
            "SELECT person.name FROM post JOIN person ON person.id = post.person_id "
            "WHERE post.node_id = :n AND post.post_kind = 'A' AND post.ended_on IS NULL"), {"n": c.mg2.id})).scalars().all()
    assert holder == ["新来的"]


async def test_a_leader_may_not_hand_over(client, engine, own_community, signed_in_as):
    c = own_community
    await signed_in_as(await db_person(engine, c.leader1))
    response = await client.post(f"/registers/grid/{c.mg1.code}/handover", data={"post_kind": "A", "person_id": str(c.leader2)},
                                 headers=await csrf_headers(client))
    assert response.status_code == 403


async def db_person(engine, person_id: int):
    from server.accounts.models import Person

    async with make_sessionmaker(engine)() as db:
        return await db.get(Person, person_id)
