"""The `issue` and `issue_event` types on POST /api/sync: same guarantees as every type."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from server.issues.models import Issue, IssueEvent, Status
from server.sync.models import SyncReceipt
from tests.sync.helpers import CST, post_sync, record

from .conftest import in_days


def issue_record(node, category, **data):
    return record("issue", {"node_id": node.id, "category_id": category.id, "description": "井盖松动", **data},
                  created_at=datetime.now(CST) - timedelta(hours=5))


async def test_it_stores_an_offline_problem_and_its_events_once(signed_in_as, people, category, db, company_of_staff):
    client = await signed_in_as(people.leader)
    rec = issue_record(people.microgrid, category)
    assign = record("issue_event", {"issue_id": rec["id"], "kind": "assign", "company_id": company_of_staff.id,
                                    "deadline": in_days(3)}, created_at=datetime.now(CST) - timedelta(hours=4))
    response = await post_sync(client, [rec, assign])
    assert [r["status"] for r in response.json()["results"]] == ["created", "created"]
    issue = await db.get(Issue, rec["id"])
    # Reported when it happened on the phone, not when it reached the server.
    assert issue.reported_at.replace(tzinfo=None) < (datetime.utcnow() - timedelta(hours=4, minutes=50))
    assert issue.status == Status.assigned and issue.assignee_company_id == company_of_staff.id
    receipt = await db.get(SyncReceipt, uuid.UUID(rec["id"]))
    assert receipt.grid_path == people.microgrid.path
    again = await post_sync(client, [rec, assign])
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "duplicate"]
    assert (await db.execute(sa.select(sa.func.count()).select_from(IssueEvent).where(IssueEvent.issue_id == rec["id"]))).scalar_one() == 2


async def test_it_rejects_a_problem_outside_the_grid_with_a_message(signed_in_as, people, category, db):
    client = await signed_in_as(people.leader)
    rec = issue_record(people.neighbour_microgrid, category)
    result = (await post_sync(client, [rec])).json()["results"][0]
    assert result["status"] == "rejected" and "node_id" in result["errors"]
    assert await db.get(Issue, rec["id"]) is None
    bad = issue_record(people.microgrid, category, description="")
    result = (await post_sync(client, [bad])).json()["results"][0]
    assert result["status"] == "rejected" and "description" in result["errors"]


async def test_it_keeps_a_late_event_as_a_note_and_still_acknowledges_it(signed_in_as, people, category, db, new_problem):
    issue = await new_problem()
    client = await signed_in_as(people.leader)
    base = datetime.now(CST)
    steps = [("solve_on_spot", {}), ("feedback", {"text": "已处理"}), ("close", {})]
    records = [record("issue_event", {"issue_id": issue.id, "kind": k, **d}, created_at=base + timedelta(minutes=i + 1))
               for i, (k, d) in enumerate(steps)]
    # A second phone, offline, verified it in between: no longer valid, kept as a note.
    late = record("issue_event", {"issue_id": issue.id, "kind": "verify"}, created_at=base + timedelta(minutes=2, seconds=30))
    results = (await post_sync(client, records + [late])).json()["results"]
    assert [r["status"] for r in results] == ["created"] * 4
    stored = await db.get(IssueEvent, late["id"])
    await db.refresh(stored)
    assert not stored.applied and stored.note
    await db.refresh(issue)
    assert issue.status == Status.closed and issue.note_count == 1


async def test_it_refuses_property_staff_events_on_other_problems(signed_in_as, people, new_problem, category):
    issue = await new_problem()
    client = await signed_in_as(people.property_staff)
    rec = record("issue_event", {"issue_id": issue.id, "kind": "rectify", "note": "修好了", "photos": [str(uuid.uuid4())]})
    result = (await post_sync(client, [rec])).json()["results"][0]
    assert result["status"] == "rejected" and "issue_id" in result["errors"]
    refused = (await post_sync(client, [issue_record(people.microgrid, category)])).json()["results"][0]
    assert refused["status"] == "rejected"  # property staff do not report problems


async def test_it_documents_both_types_in_the_openapi_schema(signed_in_as, people):
    client = await signed_in_as(people.leader)
    schema = (await client.get("/schema/openapi.json")).json()
    body = schema["paths"]["/api/sync"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    titles = {variant["title"]: variant for variant in body["properties"]["records"]["items"]["oneOf"]}
    assert "issue" in titles and "issue_event" in titles
    assert "description" in titles["issue"]["properties"]["data"]["properties"]
    assert "kind" in titles["issue_event"]["properties"]["data"]["properties"]


async def test_it_tells_the_sender_on_the_page_when_a_synced_event_was_kept_as_a_note(signed_in_as, people, new_problem):
    issue = await new_problem()
    client = await signed_in_as(people.leader)
    rec = record("issue_event", {"issue_id": issue.id, "kind": "close"})
    assert (await post_sync(client, [rec])).json()["results"][0]["status"] == "created"
    page = await client.get(f"/issues/{issue.id}")
    assert "您的操作已作为备注保留" in page.text and "办结前必须先向居民反馈" in page.text
