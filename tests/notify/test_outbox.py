"""The notification outbox: written with its event, delivered once, retried, never lost."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import timedelta

import aiohttp
import pytest
import sqlalchemy as sa

from server.db import make_engine, make_sessionmaker
from server.issues import service
from server.issues.models import EventKind
from server.notify import outbox, worker
from server.notify.gateway import DeliveryError, HttpGateway, LogGateway
from server.notify.models import Channel, Delivery, Notification
from server.notify.senders import make_sms_sender
from tests.issues.conftest import viewer_of
from tests.notify.fake_servers import FakeProvider


@pytest.fixture
async def clean_outbox(engine):
    """Each test starts with an empty outbox (the workers here take whatever is due)."""
    async with engine.begin() as conn:
        await conn.execute(sa.delete(Notification))
    yield


async def _resident_problem(db, people, phone="13900002222"):
    secretary = await viewer_of(db, people.secretary)
    issue, _ = await service.report_issue(db, None, node=people.microgrid, category=(await service.active_categories(db))[0].id,
                                          description="楼下路灯坏了", reporter_phone=phone)
    await service.record_event(db, secretary, issue.id, EventKind.solve_on_spot, {"note": "已修"})
    # The leaders' push about the report (tests/notify/test_push.py): these tests are about texts.
    await db.execute(sa.delete(Notification).where(Notification.channel == Channel.push))
    return issue, secretary


async def _pending(engine) -> list[Notification]:
    async with make_sessionmaker(engine)() as db:
        return list((await db.execute(sa.select(Notification).where(Notification.status == Delivery.pending))).scalars())


async def test_a_feedback_queues_the_residents_message_in_the_same_transaction(engine, people, clean_outbox):
    async with make_sessionmaker(engine)() as db:
        issue, secretary = await _resident_problem(db, people)
        await service.record_event(db, secretary, issue.id, EventKind.feedback, {"text": "路灯已修好", "channel": "sms"})
        await db.rollback()  # the event is not stored: neither is its message
    assert await _pending(engine) == []
    async with make_sessionmaker(engine)() as db:
        issue, secretary = await _resident_problem(db, people)
        await service.record_event(db, secretary, issue.id, EventKind.feedback, {"text": "路灯已修好", "channel": "sms"})
        await db.commit()
    [message] = await _pending(engine)
    assert message.channel == Channel.sms and message.phone == "13900002222" and "路灯已修好" in message.body
    assert message.url == f"/track/{issue.tracking_code}"


async def test_a_notice_put_up_about_a_residents_problem_texts_them(engine, people, clean_outbox):
    async with make_sessionmaker(engine)() as db:  # still open: a notice says why it cannot be solved (无法解决：公示)
        secretary = await viewer_of(db, people.secretary)
        issue, _ = await service.report_issue(db, None, node=people.microgrid, description="主干道路灯不亮",
                                              category=(await service.active_categories(db))[0].id,
                                              reporter_phone="13900002222")
        await db.execute(sa.delete(Notification).where(Notification.channel == Channel.push))
        await service.record_event(db, secretary, issue.id, EventKind.announce,
                                   {"title": "路灯维修公示", "body": "本周内更换主干道路灯三盏。"})
        await db.commit()
    [message] = await _pending(engine)
    assert message.channel == Channel.sms and message.phone == "13900002222" and message.kind == "announcement"
    assert "有公示：路灯维修公示" in message.body and message.url == f"/track/{issue.tracking_code}"


async def test_the_log_backend_writes_what_would_be_sent(engine, people, settings, tmp_path, clean_outbox):
    async with make_sessionmaker(engine)() as db:
        issue, secretary = await _resident_problem(db, people, phone="139-0000-3333")
        await service.record_event(db, secretary, issue.id, EventKind.feedback, {"text": "已处理", "channel": "sms"})
        await db.commit()
    log_file = tmp_path / "sms.log"
    sessionmaker = make_sessionmaker(engine)
    sender = make_sms_sender(sessionmaker, LogGateway(log_file), settings.base_url)
    assert await worker.deliver_batch(sessionmaker, {Channel.sms: sender}) == 1
    [line] = [json.loads(x) for x in log_file.read_text(encoding="utf-8").splitlines()]
    assert line["to"] == "13900003333" and "已处理" in line["text"]
    assert f"{settings.base_url}/track/{issue.tracking_code}" in line["text"] and "退订" not in line["text"]
    assert await _pending(engine) == []
    assert await worker.deliver_batch(sessionmaker, {Channel.sms: sender}) == 0  # sent once


async def _queue(engine, n: int, kind: str = "feedback", phone: str = "13700000000") -> None:
    async with make_sessionmaker(engine)() as db:
        for i in range(n):
            await outbox.queue(db, channel=Channel.sms, kind=kind, phone=phone, body=f"消息{i}")
        await db.commit()


async def test_it_retries_with_backoff_then_gives_up_visibly(engine, people, client, signed_in_as, clean_outbox):
    await _queue(engine, 1)
    sessionmaker = make_sessionmaker(engine)

    async def flaky(notification):
        raise DeliveryError("provider answered 503", retry=True)

    assert await worker.deliver_batch(sessionmaker, {Channel.sms: flaky}) == 1
    [row] = await _pending(engine)
    assert row.attempts == 1 and row.last_error == "provider answered 503"
    assert await worker.deliver_batch(sessionmaker, {Channel.sms: flaky}) == 0  # not due yet (backoff)
    for attempt in range(2, worker.MAX_ATTEMPTS + 1):
        async with sessionmaker() as db:
            await db.execute(sa.update(Notification).values(next_attempt_at=sa.func.current_timestamp()))
            await db.commit()
        await asyncio.sleep(0.01)
        assert await worker.deliver_batch(sessionmaker, {Channel.sms: flaky}) == 1
    async with sessionmaker() as db:
        failed = await db.get(Notification, row.id)
    assert failed.status == Delivery.failed and failed.attempts == worker.MAX_ATTEMPTS
    assert worker.backoff(1) == timedelta(seconds=30) and worker.backoff(3) == timedelta(minutes=2)

    await signed_in_as(people.admin)
    page = await client.get("/admin/notifications/")
    assert page.status_code == 200 and "provider answered 503" in page.text
    await signed_in_as(people.secretary)
    assert (await client.get("/admin/notifications/")).status_code == 403


async def test_a_refusal_is_not_retried(engine, clean_outbox):
    await _queue(engine, 1)

    async def refuse(notification):
        raise DeliveryError("provider refused: 400 bad number", retry=False)

    assert await worker.deliver_batch(make_sessionmaker(engine), {Channel.sms: refuse}) == 1
    async with make_sessionmaker(engine)() as db:
        [row] = (await db.execute(sa.select(Notification))).scalars().all()
    assert row.status == Delivery.failed and row.attempts == 1


async def test_a_worker_that_dies_holding_rows_leaves_them_to_the_next_once_its_lease_ends(engine, clean_outbox):
    await _queue(engine, 3)
    sessionmaker = make_sessionmaker(engine)
    taken = await worker.claim(sessionmaker, lease=timedelta(seconds=1))  # ...and then the process dies
    assert len(taken) == 3
    sent: list = []

    async def record(notification):
        sent.append(notification.id)
        return Delivery.sent

    assert await worker.deliver_batch(sessionmaker, {Channel.sms: record}) == 0  # still leased
    await asyncio.sleep(1.2)
    assert await worker.deliver_batch(sessionmaker, {Channel.sms: record}) == 3
    assert sorted(sent) == sorted(n.id for n in taken)


async def test_a_notification_survives_the_process_being_killed_before_sending(engine, settings, people, clean_outbox):
    """A real process stores an event with its message, is killed (SIGKILL), and a worker elsewhere sends it."""
    script = textwrap.dedent(f"""
        import asyncio, os, sys
        from server.db import make_engine, make_sessionmaker
        from server.notify import outbox
        import server.models  # every table, as in the app
        async def main():
            engine = make_engine({settings.database_url!r})
            async with make_sessionmaker(engine)() as db:
                await outbox.queue(db, channel="sms", kind="feedback", phone="13655556666", body="写入后被杀")
                await db.commit()
            print("committed", flush=True)
            await asyncio.sleep(60)  # a worker would start here; the process is killed first
        asyncio.run(main())
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                               cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    try:
        assert process.stdout.readline().strip() == "committed"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    sent: list = []

    async def record(notification):
        sent.append(notification.body)
        return Delivery.sent

    assert await worker.deliver_batch(make_sessionmaker(engine), {Channel.sms: record}) == 1
    assert sent == ["写入后被杀"]


