"""Which ledger events reach whom. Called by the ledger's one writer (issues/service.py) inside
the event's transaction, so a notification exists exactly when its event does.

Residents who left a phone get a text (feedback, closure); the people who must act get a
push: the property company's staff when a problem is assigned to it, the micro-grid's
leaders when a resident (or a city system) reports a problem or says it is not solved.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Post, Role, current_post
from server.issues.models import EventKind, Issue, IssueEvent
from server.notify.models import Channel
from server.notify.outbox import queue


async def _leaders_of(db: AsyncSession, issue: Issue) -> list[int]:
    rows = await db.execute(sa.select(Post.person_id).where(
        Post.role == Role.leader, Post.node_path == issue.node_path, current_post()).order_by(Post.post_kind))
    return list(dict.fromkeys(rows.scalars()))


async def _company_staff(db: AsyncSession, company_id: int) -> list[int]:
    rows = await db.execute(sa.select(Post.person_id).where(
        Post.role == Role.property, Post.company_id == company_id, current_post()))
    return list(dict.fromkeys(rows.scalars()))


async def _push(db: AsyncSession, people: list[int], *, kind: str, title: str, issue: Issue, key: str) -> None:
    for person_id in people:
        await queue(db, channel=Channel.push, kind=kind, person_id=person_id, title=title,
                    body=issue.description[:80], url=f"/issues/{issue.id}", dedupe_key=f"push:{key}:{person_id}")


async def scan_deadlines(db: AsyncSession, today) -> None:
    """Once a day per problem and person (the dedupe key holds the day): the company whose deadline
    is tomorrow, and the leaders of a problem that is overdue. The worker runs this every few minutes."""
    from datetime import timedelta

    from server.issues.models import OPEN_STATUSES

    tomorrow = today + timedelta(days=1)
    due = await db.execute(sa.select(Issue).where(Issue.status.in_(OPEN_STATUSES), Issue.deadline.is_not(None),
                                                   Issue.deadline <= tomorrow).limit(5000))
    for issue in due.scalars():
        if issue.deadline == tomorrow and issue.assignee_company_id:
            await _push(db, await _company_staff(db, issue.assignee_company_id), kind="deadline",
                        title=f"明天到期：{issue.deadline.isoformat()}", issue=issue, key=f"due:{issue.id}:{today}")
        elif issue.deadline < today:
            await _push(db, await _leaders_of(db, issue), kind="deadline", title=f"已超期：期限 {issue.deadline.isoformat()}",
                        issue=issue, key=f"overdue:{issue.id}:{today}")


async def after_report(db: AsyncSession, issue: Issue) -> None:
    """A resident's or a partner's report: the micro-grid's leaders are told at once."""
    await _push(db, await _leaders_of(db, issue), kind="reported", title="居民反映了新问题", issue=issue,
                key=f"report:{issue.id}")


async def after_event(db: AsyncSession, issue: Issue, event: IssueEvent) -> None:
    """Queue what an applied event means for people outside the app."""
    payload = event.payload or {}
    if issue.reporter_phone and event.kind == EventKind.feedback:
        await queue(db, channel=Channel.sms, kind="feedback", phone=issue.reporter_phone,
                    body=f"您反映的问题（查询码{issue.tracking_code}）有了答复：{payload.get('text', '')}"[:400],
                    url=f"/track/{issue.tracking_code}", dedupe_key=f"sms:{event.id}")
    elif issue.reporter_phone and event.kind == EventKind.close:
        await queue(db, channel=Channel.sms, kind="closed", phone=issue.reporter_phone,
                    body=f"您反映的问题（查询码{issue.tracking_code}）已办结。如仍未解决，请打开链接点“未解决”。",
                    url=f"/track/{issue.tracking_code}", dedupe_key=f"sms:{event.id}")
    elif event.kind == EventKind.assign and payload.get("company_id"):
        deadline = f"，期限 {payload['deadline']}" if payload.get("deadline") else ""
        await _push(db, await _company_staff(db, payload["company_id"]), kind="assigned",
                    title=f"新交办的问题{deadline}", issue=issue, key=event.id)
    elif event.kind == EventKind.reopen:
        await _push(db, await _leaders_of(db, issue), kind="reopened", title="居民说问题没有解决", issue=issue, key=event.id)
