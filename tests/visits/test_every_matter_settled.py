"""事事有着落: an unfixed hazard or an unsettled mediation becomes one linked ledger problem with
one tap (also through the outbox, however often); an errand's life 受理 → 办理中 → 办结 / 转办."""
import uuid

import sqlalchemy as sa

from server.accounts.models import AuditEntry
from server.issues.models import Issue
from server.notify.models import Notification
from server.visits.matters import problem_id_for
from server.visits.models import ErrandStep, WorkLogEntry
from tests.conftest import csrf_headers
from tests.sync.helpers import households_of, post_sync, record


async def _entry(db, client, type_, data):
    rec = record(type_, data)
    assert (await post_sync(client, [rec])).json()["results"][0]["status"] == "created"
    db.expire_all()
    return await db.get(WorkLogEntry, uuid.UUID(rec["id"]))


async def test_it_makes_one_linked_problem_from_an_unfixed_hazard_however_often_the_tap_comes(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    entry = await _entry(db, client, "hazard_check", {"hazard": "楼道电动车充电", "place": "3栋2单元", "fixed": False})
    entry_id = entry.id
    # Two taps from two phones (two outbox records), one of them sent twice.
    first = record("worklog_problem", {"entry_id": str(entry_id)})
    second = record("worklog_problem", {"entry_id": str(entry_id)})
    answers = [r["status"] for r in (await post_sync(client, [first, second])).json()["results"]]
    again = (await post_sync(client, [first])).json()["results"][0]["status"]
    assert answers == ["created", "created"] and again == "duplicate"
    db.expire_all()
    entry = await db.get(WorkLogEntry, entry_id)
    issues = (await db.execute(sa.select(Issue).where(Issue.id == problem_id_for(entry_id)))).scalars().all()
    assert len(issues) == 1 and entry.issue_id == issues[0].id
    issue = issues[0]
    assert "楼道电动车充电" in issue.description and "3栋2单元" in issue.description
    assert issue.node_id == people.microgrid.id and issue.source == "leader" and issue.reported_by == people.leader.id
    # Linked both ways: the record shows its problem and status, the problem where it came from.
    page = (await client.get(f"/worklog/entries/{entry_id}")).text
    assert f'href="/issues/{issue.id}"' in page and "已上报" in page and 'id="make-problem"' not in page
    shown = (await client.get(f"/issues/{issue.id}")).text
    assert "来自" in shown and f'href="/worklog/entries/{entry_id}"' in shown
    audits = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "worklog_problem",
                                                           AuditEntry.object_id == str(entry_id)))).scalars().all()
    assert len(audits) == 1


