"""Leaders propose household changes from the field (sync type household_change); community staff
approve or reject; approval applies it and a household that moved out leaves the worklist."""
from __future__ import annotations

import sqlalchemy as sa

from server.accounts.models import AuditEntry, Person
from server.db import make_sessionmaker
from server.grid.models import Household, HouseholdStatus
from server.registers.models import HouseholdChange
from server.visits import queries as visit_queries
from tests.conftest import csrf_headers
from tests.registers.conftest import real_viewer
from tests.sync.helpers import post_sync, record


async def _person(engine, person_id):
    async with make_sessionmaker(engine)() as db:
        return await db.get(Person, person_id)


async def _households(engine, microgrid_id):
    async with make_sessionmaker(engine)() as db:
        return list((await db.execute(sa.select(Household).where(Household.microgrid_id == microgrid_id)
                                      .order_by(Household.id))).scalars())


async def test_a_moved_out_proposal_synced_and_approved_leaves_the_worklist(client, engine, own_community, signed_in_as):
    c = own_community
    household = (await _households(engine, c.mg1.id))[0]
    await signed_in_as(await _person(engine, c.leader1))
    proposal = record("household_change", {"kind": "moved_out", "household_id": household.id, "note": "搬去成都"})
    response = await post_sync(client, [proposal])
    assert response.json()["results"][0]["status"] == "created", response.text
    replay = await post_sync(client, [proposal])
    assert replay.json()["results"][0]["status"] == "duplicate"
    async with make_sessionmaker(engine)() as db:
        assert (await db.get(Household, household.id)).status == HouseholdStatus.active  # nothing changes before approval
        leader = await real_viewer(engine, c.leader1)
        before = await visit_queries.worklist(db, leader)
    assert household.id in {r.household.id for r in before.rows_by_microgrid[c.mg1.id]}

    client.cookies.clear()
    await signed_in_as(await _person(engine, c.secretary))
    listing = await client.get("/registers/changes")
    assert listing.status_code == 200 and household.address in listing.text and "搬去成都" in listing.text
    approve = await client.post(f"/registers/changes/{proposal['id']}/approve", headers=await csrf_headers(client),
                                follow_redirects=False)
    assert approve.status_code == 303
    async with make_sessionmaker(engine)() as db:
        assert (await db.get(Household, household.id)).status == HouseholdStatus.moved_out
        change = (await db.execute(sa.select(HouseholdChange).where(HouseholdChange.household_id == household.id))).scalar_one()
        assert change.status == "approved" and change.decided_by == c.secretary
        after = await visit_queries.worklist(db, await real_viewer(engine, c.leader1))
        audit = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "registers_household_left",
                                                              AuditEntry.object_id == str(household.id)))).scalar_one()
    assert household.id not in {r.household.id for r in after.rows_by_microgrid[c.mg1.id]}
    assert audit.detail["before"]["status"] == "active" and audit.detail["after"]["status"] == "moved_out"
    assert "搬去成都" not in (await client.get("/registers/changes")).text


async def test_a_moved_in_proposal_adds_a_household_on_approval(client, engine, own_community, signed_in_as):
    c = own_community
    await signed_in_as(await _person(engine, c.leader2))
    proposal = record("household_change", {"kind": "moved_in", "microgrid_id": c.mg2.id, "address": "9号", "head_name": "新住户",
                                           "phone": "13811112222", "members": 3})
    assert (await post_sync(client, [proposal])).json()["results"][0]["status"] == "created"
    client.cookies.clear()
    await signed_in_as(await _person(engine, c.secretary))
    await client.post(f"/registers/changes/{proposal['id']}/approve", headers=await csrf_headers(client))
    added = [h for h in await _households(engine, c.mg2.id) if h.address == "9号"]
    assert [(h.head_name, h.members, h.status) for h in added] == [("新住户", 3, "active")]


async def test_a_rejected_proposal_changes_nothing(client, engine, own_community, signed_in_as):
    c = own_community
    household = (await _households(engine, c.mg1.id))[0]
    await signed_in_as(await _person(engine, c.leader1))
    proposal = record("household_change", {"kind": "members", "household_id": household.id, "members": 7})
    assert (await post_sync(client, [proposal])).json()["results"][0]["status"] == "created"
    client.cookies.clear()
    await signed_in_as(await _person(engine, c.secretary))
    await client.post(f"/registers/changes/{proposal['id']}/reject", data={"reason": "核实后人数未变"},
                      headers=await csrf_headers(client))
    assert (await _households(engine, c.mg1.id))[0].members == household.members
    async with make_sessionmaker(engine)() as db:
        change = await db.get(HouseholdChange, __import__("uuid").UUID(proposal["id"]))
    assert change.status == "rejected" and change.decision_note == "核实后人数未变"


async def test_a_leader_cannot_propose_outside_their_microgrids(client, engine, people, own_community, signed_in_as):
    c = own_community
    other = (await _households(engine, people.microgrid.id))[0]
    await signed_in_as(await _person(engine, c.leader1))
    result = (await post_sync(client, [record("household_change", {"kind": "moved_out", "household_id": other.id})])).json()["results"][0]
    assert result["status"] == "rejected" and "household_id" in result["errors"]


async def test_bad_values_are_rejected_by_field(client, engine, own_community, signed_in_as):
    c = own_community
    household = (await _households(engine, c.mg1.id))[0]
    await signed_in_as(await _person(engine, c.leader1))
    result = (await post_sync(client, [record("household_change", {"kind": "phone", "household_id": household.id,
                                                                   "phone": "12"})])).json()["results"][0]
    assert result["status"] == "rejected" and "phone" in result["errors"]


async def test_other_community_staff_do_not_see_the_proposal(client, engine, people, own_community, signed_in_as):
    c = own_community
    household = (await _households(engine, c.mg1.id))[0]
    await signed_in_as(await _person(engine, c.leader1))
    proposal = record("household_change", {"kind": "moved_out", "household_id": household.id})
    await post_sync(client, [proposal])
    client.cookies.clear()
    await signed_in_as(people.other_secretary)
    assert proposal["id"] not in (await client.get("/registers/changes")).text
    response = await client.post(f"/registers/changes/{proposal['id']}/approve", headers=await csrf_headers(client))
    assert response.status_code == 404


async def test_the_no_js_form_takes_the_same_path(client, engine, own_community, signed_in_as):
    c = own_community
    household = (await _households(engine, c.mg1.id))[-1]
    await signed_in_as(await _person(engine, c.leader1))
    page = await client.get(f"/households/{household.id}")
    assert 'data-outbox-type="household_change"' in page.text
    response = await client.post(f"/households/{household.id}/changes", data={"kind": "deceased", "household_id": str(household.id)},
                                 headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == 303
    pending = await client.get(f"/households/{household.id}/changes", headers={"HX-Request": "true"})
    assert "等待社区审核" in pending.text
