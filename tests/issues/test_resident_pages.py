"""Residents without an account: report through the notice-board QR page, follow it by
its tracking code, say it is not solved (once per feedback), read announcements."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from server.grid.models import GridNode, Household, Level
from server.issues import public, service
from server.issues.models import Issue, Source, Status



@pytest.fixture(autouse=True)
async def fresh_address(db):
    """The test client always comes from the same address: forget earlier reports' hashes."""
    await db.execute(sa.update(Issue).where(Issue.source == Source.resident).values(reporter_ip_hash="old"))
    await db.commit()


def form(settings, node, *, seconds_ago=10, **fields):
    return {"token": public.form_token(settings.secret_key, node.code, int(time.time()) - seconds_ago),
            "category_id": "2", "description": "楼下垃圾三天没清运", **fields}


async def resident_post(client, node, data):
    # A resident's browser: the CSRF cookie from the page, the token in the form.
    await client.get(f"/r/{node.code}")
    return await client.post(f"/r/{node.code}", data={**data, "_csrf_token": client.cookies.get("csrftoken")})


async def test_it_shows_the_report_page_without_an_account_and_without_personal_data(client, people, db):
    page = await client.get(f"/r/{people.microgrid.code}")
    assert page.status_code == 200 and people.leader.name in page.text
    assert people.leader.phone not in page.text
    households = (await db.execute(sa.select(Household).where(Household.microgrid_id == people.microgrid.id))).scalars().all()
    assert not any(h.head_name in page.text or h.phone in page.text for h in households)
    assert (await client.get(f"/r/{people.community.code}")).status_code == 404
    assert (await client.get("/r/NO-SUCH-CODE")).status_code == 404


async def test_it_puts_a_residents_report_on_the_leaders_ledger(client, people, settings, db, signed_in_as):
    response = await resident_post(client, people.microgrid, form(settings, people.microgrid, reporter_phone="13800001111"))
    assert response.status_code == 201
    issue = (await db.execute(sa.select(Issue).where(Issue.source == Source.resident).order_by(Issue.received_at.desc()))).scalars().first()
    assert issue.tracking_code in response.text and issue.node_path == people.microgrid.path
    assert issue.reporter_phone == "13800001111" and issue.reporter_ip_hash not in ("", "old")
    leader = await signed_in_as(people.leader)
    ledger = await leader.get("/issues?source=resident")
    assert f"/issues/{issue.id}" in ledger.text


async def test_it_refuses_a_filled_honeypot_a_hurried_form_and_a_forged_token(client, people, settings, db):
    before = (await db.execute(sa.select(sa.func.count()).select_from(Issue))).scalar_one()
    honeypot = await resident_post(client, people.microgrid, form(settings, people.microgrid, website="http://spam"))
    hurried = await resident_post(client, people.microgrid, form(settings, people.microgrid, seconds_ago=0))
    stale = await resident_post(client, people.microgrid, form(settings, people.microgrid, seconds_ago=3 * 3600))
    forged = await resident_post(client, people.microgrid, {**form(settings, people.microgrid), "token": f"{int(time.time()) - 10}.abc"})
    assert [r.status_code for r in (honeypot, hurried, stale, forged)] == [400, 400, 400, 400]
    assert "楼下垃圾三天没清运" in hurried.text  # what the resident typed is kept
    assert (await db.execute(sa.select(sa.func.count()).select_from(Issue))).scalar_one() == before


async def test_it_limits_reports_per_address_and_per_micro_grid(client, people, settings, db, monkeypatch):
    node = people.neighbour_microgrid
    statuses = [(await resident_post(client, node, form(settings, node))).status_code for _ in range(public.PER_ADDRESS_PER_HOUR + 1)]
    assert statuses == [201] * public.PER_ADDRESS_PER_HOUR + [429]
    await db.execute(sa.update(Issue).where(Issue.source == Source.resident).values(reporter_ip_hash="old"))
    await db.commit()
    monkeypatch.setattr(public, "PER_MICROGRID_PER_DAY", 1)
    assert (await resident_post(client, node, form(settings, node))).status_code == 429


async def test_it_tracks_a_problem_and_reopens_it_once_per_feedback(client, people, settings, db, as_viewer):
    response = await resident_post(client, people.microgrid, form(settings, people.microgrid, description="路灯坏了"))
    issue = (await db.execute(sa.select(Issue).where(Issue.source == Source.resident).order_by(Issue.received_at.desc()))).scalars().first()
    leader = await as_viewer(people.leader)
    await service.record_event(db, leader, issue.id, "solve_on_spot", {"note": "已报修"})
    await service.record_event(db, leader, issue.id, "feedback", {"text": "路灯已于今天修好", "channel": "phone"})
    await db.commit()
    page = await client.get(f"/track/{issue.tracking_code.lower()}")
    assert page.status_code == 200 and "路灯已于今天修好" in page.text and "已反馈" in page.text
    assert leader.name not in page.text and "not-solved" in page.text
    csrf = {"_csrf_token": client.cookies.get("csrftoken")}
    response = await client.post(f"/track/{issue.tracking_code}/not-solved", data={**csrf, "note": "晚上还是不亮"}, follow_redirects=False)
    assert response.status_code == 303
    await client.post(f"/track/{issue.tracking_code}/not-solved", data=csrf)
    await db.refresh(issue)
    assert issue.status == Status.reopened and issue.reopen_count == 1 and issue.note_count == 0
    page = await client.get(f"/track/{issue.tracking_code}")
    assert "not-solved" not in page.text
    assert (await client.get("/track/ZZZZZZZZ")).status_code == 404
    assert (await client.get(f"/track?code={issue.tracking_code}", follow_redirects=False)).status_code == 303


async def test_it_publishes_an_announcement_on_the_compounds_page(client, people, db, as_viewer, new_problem):
    issue = await new_problem(description="小区围墙外违建")
    secretary = await as_viewer(people.secretary)
    await service.record_event(db, secretary, issue.id, "announce", {"title": "关于围墙外违建的说明", "body": "产权不属于本小区，已移交县城管局。"})
    await db.commit()
    compound = (await db.execute(sa.select(GridNode).where(GridNode.path == people.microgrid.path[:24]))).scalar_one()
    assert compound.level == Level.compound
    page = await client.get(f"/announcements/{compound.code}")
    assert page.status_code == 200 and "关于围墙外违建的说明" in page.text and "已移交县城管局" in page.text
    via_microgrid = await client.get(f"/announcements/{people.microgrid.code}")
    assert "关于围墙外违建的说明" in via_microgrid.text
    other = await client.get(f"/announcements/{people.neighbour_microgrid.path and people.neighbour_microgrid.code}")
    assert "关于围墙外违建的说明" not in other.text


async def test_it_draws_the_notice_board_qr_code_for_the_page(client, people, settings):
    response = await client.get(f"/r/{people.microgrid.code}/qr.svg")
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in response.content and people.microgrid.name.encode() in response.content
    assert (await client.get(f"/r/{people.community.code}/qr.svg")).status_code == 404
