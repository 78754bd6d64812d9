"""What people see: me and my devices, the administrator's people, invitations and audit log, phone reveal."""
import re

import sqlalchemy as sa

from server.accounts.models import AuditEntry, Invite, Person
from server.db import make_sessionmaker
from server.grid.models import Household
from tests.accounts.conftest import devices_of, enrol_device_key, enrol_passkey
from tests.conftest import csrf_headers

HX = {"HX-Request": "true"}


async def test_it_shows_me_my_posts_and_devices_with_last_use(client, fresh_leader, new_invite, engine, people):
    await enrol_passkey(client, await new_invite(fresh_leader))
    page = await client.get("/me")
    assert page.status_code == 200
    assert "李春秀" in page.text and people.microgrid.name in page.text
    assert "测试手机" in page.text and "最近使用" in page.text and "本机" in page.text
    assert "退出登录" in page.text and 'action="/signout"' in page.text
    assert "js/signout.js" in page.text
    assert "139****5678" in page.text and "13912345678" not in page.text


async def test_it_lets_me_revoke_my_other_phone(client, fresh_leader, new_invite, engine):
    key, _ = await enrol_device_key(client, await new_invite(fresh_leader))  # the old phone
    await enrol_passkey(client, await new_invite(fresh_leader))  # the new one, signed in now
    old = next(d for d in await devices_of(engine, fresh_leader.id) if d.kind == "device_key")
    response = await client.post(f"/me/devices/{old.id}/revoke", headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/me"
    page = await client.get("/me")
    assert "停用于" in page.text
    # Someone else's device is not mine to revoke, and does not even exist for me.
    async with make_sessionmaker(engine)() as db:
        other = (await db.execute(sa.select(Person).where(Person.id != fresh_leader.id))).scalars().first()
    theirs = await client.post("/me/devices/999999/revoke", headers=await csrf_headers(client))
    assert theirs.status_code == 404 and other


async def test_it_signs_me_out_when_i_revoke_this_phone(client, fresh_leader, new_invite, engine):
    await enrol_passkey(client, await new_invite(fresh_leader))
    [device] = await devices_of(engine, fresh_leader.id)
    response = await client.post(f"/me/devices/{device.id}/revoke", headers=await csrf_headers(client), follow_redirects=False)
    assert response.headers["location"] == "/signin?ended=revoked"
    assert (await client.get("/me", follow_redirects=False)).status_code == 303


async def test_it_lists_people_in_scope_with_masked_phones(signed_in_as, people, engine):
    client = await signed_in_as(people.secretary)
    page = await client.get("/admin/people")
    assert page.status_code == 200
    assert people.secretary.name in page.text
    assert people.other_secretary.name not in page.text or people.other_secretary.name == people.secretary.name
    listing = page.text[page.text.index('id="people"'):page.text.index('id="invite-form"')]
    for phone in re.findall(r"(?<![\w-])1\d{10}(?!\w)", listing):
        raise AssertionError(f"whole phone number in the list: {phone}")
    assert re.search(r"\d{3}\*{4}\d{4}", listing)
    found = await client.get("/admin/people", params={"q": people.leader.name})
    assert f"/admin/people/{people.leader.id}" in found.text


async def test_the_people_list_pages_through_everyone_in_scope_once(signed_in_as, people, engine):
    """A street has 1,352 leaders: the list pages (50 at a time) instead of cutting off."""
    from server.accounts.models import Post, current_post

    async with make_sessionmaker(engine)() as db:
        expected = set((await db.execute(
            sa.select(Person.id).join(Post, Post.person_id == Person.id)
            .where(Post.node_path.startswith(people.community.path), current_post()))).scalars())
    assert len(expected) > 50, "the fixture community must need more than one page"
    client = await signed_in_as(people.secretary)
    seen: list[int] = []
    url, pages = "/admin/people", 0
    while url:
        page = await client.get(url)
        assert page.status_code == 200
        assert f"共 {len(expected)} 人" in page.text
        listing = page.text[page.text.index('id="people"'):page.text.index('id="invite-form"')]
        on_page = [int(n) for n in re.findall(r'href="/admin/people/(\d+)"', listing)]
        assert 0 < len(on_page) <= 50
        seen += on_page
        pages += 1
        found = re.search(r'href="(/admin/people\?[^"]*after=\d+)" rel="next"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert pages == -(-len(expected) // 50)
    assert len(seen) == len(set(seen)) and set(seen) == expected


async def test_it_issues_an_invite_with_a_qr_code_and_audits_it(signed_in_as, people, engine):
    client = await signed_in_as(people.admin)
    response = await client.post("/admin/invites", data={
        "name": "张新", "phone": "13800001111", "role": "leader", "grid": people.microgrid.code, "post_kind": "B",
    }, headers=await csrf_headers(client))
    assert response.status_code == 200, response.text
    url = re.search(r"http://localhost:8000/invite/[\w-]+", response.text).group(0)
    assert 'src="data:image/svg+xml' in response.text
    async with make_sessionmaker(engine)() as db:
        person = (await db.execute(sa.select(Person).where(Person.name == "张新"))).scalars().one()
        invite = (await db.execute(sa.select(Invite).where(Invite.person_id == person.id))).scalars().one()
        entry = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "invite")
                                  .order_by(AuditEntry.id.desc()))).scalars().first()
    assert invite.role == "leader" and invite.post_kind == "B" and invite.node_id == people.microgrid.id
    assert entry.person_id == people.admin.id and entry.object_id == str(invite.id)
    # Not enrolled yet, so no post: the person's page is still there for the administrator.
    assert (await client.get(f"/admin/people/{person.id}")).status_code == 200
    other = await signed_in_as(people.other_secretary)
    assert (await other.get(f"/admin/people/{person.id}")).status_code == 404
    other.cookies.clear()
    assert (await other.get(url.replace("http://localhost:8000", ""))).status_code == 200


