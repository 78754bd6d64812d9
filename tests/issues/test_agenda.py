"""Monthly agendas (joint handling / analysis / disposal) and meeting records."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from server.grid.models import GridNode, Level
from server.issues import queries, service
from server.issues.models import IssueCategory, IssueEvent, IssueMeeting
from server.clock import today_in_china

from .conftest import in_days


@pytest.fixture
async def fresh_category(db):
    category = IssueCategory(code="t" + uuid.uuid4().hex[:8], name="测试类别" + uuid.uuid4().hex[:4])
    db.add(category)
    await db.commit()
    return category


async def microgrids_in(db, community, n):
    rows = await db.execute(sa.select(GridNode).where(GridNode.path.startswith(community.path), GridNode.level == Level.microgrid)
                            .order_by(GridNode.path))
    found, compounds = [], set()
    for node in rows.scalars():
        if node.path[:24] not in compounds:
            compounds.add(node.path[:24])
            found.append(node)
        if len(found) == n:
            return found
    return found


async def branch_person_of(db, node):
    """The grid Party branch's secretary or committee member over `node` (the demo names one per compound)."""
    from server.accounts.models import Person, Post

    return (await db.execute(
        sa.select(Person).join(Post, Post.person_id == Person.id)
        .where(Post.node_path == node.path[:24], Post.office.in_(("branch_secretary", "branch_member")))
        .order_by(Post.id)
    )).scalars().first()


async def test_it_builds_the_three_lists_from_the_ledger(db, people, as_viewer, fresh_category, company_of_staff):
    secretary = await as_viewer(people.secretary)
    a, b, c, d = await microgrids_in(db, people.community, 4)

    async def report(node, **kw):
        issue, _ = await service.report_issue(db, secretary, node=node, category=fresh_category.id, description="议程测试", **kw)
        return issue

    ordinary = await report(a)
    await service.record_event(db, secretary, ordinary.id, "assign", {"company_id": company_of_staff.id, "deadline": in_days(10)})
    flagged = await report(b)
    await service.record_event(db, secretary, flagged.id, "apply_analysis", {"problem": "楼道灯反复损坏", "reason": "多次反映"})
    waiting = await report(b)
    await service.record_event(db, secretary, waiting.id, "apply_analysis", {"problem": "积水", "reason": "难以解决"})
    month = today_in_china().strftime("%Y-%m")
    await service.record_event(db, secretary, flagged.id, "accept_analysis", {"month": month})
    ten_days_ago = datetime.now(timezone.utc) - timedelta(days=10)
    overdue = await report(c, at=ten_days_ago)
    await service.record_event(db, secretary, overdue.id, "assign",
                               {"department": "县住建局", "deadline": (today_in_china() - timedelta(days=3)).isoformat()},
                               at=ten_days_ago + timedelta(hours=1))
    escalated = await report(d)
    branch = await as_viewer(await branch_person_of(db, d))
    await service.record_event(db, branch, escalated.id, "apply_disposal", {"reason": "涉及多个部门，协商不成"})
    await service.record_event(db, secretary, escalated.id, "accept_disposal",
                               {"owner": "社区党委", "steps": "1. 召集住建、物业\n2. 制定维修方案", "deadline": in_days(30)})
    pending = await report(d)
    await service.record_event(db, branch, pending.id, "apply_disposal", {"reason": "协商不成"})
    recurring = [await report(a) for _ in range(3)]  # the same category three times in one compound
    settled = await report(b)
    await service.record_event(db, secretary, settled.id, "solve_on_spot", {})
    await db.commit()

    agenda = await queries.agenda(db, secretary, people.community, month)
    handling = {i.issue.id: company for company, items in agenda.handling.items() for i in items}
    analysis = {i.issue.id: i.reasons for i in agenda.analysis}
    disposal = {i.issue.id for i in agenda.disposal}
    suggested = {i.issue.id: i.reasons for i in agenda.suggestions}
    assert escalated.id in disposal and escalated.id not in analysis
    assert pending.id in {i.issue.id for i in agenda.disposal_applications} and pending.id not in disposal
    assert escalated.id not in {i.issue.id for i in agenda.disposal_applications}
    # Only what the secretary accepted is on the analysis agenda; a waiting application is listed apart.
    ours = {ordinary.id, flagged.id, waiting.id, overdue.id, escalated.id, pending.id, settled.id} | {i.id for i in recurring}
    assert {i: r for i, r in analysis.items() if i in ours} == {flagged.id: ["flagged"]}
    assert waiting.id in {i.issue.id for i in agenda.analysis_applications} and waiting.id in handling
    assert next(i for i in agenda.analysis_applications if i.issue.id == waiting.id).application["reason"] == "难以解决"
    # Overdue and recurring problems are suggestions, not members: they stay in joint handling.
    assert "overdue" in suggested[overdue.id] and overdue.id in handling
    for issue in recurring:
        assert "recurring" in suggested[issue.id]
    # The first problem of that compound and category is recurring too, now that there are four.
    assert "recurring" in suggested[ordinary.id]
    assert settled.id not in handling and settled.id not in analysis and settled.id not in disposal


