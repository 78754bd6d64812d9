"""Which ledger events reach whom. Called by the ledger's one writer (issues/service.py) inside
the event's transaction, so a notification exists exactly when its event does."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.issues.models import EventKind, Issue, IssueEvent
from server.notify.models import Channel
from server.notify.outbox import queue


async def after_event(db: AsyncSession, issue: Issue, event: IssueEvent) -> None:
    """Queue what an applied event means for people outside the app."""
    if issue.reporter_phone and event.kind == EventKind.feedback:
        text = (event.payload or {}).get("text", "")
        await queue(db, channel=Channel.sms, kind="feedback", phone=issue.reporter_phone,
                    body=f"您反映的问题（查询码{issue.tracking_code}）有了答复：{text}"[:400],
                    url=f"/track/{issue.tracking_code}", dedupe_key=f"sms:{event.id}")
    elif issue.reporter_phone and event.kind == EventKind.close:
        await queue(db, channel=Channel.sms, kind="closed", phone=issue.reporter_phone,
                    body=f"您反映的问题（查询码{issue.tracking_code}）已办结。如仍未解决，请打开链接点“未解决”。",
                    url=f"/track/{issue.tracking_code}", dedupe_key=f"sms:{event.id}")
