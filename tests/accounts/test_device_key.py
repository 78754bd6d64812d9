"""The device-key fallback: a WebCrypto key held by the browser, unlocked by a PIN checked here."""
from datetime import timedelta

import sqlalchemy as sa

from server.accounts import credentials
from server.accounts.models import AuditEntry, Device
from server.db import make_sessionmaker
from server.clock import utcnow
from tests.accounts.conftest import GOOD_PIN, devices_of, enrol_device_key, sign_in_device_key
from tests.accounts.softkeys import SoftDeviceKey


async def test_it_enrols_a_device_key_with_a_hashed_pin_and_signs_in(client, fresh_leader, new_invite, engine, people):
    key, enrolled = await enrol_device_key(client, await new_invite(fresh_leader))
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json()["credential_id"] == key.credential_id
    [device] = await devices_of(engine, fresh_leader.id)
    assert device.kind == "device_key" and device.public_key == key.spki
    assert GOOD_PIN not in device.pin_hash and device.pin_hash.startswith("scrypt$")

    client.cookies.clear()
    response = await sign_in_device_key(client, key)
    assert response.status_code == 200, response.text
    assert (await client.get(f"/grid/{people.microgrid.code}")).status_code == 200


async def test_it_refuses_a_weak_or_malformed_pin_at_enrolment(client, fresh_leader, new_invite, engine):
    token = await new_invite(fresh_leader)
    for pin in ["123456", "000000", "12345", "abcdef", "1234567"]:
        _, response = await enrol_device_key(client, token, pin=pin)
        assert response.status_code == 400, pin
        assert "PIN" in response.json()["message"]
    assert await devices_of(engine, fresh_leader.id) == []


async def test_it_rejects_a_signature_from_another_key(client, fresh_leader, new_invite, engine):
    key, _ = await enrol_device_key(client, await new_invite(fresh_leader))
    client.cookies.clear()
    thief = SoftDeviceKey()
    response = await sign_in_device_key(client, thief, credential_id=key.credential_id)
    assert response.status_code == 401
    assert "验证信息不正确" in response.json()["message"]
    async with make_sessionmaker(engine)() as db:
        failure = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "sign_in_failed")
                                    .order_by(AuditEntry.id.desc()))).scalars().first()
    assert failure.detail["reason"] == "bad_signature"
    # A forged signature is not a PIN failure: it must not lock the owner out.
    [device] = await devices_of(engine, fresh_leader.id)
    assert device.pin_failures == 0


async def test_it_rejects_a_signature_made_for_another_origin(client, fresh_leader, new_invite):
    key, _ = await enrol_device_key(client, await new_invite(fresh_leader))
    client.cookies.clear()
    response = await sign_in_device_key(client, key, origin="https://evil.example")
    assert response.status_code == 401


async def test_it_counts_wrong_pins_and_locks_after_five_for_fifteen_minutes(client, fresh_leader, new_invite, engine):
    key, _ = await enrol_device_key(client, await new_invite(fresh_leader))
    client.cookies.clear()
    for attempt in range(1, 5):
        response = await sign_in_device_key(client, key, pin="999999")
        assert response.status_code == 401
        assert f"再错 {5 - attempt} 次" in response.json()["message"]
    fifth = await sign_in_device_key(client, key, pin="999999")
    assert fifth.status_code == 429
    assert "锁定" in fifth.json()["message"] and "15 分钟" in fifth.json()["message"]
    # Locked: even the right PIN is refused, with the same clear message.
    locked = await sign_in_device_key(client, key, pin=GOOD_PIN)
    assert locked.status_code == 429
    [device] = await devices_of(engine, fresh_leader.id)
    assert device.locked_until is not None
    async with make_sessionmaker(engine)() as db:
        actions = (await db.execute(sa.select(AuditEntry.action).where(AuditEntry.device_id == device.id))).scalars().all()
    assert actions.count("pin_failed") == 5 and "device_locked" in actions

    # Fifteen minutes later (moved in the database, which every app process reads) it works.
    async with make_sessionmaker(engine)() as db:
        await db.execute(sa.update(Device).where(Device.id == device.id).values(locked_until=utcnow() - timedelta(seconds=1)))
        await db.commit()
    assert (await sign_in_device_key(client, key, pin=GOOD_PIN)).status_code == 200
    [device] = await devices_of(engine, fresh_leader.id)
    assert device.pin_failures == 0


async def test_it_keeps_the_lockout_in_the_database_across_app_processes(fresh_leader, new_invite, engine, settings, client):
    """Two app instances (two processes behind a load balancer) share one failure count."""
    from litestar.testing import AsyncTestClient

    from server.app import create_app

    key, _ = await enrol_device_key(client, await new_invite(fresh_leader))
    async with AsyncTestClient(app=create_app(settings), base_url="http://a.local") as a, \
            AsyncTestClient(app=create_app(settings), base_url="http://b.local") as b:
        for i in range(5):
            await sign_in_device_key(a if i % 2 else b, key, pin="999999")
        assert (await sign_in_device_key(a, key, pin=GOOD_PIN)).status_code == 429
        assert (await sign_in_device_key(b, key, pin=GOOD_PIN)).status_code == 429


def test_it_hashes_pins_with_a_salt_and_checks_them():
    first, second = credentials.hash_pin("582914"), credentials.hash_pin("582914")
    assert first != second
    assert credentials.check_pin("582914", first) and credentials.check_pin("582914", second)
    assert not credentials.check_pin("582915", first)
    assert not credentials.check_pin("582914", None) and not credentials.check_pin("582914", "garbage")
