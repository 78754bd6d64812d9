"""A record refused half-way leaves nothing behind, and takes nothing of its neighbours with it.

A type's `apply` may stage rows (registry.add_row) and then refuse the record; the batch must
drop exactly the rows that record staged — not the ones staged before it in the same table,
not keep one of its own. Written from the mutation run on server/sync/service.py (issue 12),
where changing how far `_unstage_since` cuts went unnoticed by every test.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
import pytest
import sqlalchemy as sa

from server.accounts.models import Device, Person, Post, Role, current_post
from server.accounts.scope import PostScope, Viewer
from server.app import AFTER_SYNC, SYNC_TYPES
from server.clock import utcnow
from server.db import make_sessionmaker
from server.grid.models import Household, active_household
from server.sync import registry
from server.sync.models import SyncReceipt
from server.sync.service import store_records
from server.visits.models import Visit
from tests.sync.helpers import CST


class VisitThenRefuse(msgspec.Struct):
    household_id: int


async def _stage_a_visit_then_refuse(db, viewer, record):
    """Stages a visit row, as a composite type would, then finds a problem."""
    registry.add_row(db, Visit, {
        "id": record.id, "household_id": record.data.household_id, "grid_path": record.grid_path or "",
        "person_id": viewer.person_id, "kind": "routine", "needs": [], "policies": [], "note": "不该留下",
        "visited_at": utcnow(), "created_at": utcnow(), "photo_ids": [],
    })
    return {"household_id": "刚发现地址不对"}


REFUSING = registry.SyncType(name="visit_then_refuse", schema=VisitThenRefuse, apply=_stage_a_visit_then_refuse)


@pytest.fixture
def refusing_type():
    registry.install([*SYNC_TYPES, REFUSING], AFTER_SYNC)
    yield
    registry.install(SYNC_TYPES, AFTER_SYNC)


async def _leader(db) -> tuple[Viewer, list[int]]:
    """A leader of a micro-grid with at least three households (other tests move and retire some)."""
    for person, post in (await db.execute(
        sa.select(Person, Post).join(Post, Post.person_id == Person.id)
        .where(Post.role == Role.leader, Post.post_kind == "A", current_post()).order_by(Post.node_path.desc())
    )).all():
        households = list((await db.execute(sa.select(Household.id).where(
            Household.grid_path.startswith(post.node_path), active_household()).order_by(Household.id).limit(3))).scalars())
        if len(households) == 3:
            break
    device = Device(person_id=person.id, name="测试手机", kind="device_key", credential_id=uuid.uuid4().hex,
                    public_key=b"-", created_at=utcnow())
    db.add(device)
    await db.flush()
    return Viewer(person.id, person.name, (PostScope(post.role, post.node_id, post.node_path, post.post_kind),),
                  device_id=device.id), households


def _record(type_: str, household_id: int, note: str = "") -> dict:
    data = {"household_id": household_id}
    if type_ == "visit":
        data.update(kind="routine", note=note)
    return {"id": str(uuid.uuid4()), "type": type_, "created_at": datetime.now(CST).isoformat(), "data": data}


@pytest.mark.parametrize("refused_at", [0, 1, 2])
async def test_a_refused_record_drops_only_its_own_staged_rows(engine, demo, refusing_type, refused_at):
    async with make_sessionmaker(engine)() as db:
        viewer, households = await _leader(db)
        await db.commit()
        records = [_record("visit", households[0], "第一户"), _record("visit", households[1], "第二户")]
        records.insert(refused_at, _record("visit_then_refuse", households[2]))
        results = await store_records(db, viewer, records, "zh-CN")
        assert [r.status for r in results] == ["created" if i != refused_at else "rejected" for i in range(3)]
        ids = [uuid.UUID(r["id"]) for r in records]
        stored = set((await db.execute(sa.select(Visit.id).where(Visit.id.in_(ids)))).scalars())
        assert stored == {ids[i] for i in range(3) if i != refused_at}
        receipts = (await db.execute(sa.select(SyncReceipt).where(SyncReceipt.id.in_(ids)))).scalars().all()
        assert {r.id for r in receipts} == stored
        # The receipt names the phone that sent the record (which phone, when a leader has two).
        assert {r.device_id for r in receipts} == {viewer.device_id}


async def test_one_record_that_cannot_be_stored_does_not_hold_back_its_batch(engine, demo):
    """The fast path's multi-row insert fails on one record (here a visit id the table already
    holds without a receipt); the batch is stored record by record: the others created once, that
    one refused with a reason, and a resend gives the same answers without a second copy."""
    async with make_sessionmaker(engine)() as db:
        viewer, households = await _leader(db)
        records = [_record("visit", h, f"第{i}户") for i, h in enumerate(households)]
        blocked = uuid.UUID(records[1]["id"])
        db.add(Visit(id=blocked, household_id=households[1], grid_path=(await db.get(Household, households[1])).grid_path,
                     person_id=viewer.person_id, kind="routine", needs=[], policies=[], note="早先的一条",
                     visited_at=utcnow(), created_at=utcnow()))
        await db.commit()
        for attempt in range(2):
            results = await store_records(db, viewer, records, "zh-CN")
            assert [r.status for r in results] == ["created" if attempt == 0 else "duplicate", "rejected",
                                                   "created" if attempt == 0 else "duplicate"]
            assert "record" in results[1].errors
            ids = [uuid.UUID(r["id"]) for r in records]
            notes = dict((await db.execute(sa.select(Visit.id, Visit.note).where(Visit.id.in_(ids)))).all())
            assert notes == {ids[0]: "第0户", blocked: "早先的一条", ids[2]: "第2户"}
            receipts = set((await db.execute(sa.select(SyncReceipt.id).where(SyncReceipt.id.in_(ids)))).scalars())
            assert receipts == {ids[0], ids[2]}