async def test_it_re_renders_the_invite_form_with_errors_and_input(signed_in_as, people):
    client = await signed_in_as(people.secretary)
    response = await client.post("/admin/invites", data={
        "name": "", "phone": "12", "role": "admin", "grid": people.other_community.code, "post_kind": "A",
    }, headers=await csrf_headers(client))
    assert response.status_code == 422
    assert "请选择您有权任命的角色" in response.text  # community staff cannot appoint the street
    assert "找不到这个编码" in response.text  # nor anywhere outside their community
    assert "请填写姓名" in response.text and "11 位手机号" in response.text
    assert 'value="12"' in response.text


async def test_it_forbids_people_pages_to_leaders(signed_in_as, people):
    client = await signed_in_as(people.leader)
    assert (await client.get("/admin/people")).status_code == 403
    assert (await client.get("/admin/audit")).status_code == 403


async def test_it_hides_people_outside_the_secretarys_community(signed_in_as, people):
    client = await signed_in_as(people.secretary)
    assert (await client.get(f"/admin/people/{people.leader.id}")).status_code == 200
    assert (await client.get(f"/admin/people/{people.other_secretary.id}")).status_code == 404
    assert (await client.get(f"/admin/people/{people.admin.id}")).status_code == 404


async def test_it_filters_the_audit_log_by_who_action_and_date(signed_in_as, people, engine, db):
    client = await signed_in_as(people.leader)
    household = (await db.execute(sa.select(Household).where(Household.microgrid_id == people.microgrid.id))).scalars().first()
    await client.post(f"/households/{household.id}/phone", headers={**HX, **(await csrf_headers(client))})
    admin = await signed_in_as(people.admin)
    page = await admin.get("/admin/audit", params={"action": "reveal_phone", "who": people.leader.name})
    assert page.status_code == 200
    assert "查看完整电话" in page.text and people.leader.name in page.text
    assert f"household {household.id}" in page.text
    none = await admin.get("/admin/audit", params={"action": "reveal_phone", "who": "没有这个人"})
    assert "没有记录" in none.text
    future = await admin.get("/admin/audit", params={"from": "2099-01-01"})
    assert "没有记录" in future.text
    bad = await admin.get("/admin/audit", params={"from": "yesterday"})
    assert bad.status_code == 200 and "2026-11-27" in bad.text


