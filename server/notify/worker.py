"""Delivering the outbox: claim due rows with a lease, send, write the outcome.

Several app processes may each run a worker. A row is claimed by setting `locked_until`
(a lease) in a short transaction: on PostgreSQL the scan takes `FOR UPDATE SKIP LOCKED`,
so two workers never wait for, or take, the same row; on SQLite the database's single
writer serialises claims, and the claim's own condition (not leased by anyone) is checked
again by the UPDATE itself, so a row is taken by one worker only.

Nothing is lost: a row is written with its event and stays `pending` until a worker has
sent it; a worker that dies holding rows leaves them to be taken again when the lease
runs out (so a crash between the provider's "ok" and our write can send that one batch
again: delivery is at least once, never twice while workers live).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from server.clock import utcnow
from server.notify.gateway import DeliveryError
from server.notify.models import Delivery, Notification

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=2)
BATCH = 200
CONCURRENCY = 32
IDLE_SECONDS = 2.0

# channel -> async send(notification) returning Delivery.sent or Delivery.skipped, or raising DeliveryError
Sender = Callable[[Notification], Awaitable[str]]


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min, 8 min: a provider's bad minute is waited out, not hammered."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


async def claim(sessionmaker, *, limit: int = BATCH, lease: timedelta = LEASE) -> list[Notification]:
    """Take up to `limit` due rows for this worker (their lease set), or [] when another worker holds the lock."""
    now = utcnow()
    async with sessionmaker() as db:
        due = (sa.select(Notification.id)
               .where(Notification.status == Delivery.pending, Notification.next_attempt_at <= now,
                      sa.or_(Notification.locked_until.is_(None), Notification.locked_until < now))
               .order_by(Notification.next_attempt_at).limit(limit))
        if db.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        try:
            ids = list((await db.execute(due)).scalars())
            if not ids:
                return []
            taken = await db.execute(
                sa.update(Notification)
                .where(Notification.id.in_(ids), Notification.status == Delivery.pending,
                       sa.or_(Notification.locked_until.is_(None), Notification.locked_until < now))
                .values(locked_until=now + lease).returning(Notification.id))
            taken_ids = list(taken.scalars())
            await db.commit()
        except OperationalError:  # SQLite: another worker is writing; its rows are its own
            await db.rollback()
            return []
        rows = await db.execute(sa.select(Notification).where(Notification.id.in_(taken_ids)))
        return list(rows.scalars())


async def _deliver_one(notification: Notification, senders: dict[str, Sender], gate: asyncio.Semaphore) -> tuple[str, str]:
    sender = senders.get(notification.channel)
    if sender is None:
        return "retry", f"no sender for channel {notification.channel}"
    async with gate:
        try:
            return await sender(notification), ""
        except DeliveryError as exc:
            return ("retry" if exc.retry else "give_up"), str(exc)[:300]
        except Exception as exc:  # a bug in a sender must not stop the others
            log.exception("notification %s: sender failed", notification.id)
            return "retry", f"{type(exc).__name__}: {exc}"[:300]


async def deliver_batch(sessionmaker, senders: dict[str, Sender], *, limit: int = BATCH,
                        lease: timedelta = LEASE) -> int:
    """Claim, send (CONCURRENCY at a time) and record one batch; returns how many rows it handled."""
    claimed = await claim(sessionmaker, limit=limit, lease=lease)
    if not claimed:
        return 0
    gate = asyncio.Semaphore(CONCURRENCY)
    outcomes = await asyncio.gather(*(_deliver_one(n, senders, gate) for n in claimed))
    now = utcnow()
    async with sessionmaker() as db:
        for notification, (outcome, error) in zip(claimed, outcomes):
            values: dict = {"locked_until": None, "attempts": notification.attempts + 1, "last_error": error}
            if outcome in (Delivery.sent, Delivery.skipped):
                values.update(status=outcome, sent_at=now if outcome == Delivery.sent else None)
            elif outcome == "give_up" or notification.attempts + 1 >= MAX_ATTEMPTS:
                values.update(status=Delivery.failed)
            else:
                values.update(next_attempt_at=now + backoff(notification.attempts + 1))
            await db.execute(sa.update(Notification).where(Notification.id == notification.id).values(**values))
        await db.commit()
    return len(claimed)


async def run_forever(sessionmaker, senders: dict[str, Sender], *, every_cycle: Callable[[], Awaitable[None]] | None = None) -> None:
    """The app's background task: deliver while there is work, else wait a moment."""
    while True:
        try:
            if every_cycle is not None:
                await every_cycle()
            handled = await deliver_batch(sessionmaker, senders)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("notification worker: a cycle failed; trying again shortly")
            handled = 0
        if not handled:
            await asyncio.sleep(IDLE_SECONDS)
