"""Reporting a problem and appending events through the service functions."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from litestar.exceptions import NotFoundException, PermissionDeniedException

from server.issues import service
from server.issues.models import EventKind, IssueEvent, Source, Status

from .conftest import in_days, later


async def test_it_puts_a_leaders_problem_on_the_ledger_with_a_report_event(db, people, new_problem):
    issue = await new_problem()
    assert issue.status == Status.reported and issue.source == Source.leader
    assert issue.node_path == people.microgrid.path and len(issue.tracking_code) == 8
    events = (await db.execute(sa.select(IssueEvent).where(IssueEvent.issue_id == issue.id))).scalars().all()
    assert [e.kind for e in events] == [EventKind.report]


async def test_it_treats_a_replayed_report_as_a_no_op(db, people, new_problem, as_viewer, category):
    issue_id = str(uuid.uuid4())
    first = await new_problem(id=issue_id)
    again, created = await service.report_issue(db, await as_viewer(people.leader), node=people.microgrid,
                                                category=category.id, description="别的", id=issue_id)
    assert not created and again.id == first.id and again.description == first.description


async def test_it_refuses_a_place_outside_the_leaders_grid(db, people, new_problem):
    with pytest.raises(NotFoundException):
        await new_problem(node=people.neighbour_microgrid)


async def test_it_rejects_a_report_without_category_or_description(db, people, as_viewer):
    with pytest.raises(service.IssueInvalid) as caught:
        await service.report_issue(db, await as_viewer(people.leader), node=people.microgrid, category=None,
                                   description=" ")
    assert set(caught.value.errors) == {"category", "description"}


async def test_it_forbids_property_staff_to_report(db, people, as_viewer, category):
    with pytest.raises((PermissionDeniedException, NotFoundException)):
        await service.report_issue(db, await as_viewer(people.property_staff), node=people.microgrid,
                                   category=category.id, description="x")


async def test_it_keeps_an_event_that_is_no_longer_valid_as_a_note(db, people, new_problem, as_viewer):
    leader = await as_viewer(people.leader)
    issue = await new_problem()
    for kind, data, minutes in [("solve_on_spot", {}, 1), ("feedback", {"text": "已修复"}, 2), ("close", {}, 3)]:
        result = await service.record_event(db, leader, issue.id, kind, data, at=later(minutes))
        assert result.applied
    late = await service.record_event(db, leader, issue.id, "verify", {}, at=later(4))
    await db.commit()
    assert not late.applied and late.note
    assert issue.status == Status.closed and issue.note_count == 1 and issue.event_count == 5
    stored = await db.get(IssueEvent, late.event.id)
    assert stored is not None and not stored.applied


async def test_it_rejects_assigning_without_a_deadline(db, people, new_problem, as_viewer, company_of_staff):
    issue = await new_problem()
    with pytest.raises(service.IssueInvalid) as caught:
        await service.record_event(db, await as_viewer(people.leader), issue.id, "assign", {"company_id": company_of_staff.id})
    assert "deadline" in caught.value.errors
    result = await service.record_event(db, await as_viewer(people.leader), issue.id, "assign",
                                        {"company_id": company_of_staff.id, "deadline": in_days(7)})
    await db.commit()
    assert result.applied and issue.status == Status.assigned and issue.assignee_company_id == company_of_staff.id


async def test_it_reorders_late_offline_events_by_their_own_time(db, people, new_problem, as_viewer):
    leader = await as_viewer(people.leader)
    issue = await new_problem()
    # Phone B (offline) closed it... but phone A's feedback, made earlier, arrives later.
    close = await service.record_event(db, leader, issue.id, "close", {}, at=later(3))
    assert not close.applied
    await service.record_event(db, leader, issue.id, "solve_on_spot", {}, at=later(1))
    await service.record_event(db, leader, issue.id, "feedback", {"text": "好了"}, at=later(2))
    await db.commit()
    await db.refresh(close.event)
    assert issue.status == Status.closed and close.event.applied and issue.note_count == 0
