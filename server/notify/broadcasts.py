"""Publicity broadcasts (宣传短信): composed by community staff, approved by the secretary, sent by the outbox.

    compose (community staff or the street)  ->  waiting
    waiting  --approve (the community's Party secretary, or the street; never the author)-->  approved
    waiting  --reject (the same people, with a reason)-->  rejected

The audience is every household living in the subtree with a phone (optionally only those
with one care tag), one message per number, minus the numbers that opted out (回复TD退订 or
the resident page). Approval writes one outbox row per number in the same transaction
(`dedupe_key` "broadcast:<id>:<phone>", so approving twice, or two secretaries at once,
queues each number once). The rows' `next_attempt_at` are spread at SEND_PER_SECOND: the
worker only takes due rows, so the provider sees a steady trickle however many app
processes deliver, and the rest of the outbox (a feedback text, a push) is not held up.
A number that opts out after the approval is still skipped at sending (senders.py).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Role
from server.accounts.scope import Viewer
from server.clock import utcnow
from server.grid.models import CareTag, GridNode, Household, active_household
from server.i18n import N_
from server.notify import rules
from server.notify.models import Broadcast, Channel, Delivery, Notification, SmsOptOut
from server.notify.outbox import phone_digits
from server.notify.senders import sms_text
from server.party.models import Office
from server.tree import in_subtree

KIND = "broadcast"
# One short message: the signature, the text and the opt-out hint stay within 70 characters
# plus a little (a provider splits longer texts into parts, each paid for).
MAX_TEXT = 120
# Messages a second to the provider: a community of 4,000 numbers goes out in under seven minutes.
SEND_PER_SECOND = 10
COMPOSE_ROLES = (Role.admin, Role.community)
APPROVE_OFFICES = frozenset({Office.party_secretary})
INSERT_CHUNK = 500


class BroadcastRefused(Exception):
    """A step the rules do not allow (403 for the route): the message is shown to the person."""


@dataclass
class Audience:
    households: int  # living households in the subtree (with the tag)
    phones: list[str]  # distinct numbers that will get the message
    opted_out: int  # distinct numbers left out because they opted out
    no_phone: int  # households without a number


def may_compose(viewer: Viewer, path: str) -> bool:
    return any(p.role in COMPOSE_ROLES and path.startswith(p.path) for p in viewer.posts)


def may_approve(viewer: Viewer, broadcast: Broadcast) -> bool:
    """The community's Party secretary over the broadcast's place, or the street; never its author."""
    if broadcast.created_by == viewer.person_id:
        return False
    return any(
        broadcast.node_path.startswith(p.path)
        and (p.role == Role.admin or (p.role == Role.community and p.office in APPROVE_OFFICES))
        for p in viewer.posts
    )


async def audience(db: AsyncSession, node_path: str, care_tag: str = "") -> Audience:
    rows = await db.execute(sa.select(Household.phone, Household.care_tags).where(
        in_subtree(Household.grid_path, node_path), active_household()))
    households, no_phone, numbers = 0, 0, {}
    for phone, tags in rows.all():
        if care_tag and care_tag not in (tags or []):
            continue
        households += 1
        digits = phone_digits(phone)
        if len(digits) < 7:
            no_phone += 1
            continue
        numbers.setdefault(digits, None)
    # The opt-out list is small (the numbers that said TD): read it whole rather than an IN over thousands.
    opted = set((await db.execute(sa.select(SmsOptOut.phone))).scalars())
    phones = [p for p in numbers if p not in opted]
    return Audience(households=households, phones=phones, opted_out=len(numbers) - len(phones), no_phone=no_phone)


def preview(text: str, base_url: str) -> str:
    """Exactly what a resident's phone shows (the sender's own formatting)."""
    return sms_text(Notification(channel=Channel.sms, kind=KIND, body=text), base_url)


def check(text: str, care_tag: str) -> dict[str, str]:
    errors = {}
    if not text:
        errors["text"] = N_("Please write the message.")
    elif len(text) > MAX_TEXT:
        errors["text"] = N_("At most 120 characters (one short message).")
    if care_tag and care_tag not in {t.value for t in CareTag}:
        errors["care_tag"] = N_("Please choose from the list.")
    return errors


async def compose(db: AsyncSession, viewer: Viewer, node: GridNode, text: str, care_tag: str) -> Broadcast:
    """A waiting broadcast with its audience counted now (counted again at approval). The caller commits."""
    if not may_compose(viewer, node.path):
        raise BroadcastRefused(N_("Only community staff or the street may write a publicity message."))
    found = await audience(db, node.path, care_tag)
    broadcast = Broadcast(node_id=node.id, node_path=node.path, care_tag=care_tag, text=text,
                          created_by=viewer.person_id, recipient_count=len(found.phones))
    db.add(broadcast)
    await rules.approval_waiting(db, node.path, title="宣传短信待审批", body=text, url=f"/broadcasts/{broadcast.id}",
                                 key=f"broadcast:{broadcast.id}", offices=APPROVE_OFFICES, not_person=viewer.person_id)
    return broadcast


async def approve(db: AsyncSession, viewer: Viewer, broadcast: Broadcast) -> int:
    """Approve and queue one message per number; returns how many were queued. The caller commits."""
    if not may_approve(viewer, broadcast):
        raise BroadcastRefused(N_("Only the community's Party secretary or the street may approve, and never their own message."))
    now = utcnow()
    # Only a waiting broadcast moves: a second approver (or a double tap) finds it decided.
    moved = await db.execute(sa.update(Broadcast).where(Broadcast.id == broadcast.id, Broadcast.status == "waiting")
                             .values(status="approved", decided_by=viewer.person_id, decided_at=now))
    if moved.rowcount != 1:
        raise BroadcastRefused(N_("This message has already been decided."))
    found = await audience(db, broadcast.node_path, broadcast.care_tag)
    await db.execute(sa.update(Broadcast).where(Broadcast.id == broadcast.id)
                     .values(recipient_count=len(found.phones)))
    rows = [dict(id=uuid.uuid4(), channel=Channel.sms, kind=KIND, person_id=None, phone=phone, title="",
                 body=broadcast.text, url="", dedupe_key=f"broadcast:{broadcast.id}:{phone}",
                 broadcast_id=broadcast.id, status=Delivery.pending, attempts=0,
                 next_attempt_at=now + timedelta(seconds=i / SEND_PER_SECOND), last_error="", created_at=now)
            for i, phone in enumerate(found.phones)]
    # One statement run for many rows (the driver's executemany) on the Core table: a street's
    # 54,000 numbers as a multi-row VALUES took SQLAlchemy a minute to compile.
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(Notification.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"])
    for start in range(0, len(rows), INSERT_CHUNK):
        await db.execute(insert, rows[start:start + INSERT_CHUNK])
    await db.refresh(broadcast)
    return len(rows)


async def reject(db: AsyncSession, viewer: Viewer, broadcast: Broadcast, reason: str) -> None:
    if not may_approve(viewer, broadcast):
        raise BroadcastRefused(N_("Only the community's Party secretary or the street may approve, and never their own message."))
    moved = await db.execute(sa.update(Broadcast).where(Broadcast.id == broadcast.id, Broadcast.status == "waiting")
                             .values(status="rejected", decided_by=viewer.person_id, decided_at=utcnow(), reason=reason[:200]))
    if moved.rowcount != 1:
        raise BroadcastRefused(N_("This message has already been decided."))
    await db.refresh(broadcast)


async def delivery(db: AsyncSession, broadcast_id: uuid.UUID) -> dict[str, int]:
    """status -> how many of the broadcast's messages (pending, sent, skipped, failed)."""
    rows = await db.execute(sa.select(Notification.status, sa.func.count()).where(
        Notification.broadcast_id == broadcast_id).group_by(Notification.status))
    return dict(rows.all())
