"""Who may patrol which compound: a leader their own compound, staff their part of the grid; others 404."""
from __future__ import annotations

from .conftest import compound_of, patrol_record, post_sync


async def test_it_lets_a_leader_patrol_their_own_compound(db, people, signed_in_as, compound):
    client = await signed_in_as(people.leader)
    assert (await client.get(f"/patrols/compounds/{compound.code}/new")).status_code == 200
    calendar = await client.get("/patrols")
    assert calendar.status_code == 200 and compound.name in calendar.text


async def test_it_hides_another_communitys_compound_from_a_leader(db, people, signed_in_as, checklist):
    from server.grid.models import GridNode
    import sqlalchemy as sa

    version_id, items = checklist
    other = (await db.execute(sa.select(GridNode).where(GridNode.level == "compound",
                                                        GridNode.path.startswith(people.other_community.path))
                              .order_by(GridNode.path))).scalars().first()
    client = await signed_in_as(people.leader)

    assert (await client.get(f"/patrols/compounds/{other.code}/new")).status_code == 404
    assert (await client.get(f"/patrols/compounds/{other.code}")).status_code == 404
    result = (await post_sync(client, [patrol_record(other, version_id, items)])).json()["results"][0]
    assert result["status"] == "rejected" and "compound_id" in result["errors"]
    assert other.name not in (await client.get("/patrols")).text


async def test_it_hides_the_next_compound_of_the_same_community_from_a_leader(db, people, signed_in_as, checklist):
    version_id, items = checklist
    next_door = await compound_of(db, people.neighbour_microgrid)
    client = await signed_in_as(people.leader)
    assert (await client.get(f"/patrols/compounds/{next_door.code}/new")).status_code == 404
    result = (await post_sync(client, [patrol_record(next_door, version_id, items)])).json()["results"][0]
    assert result["status"] == "rejected"


async def test_it_keeps_a_patrol_report_inside_its_community(db, people, signed_in_as, compound, checklist):
    version_id, items = checklist
    leader = await signed_in_as(people.leader)
    record = patrol_record(compound, version_id, items)
    await post_sync(leader, [record])

    secretary = await signed_in_as(people.secretary)
    assert (await secretary.get(f"/patrols/{record['id']}")).status_code == 200
    other = await signed_in_as(people.other_secretary)
    assert (await other.get(f"/patrols/{record['id']}")).status_code == 404
    assert (await other.get(f"/patrols/{record['id']}/export.xlsx")).status_code == 404
    neighbour = await signed_in_as(people.neighbour)
    assert (await neighbour.get(f"/patrols/{record['id']}")).status_code == 404


async def test_it_shows_no_patrols_to_property_staff(db, people, signed_in_as):
    client = await signed_in_as(people.property_staff)
    assert (await client.get("/patrols")).status_code == 403


async def test_it_does_not_read_a_name_from_outside_the_compounds_roster(db, people, signed_in_as, compound, checklist):
    """A participant's person_id picks a name from the database: only from this compound's roster."""
    import uuid as _uuid

    from server.patrols.models import Patrol
    from tests.patrols.conftest import patrol_record, post_sync

    version_id, items = checklist
    client = await signed_in_as(people.leader)
    outsider = patrol_record(compound, version_id, items,
                             participants=[{"role": "staff", "name": "随便", "person_id": people.other_secretary.id}])
    result = (await post_sync(client, [outsider])).json()["results"][0]
    assert result["status"] == "rejected" and "participant-0" in result["errors"]
    assert people.other_secretary.name not in str(result)
    assert await db.get(Patrol, outsider["id"]) is None
    insider = patrol_record(compound, version_id, items, id=str(_uuid.uuid4()),
                            participants=[{"role": "leader", "name": "x", "person_id": people.leader.id}])
    assert (await post_sync(client, [insider])).json()["results"][0]["status"] == "created"
    assert (await db.get(Patrol, insider["id"])).participants[0]["name"] == people.leader.name
