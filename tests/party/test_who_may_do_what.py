"""Who may do what in the joint mechanisms, by form and by /api/sync alike (issue 14).

Joint analysis: anyone working on a problem applies (问题、理由); only the secretary or the
delegate she names puts it on the agenda or declines it. Joint disposal: only a grid
Party branch applies; only the committee accepts, with a solution plan. Nobody escalates
straight to disposal any more, and only the secretary (or her delegate) records a
meeting's decisions.
"""
from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa

from server.accounts.models import Post
from server.issues import service
from server.issues.models import IssueEvent, IssueMeeting
from server.clock import today_in_china
from tests.issues.conftest import in_days
from tests.sync.helpers import post_sync, record

PLAN = {"owner": "社区党委 王书记", "steps": "1. 召集住建局、物业、业主代表\n2. 制定维修方案并公示", "deadline": in_days(30)}


async def _sync_one(client, data: dict) -> dict:
    return (await post_sync(client, [record("issue_event", data)])).json()["results"][0]


async def test_a_leader_cannot_escalate_or_apply_for_disposal_but_applies_for_analysis_when_on_duty(
        db, people, new_problem, signed_in_as, csrf_headers, put_on_duty):
    issue = await new_problem(description="楼顶漏水多户受影响")
    leader = await signed_in_as(people.leader)
    for kind, data in (("escalate", {"reason": "直接上报处置"}), ("apply_disposal", {"reason": "协商不成"}),
                       ("flag", {"reason": "共性问题"})):
        synced = await _sync_one(leader, {"issue_id": issue.id, "kind": kind, **data})
        form = await leader.post(f"/issues/{issue.id}/events", headers=await csrf_headers(leader),
                                 data={"kind": kind, **data}, follow_redirects=False)
        assert (synced["status"], form.status_code) == ("rejected", 403), kind
    # Not on duty at the station: no application either, by page or by sync.
    await put_on_duty(people.leader, checked_in=False)
    page = await leader.get(f"/issues/{issue.id}")
    assert "申请联动分析" not in page.text and "申请联动处置" not in page.text and "提交联动处置" not in page.text
    refused = await _sync_one(leader, {"issue_id": issue.id, "kind": "apply_analysis", "problem": "楼顶漏水",
                                       "reason": "多户反映"})
    assert refused["status"] == "rejected"
    # Checked in on duty: the leader on duty files the application (问题、理由).
    await put_on_duty(people.leader)
    page = await leader.get(f"/issues/{issue.id}")
    assert "申请联动分析" in page.text and "申请联动处置" not in page.text
    synced = await _sync_one(leader, {"issue_id": issue.id, "kind": "apply_analysis", "problem": "楼顶漏水",
                                      "reason": "多户反映，物业推诿"})
    assert synced["status"] == "created"
    db.expire_all()
    await db.refresh(issue)
    assert issue.analysis_status == "applied" and not issue.flagged and not issue.escalated


async def test_an_analysis_application_needs_both_fields(db, people, new_problem, as_viewer, put_on_duty):
    issue = await new_problem()
    await put_on_duty(people.leader)
    try:
        await service.record_event(db, await as_viewer(people.leader), issue.id, "apply_analysis", {"reason": "理由"})
    except service.IssueInvalid as invalid:
        assert set(invalid.errors) == {"problem"}
    else:
        raise AssertionError("an application without its problem was stored")


async def test_only_the_secretary_puts_an_application_on_the_agenda(
        db, people, new_problem, as_viewer, signed_in_as, csrf_headers, committee_member, branch_head, put_on_duty):
    issue = await new_problem(description="电动车飞线充电反复出现")
    await put_on_duty(people.leader)
    await service.record_event(db, await as_viewer(people.leader), issue.id, "apply_analysis",
                               {"problem": "飞线充电", "reason": "整改后又出现"})
    await db.commit()
    month = today_in_china().strftime("%Y-%m")
    for person in (people.leader, committee_member, branch_head, people.admin):
        client = await signed_in_as(person)
        synced = await _sync_one(client, {"issue_id": issue.id, "kind": "accept_analysis", "month": month})
        assert synced["status"] == "rejected", person.name
    secretary = await signed_in_as(people.secretary)
    agenda = await secretary.get(f"/meetings?community={people.community.code}&month={month}")
    assert "待审批的申请" in agenda.text and "整改后又出现" in agenda.text and "列入联动分析议程" in agenda.text
    response = await secretary.post(f"/issues/{issue.id}/events", headers=await csrf_headers(secretary),
                                    data={"kind": "accept_analysis", "month": month}, follow_redirects=False)
    assert response.status_code == 303
    db.expire_all()
    await db.refresh(issue)
    assert issue.flagged and issue.analysis_status == "accepted" and issue.analysis_month == month
    event = (await db.execute(sa.select(IssueEvent).where(IssueEvent.issue_id == issue.id,
                                                          IssueEvent.kind == "accept_analysis"))).scalar_one()
    assert event.actor_role == "party_secretary" and event.actor_id == people.secretary.id


async def test_the_secretary_declines_with_a_reason_and_the_leader_may_apply_again(db, people, new_problem, as_viewer,
                                                                                   put_on_duty):
    issue = await new_problem()
    await put_on_duty(people.leader)
    leader, secretary = await as_viewer(people.leader), await as_viewer(people.secretary)
    await service.record_event(db, leader, issue.id, "apply_analysis", {"problem": "噪音", "reason": "多次反映"})
    try:
        await service.record_event(db, secretary, issue.id, "decline_analysis", {})
    except service.IssueInvalid as invalid:
        assert "reason" in invalid.errors
    declined = await service.record_event(db, secretary, issue.id, "decline_analysis", {"reason": "属邻里纠纷，先调解"})
    assert declined.applied and issue.analysis_status == "declined" and not issue.flagged
    # Answering an application that no longer waits is kept as a note, not applied.
    late = await service.record_event(db, secretary, issue.id, "accept_analysis", {})
    assert not late.applied and issue.analysis_status == "declined"
    again = await service.record_event(db, leader, issue.id, "apply_analysis", {"problem": "噪音", "reason": "调解无效"})
    assert again.applied and issue.analysis_status == "applied"
    twice = await service.record_event(db, leader, issue.id, "apply_analysis", {"problem": "噪音", "reason": "再次"})
    assert not twice.applied
    await db.commit()


