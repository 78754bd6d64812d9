"""Passkeys through py_webauthn, with the bytes a real authenticator sends."""
import sqlalchemy as sa

from server.accounts.models import AuditEntry, Device
from server.accounts.sessions import COOKIE_NAME
from server.db import make_sessionmaker
from tests.accounts.conftest import devices_of, enrol_passkey, post_json, sign_in_passkey
from tests.accounts.softkeys import SoftAuthenticator


async def _last_audit(engine, action: str):
    async with make_sessionmaker(engine)() as db:
        return (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == action)
                                 .order_by(AuditEntry.id.desc()))).scalars().first()


async def test_it_asks_for_a_discoverable_credential_with_user_verification(client, fresh_leader, new_invite):
    token = await new_invite(fresh_leader)
    options = (await post_json(client, f"/api/invite/{token}/options", {"kind": "passkey"})).json()["publicKey"]
    assert options["rp"]["id"] == "localhost"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    signin = (await post_json(client, "/api/signin/options", {"kind": "passkey"})).json()["publicKey"]
    assert signin["userVerification"] == "required"
    assert not signin.get("allowCredentials")  # no user name: the phone offers its passkey


async def test_it_enrols_a_passkey_and_signs_in_with_it(client, fresh_leader, new_invite, engine, people):
    authenticator, enrolled = await enrol_passkey(client, await new_invite(fresh_leader))
    assert enrolled.status_code == 200, enrolled.text
    [device] = await devices_of(engine, fresh_leader.id)
    assert device.kind == "passkey" and device.name == "测试手机" and device.pin_hash is None

    client.cookies.clear()
    response = await sign_in_passkey(client, authenticator, next_path=f"/grid/{people.microgrid.code}")
    assert response.status_code == 200, response.text
    assert response.json()["next"] == f"/grid/{people.microgrid.code}"
    assert COOKIE_NAME in response.cookies
    assert "httponly" in response.headers["set-cookie"].lower()
    assert "samesite=lax" in response.headers["set-cookie"].lower()
    assert (await client.get(f"/grid/{people.microgrid.code}")).status_code == 200
    [device] = await devices_of(engine, fresh_leader.id)
    assert device.sign_count == 1 and device.last_used_at is not None
    assert (await _last_audit(engine, "sign_in")).device_id == device.id


async def test_it_rejects_an_assertion_signed_by_another_key(client, fresh_leader, new_invite, engine):
    authenticator, _ = await enrol_passkey(client, await new_invite(fresh_leader))
    client.cookies.clear()
    forger = SoftAuthenticator()
    forger.credential_id = authenticator.credential_id  # same id, wrong key
    response = await sign_in_passkey(client, forger)
    assert response.status_code == 401
    assert "无法识别这部手机" in response.json()["message"]
    assert COOKIE_NAME not in response.cookies
    failure = await _last_audit(engine, "sign_in_failed")
    assert failure.person_id == fresh_leader.id and failure.detail["reason"].startswith("assertion_rejected")


async def test_it_rejects_an_assertion_for_another_origin(client, fresh_leader, new_invite):
    authenticator, _ = await enrol_passkey(client, await new_invite(fresh_leader))
    client.cookies.clear()
    response = await sign_in_passkey(client, authenticator, origin="https://evil.example")
    assert response.status_code == 401


async def test_it_rejects_a_replayed_assertion(client, fresh_leader, new_invite):
    authenticator, _ = await enrol_passkey(client, await new_invite(fresh_leader))
    client.cookies.clear()
    options = (await post_json(client, "/api/signin/options", {"kind": "passkey"})).json()["publicKey"]
    credential = authenticator.assert_(options)
    first = await post_json(client, "/api/signin", {"kind": "passkey", "credential": credential})
    assert first.status_code == 200
    client.cookies.clear()
    again = await post_json(client, "/api/signin", {"kind": "passkey", "credential": credential})
    assert again.status_code == 401


async def test_it_rejects_a_challenge_the_server_never_issued(client, fresh_leader, new_invite):
    authenticator, _ = await enrol_passkey(client, await new_invite(fresh_leader))
    client.cookies.clear()
    options = (await post_json(client, "/api/signin/options", {"kind": "passkey"})).json()["publicKey"]
    response = await post_json(client, "/api/signin", {
        "kind": "passkey", "credential": authenticator.assert_(options, challenge="A" * 43)})
    assert response.status_code == 401


async def test_it_requires_user_verification(client, fresh_leader, new_invite, engine):
    token = await new_invite(fresh_leader)
    _, response = await enrol_passkey(client, token, SoftAuthenticator(user_verified=False))
    assert response.status_code == 400
    assert "登记失败" in response.json()["message"]
    assert await devices_of(engine, fresh_leader.id) == []
    failure = await _last_audit(engine, "enrol_failed")
    assert failure.person_id == fresh_leader.id
    # The invite was not spent by the failed attempt.
    _, retry = await enrol_passkey(client, token)
    assert retry.status_code == 200


async def test_it_refuses_a_revoked_passkey(client, fresh_leader, new_invite, engine):
    authenticator, _ = await enrol_passkey(client, await new_invite(fresh_leader))
    async with make_sessionmaker(engine)() as db:
        await db.execute(sa.update(Device).where(Device.person_id == fresh_leader.id).values(revoked_at=sa.func.current_timestamp()))
        await db.commit()
    client.cookies.clear()
    response = await sign_in_passkey(client, authenticator)
    assert response.status_code == 401
    assert "无法识别这部手机" in response.json()["message"]


async def test_it_answers_garbage_with_a_message_not_a_500(client):
    for body in [{}, {"kind": "passkey"}, {"kind": "passkey", "credential": "x"},
                 {"kind": "passkey", "credential": {"response": {"clientDataJSON": "!!"}}},
                 {"kind": "device_key", "challenge": 5, "signature": None}, {"kind": ["x"]}]:
        response = await post_json(client, "/api/signin", body)
        assert response.status_code == 401, (body, response.text)
        assert response.json()["message"]
    raw = await client.post("/api/signin", content=b"not json", headers={
        **(await __import__("tests.conftest", fromlist=["csrf_headers"]).csrf_headers(client)),
        "content-type": "application/json"})
    assert raw.status_code == 401
