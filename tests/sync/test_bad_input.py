"""Odd input on the sync API answers per record (or 400), never 500: times out of any
phone's reach, ids past 64 bits, JSON nested 2,000 deep, invisible characters, any
content type. The checks live in server/validate.py."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from server.issues.models import Issue
from server.visits.models import Visit
from tests.conftest import csrf_headers
from tests.sync.helpers import households_of, post_sync, record, visit


@pytest.mark.parametrize("created_at", [
    "0001-01-01T00:00:00+08:00",  # converting to UTC overflowed
    "0001-01-01T00:00:00-12:00",
    "1999-12-31T23:59:59+08:00",
    "9999-12-31T23:59:59-12:00",
    "2026-13-01T00:00:00+08:00",
    "2026-01-01T00:00:00",  # no offset
    "２０２６-01-01T00:00:00+08:00",  # full-width digits
])
async def test_it_rejects_a_time_no_phone_could_have(created_at, db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    rec = visit(household.id)
    rec["created_at"] = created_at
    response = await post_sync(client, [rec])
    assert response.status_code == 200
    result = response.json()["results"][0]
    assert result["status"] == "rejected" and "created_at" in result["errors"]


@pytest.mark.parametrize("field,value", [
    ("node_id", 2**63), ("node_id", 2**64), ("node_id", 2**31), ("category_id", 2**63), ("household_id", 2**63),
    ("node_id", 0), ("node_id", -1),
])
async def test_it_rejects_ids_no_database_holds(field, value, db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    data = {"node_id": people.microgrid.id, "category_id": 1, "description": "楼道灯坏了", field: value}
    response = await post_sync(client, [record("issue", data)])
    assert response.status_code == 200
    result = response.json()["results"][0]
    assert result["status"] == "rejected" and field in result["errors"], result


async def test_it_rejects_an_event_naming_a_company_past_64_bits(db, people, signed_in_as):
    client = await signed_in_as(people.secretary)
    made = record("issue", {"node_id": people.microgrid.id, "category_id": 1, "description": "漏水"})
    assert (await post_sync(client, [made])).json()["results"][0]["status"] == "created"
    event = record("issue_event", {"issue_id": made["id"], "kind": "assign", "company_id": 2**64, "deadline": "2030-01-01"})
    result = (await post_sync(client, [event])).json()["results"][0]
    assert result["status"] == "rejected" and "company_id" in result["errors"]


async def test_it_answers_400_for_json_nested_two_thousand_deep(people, signed_in_as):
    client = await signed_in_as(people.leader)
    deep = '{"records": [' + '{"a": ' * 2000 + "1" + "}" * 2000 + "]}"
    response = await client.post("/api/sync", content=deep, headers={**await csrf_headers(client),
                                                                      "content-type": "application/json"})
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


@pytest.mark.parametrize("content_type", [
    None, "text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data",
    "multipart/form-data; boundary=xyz", "application/json; charset=latin-1", "image/jpeg",
])
async def test_it_reads_the_body_as_json_whatever_the_content_type_says(content_type, db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    rec = visit(household.id)
    headers = await csrf_headers(client)
    if content_type:
        headers["content-type"] = content_type
    import json

    response = await client.post("/api/sync", content=json.dumps({"records": [rec]}).encode(), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == "created"
    garbage = await client.post("/api/sync", content=b"--xyz\r\nnot json", headers=headers)
    assert garbage.status_code == 400


async def test_it_strips_nul_and_direction_overrides_from_text(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    rec = visit(household.id, note="门口\x00放了\u202e米\u2066")
    response = await post_sync(client, [rec])
    assert response.json()["results"][0]["status"] == "created", response.text
    stored = await db.get(Visit, uuid.UUID(rec["id"]))
    assert stored.note == "门口放了米"


async def test_it_does_not_let_a_leader_claim_a_residents_report(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    for source in ("resident", "staff"):
        rec = record("issue", {"node_id": people.microgrid.id, "category_id": 1, "description": "冒充居民", "source": source})
        result = (await post_sync(client, [rec])).json()["results"][0]
        assert result["status"] == "rejected" and "source" in result["errors"], result
        assert await db.get(Issue, rec["id"]) is None
    honest = record("issue", {"node_id": people.microgrid.id, "category_id": 1, "description": "自己发现的"})
    assert (await post_sync(client, [honest])).json()["results"][0]["status"] == "created"
    db.expire_all()
    assert (await db.execute(sa.select(Issue.source).where(Issue.id == honest["id"]))).scalar_one() == "leader"


async def test_it_rejects_a_record_nested_deeper_than_any_of_ours(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    rec = visit(household.id)
    nested: object = "底"
    for _ in range(900):  # msgspec decodes this much; Python's own recursion would not clean it
        nested = {"a": nested}
    rec["data"]["extra"] = nested
    response = await post_sync(client, [rec])
    assert response.status_code == 200
    result = response.json()["results"][0]
    assert result["status"] == "rejected" and "data" in result["errors"]
