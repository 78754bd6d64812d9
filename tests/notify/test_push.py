"""Web Push: subscriptions, the events that push, and the payload as a push service receives it
(encrypted for the phone: decrypted here with the phone's own keys)."""
from __future__ import annotations

import base64
import json
import os

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from server.accounts.models import Post, Role
from server.db import make_sessionmaker
from server.issues import service
from server.issues.models import EventKind
from server.notify import push, worker
from server.notify.models import Channel, Delivery, Notification, NotifySetting, PushSubscription
from tests.conftest import csrf_headers
from tests.issues.conftest import viewer_of
from tests.notify.fake_servers import FakeProvider


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Phone:
    """A browser's push keys (what PushManager.subscribe makes on the phone)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def subscription(self, endpoint: str) -> dict:
        public = self.key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict:
        import http_ece

        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))


@pytest.fixture
async def clean(engine):
    async with engine.begin() as conn:
        await conn.execute(sa.delete(Notification))
        await conn.execute(sa.delete(PushSubscription))
        await conn.execute(sa.delete(NotifySetting))
    yield


async def test_a_phone_subscribes_with_the_servers_key(client, engine, people, signed_in_as, settings, clean):
    await signed_in_as(people.leader)
    key = (await client.get("/api/push/key")).json()["key"]
    assert key == push.public_key(settings.var_dir) and len(base64.urlsafe_b64decode(key + "==")) == 65
    assert (settings.var_dir / push.KEY_FILE).stat().st_mode & 0o077 == 0
    phone = Phone()
    headers = {**await csrf_headers(client), "accept": "application/json"}
    ok = await client.post("/api/push/subscriptions", json=phone.subscription("https://fcm.example.com/send/abc"), headers=headers)
    assert ok.status_code == 201
    for bad in ({"endpoint": "http://127.0.0.1:9/x", "keys": phone.subscription("")["keys"]}, {"endpoint": "https://x"}, {}):
        refused = await client.post("/api/push/subscriptions", json=bad, headers=headers)
        assert refused.status_code == 400
    async with make_sessionmaker(engine)() as db:
        [row] = (await db.execute(sa.select(PushSubscription))).scalars().all()
    assert row.person_id == people.leader.id and row.endpoint == "https://fcm.example.com/send/abc"


async def test_an_assignment_pushes_the_company_encrypted_for_its_phone(engine, people, settings, clean):
    phone = Phone()
    async with make_sessionmaker(engine)() as db:
        staff_post = (await db.execute(sa.select(Post).where(Post.person_id == people.property_staff.id, Post.role == Role.property))).scalars().first()
        secretary = await viewer_of(db, people.secretary)
        issue, _ = await service.report_issue(db, secretary, node=people.microgrid,
                                              category=(await service.active_categories(db))[0].id, description="电梯异响")
        with FakeProvider(status=201) as push_service:
            sub = phone.subscription(push_service.url + "/push/phone-1")
            db.add(PushSubscription(person_id=people.property_staff.id, endpoint_hash=push.endpoint_hash(sub["endpoint"]),
                                    endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"], auth=sub["keys"]["auth"]))
            await service.record_event(db, secretary, issue.id, EventKind.assign,
                                       {"company_id": staff_post.company_id, "deadline": "2027-03-01"})
            await db.commit()
            queued = (await db.execute(sa.select(Notification).where(
                Notification.channel == Channel.push, Notification.person_id == people.property_staff.id))).scalars().all()
            assert [n.kind for n in queued] == ["assigned"]
            sessionmaker = make_sessionmaker(engine)
            sender = push.make_push_sender(sessionmaker, settings)
            assert await worker.deliver_batch(sessionmaker, {Channel.push: sender}) >= 1
            received = [r for r in push_service.received if r["path"] == "/push/phone-1"]
    assert len(received) == 1
    request = received[0]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["authorization"].startswith("vapid t=") and b"\xe7\x94\xb5" not in request["body"]  # 电 not in clear
    shown = phone.decrypt(request["body"])
    assert shown["url"] == f"/issues/{issue.id}" and shown["body"] == "电梯异响" and "2027-03-01" in shown["title"]
    async with make_sessionmaker(engine)() as db:
        assert (await db.get(Notification, queued[0].id)).status == Delivery.sent


async def test_a_resident_report_pushes_the_leaders_unless_muted_and_a_gone_phone_is_forgotten(engine, people, settings, clean):
    phone = Phone()
    with FakeProvider(status=410) as push_service:
        async with make_sessionmaker(engine)() as db:
            sub = phone.subscription(push_service.url + "/push/gone")
            db.add(PushSubscription(person_id=people.leader.id, endpoint_hash=push.endpoint_hash(sub["endpoint"]),
                                    endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"], auth=sub["keys"]["auth"]))
            await service.report_issue(db, None, node=people.microgrid, category=(await service.active_categories(db))[0].id,
                                       description="楼道灯坏了")
            await db.commit()
        sessionmaker = make_sessionmaker(engine)
        await worker.deliver_batch(sessionmaker, {Channel.push: push.make_push_sender(sessionmaker, settings)})
    async with sessionmaker() as db:
        mine = (await db.execute(sa.select(Notification).where(Notification.person_id == people.leader.id))).scalars().all()
        assert [n.kind for n in mine] == ["reported"] and mine[0].status == Delivery.skipped
        assert (await db.execute(sa.select(PushSubscription))).scalars().all() == []  # 410: unsubscribed
        db.add(NotifySetting(person_id=people.leader.id, muted=["reported"]))
        await service.report_issue(db, None, node=people.microgrid, category=(await service.active_categories(db))[0].id,
                                   description="又坏了")
        await db.commit()
    await worker.deliver_batch(sessionmaker, {Channel.push: push.make_push_sender(sessionmaker, settings)})
    async with sessionmaker() as db:
        statuses = [n.status for n in (await db.execute(sa.select(Notification).where(
            Notification.person_id == people.leader.id))).scalars()]
    assert statuses == [Delivery.skipped, Delivery.skipped]


async def test_the_settings_page_mutes_what_is_unticked(client, engine, people, signed_in_as, clean):
    await signed_in_as(people.leader)
    page = await client.get("/me/notifications/")
    assert page.status_code == 200 and 'id="push-enable"' in page.text
    saved = await client.post("/me/notifications/", data={"kind": ["assigned", "reopened"]},
                              headers=await csrf_headers(client), follow_redirects=False)
    assert saved.status_code == 303
    async with make_sessionmaker(engine)() as db:
        setting = await db.get(NotifySetting, people.leader.id)
    assert setting.muted == ["reported", "deadline"]  # "assigned" is not a leader's: not offered, not changed
    assert "有事项等我审批" not in page.text and "居民说问题没有解决" in page.text


async def test_the_deadline_scan_reminds_once_a_day(engine, people, clean):
    from datetime import date, timedelta

    from server.issues.models import Issue
    from server.notify.rules import scan_deadlines

    async with make_sessionmaker(engine)() as db:
        staff_post = (await db.execute(sa.select(Post).where(Post.person_id == people.property_staff.id, Post.role == Role.property))).scalars().first()
        secretary = await viewer_of(db, people.secretary)
        issue, _ = await service.report_issue(db, secretary, node=people.microgrid,
                                              category=(await service.active_categories(db))[0].id, description="围墙破损")
        today = date.today()
        await service.record_event(db, secretary, issue.id, EventKind.assign,
                                   {"company_id": staff_post.company_id, "deadline": (today + timedelta(days=1)).isoformat()})
        await db.commit()
        await db.execute(sa.delete(Notification))
        for _ in range(2):  # the worker scans every few minutes: one reminder a day
            await scan_deadlines(db, today)
        await db.commit()
        kinds = [(n.kind, n.person_id) for n in (await db.execute(sa.select(Notification).where(
            Notification.url == f"/issues/{issue.id}"))).scalars()]
        assert ("deadline", people.property_staff.id) in kinds and len(kinds) == len(set(kinds))
        await scan_deadlines(db, today + timedelta(days=2))  # overdue now: the leaders
        await db.commit()
        overdue = (await db.execute(sa.select(Notification).where(
            Notification.url == f"/issues/{issue.id}", Notification.title.like("已超期%")))).scalars().all()
        assert people.leader.id in [n.person_id for n in overdue]
        await db.execute(sa.update(Issue).where(Issue.id == issue.id).values(deadline=None))
        await db.commit()
