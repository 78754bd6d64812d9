"""Overdue task reminders, through the notification outbox (server/notify): once a day per
share (the dedupe key holds the day), a push to its owner. The notify worker's periodic scan
calls this next to the ledger's deadline scan (server/notify/runner.py)."""
from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from server.notify.models import Channel
from server.notify.outbox import queue
from server.tasks import queries


async def scan_tasks(db: AsyncSession, today: date) -> int:
    reminded = 0
    for assignment, task in await queries.overdue_open(db, today):
        await queue(db, channel=Channel.push, kind="task_overdue", person_id=assignment.owner_id,
                    title=f"任务已超期：{task.title}"[:100], body=f"期限 {assignment.due_on.isoformat()}，请上报完成情况",
                    url=f"/tasks/assignments/{assignment.id}/report",
                    dedupe_key=f"push:task:{assignment.id}:{today.isoformat()}")
        reminded += 1
    return reminded