async def test_two_workers_send_each_notification_once(engine, settings, clean_outbox):
    """Two app processes (two engines, two connection pools) deliver the same outbox at once."""
    await _queue(engine, 300)
    sent: list = []

    async def slow_record(notification):
        await asyncio.sleep(0.002)
        sent.append(notification.id)
        return Delivery.sent

    engines = [make_engine(settings.database_url) for _ in range(2)]

    async def run(one):
        sessionmaker = make_sessionmaker(one)
        idle = 0
        while idle < 3:
            handled = await worker.deliver_batch(sessionmaker, {Channel.sms: slow_record}, limit=25)
            idle = idle + 1 if handled == 0 else 0
            await asyncio.sleep(0.01 if handled else 0.05)

    try:
        await asyncio.gather(*(run(e) for e in engines))
    finally:
        for one in engines:
            await one.dispose()
    assert len(sent) == 300 and len(set(sent)) == 300
    assert await _pending(engine) == []


async def test_the_http_adapter_against_a_local_fake_provider(engine, settings, clean_outbox):
    await _queue(engine, 2, phone="13811112222")
    sessionmaker = make_sessionmaker(engine)
    with FakeProvider(status=200) as provider:
        async with aiohttp.ClientSession() as client:
            gateway = HttpGateway(provider.url + "/sms", "secret-token", client)
            sender = make_sms_sender(sessionmaker, gateway, settings.base_url)
            assert await worker.deliver_batch(sessionmaker, {Channel.sms: sender}) == 2
            assert len(provider.received) == 2
            first = provider.received[0]
            assert first["path"] == "/sms" and first["headers"]["authorization"] == "Bearer secret-token"
            assert json.loads(first["body"])["to"] == "13811112222"
            provider.status = 503
            await _queue(engine, 1)
            assert await worker.deliver_batch(sessionmaker, {Channel.sms: sender}) == 1
            [waiting] = await _pending(engine)
            assert waiting.attempts == 1 and "503" in waiting.last_error
            provider.status = 400
            await _queue(engine, 1, phone="13899990000")
            await worker.deliver_batch(sessionmaker, {Channel.sms: sender})
    async with sessionmaker() as db:
        statuses = dict((await db.execute(sa.select(Notification.phone, Notification.status))).all())
    assert statuses["13899990000"] == Delivery.failed