async def test_only_a_branch_applies_for_disposal_and_only_the_committee_records_the_plan(
        db, people, new_problem, as_viewer, signed_in_as, csrf_headers, committee_member, branch_head):
    issue = await new_problem(description="老旧院落化粪池外溢，物业与业委会协商不成")
    # The secretary herself does not apply: the branch does.
    secretary = await signed_in_as(people.secretary)
    assert (await _sync_one(secretary, {"issue_id": issue.id, "kind": "apply_disposal", "reason": "x"}))["status"] == "rejected"
    branch = await signed_in_as(branch_head)
    response = await branch.post(f"/issues/{issue.id}/events", headers=await csrf_headers(branch),
                                 data={"kind": "apply_disposal", "reason": "涉及三方，协商不成"}, follow_redirects=False)
    assert response.status_code == 303
    # The leader and the branch cannot answer their own application; the committee can.
    for person in (people.leader, branch_head):
        client = await signed_in_as(person)  # one test client, signed in as each in turn
        assert (await _sync_one(client, {"issue_id": issue.id, "kind": "accept_disposal", **PLAN}))["status"] == "rejected"
    member = await signed_in_as(committee_member)
    bad = await member.post(f"/issues/{issue.id}/events", headers=await csrf_headers(member),
                            data={"kind": "accept_disposal", "owner": "", "steps": "", "deadline": ""})
    assert bad.status_code == 422 and "请填写此项" in bad.text
    synced = await _sync_one(member, {"issue_id": issue.id, "kind": "accept_disposal", **PLAN})
    assert synced["status"] == "created"
    db.expire_all()
    await db.refresh(issue)
    assert issue.escalated and issue.disposal_status == "accepted" and issue.deadline.isoformat() == PLAN["deadline"]
    page = await member.get(f"/issues/{issue.id}")
    assert "社区党委解决方案" in page.text and PLAN["owner"] in page.text and "制定维修方案并公示" in page.text


async def _meeting(db, community) -> str:
    meeting = IssueMeeting(id=str(uuid.uuid4()), community_id=community.id, community_path=community.path,
                           month=date.today().strftime("%Y-%m"), kind="handling", held_on=date.today(),
                           attendees=[{"role": "社区党委书记", "name": "王书记"}])
    db.add(meeting)
    await db.commit()
    return meeting.id


async def test_the_secretarys_named_delegate_records_decisions_and_no_other_staff(
        db, people, new_problem, signed_in_as, csrf_headers):
    issue = await new_problem(description="物业保洁不到位")
    meeting_id = await _meeting(db, people.community)
    staff = (await db.execute(sa.select(Post).where(Post.node_path == people.community.path, Post.role == "community",
                                                    Post.office == "").order_by(Post.id))).scalars().first()
    from server.accounts.models import Person

    colleague = await db.get(Person, staff.person_id)
    decision = {"issue_id": issue.id, "kind": "decision", "meeting_id": meeting_id, "outcome": "press", "text": "督促物业整改"}
    before = await signed_in_as(colleague)
    assert (await _sync_one(before, decision))["status"] == "rejected"
    form = await before.post(f"/meetings/{meeting_id}/decisions", headers=await csrf_headers(before),
                             data={"issue_id": issue.id, "outcome": "press", "text": "督促"}, follow_redirects=False)
    assert form.status_code == 403
    # Nobody but the secretary names the delegate.
    assert (await before.post(f"/party/{people.community.code}/delegate", headers=await csrf_headers(before),
                              data={"person_id": str(colleague.id)})).status_code == 403
    secretary = await signed_in_as(people.secretary)
    named = await secretary.post(f"/party/{people.community.code}/delegate", headers=await csrf_headers(secretary),
                                 data={"person_id": str(colleague.id)}, follow_redirects=False)
    assert named.status_code == 303
    page = await secretary.get(f"/party?community={people.community.code}")
    assert colleague.name in page.text and "书记指定代理人" in page.text
    after = await signed_in_as(colleague)  # a new session reads the post's new office
    assert (await _sync_one(after, decision))["status"] == "created"
    form = await after.post(f"/meetings/{meeting_id}/decisions", headers=await csrf_headers(after),
                            data={"issue_id": issue.id, "outcome": "note", "text": "会上议定"}, follow_redirects=False)
    assert form.status_code == 303
    # Withdrawn: the delegate is an ordinary member of staff again.
    secretary = await signed_in_as(people.secretary)  # one test client: sign in again
    withdrawn = await secretary.post(f"/party/{people.community.code}/delegate", headers=await csrf_headers(secretary),
                                     data={"person_id": ""}, follow_redirects=False)
    assert withdrawn.status_code == 303, withdrawn.text[:300]
    again = await signed_in_as(colleague)
    assert (await _sync_one(again, decision | {"text": "再议"}))["status"] == "rejected"
    from server.accounts.models import AuditEntry

    audited = (await db.execute(sa.select(sa.func.count()).select_from(AuditEntry)
                                .where(AuditEntry.action == "name_delegate"))).scalar_one()
    assert audited >= 2
