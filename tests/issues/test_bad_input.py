"""Odd input on the ledger's forms and lists: a clear answer, never a 500 (server/validate.py)."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from server.issues.models import Issue, IssueEvent, IssueMeeting
from tests.sync.helpers import post_sync, record


@pytest.mark.parametrize("url", [
    "/issues?page=²", "/issues?page=9999999999999999999999", "/issues?category=²", "/issues?category=18446744073709551616",
    "/issues?month=2026-13", "/issues?month=0000-01", "/issues?month=9999-12", "/issues/rates?month=0001-01",
    "/issues/export.xlsx?category=²", "/meetings?month=2026-00",
])
async def test_it_reads_odd_filters_as_no_filter(url, people, signed_in_as):
    client = await signed_in_as(people.secretary)
    response = await client.get(url)
    assert response.status_code == 200


async def test_it_refuses_a_deadline_nobody_means(db, people, signed_in_as, new_problem, csrf_headers):
    client = await signed_in_as(people.secretary)
    issue_id = (await new_problem()).id
    for deadline in ("9999-12-31", "0001-01-01", "2026-02-30", "２０３０-01-01"):
        response = await client.post(f"/issues/{issue_id}/events", headers=await csrf_headers(client),
                                     data={"kind": "assign", "department": "县住建局", "deadline": deadline})
        assert response.status_code == 422, deadline
        assert "县住建局" in response.text  # kept
    far = (await post_sync(client, [record("issue_event", {"issue_id": issue_id, "kind": "assign",
                                                           "department": "县住建局", "deadline": "9999-12-31"})])).json()
    assert far["results"][0]["status"] == "rejected" and "三年" in far["results"][0]["errors"]["deadline"]
    db.expire_all()
    kinds = (await db.execute(sa.select(IssueEvent.kind).where(IssueEvent.issue_id == issue_id))).scalars().all()
    assert kinds == ["report"]


@pytest.mark.parametrize("held_on", ["9999-12-31", "0001-01-01", "1999-12-31"])
async def test_it_refuses_a_meeting_held_outside_any_calendar_we_keep(held_on, db, people, signed_in_as, csrf_headers):
    client = await signed_in_as(people.secretary)
    meeting_id = str(uuid.uuid4())
    response = await client.post("/meetings", headers=await csrf_headers(client), data={
        "id": meeting_id, "community": people.community.code, "kind": "handling", "held_on": held_on,
        "attendee_role": "社区党委书记", "attendee_name": "王书记"})
    assert response.status_code == 422
    assert "王书记" in response.text or "请" in response.text
    assert await db.get(IssueMeeting, meeting_id) is None


async def test_it_stores_text_without_nul_or_direction_overrides(db, people, signed_in_as, category, csrf_headers):
    client = await signed_in_as(people.leader)
    response = await client.post("/issues", headers=await csrf_headers(client), follow_redirects=False, data={
        "node_id": str(people.microgrid.id), "category_id": str(category.id),
        "description": "楼道\x00灯\u202egnp.exe坏了", "reporter_name": "张\u2067三\x07"})
    assert response.status_code == 303, response.text
    issue = await db.get(Issue, response.headers["location"].split("/")[2].split("?")[0])
    assert (issue.description, issue.reporter_name) == ("楼道灯gnp.exe坏了", "张三")


async def test_it_answers_400_for_nul_in_a_url(people, signed_in_as):
    client = await signed_in_as(people.leader)
    for url in ("/issues?node=%00", f"/grid/{people.microgrid.code}/search?q=%00", "/track/AB%00CD"):
        assert (await client.get(url)).status_code == 400, url
