"""Pushes beyond the ledger: an approval waiting (a household change, an allowance claim), a patrol
due, an import finished. Each is written with its event (or not at all), once, and respects 我的."""
from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from server.accounts.models import Post, Role, current_post
from server.db import make_sessionmaker
from server.notify import push, worker
from server.notify.models import Channel, Delivery, Notification, NotifySetting, PushSubscription
from server.notify.rules import scan_patrols
from server.patrols.models import Patrol
from server.patrols.queries import DUE_DAY
from server.registers.models import ImportJob
from tests.conftest import csrf_headers
from tests.notify.fake_servers import FakeProvider
from tests.notify.test_push import Phone
from tests.registers.conftest import workbook
from tests.sync.helpers import households_of, post_sync, record


@pytest.fixture
async def clean(engine):
    async with engine.begin() as conn:
        await conn.execute(sa.delete(Notification))
        await conn.execute(sa.delete(PushSubscription))
        await conn.execute(sa.delete(NotifySetting))
    yield


async def _pushes(engine, **where) -> list[Notification]:
    async with make_sessionmaker(engine)() as db:
        query = sa.select(Notification).where(Notification.channel == Channel.push)
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        return list((await db.execute(query.order_by(Notification.person_id))).scalars())


async def _community_staff(engine, people) -> set[int]:
    async with make_sessionmaker(engine)() as db:
        return set((await db.execute(sa.select(Post.person_id).where(
            Post.role == Role.community, Post.node_id == people.community.id, current_post()))).scalars())


async def test_a_household_change_from_the_field_asks_the_community_once_and_a_refused_one_not_at_all(
        engine, people, client, signed_in_as, clean):
    async with make_sessionmaker(engine)() as db:
        household = (await households_of(db, people.microgrid, limit=1))[0]
    await signed_in_as(people.leader)
    refused = record("household_change", {"kind": "phone", "household_id": household.id, "phone": "12"})
    proposal = record("household_change", {"kind": "members", "household_id": household.id, "members": 4})
    answer = await post_sync(client, [refused, proposal])
    assert [r["status"] for r in answer.json()["results"]] == ["rejected", "created"]
    assert (await post_sync(client, [proposal])).json()["results"][0]["status"] == "duplicate"
    pushes = await _pushes(engine, kind="approval")
    assert {n.person_id for n in pushes} == await _community_staff(engine, people)
    assert len(pushes) == len({n.person_id for n in pushes})  # once each, the replay added nothing
    assert {(n.title, n.url) for n in pushes} == {("住户变动待审核", "/registers/changes")}


async def test_an_allowance_claim_asks_the_community(engine, people, client, signed_in_as, clean):
    await signed_in_as(people.leader)
    claim = record("allowance_claim", {"kind": "duty", "day": date.today().isoformat(), "amount": "25", "note": "执勤"})
    assert (await post_sync(client, [claim])).json()["results"][0]["status"] == "created"
    pushes = await _pushes(engine, kind="approval")
    assert {n.person_id for n in pushes} == await _community_staff(engine, people)
    assert {(n.title, n.url) for n in pushes} == {("补贴申领待审批", "/allowances")}
    assert all("25.00元" in n.body for n in pushes)


