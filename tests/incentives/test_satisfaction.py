"""Resident satisfaction on the tracking page: once per problem, only after feedback, feeding points."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from server.db import make_sessionmaker
from server.incentives import ledger
from server.incentives.models import IssueRating, PointsEntry
from server.issues.models import Issue, IssueCategory
from tests.conftest import csrf_headers

HX = {"HX-Request": "true"}


async def _issue(engine, people, leader, status="closed", feedback=1) -> Issue:
    async with make_sessionmaker(engine)() as db:
        category = (await db.execute(sa.select(IssueCategory.id).limit(1))).scalar_one()
        now = datetime.now(timezone.utc)
        issue = Issue(id=str(uuid.uuid4()), node_id=people.microgrid.id, node_path=people.microgrid.path,
                      category_id=category, description="电梯异响", source="leader", tracking_code=uuid.uuid4().hex[:10].upper(),
                      reported_by=leader.id, reported_at=now, month=now.strftime("%Y-%m"), status=status,
                      feedback_count=feedback, closed_at=now if status == "closed" else None)
        db.add(issue)
        await db.commit()
        return issue


async def test_it_asks_once_after_feedback_and_awards_the_leader(db, engine, people, client, new_leader):
    leader = await new_leader()
    issue = await _issue(engine, people, leader)
    page = await client.get(f"/track/{issue.tracking_code}")
    assert f'hx-get="/track/{issue.tracking_code}/rating"' in page.text
    question = await client.get(f"/track/{issue.tracking_code}/rating", headers=HX)
    assert "您对这个问题的处理满意吗？" in question.text and "基本满意" in question.text and "<html" not in question.text
    response = await client.post(f"/track/{issue.tracking_code}/rating", data={"rating": "satisfied"},
                                 headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == 303
    # A second answer changes nothing: the first one stands.
    await client.post(f"/track/{issue.tracking_code}/rating", data={"rating": "unsatisfied"}, headers=await csrf_headers(client))
    rating = await db.get(IssueRating, issue.id)
    assert rating.rating == "satisfied"
    answered = await client.get(f"/track/{issue.tracking_code}/rating", headers=HX)
    assert "您的评价：满意" in answered.text and "<form" not in answered.text

    await ledger.refresh(db, [leader.id])
    await db.commit()
    rules = sorted((await db.execute(sa.select(PointsEntry.rule).where(PointsEntry.person_id == leader.id))).scalars())
    assert rules == ["issue_closed", "satisfied"]


async def test_it_does_not_ask_before_feedback(db, engine, people, client, new_leader):
    leader = await new_leader()
    issue = await _issue(engine, people, leader, status="assigned", feedback=0)
    assert "/rating" not in (await client.get(f"/track/{issue.tracking_code}")).text
    await client.post(f"/track/{issue.tracking_code}/rating", data={"rating": "satisfied"}, headers=await csrf_headers(client))
    assert await db.get(IssueRating, issue.id) is None
    assert "您对这个问题" not in (await client.get(f"/track/{issue.tracking_code}/rating")).text
