"""The outbox worker inside an app process: started by the app's lifespan, stopped with it."""
from __future__ import annotations

import asyncio
import contextlib

import time

import aiohttp

from server.clock import today_in_china
from server.notify import worker
from server.notify.rules import scan_deadlines, scan_patrols
from server.tasks.reminders import scan_tasks
from server.notify.gateway import make_gateway
from server.notify.models import Channel
from server.notify.senders import make_sms_sender


def make_senders(sessionmaker, settings, client: aiohttp.ClientSession) -> dict:
    senders = {Channel.sms: make_sms_sender(sessionmaker, make_gateway(settings, client), settings.base_url)}
    from server.notify.push import make_push_sender

    senders[Channel.push] = make_push_sender(sessionmaker, settings, session=client)
    return senders


def deadline_scan(sessionmaker, every_seconds: float = 600):
    """Deadline, patrol and overdue-task reminders, looked for every ten minutes (each queued once a day or a month: dedupe keys)."""
    last = [0.0]

    async def scan() -> None:
        now = time.monotonic()
        if now - last[0] < every_seconds:
            return
        last[0] = now
        async with sessionmaker() as db:
            await scan_deadlines(db, today_in_china())
            await scan_patrols(db, today_in_china())
            await scan_tasks(db, today_in_china())  # overdue task lists (server/tasks)
            await db.commit()

    return scan


@contextlib.asynccontextmanager
async def running_worker(sessionmaker, settings):
    """Deliver the outbox in the background while the app runs (when settings.notify_worker)."""
    if not settings.notify_worker:
        yield None
        return
    async with aiohttp.ClientSession() as client:
        task = asyncio.create_task(worker.run_forever(sessionmaker, make_senders(sessionmaker, settings, client),
                                                      every_cycle=deadline_scan(sessionmaker)),
                                   name="notification-worker")
        try:
            yield task
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