async def test_an_opt_out_by_reply_stops_publicity_but_not_replies_about_ones_own_problem(
        engine, settings, client, app, tmp_path, clean_outbox):
    app.state.settings = replace(settings, sms_inbound_token="inbound-secret")
    refused = await client.post("/notify/inbound?token=wrong", json={"from": "13512345678", "text": "TD"})
    assert refused.status_code == 403
    reply = await client.post("/notify/inbound?token=inbound-secret", json={"from": "+86 135 1234 5678", "text": " td "})
    assert reply.status_code == 200 and reply.json()["opted_out"] is True
    form_reply = await client.post("/notify/inbound?token=inbound-secret", data={"from": "13512349999", "text": "退订"})
    assert form_reply.json()["opted_out"] is True
    chat = await client.post("/notify/inbound?token=inbound-secret", data={"from": "13512340000", "text": "谢谢"})
    assert chat.json()["opted_out"] is False
    await _queue(engine, 1, kind="broadcast", phone="13512345678")
    await _queue(engine, 1, kind="feedback", phone="13512345678")
    log_file = tmp_path / "sms.log"
    sessionmaker = make_sessionmaker(engine)
    sender = make_sms_sender(sessionmaker, LogGateway(log_file), settings.base_url)
    assert await worker.deliver_batch(sessionmaker, {Channel.sms: sender}) == 2
    async with sessionmaker() as db:
        kinds = dict((await db.execute(sa.select(Notification.kind, Notification.status))).all())
    assert kinds == {"broadcast": Delivery.skipped, "feedback": Delivery.sent}
    assert len(log_file.read_text(encoding="utf-8").splitlines()) == 1


async def test_the_resident_page_opts_a_number_out(client, engine):
    from server.notify.models import SmsOptOut

    from tests.conftest import csrf_headers

    page = await client.get("/unsubscribe/")
    assert page.status_code == 200 and 'name="phone"' in page.text
    bad = await client.post("/unsubscribe/", data={"phone": "abc"}, headers=await csrf_headers(client))
    assert bad.status_code == 422 and 'value="abc"' in bad.text
    done = await client.post("/unsubscribe/", data={"phone": "13600001234"}, headers=await csrf_headers(client))
    assert done.status_code == 200
    async with make_sessionmaker(engine)() as db:
        assert await db.get(SmsOptOut, "13600001234") is not None
