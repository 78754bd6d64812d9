"""Putting a notification in the outbox: the one function every area calls.

`queue` adds the row to the caller's transaction, so it commits (or rolls back) with the
event that caused it: an assignment that is stored has its push waiting, one that failed
has none. A `dedupe_key` makes a reminder that a periodic scan finds again a no-op
(INSERT ... ON CONFLICT DO NOTHING, on SQLite and PostgreSQL alike).
"""
from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from server.clock import utcnow
from server.notify.models import Channel, Delivery, Notification


def phone_digits(phone: str) -> str:
    return re.sub(r"\D", "", phone or "")[:20]


def _values(*, channel: str, kind: str, title: str = "", body: str = "", url: str = "", person_id: int | None = None,
            phone: str = "", dedupe_key: str | None = None, broadcast_id: uuid.UUID | None = None) -> dict:
    """Every column of a new pending row."""
    return dict(
        id=uuid.uuid4(), channel=channel, kind=kind, person_id=person_id, phone=phone_digits(phone),
        title=title[:100], body=body[:500], url=url[:200], dedupe_key=dedupe_key, broadcast_id=broadcast_id,
        status=Delivery.pending, attempts=0, next_attempt_at=utcnow(), last_error="", created_at=utcnow(),
    )


def stage(db: AsyncSession, **notification) -> None:
    """From a sync type's `apply`: the row joins the batch's staged rows (server/sync/registry.py
    `add_row`), so it is inserted with the record, and discarded with it if the record is refused.
    A replayed record never reaches `apply` (its receipt answers), so no dedupe is needed."""
    from server.sync.registry import add_row

    if notification.get("channel") == Channel.sms and not phone_digits(notification.get("phone", "")):
        return
    add_row(db, Notification, _values(**notification))


async def queue(db: AsyncSession, *, channel: str, kind: str, title: str = "", body: str = "", url: str = "",
                person_id: int | None = None, phone: str = "", dedupe_key: str | None = None,
                broadcast_id: uuid.UUID | None = None) -> None:
    """Add a notification to the current transaction; the caller commits."""
    if channel == Channel.sms and not phone_digits(phone):
        return
    values = _values(channel=channel, kind=kind, title=title, body=body, url=url, person_id=person_id, phone=phone,
                     dedupe_key=dedupe_key, broadcast_id=broadcast_id)
    if dedupe_key is None:
        db.add(Notification(**values))
        return
    dialect = db.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Notification)
    await db.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"]))


async def counts(db: AsyncSession) -> dict[tuple[str, str], int]:
    """(channel, status) -> how many: the administrator's overview."""
    rows = await db.execute(sa.select(Notification.channel, Notification.status, sa.func.count())
                            .group_by(Notification.channel, Notification.status))
    return {(channel, status): n for channel, status, n in rows.all()}
