"""The outbox worker inside an app process: started by the app's lifespan, stopped with it."""
from __future__ import annotations

import asyncio
import contextlib

import aiohttp

from server.notify import worker
from server.notify.gateway import make_gateway
from server.notify.models import Channel
from server.notify.senders import make_sms_sender


def make_senders(sessionmaker, settings, client: aiohttp.ClientSession) -> dict:
    senders = {Channel.sms: make_sms_sender(sessionmaker, make_gateway(settings, client), settings.base_url)}
    try:
        from server.notify.push import make_push_sender
    except ImportError:  # pragma: no cover - push arrives in its own module
        return senders
    senders[Channel.push] = make_push_sender(sessionmaker, settings)
    return senders


@contextlib.asynccontextmanager
async def running_worker(sessionmaker, settings):
    """Deliver the outbox in the background while the app runs (when settings.notify_worker)."""
    if not settings.notify_worker:
        yield None
        return
    async with aiohttp.ClientSession() as client:
        task = asyncio.create_task(worker.run_forever(sessionmaker, make_senders(sessionmaker, settings, client)),
                                   name="notification-worker")
        try:
            yield task
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
