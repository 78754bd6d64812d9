"""Publicity broadcasts (宣传短信): written by community staff, approved by the secretary, each number texted once."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import aiohttp
import pytest
import sqlalchemy as sa

from server.accounts.audit import AuditEntry
from server.accounts.models import Person, Post, Role, current_post
from server.db import make_sessionmaker
from server.grid.models import GridNode, Household, active_household
from server.notify import broadcasts, worker
from server.notify.gateway import HttpGateway
from server.notify.models import Broadcast, Channel, Delivery, Notification, SmsOptOut
from server.notify.outbox import phone_digits
from server.notify.senders import make_sms_sender
from server.party.models import Office
from server.tree import in_subtree
from tests.conftest import csrf_headers
from tests.notify.fake_servers import FakeProvider
from tests.notify.test_outbox import clean_outbox  # noqa: F401 (a fixture)

TEXT = "本周六上午在小区广场开展免费义诊，欢迎居民参加。"


@pytest.fixture
async def staff(engine, people):
    """Community staff of the leader's community who is not its Party secretary (she approves)."""
    async with make_sessionmaker(engine)() as db:
        worker_person = (await db.execute(
            sa.select(Person).join(Post, Post.person_id == Person.id)
            .where(Post.role == Role.community, Post.node_id == people.community.id, current_post(),
                   Post.office != Office.party_secretary, Person.id != people.secretary.id).order_by(Person.id))).scalars().first()
        secretary_office = (await db.execute(sa.select(Post.office).where(
            Post.person_id == people.secretary.id, Post.role == Role.community))).scalars().all()
    assert worker_person is not None and Office.party_secretary in secretary_office
    return worker_person


@pytest.fixture
async def compound(engine, people):
    async with make_sessionmaker(engine)() as db:
        return (await db.execute(sa.select(GridNode).where(GridNode.path == people.microgrid.path[:24]))).scalar_one()


@pytest.fixture
async def clean_broadcasts(engine, clean_outbox):  # noqa: F811
    async with engine.begin() as conn:
        await conn.execute(sa.delete(Broadcast))
        await conn.execute(sa.delete(SmsOptOut))
    yield


async def _numbers(engine, path: str, care_tag: str = "") -> set[str]:
    async with make_sessionmaker(engine)() as db:
        rows = (await db.execute(sa.select(Household.phone, Household.care_tags).where(
            in_subtree(Household.grid_path, path), active_household()))).all()
    return {phone_digits(p) for p, tags in rows if phone_digits(p) and (not care_tag or care_tag in (tags or []))}


async def _compose(client, compound, text=TEXT, care_tag="", confirm=True):
    data = {"grid": compound.code, "text": text, "care_tag": care_tag}
    if confirm:
        data["confirm"] = "1"
    return await client.post("/broadcasts/", data=data, headers=await csrf_headers(client), follow_redirects=False)


async def test_it_previews_the_audience_and_the_message_as_residents_see_it(engine, client, signed_in_as, staff, compound,
                                                                           clean_broadcasts):
    numbers = await _numbers(engine, compound.path)
    opted = sorted(numbers)[0]
    async with make_sessionmaker(engine)() as db:
        db.add(SmsOptOut(phone=opted, via="reply"))
        await db.commit()
    await signed_in_as(staff)
    assert (await client.get("/broadcasts/new")).status_code == 200
    page = await _compose(client, compound, confirm=False)
    assert page.status_code == 200
    assert f"{len(numbers) - 1} 个号码" in page.text and "1 个号码已退订" in page.text
    assert f"【微网】{TEXT} 回复TD退订" in page.text
    async with make_sessionmaker(engine)() as db:  # a preview stores nothing
        assert (await db.execute(sa.select(sa.func.count()).select_from(Broadcast))).scalar_one() == 0


async def test_bad_input_is_answered_next_to_the_field_and_kept(client, signed_in_as, staff, compound, clean_broadcasts):
    await signed_in_as(staff)
    empty = await _compose(client, compound, text="   ")
    assert empty.status_code == 422 and "请填写短信内容" in empty.text
    long = await _compose(client, compound, text="通知" * 61)
    assert long.status_code == 422 and "最多120个字" in long.text and "通知" * 61 in long.text
    elsewhere = await client.post("/broadcasts/", data={"grid": "NOPE", "text": TEXT, "confirm": "1"},
                                  headers=await csrf_headers(client), follow_redirects=False)
    assert elsewhere.status_code == 422 and TEXT in elsewhere.text


