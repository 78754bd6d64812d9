"""Server-side sessions in the database, so several app processes share them.

The cookie holds a random token; the table holds its sha256. Expiry slides: each use
pushes it 30 days out (leaders may be offline for days), written at most once an hour
so reads stay reads. Revoking a device ends its sessions at once because loading a
session checks the device.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Device, Person, Post, WebSession, current_post
from server.accounts.scope import PostScope, Viewer
from server.clock import aware, utcnow

COOKIE_NAME = "ww_session"
TOUCH_EVERY = timedelta(hours=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(db: AsyncSession, person_id: int, device_id: int | None, days: int) -> str:
    """Create a session and return the cookie token (shown once, never stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(WebSession(id=hash_token(token), person_id=person_id, device_id=device_id,
                      created_at=now, last_seen_at=now, expires_at=now + timedelta(days=days)))
    return token


async def end_session(db: AsyncSession, token: str) -> None:
    await db.execute(
        sa.update(WebSession).where(WebSession.id == hash_token(token)).values(revoked_at=utcnow())
    )


async def revoke_device_sessions(db: AsyncSession, device_id: int) -> None:
    await db.execute(
        sa.update(WebSession)
        .where(WebSession.device_id == device_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# Built once: building and keying a select costs more than running it on SQLite (issue 15).
_VIEWER_QUERY = (
    sa.select(
        WebSession.person_id, WebSession.device_id, WebSession.expires_at, WebSession.last_seen_at,
        WebSession.revoked_at, Person.name, Person.active, Person.large_text, Person.large_text_at, Device.revoked_at.label("device_revoked_at"),
        Post.role, Post.node_id, Post.node_path, Post.post_kind, Post.company_id, Post.office,
    )
    .join(Person, Person.id == WebSession.person_id)
    .outerjoin(Device, Device.id == WebSession.device_id)
    .outerjoin(Post, sa.and_(Post.person_id == WebSession.person_id, current_post()))
    .where(WebSession.id == sa.bindparam("session_id"))
)


async def load_viewer(db: AsyncSession, token: str, days: int) -> Viewer | None:
    """The person behind a session cookie, or None if it is unknown, expired or revoked.

    One query (session, person, device and every post held now): it runs on every request.
    An ended post is left out, so a handed-over micro-grid leaves the old leader's phones
    on their very next request.
    """
    rows = (await db.execute(_VIEWER_QUERY, {"session_id": hash_token(token)})).all()
    if not rows:
        return None
    first = rows[0]
    now = utcnow()
    if first.revoked_at or first.device_revoked_at or not first.active or aware(first.expires_at) <= now:
        return None
    session_id = hash_token(token)
    if now - aware(first.last_seen_at) > TOUCH_EVERY:
        await db.execute(
            sa.update(WebSession)
            .where(WebSession.id == session_id)
            .values(last_seen_at=now, expires_at=now + timedelta(days=days))
        )
        await db.commit()
    return Viewer(
        person_id=first.person_id,
        name=first.name,
        posts=tuple(
            PostScope(row.role, row.node_id, row.node_path, row.post_kind, row.company_id, row.office or "")
            for row in rows if row.role is not None
        ),
        device_id=first.device_id,
        session_id=session_id,
        large_text=bool(first.large_text),
        large_text_at=aware(first.large_text_at).isoformat() if first.large_text_at else "",
    )
