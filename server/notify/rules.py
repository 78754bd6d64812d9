"""Which ledger events reach whom. Called by the ledger's one writer (issues/service.py) inside
the event's transaction, so a notification exists exactly when its event does.

Residents who left a phone get a text (feedback, closure, a notice put up about their
problem); the people who must act get a push: the property company's staff when a problem is assigned to it, the micro-grid's
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
    elif issue.reporter_phone and (event.kind == EventKind.announce or (
            event.kind == EventKind.decision and payload.get("outcome") == "announce")):
        # A notice put up about their problem (公示): the resident who left a number hears of it.
        await queue(db, channel=Channel.sms, kind="announcement", phone=issue.reporter_phone,
                    body=f"您反映的问题（查询码{issue.tracking_code}）有公示：{payload.get('title', '')}"[:400],
                    url=f"/track/{issue.tracking_code}", dedupe_key=f"sms:{event.id}")
    elif event.kind == EventKind.assign and payload.get("company_id"):
        deadline = f"，期限 {payload['deadline']}" if payload.get("deadline") else ""
        await _push(db, await _company_staff(db, payload["company_id"]), kind="assigned",
                    title=f"新交办的问题{deadline}", issue=issue, key=event.id)
    elif event.kind == EventKind.reopen:
        await _push(db, await _leaders_of(db, issue), kind="reopened", title="居民说问题没有解决", issue=issue, key=event.id)


# ------------------------------------------------------------ approvals, patrols, imports
# Not ledger events: each is called by its own area, inside the transaction of its event.

async def _community_staff(db: AsyncSession, path: str, offices: frozenset[str] | None = None) -> list[int]:
    """The community staff over `path` (its community's posts), optionally only those holding an office."""
    from server.tree import SEGMENT

    query = sa.select(Post.person_id).where(Post.role == Role.community, Post.node_path == path[:2 * SEGMENT],
                                            current_post())
    if offices is not None:
        query = query.where(Post.office.in_(offices))
    return list(dict.fromkeys((await db.execute(query.order_by(Post.person_id))).scalars()))


async def approval_waiting(db: AsyncSession, path: str, *, title: str, body: str, url: str, key: str,
                           from_sync: bool = False, offices: frozenset[str] | None = None,
                           not_person: int | None = None) -> None:
    """Something the community approves is waiting (a household change, an allowance claim, a
    publicity message): a push to its community staff. From a sync type's `apply`, the rows are
    staged with the record (outbox.stage); elsewhere queued in the caller's transaction."""
    from server.notify.outbox import stage

    for person_id in await _community_staff(db, path, offices):
        if person_id == not_person:
            continue
        notification = dict(channel=Channel.push, kind="approval", person_id=person_id, title=title, body=body[:80],
                            url=url)
        if from_sync:
            stage(db, **notification)
        else:
            await queue(db, **notification, dedupe_key=f"push:approval:{key}:{person_id}")


async def import_finished(db: AsyncSession, person_id: int | None, job_id, status: str) -> None:
    """A register import the person started has been checked, applied or has failed (it runs in the
    background: they may have closed the page)."""
    if person_id is None:
        return
    titles = {"checked": "导入文件检查完了：请查看并确认导入", "done": "导入完成", "failed": "导入没有成功：请查看原因"}
    await queue(db, channel=Channel.push, kind="import", person_id=person_id, title=titles.get(status, "导入有了结果"),
                url=f"/registers/import/{job_id}", dedupe_key=f"push:import:{job_id}:{status}:{person_id}")


async def scan_patrols(db: AsyncSession, today) -> None:
    """In the days before this month's patrol is due (patrols/queries.py DUE_DAY), the compound's
    staff who convene it are reminded, once a month each (the dedupe key holds the month)."""
    from server.grid.models import GridNode, Level, active_node
    from server.patrols.models import Patrol
    from server.patrols.queries import DUE_DAY

    if not DUE_DAY - 3 <= today.day <= DUE_DAY:
        return
    month = today.strftime("%Y-%m")
    held = sa.select(Patrol.id).where(Patrol.compound_id == GridNode.id, Patrol.month == month).exists()
    rows = await db.execute(
        sa.select(Post.person_id, GridNode.id, GridNode.name, GridNode.code)
        .join(GridNode, GridNode.id == Post.node_id)
        .where(Post.role == Role.compound, current_post(), GridNode.level == Level.compound, active_node(), ~held)
        .order_by(GridNode.id, Post.person_id).limit(5000))
    for person_id, compound_id, name, code in rows.all():
        await queue(db, channel=Channel.push, kind="patrol", person_id=person_id,
                    title=f"本月联动巡查还没做：{DUE_DAY}日前完成", body=name, url=f"/patrols/compounds/{code}/new",
                    dedupe_key=f"push:patrol:{compound_id}:{month}:{person_id}")