async def test_it_reveals_a_phone_once_as_a_fragment_and_audits_it(signed_in_as, people, db, engine):
    client = await signed_in_as(people.leader)
    household = (await db.execute(sa.select(Household).where(Household.microgrid_id == people.microgrid.id))).scalars().first()
    page = await client.get(f"/households/{household.id}")
    assert household.phone not in page.text and "显示" in page.text
    fragment = await client.post(f"/households/{household.id}/phone", headers={**HX, **(await csrf_headers(client))})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and f'href="tel:{household.phone}"' in fragment.text
    full = await client.post(f"/households/{household.id}/phone", headers=await csrf_headers(client))
    assert "<html" in full.text and household.phone in full.text
    async with make_sessionmaker(engine)() as fresh:
        entries = (await fresh.execute(sa.select(AuditEntry).where(
            AuditEntry.action == "reveal_phone", AuditEntry.object_id == str(household.id),
            AuditEntry.person_id == people.leader.id))).scalars().all()
    assert len(entries) >= 2


async def test_it_offers_no_reveal_to_the_street_admin_and_refuses_it(signed_in_as, people, db):
    client = await signed_in_as(people.admin)
    household = (await db.execute(sa.select(Household).where(Household.microgrid_id == people.microgrid.id))).scalars().first()
    page = await client.get(f"/households/{household.id}")
    assert f"/households/{household.id}/phone" not in page.text
    assert (await client.post(f"/households/{household.id}/phone", headers=await csrf_headers(client))).status_code == 403


async def test_it_exports_the_roster_of_the_community_with_whole_numbers_and_audits_it(signed_in_as, people, engine):
    from io import BytesIO

    from openpyxl import load_workbook

    client = await signed_in_as(people.secretary)
    response = await client.get("/admin/people.xlsx")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "姓名"
    names = {r[0] for r in rows[1:]}
    assert people.leader.name in names and people.leader.phone in {r[1] for r in rows[1:]}
    assert all(code.startswith(people.community.code) for *_, code in rows[1:]), [r for r in rows[1:] if not r[-1].startswith(people.community.code)][:5]
    async with make_sessionmaker(engine)() as db:
        entry = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "export")
                                  .order_by(AuditEntry.id.desc()))).scalars().first()
    assert entry.person_id == people.secretary.id and entry.detail["rows"] == len(rows) - 1
    leader = await signed_in_as(people.leader)
    assert (await leader.get("/admin/people.xlsx")).status_code == 403


async def test_it_pages_the_audit_log_as_cards_fifty_at_a_time(signed_in_as, people, engine):
    """The audit log reads on a phone (issue 13): each entry a card (table-cards), 50 a page, older ones a tap away."""
    async with make_sessionmaker(engine)() as db:
        for n in range(60):
            db.add(AuditEntry(action="reveal_phone", person_id=people.secretary.id, object_type="issue", object_id=f"p{n}"))
        await db.commit()
    admin = await signed_in_as(people.admin)
    first = (await admin.get("/admin/audit")).text
    assert 'class="table table-cards audit"' in first
    ids = re.findall(r'<tr data-audit-id="(\d+)">', first)
    assert len(ids) == 50 and 'data-label="' in first
    older = re.search(r'href="/admin/audit(\?[^"]*before=\d+)"', first).group(1).replace("&amp;", "&")
    second = re.findall(r'<tr data-audit-id="(\d+)">', (await admin.get("/admin/audit" + older)).text)
    assert second and not set(second) & set(ids) and max(map(int, second)) < min(map(int, ids))
