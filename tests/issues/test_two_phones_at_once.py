"""Two phones adding events to one problem at the same moment, on separate connections.

Each event re-folds the problem from all its events; without the row lock taken first in
`record_event`, each transaction would fold without the other's uncommitted event and the
problem's cached state (event_count, status) would miss one. On PostgreSQL the two really
run at once; on SQLite the second waits for the write lock.
"""
from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa

from server.db import make_sessionmaker
from server.issues import service
from server.issues.models import Issue, IssueEvent

from .conftest import viewer_of


async def _comment_then_linger(engine, person, issue_id: str, text: str) -> None:
    async with make_sessionmaker(engine)() as db:
        viewer = await viewer_of(db, person)
        await service.record_event(db, viewer, issue_id, "comment", {"text": text}, id=str(uuid.uuid4()))
        await asyncio.sleep(0.2)  # hold the transaction open so the other phone's event is in flight meanwhile
        await db.commit()


async def test_it_keeps_both_events_in_the_problems_state(db, engine, people, new_problem):
    for round_ in range(3):
        issue = await new_problem(description=f"并发事件{round_}")
        await asyncio.gather(
            _comment_then_linger(engine, people.leader, issue.id, "甲手机"),
            _comment_then_linger(engine, people.secretary, issue.id, "乙手机"),
        )
        async with make_sessionmaker(engine)() as fresh:
            stored = (await fresh.execute(sa.select(sa.func.count()).select_from(IssueEvent)
                                          .where(IssueEvent.issue_id == issue.id))).scalar_one()
            cached = (await fresh.execute(sa.select(Issue.event_count).where(Issue.id == issue.id))).scalar_one()
        assert stored == 3  # the report and both comments
        assert cached == stored
