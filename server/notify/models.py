"""The notification outbox and what decides who gets what.

A `Notification` row is written in the same transaction as the event that causes it
(an assignment, a feedback, a broadcast's approval), so a notification exists exactly
when its event does. A worker delivers it later (worker.py): claimed with a lease
(`locked_until`), retried with backoff, marked sent or failed. Nothing is sent from
inside a request.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.clock import utcnow
from server.tree import PathType


class Channel(StrEnum):
    push = "push"  # Web Push to a person's phones
    sms = "sms"  # the SMS/WeChat gateway, to a phone number


class Delivery(StrEnum):
    pending = "pending"  # waiting (or waiting for its next try)
    sent = "sent"
    failed = "failed"  # gave up after MAX_ATTEMPTS: shown to the administrator
    skipped = "skipped"  # nothing to send to (no phone subscribed, the number opted out)


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (
        # The worker's scan: the due pending rows, oldest first.
        sa.Index("ix_notification_due", "status", "next_attempt_at"),
        sa.Index("ix_notification_person", "person_id", "created_at"),
        sa.Index("ix_notification_broadcast", "broadcast_id"),  # a broadcast's delivery tally
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_type=sa.Uuid, primary_key=True)
    channel: str = Field(max_length=8)
    kind: str = Field(max_length=24)  # assigned, deadline_tomorrow, overdue, reopened, approval, feedback, ...
    person_id: Optional[int] = Field(default=None, foreign_key="person.id")
    phone: str = Field(default="", max_length=20)  # sms: the number
    title: str = Field(default="", max_length=100)
    body: str = Field(default="", max_length=500)
    url: str = Field(default="", max_length=200)  # the page a tap opens
    # "deadline:<issue>:<day>:<person>": the same reminder is queued once however often
    # the scan runs.
    dedupe_key: Optional[str] = Field(default=None, max_length=160, unique=True)
    broadcast_id: Optional[uuid.UUID] = Field(default=None, sa_type=sa.Uuid, foreign_key="broadcast.id")
    status: str = Field(default=Delivery.pending, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    # A worker's lease: another worker skips the row until then (a dead worker's lease runs out).
    locked_until: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))
    last_error: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    sent_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))


class PushSubscription(SQLModel, table=True):
    """One browser's push endpoint for one person (a person may have several phones)."""

    __tablename__ = "push_subscription"

    id: Optional[int] = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    endpoint_hash: str = Field(max_length=64, unique=True)  # sha256 of the endpoint: unique at any length
    endpoint: str = Field(max_length=1000)
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    last_ok_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))


class NotifySetting(SQLModel, table=True):
    """Which kinds of push a person has turned off on 我的 (all on by default)."""

    __tablename__ = "notify_setting"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    muted: list[str] = Field(default_factory=list, sa_type=sa.JSON)


class SmsOptOut(SQLModel, table=True):
    """A number that answered 回复TD退订 or unsubscribed on the resident page: no more publicity."""

    __tablename__ = "sms_opt_out"

    phone: str = Field(max_length=20, primary_key=True)  # digits only
    at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    via: str = Field(default="", max_length=16)  # reply | page


class Broadcast(SQLModel, table=True):
    """A publicity message (宣传短信) to the households of a subtree: drafted, approved, sent."""

    __tablename__ = "broadcast"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_type=sa.Uuid, primary_key=True)
    node_id: int = Field(foreign_key="grid_node.id")
    node_path: str = Field(sa_type=PathType, index=True)
    care_tag: str = Field(default="", max_length=24)
    text: str = Field(max_length=300)
    status: str = Field(default="waiting", max_length=10)  # waiting | approved | rejected
    created_by: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    decided_by: Optional[int] = Field(default=None, foreign_key="person.id")
    decided_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))
    reason: str = Field(default="", max_length=200)
    recipient_count: int = 0
