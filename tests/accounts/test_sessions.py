"""Sessions: in the database, sliding 30 days, ended at once by revocation or sign-out."""
from datetime import timedelta

import sqlalchemy as sa

from server.accounts.models import AuditEntry, WebSession
from server.accounts.sessions import COOKIE_NAME, hash_token, load_viewer, start_session
from server.db import make_sessionmaker
from server.clock import utcnow
from tests.accounts.conftest import devices_of, enrol_passkey
from tests.conftest import csrf_headers, sign_in


async def _audit(engine, action):
    async with make_sessionmaker(engine)() as db:
        return (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == action)
                                 .order_by(AuditEntry.id.desc()))).scalars().first()


async def test_it_slides_the_expiry_when_the_session_is_used(engine, people):
    async with make_sessionmaker(engine)() as db:
        token = await start_session(db, people.leader.id, None, days=30)
        await db.commit()
        # Used 29 days ago, expiring tomorrow: a use today pushes it 30 days out.
        await db.execute(sa.update(WebSession).where(WebSession.id == hash_token(token)).values(
            last_seen_at=utcnow() - timedelta(days=29), expires_at=utcnow() + timedelta(days=1)))
        await db.commit()
        assert await load_viewer(db, token, 30) is not None
        session = await db.get(WebSession, hash_token(token), populate_existing=True)
        expires = session.expires_at if session.expires_at.tzinfo else session.expires_at.replace(tzinfo=utcnow().tzinfo)
        assert expires > utcnow() + timedelta(days=29)


async def test_it_sends_an_expired_session_to_sign_in_with_the_reason(client, engine, people):
    token = await sign_in(client, engine, people.leader)
    async with make_sessionmaker(engine)() as db:
        await db.execute(sa.update(WebSession).where(WebSession.id == hash_token(token))
                         .values(expires_at=utcnow() - timedelta(minutes=1)))
        await db.commit()
    response = await client.get(f"/grid/{people.microgrid.code}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=") and "ended=expired" in response.headers["location"]
    assert f'{COOKIE_NAME}=;' in response.headers["set-cookie"] and "Max-Age=0" in response.headers["set-cookie"]
    page = await client.get(response.headers["location"])
    assert "登录已过期" in page.text
    assert (await _audit(engine, "session_rejected")).detail["reason"] == "expired"


async def test_it_treats_a_tampered_cookie_as_signed_out_with_a_message_and_an_audit_entry(client, people):
    client.cookies.set(COOKIE_NAME, "forged-" + "A" * 40)
    response = await client.get("/me", follow_redirects=False)
    assert response.status_code == 303
    assert "ended=unknown" in response.headers["location"]
    page = await client.get(response.headers["location"])
    assert page.status_code == 200 and "您的登录已结束" in page.text and "篡改" not in page.text
    client.cookies.set(COOKIE_NAME, "forged-" + "A" * 40)
    api = await client.get("/api/sync", headers={"accept": "application/json"})
    assert api.status_code == 401 and api.json()["status_code"] == 401


async def test_it_audits_the_tampered_cookie(client, engine):
    client.cookies.set(COOKIE_NAME, "tampered-cookie-value-xyz")
    await client.get("/me", follow_redirects=False)
    entry = await _audit(engine, "session_rejected")
    assert entry.detail["reason"] == "unknown" and entry.person_id is None


async def test_it_signs_the_device_out_at_once_when_it_is_revoked(client, fresh_leader, new_invite, engine, people):
    _, enrolled = await enrol_passkey(client, await new_invite(fresh_leader))
    assert (await client.get(f"/grid/{people.microgrid.code}")).status_code == 200
    [device] = await devices_of(engine, fresh_leader.id)

    # The administrator revokes the phone from another client.
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=client.app, base_url="http://admin.local") as admin:
        await sign_in(admin, engine, people.admin)
        revoked = await admin.post(f"/admin/people/{fresh_leader.id}/devices/{device.id}/revoke",
                                   headers=await csrf_headers(admin), follow_redirects=False)
        assert revoked.status_code == 303
    response = await client.get(f"/grid/{people.microgrid.code}", follow_redirects=False)
    assert response.status_code == 303 and "ended=revoked" in response.headers["location"]
    page = await client.get(response.headers["location"])
    assert "已被停用" in page.text
    entry = await _audit(engine, "revoke")
    assert entry.person_id == people.admin.id and entry.object_id == str(device.id)