async def test_it_makes_a_problem_from_an_unsettled_mediation_posted_without_javascript(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    entry = await _entry(db, client, "mediation", {"parties": "3栋201与301", "outcome": "unsettled"})
    entry_id = entry.id
    list_page = (await client.get("/worklog")).text
    assert f'action="/worklog/entries/{entry_id}/problem"' in list_page
    response = await client.post(f"/worklog/entries/{entry_id}/problem", data={},
                                 headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == 303
    db.expire_all()
    issue = await db.get(Issue, problem_id_for(entry_id))
    assert issue is not None and "3栋201与301" in issue.description
    category = (await db.execute(sa.text("select code from issue_category where id = :i"), {"i": issue.category_id})).scalar()
    assert category == "neighbours"


async def test_it_refuses_a_problem_for_a_fixed_hazard_or_a_settled_mediation(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    fixed_id = (await _entry(db, client, "hazard_check", {"hazard": "灭火器过期", "place": "1栋", "fixed": True})).id
    settled_id = (await _entry(db, client, "mediation", {"parties": "甲乙", "outcome": "settled"})).id
    results = (await post_sync(client, [record("worklog_problem", {"entry_id": str(fixed_id)}),
                                        record("worklog_problem", {"entry_id": str(settled_id)})])).json()["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected"]
    assert "安全隐患" in results[0]["errors"]["entry_id"]
    assert await db.get(Issue, problem_id_for(fixed_id)) is None


async def test_it_keeps_a_record_outside_the_viewers_part_hidden(db, people, signed_in_as):
    leader = await signed_in_as(people.leader)
    entry = await _entry(db, leader, "hazard_check", {"hazard": "井盖缺失", "place": "大门", "fixed": False})
    entry_id = entry.id
    neighbour = await signed_in_as(people.neighbour)
    result = (await post_sync(neighbour, [record("worklog_problem", {"entry_id": str(entry_id)})])).json()["results"][0]
    assert result["status"] == "rejected"
    assert (await neighbour.get(f"/worklog/entries/{entry_id}")).status_code == 404
    staff = await signed_in_as(people.secretary)
    assert (await staff.get(f"/worklog/entries/{entry_id}")).status_code == 200
    other = await signed_in_as(people.other_secretary)
    assert (await other.get(f"/worklog/entries/{entry_id}")).status_code == 404
    assert await db.get(Issue, problem_id_for(entry_id)) is None


async def test_an_errand_goes_from_accepted_through_handling_to_done_and_the_resident_gets_a_text(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    households = await households_of(db, people.microgrid)
    household = next(h for h in households if h.phone)
    entry = await _entry(db, client, "errand", {"service": "social_security", "household_id": household.id})
    entry_id = entry.id
    assert entry.errand_status == "accepted"
    start = record("errand_step", {"entry_id": str(entry_id), "kind": "start"})
    done = record("errand_step", {"entry_id": str(entry_id), "kind": "done", "note": "已领到社保卡"})
    assert [r["status"] for r in (await post_sync(client, [start, done])).json()["results"]] == ["created", "created"]
    assert (await post_sync(client, [done])).json()["results"][0]["status"] == "duplicate"
    db.expire_all()
    entry = await db.get(WorkLogEntry, entry_id)
    assert entry.errand_status == "done"
    texts = (await db.execute(sa.select(Notification).where(Notification.dedupe_key == f"sms:errand:{done['id']}"))).scalars().all()
    assert len(texts) == 1 and "已办结" in texts[0].body and texts[0].channel == "sms"
    step = await db.get(ErrandStep, done["id"])
    assert step.told == "sms" and step.applied
    # A second 办结 is kept as a note, not applied, and tells nobody.
    late = record("errand_step", {"entry_id": str(entry_id), "kind": "done"})
    assert (await post_sync(client, [late])).json()["results"][0]["status"] == "created"
    db.expire_all()
    kept = await db.get(ErrandStep, late["id"])
    assert not kept.applied and kept.told == ""
    assert (await db.execute(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.dedupe_key == f"sms:errand:{late['id']}"))).scalar() == 0
    page = (await client.get(f"/worklog/entries/{entry_id}")).text
    assert "办结" in page and "已领到社保卡" in page and 'id="errand-step-form"' not in page
    actions = set((await db.execute(sa.select(AuditEntry.action).where(AuditEntry.object_id == str(entry_id)))).scalars())
    assert {"errand_start", "errand_done"} <= actions


async def test_a_referral_names_the_department_and_needs_telling_in_person_without_a_phone(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    entry = await _entry(db, client, "errand", {"service": "disability_card"})  # no household: no phone
    entry_id = entry.id
    headers = await csrf_headers(client)
    url = f"/worklog/entries/{entry_id}/steps"
    no_department = await client.post(url, data={"kind": "refer", "told_in_person": "true"}, headers=headers)
    assert no_department.status_code == 422 and "部门" in no_department.text
    untold = await client.post(url, data={"kind": "refer", "department": "县残联", "note": "材料已交"}, headers=headers)
    assert untold.status_code == 422 and "当面告知" in untold.text and "县残联" in untold.text  # kept what was typed
    told = await client.post(url, data={"kind": "refer", "department": "县残联", "told_in_person": "true"},
                             headers=headers, follow_redirects=False)
    assert told.status_code == 303
    db.expire_all()
    entry = await db.get(WorkLogEntry, entry_id)
    assert entry.errand_status == "referred" and entry.errand_department == "县残联"
    step = (await db.execute(sa.select(ErrandStep).where(ErrandStep.entry_id == entry_id))).scalar_one()
    assert step.told == "in_person" and step.department == "县残联"


async def test_property_staff_may_not_step_an_errand(db, people, signed_in_as):
    leader = await signed_in_as(people.leader)
    entry = await _entry(db, leader, "errand", {"service": "other"})
    entry_id = entry.id
    staff = await signed_in_as(people.property_staff)
    result = (await post_sync(staff, [record("errand_step", {"entry_id": str(entry_id), "kind": "start"})])).json()
    assert result["results"][0]["status"] == "rejected"
    assert (await staff.get(f"/worklog/entries/{entry_id}")).status_code == 403