async def test_an_approval_push_reaches_the_phone_unless_muted_on_my_page(engine, people, settings, client, signed_in_as, clean):
    phone = Phone()
    with FakeProvider(status=201) as push_service:
        async with make_sessionmaker(engine)() as db:
            sub = phone.subscription(push_service.url + "/push/secretary")
            db.add(PushSubscription(person_id=people.secretary.id, endpoint_hash=push.endpoint_hash(sub["endpoint"]),
                                    endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"], auth=sub["keys"]["auth"]))
            await db.commit()
        await signed_in_as(people.leader)
        claim = record("allowance_claim", {"kind": "meal", "day": date.today().isoformat(), "amount": "12.5"})
        assert (await post_sync(client, [claim])).json()["results"][0]["status"] == "created"
        sessionmaker = make_sessionmaker(engine)
        sender = {Channel.push: push.make_push_sender(sessionmaker, settings)}
        while await worker.deliver_batch(sessionmaker, sender):
            pass
        assert [phone.decrypt(r["body"])["url"] for r in push_service.received] == ["/allowances"]

        # 我的 → 通知: the secretary turns approvals off.
        await signed_in_as(people.secretary)
        page = await client.get("/me/notifications/")
        assert "有事项等我审批" in page.text and "居民在我的微网格反映了问题" not in page.text
        kinds = [k for k in push.KINDS if k != "approval"]
        assert (await client.post("/me/notifications/", data={"kind": kinds}, headers=await csrf_headers(client),
                                  follow_redirects=False)).status_code == 303
        await signed_in_as(people.leader)
        claim = record("allowance_claim", {"kind": "meal", "day": date.today().isoformat(), "amount": "8"})
        assert (await post_sync(client, [claim])).json()["results"][0]["status"] == "created"
        while await worker.deliver_batch(sessionmaker, sender):
            pass
        assert len(push_service.received) == 1
    mine = await _pushes(engine, person_id=people.secretary.id)
    assert [n.status for n in mine if n.body.endswith("8.00元")] == [Delivery.skipped]


async def test_the_patrol_scan_reminds_the_compound_staff_once_a_month_before_it_is_due(engine, people, clean):
    due_soon, early = date(2026, 5, DUE_DAY - 1), date(2026, 5, 3)
    async with make_sessionmaker(engine)() as db:
        await scan_patrols(db, early)
        await db.commit()
        assert await _pushes(engine, kind="patrol") == []
        for _ in range(2):  # the worker scans every ten minutes
            await scan_patrols(db, due_soon)
        await db.commit()
        compound_path = people.microgrid.path[:24]
        staff = set((await db.execute(sa.select(Post.person_id).where(
            Post.role == Role.compound, Post.node_path == compound_path, current_post()))).scalars())
        done_elsewhere = (await db.execute(sa.select(Patrol.compound_id).where(Patrol.month == "2026-05"))).scalars().all()
    pushes = await _pushes(engine, kind="patrol")
    assert staff and staff <= {n.person_id for n in pushes}
    keys = [(n.person_id, n.url) for n in pushes]
    assert len(keys) == len(set(keys))  # once a month per compound and person
    assert all(n.url.startswith("/patrols/compounds/") and n.url.endswith("/new") for n in pushes)
    # A compound that has had this month's patrol is not reminded.
    reminded = {int(n.dedupe_key.split(":")[2]) for n in pushes}
    assert not reminded & set(done_elsewhere)


async def _settle(engine, job_id: str) -> ImportJob:
    for _ in range(300):
        async with make_sessionmaker(engine)() as db:
            job = await db.get(ImportJob, uuid.UUID(job_id))
        if job.status not in ("queued", "checking", "applying"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job still {job.status}")


async def test_an_import_tells_its_starter_when_the_check_is_done_or_failed(engine, people, client, signed_in_as, clean):
    await signed_in_as(people.secretary)
    bad = workbook(households=[[people.microgrid.code, "99号", "", "13800001111", 2, "", "", ""]])  # no head: a problem
    for content, filename, status, title in ((bad, "住户.xlsx", "checked", "导入文件检查完了"),
                                             (b"\x00\x01 nonsense", "x.xlsx", "failed", "导入没有成功")):
        uploaded = await client.post("/registers/import", files={"file": (filename, content)},
                                     headers=await csrf_headers(client), follow_redirects=False)
        assert uploaded.status_code == 303
        job_id = uploaded.headers["location"].rsplit("/", 1)[1]
        job = await _settle(engine, job_id)
        assert job.status == status
        [pushed] = await _pushes(engine, kind="import", url=f"/registers/import/{job_id}")
        assert pushed.person_id == people.secretary.id and pushed.title.startswith(title)