async def test_it_lists_ordinary_problems_by_company_for_joint_handling(db, people, as_viewer, fresh_category, company_of_staff):
    secretary = await as_viewer(people.secretary)
    (node,) = await microgrids_in(db, people.community, 1)
    issue, _ = await service.report_issue(db, secretary, node=node, category=fresh_category.id, description="一般问题")
    await service.record_event(db, secretary, issue.id, "assign", {"company_id": company_of_staff.id, "deadline": in_days(10)})
    await db.commit()
    agenda = await queries.agenda(db, secretary, people.community, today_in_china().strftime("%Y-%m"))
    assert issue.id in {i.issue.id for i in agenda.handling[company_of_staff.name]}
    # A leader sees the agenda of their community, but only their own part of it.
    next_door, _ = await service.report_issue(db, secretary, node=people.neighbour_microgrid, category=fresh_category.id,
                                              description="隔壁小区的问题")
    await service.record_event(db, secretary, next_door.id, "assign", {"company_id": company_of_staff.id, "deadline": in_days(10)})
    mine, _ = await service.report_issue(db, secretary, node=people.microgrid, category=fresh_category.id,
                                         description="本网格的问题")
    await service.record_event(db, secretary, mine.id, "assign", {"company_id": company_of_staff.id, "deadline": in_days(10)})
    await db.commit()
    leader = await as_viewer(people.leader)
    theirs = await queries.agenda(db, leader, people.community, today_in_china().strftime("%Y-%m"))
    listed = [i.issue for i in theirs.items("handling") + theirs.analysis]
    assert mine.id in {i.id for i in listed} and next_door.id not in {i.id for i in listed}
    assert all(i.node_path.startswith(tuple(leader.grid_paths)) for i in listed)


async def test_it_records_a_meeting_whose_decisions_become_events(db, people, as_viewer, signed_in_as, csrf_headers,
                                                                 fresh_category, company_of_staff):
    secretary = await as_viewer(people.secretary)
    (node,) = await microgrids_in(db, people.community, 1)
    issue, _ = await service.report_issue(db, secretary, node=node, category=fresh_category.id, description="会议决定测试")
    await service.record_event(db, secretary, issue.id, "assign", {"company_id": company_of_staff.id, "deadline": in_days(10)})
    await db.commit()
    client = await signed_in_as(people.secretary)
    csrf = await csrf_headers(client)
    month = today_in_china().strftime("%Y-%m")
    response = await client.post("/meetings", headers=csrf, follow_redirects=False, data={
        "community": people.community.code, "month": month, "kind": "handling", "held_on": today_in_china().isoformat(),
        "place": "微网格长服务站", "attendee_role": ["社区党委书记", "物业人员", "业主代表"],
        "attendee_name": [people.secretary.name, "李经理", ""], "notes": "",
    })
    assert response.status_code == 303
    meeting_url = response.headers["location"]
    meeting = await db.get(IssueMeeting, meeting_url.rsplit("/", 1)[1])
    assert [a["name"] for a in meeting.attendees] == [people.secretary.name, "李经理"]
    page = await client.get(meeting_url)
    assert "会议决定测试" in page.text
    # A meeting no longer sends a problem to joint disposal: only a branch's application does.
    refused = await client.post(f"{meeting_url}/decisions", headers=csrf, follow_redirects=False, data={
        "issue_id": issue.id, "outcome": "escalate", "text": "提交联动处置"})
    assert refused.status_code == 200 and "请选择其中一项" in refused.text
    response = await client.post(f"{meeting_url}/decisions", headers=csrf, follow_redirects=False, data={
        "issue_id": issue.id, "outcome": "analyse", "text": "物业无法单独解决，转联动分析"})
    assert response.status_code == 303
    event = (await db.execute(sa.select(IssueEvent).where(IssueEvent.meeting_id == meeting.id))).scalar_one()
    assert event.kind == "decision" and event.issue_id == issue.id and event.applied
    assert event.actor_role == "party_secretary"
    await db.refresh(issue)
    assert issue.flagged and not issue.escalated
    minutes = await client.get(f"{meeting_url}/minutes")
    assert minutes.status_code == 200 and "转联动分析" in minutes.text and "李经理" in minutes.text
    # Only community staff record meetings; other communities do not see this one.
    leader = await signed_in_as(people.leader)
    assert (await leader.post("/meetings", headers=csrf, data={"community": people.community.code})).status_code == 403
    other = await signed_in_as(people.other_secretary)
    assert (await other.get(meeting_url)).status_code == 404
