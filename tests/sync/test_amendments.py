"""Amendments (issue 12, item 5): an edit of a record the server already holds — its answer was
lost, the leader corrected it offline — is applied (or kept as a new version with history),
never a dead-end conflict and never a silent loss. The rule is written in server/sync/routes.py."""
import uuid

import pytest
import sqlalchemy as sa

from server.issues.models import Issue
from server.sync.models import SyncAmendment, SyncReceipt
from server.visits.models import Visit, WorkLogEntry
from tests.sync.helpers import households_of, post_sync, record, visit


def later(rec: dict, version: int, **data) -> dict:
    return {**rec, "version": version, "data": {**rec["data"], **data}}


async def amendments_of(db, record_id: str) -> list[SyncAmendment]:
    return list((await db.execute(sa.select(SyncAmendment).where(SyncAmendment.record_id == uuid.UUID(record_id))
                                  .order_by(SyncAmendment.version))).scalars())


async def test_an_edit_after_a_lost_answer_is_applied_with_its_history(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    first = visit(household.id, note="原来的")
    assert (await post_sync(client, [first])).json()["results"][0]["status"] == "created"  # the phone never heard this
    edited = later(first, 2, note="改过的", kind="care")
    assert (await post_sync(client, [edited])).json()["results"] == [{"id": first["id"], "status": "amended"}]

    stored = await db.get(Visit, uuid.UUID(first["id"]), populate_existing=True)
    assert (stored.note, stored.kind, stored.household_id) == ("改过的", "care", household.id)
    receipt = await db.get(SyncReceipt, uuid.UUID(first["id"]), populate_existing=True)
    assert receipt.version == 2
    history = await amendments_of(db, first["id"])
    assert [(a.version, a.status, a.data["note"]) for a in history] == [(2, "applied", "改过的")]
    assert await db.scalar(sa.select(sa.func.count()).select_from(Visit).where(Visit.id == uuid.UUID(first["id"]))) == 1

    # The same version again is a replay; the first version arriving late changes nothing back.
    assert (await post_sync(client, [edited])).json()["results"][0]["status"] == "duplicate"
    assert (await post_sync(client, [first])).json()["results"][0]["status"] == "duplicate"
    stored = await db.get(Visit, uuid.UUID(first["id"]), populate_existing=True)
    assert stored.note == "改过的" and len(await amendments_of(db, first["id"])) == 1

    # A third version (edited again) is applied on top.
    assert (await post_sync(client, [later(first, 3, note="第三版")])).json()["results"][0]["status"] == "amended"
    stored = await db.get(Visit, uuid.UUID(first["id"]), populate_existing=True)
    assert stored.note == "第三版" and [a.version for a in await amendments_of(db, first["id"])] == [2, 3]


async def test_an_amendment_is_checked_like_a_new_record(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    first = visit(household.id, note="原来的")
    await post_sync(client, [first])
    from server.grid.models import Household

    outside = (await db.execute(sa.select(Household.id).where(~Household.grid_path.startswith(people.microgrid.path))
                                .limit(1))).scalar()
    assert outside is not None
    results = [(await post_sync(client, [bad])).json()["results"][0]
               for bad in (later(first, 2, household_id=outside), later(first, 2, kind="picnic"))]
    assert [r["status"] for r in results] == ["rejected", "rejected"]
    assert "household_id" in results[0]["errors"] and "kind" in results[1]["errors"]
    stored = await db.get(Visit, uuid.UUID(first["id"]), populate_existing=True)
    assert (stored.note, stored.household_id) == ("原来的", household.id)
    assert await amendments_of(db, first["id"]) == []


async def test_a_work_log_amendment_moves_the_entry_to_its_household(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    households = await households_of(db, people.microgrid)
    first = record("errand", {"service": "elderly_subsidy"})
    await post_sync(client, [first])
    result = (await post_sync(client, [later(first, 2, household_id=households[1].id, note="补上户")])).json()["results"][0]
    assert result["status"] == "amended"
    entry = await db.get(WorkLogEntry, uuid.UUID(first["id"]), populate_existing=True)
    assert (entry.household_id, entry.note, entry.service) == (households[1].id, "补上户", "elderly_subsidy")


async def test_a_type_that_cannot_be_changed_in_place_keeps_the_new_version(db, people, signed_in_as):
    """An issue is on the ledger with its timeline: the amendment is kept with its history, not lost."""
    client = await signed_in_as(people.leader)
    category = await db.scalar(sa.text("SELECT id FROM issue_category ORDER BY id LIMIT 1"))
    first = record("issue", {"node_id": people.microgrid.id, "category_id": category, "description": "井盖松动"})
    assert (await post_sync(client, [first])).json()["results"][0]["status"] == "created"
    edited = later(first, 2, description="井盖松动，已有人绊倒")
    assert (await post_sync(client, [edited])).json()["results"][0]["status"] == "amended"
    issue = await db.get(Issue, first["id"], populate_existing=True)
    assert issue.description == "井盖松动"
    history = await amendments_of(db, first["id"])
    assert [(a.version, a.status, a.data["description"]) for a in history] == [(2, "kept", "井盖松动，已有人绊倒")]


async def test_another_persons_id_or_the_same_version_with_other_content_is_still_a_conflict(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    first = visit(household.id, note="原来的")
    await post_sync(client, [first])
    same_version = later(first, 1, note="别的内容")
    assert (await post_sync(client, [same_version])).json()["results"][0]["status"] == "conflict"
    client = await signed_in_as(people.secretary)
    assert (await post_sync(client, [later(first, 5, note="别人改的")])).json()["results"][0]["status"] == "conflict"
    stored = await db.get(Visit, uuid.UUID(first["id"]), populate_existing=True)
    assert stored.note == "原来的"


@pytest.mark.parametrize("version", [0, -1, "2", True, 2**31, 1.5, None])
async def test_it_rejects_a_version_that_is_not_a_positive_integer(db, people, signed_in_as, version):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    rec = {**visit(household.id), "version": version}
    result = (await post_sync(client, [rec])).json()["results"][0]
    assert result["status"] == "rejected" and "version" in result["errors"]