async def test_the_secretary_approves_and_each_number_is_queued_once_at_a_steady_rate(
        engine, people, client, signed_in_as, staff, compound, clean_broadcasts):
    numbers = await _numbers(engine, compound.path)
    await signed_in_as(staff)
    made = await _compose(client, compound)
    assert made.status_code == 303
    async with make_sessionmaker(engine)() as db:
        broadcast = (await db.execute(sa.select(Broadcast))).scalar_one()
        assert broadcast.status == "waiting" and broadcast.recipient_count == len(numbers) and broadcast.text == TEXT
        assert (await db.execute(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.broadcast_id == broadcast.id))).scalar_one() == 0  # nothing is sent before approval
        # ...but the secretary is told it waits (a push, respecting 我的), and the author is not.
        waiting = (await db.execute(sa.select(Notification.person_id, Notification.url).where(
            Notification.kind == "approval"))).all()
    assert waiting == [(people.secretary.id, f"/broadcasts/{broadcast.id}")]
    assert made.headers["location"] == f"/broadcasts/{broadcast.id}"

    # Nobody approves their own message.
    own = await client.post(f"/broadcasts/{broadcast.id}/approve", headers=await csrf_headers(client), follow_redirects=False)
    assert own.status_code == 403 and "不能批准自己" in own.text

    await signed_in_as(people.secretary)
    page = await client.get(f"/broadcasts/{broadcast.id}")
    assert page.status_code == 200 and "批准并发送" in page.text and f"【微网】{TEXT} 回复TD退订" in page.text
    approved = await client.post(f"/broadcasts/{broadcast.id}/approve", headers=await csrf_headers(client),
                                 follow_redirects=False)
    assert approved.status_code == 303
    again = await client.post(f"/broadcasts/{broadcast.id}/approve", headers=await csrf_headers(client), follow_redirects=False)
    assert again.status_code == 403 and "已经审批过" in again.text

    async with make_sessionmaker(engine)() as db:
        rows = list((await db.execute(sa.select(Notification).where(Notification.broadcast_id == broadcast.id)
                                      .order_by(Notification.next_attempt_at))).scalars())
        decided = await db.get(Broadcast, broadcast.id)
        actions = [a for (a,) in (await db.execute(sa.select(AuditEntry.action).where(
            AuditEntry.object_id == str(broadcast.id)).order_by(AuditEntry.id))).all()]
    assert decided.status == "approved" and decided.decided_by == people.secretary.id
    assert sorted(r.phone for r in rows) == sorted(numbers)  # one row a number, none twice
    assert {r.channel for r in rows} == {Channel.sms} and {r.kind for r in rows} == {"broadcast"}
    spread = rows[-1].next_attempt_at - rows[0].next_attempt_at
    assert spread >= timedelta(seconds=(len(rows) - 1) / broadcasts.SEND_PER_SECOND * 0.99)
    assert actions == ["broadcast_compose", "broadcast_approve"]

    # While it sends, the administrator's outbox shows it as one line with what is left, not a row a number.
    await signed_in_as(people.admin)
    outbox = (await client.get("/admin/notifications/")).text
    assert f'href="/broadcasts/{broadcast.id}"' in outbox and f'data-waiting="{len(numbers)}"' in outbox
    assert "正在发送的宣传短信" in outbox and f"还有 {len(numbers)} 个号码待发送" in outbox
    problems = outbox.split('id="notify-problems"')[1]
    assert not any(f"{n[:3]}****{n[-4:]}" in problems for n in numbers)


