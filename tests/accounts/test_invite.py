"""Invites: one-time, expiring, recorded; enrolling gives the person the post."""
import sqlalchemy as sa

from server.accounts.models import AuditEntry, Invite, Post
from server.accounts.sessions import COOKIE_NAME
from server.db import make_sessionmaker
from tests.accounts.conftest import GOOD_PIN, devices_of, enrol_passkey, post_json
from tests.accounts.softkeys import SoftDeviceKey, b64url


async def _audit(engine, action: str, **where):
    async with make_sessionmaker(engine)() as db:
        query = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc())
        for key, value in where.items():
            query = query.where(getattr(AuditEntry, key) == value)
        return (await db.execute(query)).scalars().first()


async def test_it_shows_the_invite_with_the_persons_name_role_and_grid(client, fresh_leader, new_invite, people):
    token = await new_invite(fresh_leader)
    page = await client.get(f"/invite/{token}")
    assert page.status_code == 200
    assert "李春秀" in page.text and people.microgrid.name in page.text
    assert "微网格长" in page.text
    assert "这部手机" in page.text  # the capability check speaks Chinese


async def test_it_enrols_once_then_refuses_the_same_link(client, fresh_leader, new_invite, engine):
    token = await new_invite(fresh_leader)
    _, response = await enrol_passkey(client, token)
    assert response.status_code == 200, response.text
    assert COOKIE_NAME in response.cookies
    enrol = await _audit(engine, "enrol", person_id=fresh_leader.id)
    assert enrol is not None and enrol.detail["kind"] == "passkey"

    client.cookies.clear()
    again = await client.get(f"/invite/{token}")
    assert again.status_code == 410
    assert "已经使用" in again.text
    rejected = await _audit(engine, "invite_rejected", person_id=fresh_leader.id)
    assert rejected.detail["reason"] == "used"
    second = await post_json(client, f"/api/invite/{token}/options", {"kind": "device_key"})
    assert second.status_code == 410
    assert "已经使用" in second.json()["message"]


async def test_it_refuses_an_expired_invite_in_chinese(client, fresh_leader, new_invite, engine):
    token = await new_invite(fresh_leader)
    async with make_sessionmaker(engine)() as db:
        await db.execute(sa.update(Invite).where(Invite.person_id == fresh_leader.id)
                         .values(expires_at=sa.func.current_timestamp()))
        await db.commit()
    page = await client.get(f"/invite/{token}")
    assert page.status_code == 410
    assert "已过期" in page.text
    assert (await _audit(engine, "invite_rejected", person_id=fresh_leader.id)).detail["reason"] == "expired"


async def test_it_refuses_an_unknown_token_without_a_500(client, engine):
    for token in ["nope", "x" * 40, "%00" * 5]:
        page = await client.get(f"/invite/{token}")
        assert page.status_code == 404, token
        assert "邀请链接无效" in page.text, token
    # Not an invite URL at all: the plain "page not found".
    assert (await client.get("/invite/../../etc/passwd")).status_code == 404


async def test_it_lets_only_one_of_two_phones_racing_with_one_link_enrol(client, fresh_leader, new_invite, engine):
    token = await new_invite(fresh_leader)
    phones = [SoftDeviceKey(), SoftDeviceKey()]
    challenges = [(await post_json(client, f"/api/invite/{token}/options", {"kind": "device_key"})).json()["challenge"]
                  for _ in phones]
    answers = []
    for key, challenge in zip(phones, challenges):
        answers.append(await post_json(client, f"/api/invite/{token}/enrol", {
            "kind": "device_key", "public_key": b64url(key.spki), "challenge": challenge,
            "signature": key.sign(f"weiwang:enrol_device_key:http://localhost:8000:{challenge}"), "pin": GOOD_PIN}))
    assert [a.status_code for a in answers] == [200, 410]
    assert len(await devices_of(engine, fresh_leader.id)) == 1


async def test_it_gives_the_person_the_invited_post_on_enrolment(client, fresh_leader, new_invite, people, engine):
    token = await new_invite(fresh_leader, node=people.neighbour_microgrid, role="leader", post_kind="B")
    _, response = await enrol_passkey(client, token)
    assert response.status_code == 200
    async with make_sessionmaker(engine)() as db:
        posts = (await db.execute(sa.select(Post).where(Post.person_id == fresh_leader.id))).scalars().all()
    assert {p.node_id for p in posts} == {people.microgrid.id, people.neighbour_microgrid.id}
    # ...and the new session sees the neighbouring micro-grid now.
    assert (await client.get(f"/grid/{people.neighbour_microgrid.code}")).status_code == 200


async def test_it_stores_only_a_hash_of_the_token(fresh_leader, new_invite, engine):
    token = await new_invite(fresh_leader)
    async with make_sessionmaker(engine)() as db:
        hashes = (await db.execute(sa.select(Invite.token_hash).where(Invite.person_id == fresh_leader.id))).scalars().all()
    assert token not in hashes and all(len(h) == 64 for h in hashes)
