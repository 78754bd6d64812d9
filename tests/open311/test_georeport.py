"""Open311 GeoReport v2: every endpoint, every error shape, the key's subtree, the ledger behind it."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from server.accounts.models import AuditEntry
from server.db import make_sessionmaker
from server.issues import service
from server.issues.models import EventKind, Issue, IssueEvent, Source
from server.open311 import keys
from server.open311.models import ApiKey

BASE = "/open311/v2"


@pytest.fixture
async def partner(engine, people):
    """A key for the leader's community (the secretary's)."""
    async with make_sessionmaker(engine)() as db:
        raw, key = await keys.create_key(db, name="12345热线", grid=people.community.code)
        await db.commit()
        return raw, key.id


def is_error_array(response, status: int) -> bool:
    body = response.json()
    return (response.status_code == status and isinstance(body, list) and body
            and all(set(item) == {"code", "description"} and item["code"] == status and item["description"] for item in body))


async def test_it_lists_the_problem_categories_as_services(client):
    response = await client.get(f"{BASE}/services.json")
    assert response.status_code == 200
    services = response.json()
    assert services and {"service_code", "service_name", "metadata", "type"} <= set(services[0])
    assert all(s["metadata"] is False and s["type"] == "realtime" for s in services)


async def test_it_files_a_partner_report_as_a_ledger_problem_in_the_micro_grid(client, engine, people, partner):
    raw, key_id = partner
    services = (await client.get(f"{BASE}/services.json")).json()
    response = await client.post(f"{BASE}/requests.json", data={
        "api_key": raw, "service_code": services[0]["service_code"], "address_id": people.microgrid.code,
        "description": "3栋门口路灯不亮", "first_name": "张", "last_name": "三", "phone": "13800001111"})
    assert response.status_code == 201, response.text
    [created] = response.json()
    async with make_sessionmaker(engine)() as db:
        issue = await db.get(Issue, created["service_request_id"])
        assert issue.source == Source.open311 and issue.node_id == people.microgrid.id
        assert issue.description == "3栋门口路灯不亮" and issue.reporter_phone == "13800001111"
        report = (await db.execute(sa.select(IssueEvent).where(IssueEvent.issue_id == issue.id))).scalar_one()
        assert report.kind == EventKind.report and report.actor_role == "open311" and report.actor_name == "12345热线"
        audited = (await db.execute(sa.select(AuditEntry).where(
            AuditEntry.action == "open311_report", AuditEntry.object_id == issue.id))).scalar_one()
        assert audited.detail["api_key"] == key_id

    # Read back by id and in the list, without personal data.
    one = await client.get(f"{BASE}/requests/{issue.id}.json", params={"api_key": raw})
    assert one.status_code == 200
    [shown] = one.json()
    assert shown["status"] == "open" and shown["address_id"] == people.microgrid.code
    assert "13800001111" not in one.text and "张" not in one.text
    listed = await client.get(f"{BASE}/requests.json", params={"api_key": raw, "status": "open"})
    assert issue.id in [r["service_request_id"] for r in listed.json()]
    closed = await client.get(f"{BASE}/requests.json", params={"api_key": raw, "status": "closed"})
    assert issue.id not in [r["service_request_id"] for r in closed.json()]


async def test_it_shows_a_closed_problem_with_the_feedback_as_status_notes(client, engine, people, partner):
    raw, _ = partner
    from tests.issues.conftest import viewer_of

    async with make_sessionmaker(engine)() as db:
        secretary = await viewer_of(db, people.secretary)
        issue, _ = await service.report_issue(db, secretary, node=people.microgrid, category=(await service.active_categories(db))[0].id,
                                              description="楼道堆物")
        await service.record_event(db, secretary, issue.id, EventKind.solve_on_spot, {"note": "已清理"})
        await service.record_event(db, secretary, issue.id, EventKind.feedback, {"text": "已清理，谢谢反映", "channel": "phone"})
        await db.commit()
    response = await client.get(f"{BASE}/requests/{issue.id}.json", params={"api_key": raw})
    [shown] = response.json()
    assert shown["status"] == "closed" and shown["status_notes"] == "已清理，谢谢反映"
    by_code = await client.get(f"{BASE}/requests.json", params={"api_key": raw, "service_request_id": issue.id})
    assert [r["service_request_id"] for r in by_code.json()] == [issue.id]


async def test_it_keeps_a_partner_inside_its_subtree(client, engine, people, partner):
    raw, _ = partner
    services = (await client.get(f"{BASE}/services.json")).json()
    # A micro-grid of another community: the same answer as a code that does not exist.
    async with make_sessionmaker(engine)() as db:
        from server.grid.models import GridNode, Level
        from server.tree import in_subtree

        outside = (await db.execute(sa.select(GridNode).where(
            GridNode.level == Level.microgrid, in_subtree(GridNode.path, people.other_community.path)))).scalars().first()
        other_issue = (await db.execute(sa.select(Issue).where(in_subtree(Issue.node_path, people.other_community.path)))).scalars().first()
    for code in (outside.code, "NO-SUCH-GRID"):
        response = await client.post(f"{BASE}/requests.json", data={
            "api_key": raw, "service_code": services[0]["service_code"], "address_id": code, "description": "x"})
        assert is_error_array(response, 400) and "address_id" in response.json()[0]["description"]
    if other_issue is not None:
        response = await client.get(f"{BASE}/requests/{other_issue.id}.json", params={"api_key": raw})
        assert is_error_array(response, 404)
        listed = await client.get(f"{BASE}/requests.json", params={"api_key": raw, "service_request_id": other_issue.id})
        assert listed.json() == []


@pytest.mark.parametrize("params,status,word", [
    ({}, 403, "api_key"),
    ({"api_key": "ww_nope"}, 403, "api_key"),
    ({"status": "pending"}, 400, "status"),
    ({"start_date": "yesterday"}, 400, "start_date"),
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2025-01-01T00:00:00Z"}, 400, "end_date"),
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, 400, "90"),
    ({"service_request_id": ",".join(["x"] * 200)}, 400, "service_request_id"),
])
async def test_it_answers_bad_list_queries_with_the_error_array(client, partner, params, status, word):
    raw, _ = partner
    if params and "api_key" not in params:
        params = {**params, "api_key": raw}
    response = await client.get(f"{BASE}/requests.json", params=params)
    assert is_error_array(response, status), response.text
    assert word in response.json()[0]["description"]


@pytest.mark.parametrize("form,word", [
    ({"address_id": "", "description": "x"}, "address_id"),
    ({"lat": "30.6", "long": "103.5", "description": "x"}, "lat/long"),
    ({"service_code": "nosuch", "description": "x"}, "service_code"),
    ({"description": ""}, "description"),
    ({"description": "x", "phone": "call me"}, "phone"),
])
async def test_it_answers_bad_reports_with_the_error_array_and_stores_nothing(client, engine, people, partner, form, word):
    raw, _ = partner
    services = (await client.get(f"{BASE}/services.json")).json()
    data = {"api_key": raw, "service_code": services[0]["service_code"], "address_id": people.microgrid.code, **form}
    if "lat" in form:
        data.pop("address_id")
    async with make_sessionmaker(engine)() as db:
        before = (await db.execute(sa.select(sa.func.count()).select_from(Issue))).scalar_one()
    response = await client.post(f"{BASE}/requests.json", data=data)
    assert is_error_array(response, 400), response.text
    assert any(word in e["description"] for e in response.json())
    async with make_sessionmaker(engine)() as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Issue))).scalar_one() == before


async def test_it_answers_other_errors_in_the_same_shape(client, partner):
    raw, _ = partner
    assert is_error_array(await client.get(f"{BASE}/requests/{uuid.uuid4()}.json", params={"api_key": raw}), 404)
    assert is_error_array(await client.get(f"{BASE}/requests/{'9' * 3000}.json", params={"api_key": raw}), 404)
    assert is_error_array(await client.get(f"{BASE}/requests.xml", params={"api_key": raw}), 400)
    assert is_error_array(await client.post(f"{BASE}/requests.xml", data={"api_key": raw}), 400)
    assert is_error_array(await client.get(f"{BASE}/requests/abc.xml", params={"api_key": raw}), 400)
    assert is_error_array(await client.get(f"{BASE}/services/nosuch.json"), 404)
    not_json = await client.post(f"{BASE}/requests.json", content=b"{", headers={"content-type": "application/json"})
    assert is_error_array(not_json, 400)
    a_list = await client.post(f"{BASE}/requests.json", json=[1, 2])
    assert is_error_array(a_list, 400)


async def test_it_takes_a_json_body_and_needs_no_session_or_csrf_token(client, people, partner):
    raw, _ = partner
    services = (await client.get(f"{BASE}/services.json")).json()
    client.cookies.clear()
    response = await client.post(f"{BASE}/requests.json", json={
        "api_key": raw, "service_code": services[0]["service_code"], "address_id": people.microgrid.code,
        "description": "井盖松动"})
    assert response.status_code == 201, response.text


async def test_a_revoked_key_opens_nothing(client, engine, partner):
    raw, key_id = partner
    assert (await client.get(f"{BASE}/requests.json", params={"api_key": raw})).status_code == 200
    async with make_sessionmaker(engine)() as db:
        await keys.revoke_key(db, key_id)
        await db.commit()
        key = await db.get(ApiKey, key_id)
        assert key.revoked_at is not None and key.key_hash != raw and raw not in key.key_hash
        assert (await db.execute(sa.select(AuditEntry).where(
            AuditEntry.action == "apikey_revoke", AuditEntry.object_id == str(key_id)))).scalar_one()
    assert is_error_array(await client.get(f"{BASE}/requests.json", params={"api_key": raw}), 403)


async def test_it_limits_a_key_to_its_calls_a_minute(client, partner, monkeypatch):
    raw, _ = partner
    monkeypatch.setattr(keys, "CALLS_PER_MINUTE", 3)
    monkeypatch.setattr(keys, "current_minute", lambda: 30_000_000)  # one window, even across a minute's turn
    answers = [(await client.get(f"{BASE}/requests.json", params={"api_key": raw})).status_code for _ in range(5)]
    assert answers[:3] == [200, 200, 200] and answers[3:] == [429, 429]


def test_the_command_prints_a_key_once_and_stores_its_hash(settings, people, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from server import cli

    monkeypatch.setattr(cli, "_settings", lambda: settings)
    made = CliRunner().invoke(cli.main, ["apikey", "--name", "区城管平台", "--grid", people.community.code])
    assert made.exit_code == 0, made.output
    raw = made.output.strip()
    assert raw.startswith("ww_") and len(raw) > 40
    listed = CliRunner().invoke(cli.main, ["apikey", "--list"])
    assert "区城管平台" in listed.output and raw not in listed.output and raw[:10] in listed.output
    unknown = CliRunner().invoke(cli.main, ["apikey", "--name", "x", "--grid", "NO-SUCH"])
    assert unknown.exit_code != 0 and "NO-SUCH" in unknown.output