async def test_it_is_sent_to_the_provider_once_and_an_opt_out_is_respected(
        engine, people, settings, client, signed_in_as, staff, compound, clean_broadcasts):
    numbers = sorted(await _numbers(engine, compound.path, care_tag="elderly_alone"))
    assert len(numbers) >= 2
    await signed_in_as(staff)
    assert (await _compose(client, compound, care_tag="elderly_alone")).status_code == 303
    async with make_sessionmaker(engine)() as db:
        broadcast = (await db.execute(sa.select(Broadcast))).scalar_one()
    await signed_in_as(people.secretary)
    assert (await client.post(f"/broadcasts/{broadcast.id}/approve", headers=await csrf_headers(client),
                              follow_redirects=False)).status_code == 303
    # A resident replies TD after the approval: the provider's webhook.
    settings_token = "inbound-secret"
    client.app.state.settings = replace(settings, sms_inbound_token=settings_token)
    reply = await client.post(f"/notify/inbound/?token={settings_token}", json={"from": "+86" + numbers[0], "text": "TD"})
    assert reply.status_code == 200 and reply.json() == {"ok": True, "opted_out": True}

    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as db:  # the spread is the rate limit; here every row is made due now
        await db.execute(sa.update(Notification).values(next_attempt_at=sa.func.current_timestamp()))
        await db.commit()
    with FakeProvider() as provider:
        async with aiohttp.ClientSession() as http:
            send = make_sms_sender(sessionmaker, HttpGateway(provider.url + "/sms", "token", http), settings.base_url)
            while await worker.deliver_batch(sessionmaker, {Channel.sms: send}):
                pass
    bodies = [json.loads(r["body"]) for r in provider.received]
    assert sorted(b["to"] for b in bodies) == numbers[1:]  # each once; the opted-out number not at all
    assert all(b["text"] == f"【微网】{TEXT} 回复TD退订" and b["kind"] == "broadcast" for b in bodies)
    async with sessionmaker() as db:
        statuses = dict((await db.execute(sa.select(Notification.phone, Notification.status).where(
            Notification.broadcast_id == broadcast.id))).all())
    assert statuses[numbers[0]] == Delivery.skipped and {statuses[n] for n in numbers[1:]} == {Delivery.sent}
    page = await client.get(f"/broadcasts/{broadcast.id}")
    assert "已批准，发送中" in page.text and f"已发送 <strong>{len(numbers) - 1}</strong>" in page.text


async def test_a_rejection_needs_a_reason_and_sends_nothing(engine, people, client, signed_in_as, staff, compound,
                                                           clean_broadcasts):
    await signed_in_as(staff)
    await _compose(client, compound)
    async with make_sessionmaker(engine)() as db:
        broadcast = (await db.execute(sa.select(Broadcast))).scalar_one()
    await signed_in_as(people.secretary)
    bare = await client.post(f"/broadcasts/{broadcast.id}/reject", data={"reason": " "},
                             headers=await csrf_headers(client), follow_redirects=False)
    assert bare.status_code == 422 and "请写明原因" in bare.text
    done = await client.post(f"/broadcasts/{broadcast.id}/reject", data={"reason": "时间写错了"},
                             headers=await csrf_headers(client), follow_redirects=False)
    assert done.status_code == 303
    async with make_sessionmaker(engine)() as db:
        rejected = await db.get(Broadcast, broadcast.id)
        queued = (await db.execute(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.channel == Channel.sms))).scalar_one()
    assert rejected.status == "rejected" and rejected.reason == "时间写错了" and queued == 0
    await signed_in_as(staff)
    assert "时间写错了" in (await client.get(f"/broadcasts/{broadcast.id}")).text


async def test_who_may_see_and_write_them(engine, people, client, signed_in_as, staff, compound, clean_broadcasts):
    await signed_in_as(staff)
    await _compose(client, compound)
    async with make_sessionmaker(engine)() as db:
        broadcast = (await db.execute(sa.select(Broadcast))).scalar_one()
    await signed_in_as(people.leader)
    assert (await client.get("/broadcasts/")).status_code == 403
    assert (await client.get(f"/broadcasts/{broadcast.id}")).status_code == 403
    await signed_in_as(people.other_secretary)
    assert (await client.get(f"/broadcasts/{broadcast.id}")).status_code == 404
    listing = await client.get("/broadcasts/")
    assert listing.status_code == 200 and TEXT[:20] not in listing.text
    # Another community's staff cannot address this compound.
    assert (await _compose(client, compound)).status_code == 422
    await signed_in_as(people.admin)  # the street may approve too
    assert (await client.post(f"/broadcasts/{broadcast.id}/approve", headers=await csrf_headers(client),
                              follow_redirects=False)).status_code == 303
