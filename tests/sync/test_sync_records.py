import asyncio
import contextlib
import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from server.app import create_app
from server.sync.models import SyncReceipt
from server.visits.models import Visit, WorkLogEntry
from tests.conftest import BACKEND, csrf_headers
from tests.sync.helpers import CST, households_of, post_sync, record, visit


async def count(db, model, **where) -> int:
    stmt = sa.select(sa.func.count()).select_from(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    return (await db.execute(stmt)).scalar_one()


async def test_it_stores_a_visit_and_answers_created(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    rec = visit(household.id, kind="care", note="  门口放了米  ", needs=["medical"], policies=["anti_fraud", "anti_fraud"])
    response = await post_sync(client, [rec])
    assert response.status_code == 200
    assert response.json() == {"results": [{"id": rec["id"], "status": "created"}]}
    stored = await db.get(Visit, uuid.UUID(rec["id"]))
    assert (stored.household_id, stored.kind, stored.note, stored.needs, stored.policies) == (
        household.id, "care", "门口放了米", ["medical"], ["anti_fraud"])
    assert stored.person_id == people.leader.id and stored.grid_path == household.grid_path
    receipt = await db.get(SyncReceipt, uuid.UUID(rec["id"]))
    assert (receipt.type, receipt.person_id, receipt.status) == ("visit", people.leader.id, "created")


@pytest.mark.parametrize("type_, data, check", [
    ("errand", {"service": "elderly_subsidy", "note": "代办高龄补贴"}, lambda e: e.service == "elderly_subsidy"),
    ("mediation", {"parties": "3单元201与301", "outcome": "settled"}, lambda e: e.parties == "3单元201与301" and e.outcome == "settled"),
    ("hazard_check", {"hazard": "楼道堆放杂物", "place": "2栋1单元", "fixed": "true"}, lambda e: e.fixed is True and e.place == "2栋1单元"),
])
async def test_it_stores_each_work_log_kind(db, people, signed_in_as, type_, data, check):
    client = await signed_in_as(people.leader)
    rec = record(type_, data)
    response = await post_sync(client, [rec])
    assert response.json()["results"][0]["status"] == "created", response.json()
    entry = await db.get(WorkLogEntry, uuid.UUID(rec["id"]))
    assert entry.kind == type_ and entry.microgrid_id == people.microgrid.id and check(entry)


@pytest.mark.parametrize("type_, data, field", [
    ("visit", {"kind": "routine"}, "household_id"),
    ("visit", {"household_id": "HOUSEHOLD", "kind": "picnic"}, "kind"),
    ("visit", {"household_id": "HOUSEHOLD", "kind": "routine", "note": "长" * 501}, "note"),
    ("visit", {"household_id": "HOUSEHOLD", "kind": "routine", "needs": ["unicorns"]}, "needs"),
    ("visit", {"household_id": "abc", "kind": "routine"}, "household_id"),
    ("errand", {"service": "bribery"}, "service"),
    ("mediation", {"parties": "", "outcome": "settled"}, "parties"),
    ("mediation", {"parties": "甲乙", "outcome": "maybe"}, "outcome"),
    ("hazard_check", {"place": "地下室"}, "hazard"),
    ("hazard_check", {"hazard": "电线老化", "place": "地下室", "microgrid_id": 999999999}, "microgrid_id"),
])
async def test_it_rejects_an_invalid_record_with_a_message_for_the_field(db, people, signed_in_as, type_, data, field):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    data = {k: (household.id if v == "HOUSEHOLD" else v) for k, v in data.items()}
    rec = record(type_, data)
    result = (await post_sync(client, [rec])).json()["results"][0]
    assert result["status"] == "rejected"
    assert field in result["errors"] and result["errors"][field]
    assert await db.get(SyncReceipt, uuid.UUID(rec["id"])) is None


async def test_it_answers_in_the_users_language(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    rec = record("visit", {"kind": "routine"})
    zh = (await post_sync(client, [rec])).json()["results"][0]["errors"]["household_id"]
    client.cookies.set("lang", "en")
    en = (await post_sync(client, [rec])).json()["results"][0]["errors"]["household_id"]
    assert zh == "此项必填。" and en == "This field is required."


async def test_it_stores_the_good_records_of_a_batch_and_rejects_the_bad(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    households = await households_of(db, people.microgrid)
    good = [visit(h.id) for h in households[:3]]
    bad = visit(households[0].id, kind="nonsense")
    response = await post_sync(client, [good[0], bad, good[1], good[2]])
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["created", "rejected", "created", "created"]
    assert [r["id"] for r in response.json()["results"]] == [good[0]["id"], bad["id"], good[1]["id"], good[2]["id"]]
    for rec in good:
        assert await db.get(Visit, uuid.UUID(rec["id"])) is not None


async def test_it_rejects_a_household_outside_the_leaders_grid(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    theirs = (await households_of(db, people.neighbour_microgrid))[0]
    rec = visit(theirs.id)
    result = (await post_sync(client, [rec])).json()["results"][0]
    assert result["status"] == "rejected" and "household_id" in result["errors"]
    assert await db.get(Visit, uuid.UUID(rec["id"])) is None


async def test_it_lets_community_staff_record_in_their_whole_community(db, people, signed_in_as):
    client = await signed_in_as(people.secretary)
    household = (await households_of(db, people.neighbour_microgrid))[0]
    result = (await post_sync(client, [visit(household.id)])).json()["results"][0]
    assert result["status"] == "created"


async def test_it_rejects_an_unknown_type_a_bad_id_and_a_bad_time(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    records = [
        record("picnic", {}),
        {**visit(household.id), "id": "not-a-uuid"},
        {**visit(household.id), "created_at": "2026-11-27T10:00:00"},  # no offset
        visit(household.id, created_at=datetime.now(CST) + timedelta(days=1, hours=1)),
        {**visit(household.id), "data": [1, 2]},
        "just a string",
    ]
    results = (await post_sync(client, records)).json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * 6
    assert list(results[0]["errors"]) == ["type"]
    assert list(results[1]["errors"]) == ["id"] and results[1]["id"] == "not-a-uuid"
    assert list(results[2]["errors"]) == ["created_at"]
    assert list(results[3]["errors"]) == ["created_at"]
    assert list(results[4]["errors"]) == ["data"]


async def test_it_accepts_a_time_just_under_a_day_ahead(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    rec = visit(household.id, created_at=datetime.now(CST) + timedelta(hours=23))
    assert (await post_sync(client, [rec])).json()["results"][0]["status"] == "created"


async def test_it_answers_duplicate_for_a_replay_and_changes_nothing(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    households = await households_of(db, people.microgrid)
    batch = [visit(h.id, note=f"第{i}户") for i, h in enumerate(households[:5])]
    first = (await post_sync(client, batch)).json()["results"]
    before = await count(db, Visit)
    again = (await post_sync(client, batch)).json()["results"]
    assert [r["status"] for r in first] == ["created"] * 5
    assert [r["status"] for r in again] == ["duplicate"] * 5
    assert await count(db, Visit) == before


async def test_it_answers_conflict_for_the_same_id_with_other_content_and_keeps_the_first(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    rec = visit(household.id, note="原来的")
    await post_sync(client, [rec])
    changed = {**rec, "data": {**rec["data"], "note": "改过的"}}
    result = (await post_sync(client, [changed])).json()["results"][0]
    assert result["status"] == "conflict"
    await db.refresh(stored := await db.get(Visit, uuid.UUID(rec["id"])))
    assert stored.note == "原来的"


async def test_it_settles_the_same_id_twice_in_one_batch(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    rec = visit(household.id)
    other = {**rec, "data": {**rec["data"], "note": "不同"}}
    results = (await post_sync(client, [rec, rec, other])).json()["results"]
    assert [r["status"] for r in results] == ["created", "duplicate", "conflict"]
    assert await count(db, Visit, id=uuid.UUID(rec["id"])) == 1


async def test_it_answers_conflict_when_another_person_reuses_an_id(db, people, signed_in_as, client, engine):
    from tests.conftest import sign_in

    household = (await households_of(db, people.microgrid))[0]
    rec = visit(household.id)
    await signed_in_as(people.leader)
    await post_sync(client, [rec])
    await sign_in(client, engine, people.secretary)
    assert (await post_sync(client, [rec])).json()["results"][0]["status"] == "conflict"


async def test_it_stores_a_concurrent_replay_once(db, people, settings, engine):
    """Two phones' worth of the same batch at once (Chromium re-sends a POST whose answer was lost)."""
    from litestar.testing import AsyncTestClient

    from tests.conftest import sign_in

    households = await households_of(db, people.microgrid)
    batch = [visit(h.id, note="并发") for h in households[:20]]

    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for _ in range(4):
            # One app each: like separate server processes, with their own connection pools.
            c = await stack.enter_async_context(AsyncTestClient(app=create_app(settings), base_url="http://testserver.local"))
            await sign_in(c, engine, people.leader)
            clients.append((c, await csrf_headers(c)))
        responses = await asyncio.gather(*[
            c.post("/api/sync", json={"records": batch}, headers=h) for c, h in clients
        ])
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    statuses = [[r["status"] for r in resp.json()["results"]] for resp in responses]
    for i in range(20):
        column = sorted(s[i] for s in statuses)
        assert column == ["created", "duplicate", "duplicate", "duplicate"], column
    ids = [uuid.UUID(r["id"]) for r in batch]
    assert (await db.execute(sa.select(sa.func.count()).select_from(Visit).where(Visit.id.in_(ids)))).scalar_one() == 20


@pytest.mark.skipif(BACKEND != "postgresql", reason="true parallel writers need PostgreSQL")
async def test_it_stores_a_concurrent_replay_once_on_separate_connections(db, people, settings, engine):
    """On PostgreSQL the requests really interleave: the receipt's primary key decides."""
    from litestar.testing import AsyncTestClient

    from tests.conftest import sign_in

    households = await households_of(db, people.microgrid)
    for attempt in range(3):
        batch = [visit(h.id, note=f"并发{attempt}") for h in households[:30]]
        async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as a, \
                AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as b:
            await sign_in(a, engine, people.leader)
            await sign_in(b, engine, people.leader)
            ha, hb = await csrf_headers(a), await csrf_headers(b)
            ra, rb = await asyncio.gather(
                a.post("/api/sync", json={"records": batch}, headers=ha),
                b.post("/api/sync", json={"records": list(reversed(batch))}, headers=hb),
            )
        assert ra.status_code == rb.status_code == 200
        created = sum(r["status"] == "created" for resp in (ra, rb) for r in resp.json()["results"])
        duplicates = sum(r["status"] == "duplicate" for resp in (ra, rb) for r in resp.json()["results"])
        assert (created, duplicates) == (30, 30)
        ids = [uuid.UUID(r["id"]) for r in batch]
        assert (await db.execute(sa.select(sa.func.count()).select_from(Visit).where(Visit.id.in_(ids)))).scalar_one() == 30


async def test_it_lets_the_receipts_key_settle_two_batches_that_race(db, people, engine, monkeypatch, caplog):
    """Both batches look for receipts before either stores: the primary key makes the second a duplicate."""
    import logging

    from server.accounts.sessions import load_viewer, start_session
    from server.db import make_sessionmaker
    from server.sync import service

    async with make_sessionmaker(engine)() as s:
        token = await start_session(s, people.leader.id, None, days=1)
        await s.commit()
        viewer = await load_viewer(s, token, 1)
    households = await households_of(db, people.microgrid)
    batch = [visit(h.id, note="同时到达") for h in households[:20]]
    original = service._existing_receipts
    looked = asyncio.Event()
    seen = []

    async def both_look_first(session, ids):
        found = await original(session, ids)
        seen.append(len(ids))
        if len(seen) >= 2:
            looked.set()
        await asyncio.wait_for(looked.wait(), 10)
        return found

    monkeypatch.setattr(service, "_existing_receipts", both_look_first)

    async def store():
        async with make_sessionmaker(engine)() as session:
            return await service.store_records(session, viewer, batch, "zh-CN")

    with caplog.at_level(logging.INFO, logger="weiwang.sync"):
        first, second = await asyncio.gather(store(), store())
    statuses = sorted(r.status for r in first + second)
    assert statuses == ["created"] * 20 + ["duplicate"] * 20
    assert any("raced" in m for m in caplog.messages)
    ids = [uuid.UUID(r["id"]) for r in batch]
    assert (await db.execute(sa.select(sa.func.count()).select_from(Visit).where(Visit.id.in_(ids)))).scalar_one() == 20
