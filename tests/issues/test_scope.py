"""The ledger's permission checks (server/issues/scope.py): one answer whichever way in.

A meeting's pages list only the problems the reader may see; the sync API and the form
take exactly the same events from each role.
"""
from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from server.accounts.models import Person, Post, Role
from server.issues import scope, service
from server.issues.models import EventKind, IssueEvent, IssueMeeting
from tests.sync.helpers import post_sync, record


async def _meeting(db, community) -> str:
    meeting = IssueMeeting(id=str(uuid.uuid4()), community_id=community.id, community_path=community.path,
                           month=date.today().strftime("%Y-%m"), kind="handling", held_on=date.today(),
                           attendees=[{"role": "社区党委书记", "name": "王书记"}])
    db.add(meeting)
    await db.commit()
    return meeting.id


async def _compound_staff(db, people) -> Person:
    return (await db.execute(
        sa.select(Person).join(Post, Post.person_id == Person.id)
        .where(Post.role == Role.compound, Post.node_path == people.microgrid.path[:24]).order_by(Person.id)
    )).scalars().first()


async def test_it_shows_a_leader_only_their_own_problems_in_a_meetings_minutes(db, people, as_viewer, signed_in_as,
                                                                                category):
    secretary = await as_viewer(people.secretary)
    next_door, _ = await service.report_issue(db, secretary, node=people.neighbour_microgrid, category=category.id,
                                              description="隔壁网格漏水不给看")
    mine, _ = await service.report_issue(db, secretary, node=people.microgrid, category=category.id,
                                         description="本网格路灯")
    meeting_id = await _meeting(db, people.community)
    for issue in (next_door, mine):
        await service.record_event(db, secretary, issue.id, "decision", {"outcome": "note", "text": "会上议定"},
                                   meeting_id=meeting_id)
    await db.commit()
    hidden_code, next_door_id = next_door.tracking_code, next_door.id

    leader = await signed_in_as(people.leader)
    assert (await leader.get(f"/issues/{next_door_id}")).status_code == 404
    for page in (f"/meetings/{meeting_id}/minutes", f"/meetings/{meeting_id}"):
        response = await leader.get(page)
        assert response.status_code == 200
        assert "隔壁网格漏水不给看" not in response.text and hidden_code not in response.text, page
        assert next_door_id not in response.text, page
    assert "本网格路灯" in (await leader.get(f"/meetings/{meeting_id}/minutes")).text
    # The secretary, whose community it is, sees both.
    minutes = await (await signed_in_as(people.secretary)).get(f"/meetings/{meeting_id}/minutes")
    assert "隔壁网格漏水不给看" in minutes.text and "本网格路灯" in minutes.text and hidden_code in minutes.text


@pytest.mark.parametrize("who,allowed", [("leader", False), ("compound", False), ("secretary", True), ("admin", False)])
async def test_it_takes_a_meeting_decision_from_the_same_roles_by_form_and_by_sync(who, allowed, db, people, as_viewer,
                                                                                   signed_in_as, category, csrf_headers):
    person = await _compound_staff(db, people) if who == "compound" else getattr(people, who)
    admin = await as_viewer(people.admin)
    issue_id = (await service.report_issue(db, admin, node=people.microgrid, category=category.id,
                                           description="决定权限"))[0].id
    meeting_id = await _meeting(db, people.community)
    client = await signed_in_as(person)

    synced = record("issue_event", {"issue_id": issue_id, "kind": "decision", "meeting_id": meeting_id,
                                    "outcome": "note", "text": "经同步上报的决定"})
    result = (await post_sync(client, [synced])).json()["results"][0]
    form = await client.post(f"/meetings/{meeting_id}/decisions", headers=await csrf_headers(client),
                             data={"issue_id": issue_id, "outcome": "note", "text": "表单决定"}, follow_redirects=False)
    db.expire_all()
    stored = (await db.execute(sa.select(sa.func.count()).select_from(IssueEvent).where(
        IssueEvent.issue_id == issue_id, IssueEvent.kind == "decision"))).scalar_one()
    if allowed:
        assert (result["status"], form.status_code, stored) == ("created", 303, 2)
    else:
        assert (result["status"], form.status_code, stored) == ("rejected", 403, 0)
        assert "kind" in result["errors"]


async def test_it_offers_on_the_page_exactly_what_the_api_accepts(db, people, as_viewer):
    """The page's actions and record_event read one table: the role's kinds and the Party offices' kinds."""
    admin = await as_viewer(people.admin)
    issue = (await service.report_issue(db, admin, node=people.microgrid, category="other", description="同一张表"))[0]
    await db.commit()
    compound = await as_viewer(await _compound_staff(db, people))
    # The demo's compound worker is in the compound's grid Party branch (secretary or committee member).
    assert compound.offices_at(issue.node_path) & {"branch_secretary", "branch_member"}
    expectations = {
        "leader": (await as_viewer(people.leader), scope.LEADER_KINDS),
        "compound": (compound, scope.STAFF_KINDS | {EventKind.apply_disposal}),
        "community": (await as_viewer(people.secretary),
                      scope.STAFF_KINDS | scope.DECIDER_KINDS | scope.COMMITTEE_KINDS),
        "admin": (admin, scope.STAFF_KINDS),
    }
    for role, (viewer, kinds) in expectations.items():
        assert scope.allowed_kinds(viewer, issue) == kinds, role
        assert (EventKind.decision in kinds) is (role == "community"), role
        assert EventKind.escalate not in kinds and EventKind.flag not in kinds, role
        for kind in set(EventKind) - {EventKind.report}:
            if kind in kinds:
                assert scope.require_event(viewer, issue, kind) == scope.acting_as(viewer, issue, kind)
            else:
                with pytest.raises(Exception) as refused:
                    scope.require_event(viewer, issue, kind)
                assert refused.value.status_code == 403, (role, kind)


def test_it_builds_no_stand_in_viewers_outside_accounts():
    """Areas ask server/issues/scope.py (or their own scope) instead of faking someone's posts."""
    import re
    from pathlib import Path

    server = Path(__file__).resolve().parents[2] / "server"
    builders = sorted(str(p.relative_to(server)) for p in server.rglob("*.py")
                      if re.search(r"(?<!class )\bViewer\(", p.read_text(encoding="utf-8")))
    assert builders == ["accounts/sessions.py"]