async def test_it_signs_out_with_a_post_and_ends_the_session(client, engine, people):
    token = await sign_in(client, engine, people.leader)
    assert (await client.get("/signout")).status_code == 405  # never a GET: a link cannot sign you out
    no_csrf = await client.post("/signout", follow_redirects=False)
    assert no_csrf.status_code == 403
    response = await client.post("/signout", headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin?ended=signed_out"
    async with make_sessionmaker(engine)() as db:
        session = await db.get(WebSession, hash_token(token))
        assert session.revoked_at is not None
    client.cookies.set(COOKIE_NAME, token)  # a copy of the old cookie opens nothing
    assert (await client.get("/me", follow_redirects=False)).status_code == 303
    assert (await _audit(engine, "sign_out")).person_id == people.leader.id


async def test_it_records_a_burst_of_requests_with_a_dead_cookie_once(client, engine, people):
    token = await sign_in(client, engine, people.neighbour)
    async with make_sessionmaker(engine)() as db:
        await db.execute(sa.update(WebSession).where(WebSession.id == hash_token(token)).values(revoked_at=utcnow()))
        await db.commit()
    for _ in range(5):
        client.cookies.set(COOKIE_NAME, token)  # a service worker firing before the clearing answer lands
        assert (await client.get("/me", follow_redirects=False)).status_code == 303
    async with make_sessionmaker(engine)() as db:
        entries = (await db.execute(sa.select(AuditEntry).where(
            AuditEntry.action == "session_rejected", AuditEntry.person_id == people.neighbour.id))).scalars().all()
    assert len(entries) == 1 and entries[0].detail["reason"] == "revoked"


async def test_it_says_the_session_ended_when_its_row_was_deleted(client, people, engine):
    """A session cleaned up on the server (or lost to a restore) is not "tampered with"."""
    import sqlalchemy as sa

    from server.accounts.models import WebSession
    from server.accounts.sessions import hash_token
    from server.db import make_sessionmaker
    from tests.conftest import sign_in

    token = await sign_in(client, engine, people.leader)
    assert (await client.get("/me")).status_code == 200
    async with make_sessionmaker(engine)() as db:
        await db.execute(sa.delete(WebSession).where(WebSession.id == hash_token(token)))
        await db.commit()
    response = await client.get("/me", follow_redirects=False)
    assert response.status_code == 303 and "ended=unknown" in response.headers["location"]
    page = await client.get(response.headers["location"])
    assert "您的登录已结束，请重新登录。" in page.text and "篡改" not in page.text


async def test_it_tells_the_phone_a_session_was_revoked_so_it_drops_the_kept_pages(client, engine, people):
    """x-session-ended (read by static/sw.js and outbox-core.js): on the answer to the dead cookie,
    on the sign-in page the navigation lands on, and on the worker's 401; never from ?ended= alone."""
    token = await sign_in(client, engine, people.leader)
    assert "x-session-ended" not in (await client.get("/me")).headers
    async with make_sessionmaker(engine)() as db:
        await db.execute(sa.update(WebSession).where(WebSession.id == hash_token(token)).values(revoked_at=utcnow()))
        await db.commit()
    first = await client.get("/worklist", follow_redirects=False)
    assert first.status_code == 303 and first.headers["x-session-ended"] == "revoked"
    landing = await client.get(first.headers["location"])
    assert landing.status_code == 200 and landing.headers["x-session-ended"] == "revoked"
    client.cookies.set(COOKIE_NAME, token)
    api = await client.get("/api/offline-pages")
    assert api.status_code == 401 and api.headers["x-session-ended"] == "revoked"
    client.cookies.clear()
    assert "x-session-ended" not in (await client.get("/signin?ended=revoked")).headers


async def test_it_says_an_expired_session_expired_so_the_phone_keeps_its_pages(client, engine, people):
    token = await sign_in(client, engine, people.leader)
    async with make_sessionmaker(engine)() as db:
        await db.execute(sa.update(WebSession).where(WebSession.id == hash_token(token))
                         .values(expires_at=utcnow() - timedelta(minutes=1)))
        await db.commit()
    response = await client.get("/api/offline-pages")
    assert response.status_code == 401 and response.headers["x-session-ended"] == "expired"
