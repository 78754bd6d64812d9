"""Partner keys: made by `weiwang apikey`, checked on every Open311 call.

A key is shown once, when it is made; only its sha256 is stored (a key is 32 random
bytes, so a plain hash is enough: there is nothing to brute-force). Each key is limited
to one subtree of the grid, is revocable, and is rate-limited per minute; making and
revoking a key is audited, and so is every problem a partner files (by the ledger's
event log, which names the key).
"""
from __future__ import annotations

import hashlib
import secrets
import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import audit
from server.clock import utcnow
from server.grid.models import GridNode, active_node
from server.open311.models import ApiKey

PREFIX = "ww_"
# Calls a minute per key: a partner polling every few seconds fits; a runaway loop does not.
CALLS_PER_MINUTE = 120


class KeyProblem(ValueError):
    """What the command line prints instead of a stack trace."""


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()


async def create_key(db: AsyncSession, *, name: str, grid: str, created_by: int | None = None) -> tuple[str, ApiKey]:
    """A new key for a partner limited to the subtree at `grid`; returns (the key, its row). The caller commits."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise KeyProblem("--name: 1 to 80 characters")
    node = (await db.execute(sa.select(GridNode).where(GridNode.code == grid, active_node()))).scalar_one_or_none()
    if node is None:
        raise KeyProblem(f"no grid node with code {grid!r}")
    raw = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, key_hash=hash_key(raw), prefix=raw[:10], node_id=node.id, node_path=node.path,
                 created_by=created_by)
    db.add(key)
    await db.flush()
    audit.record(db, "apikey_create", person_id=created_by, object_type="api_key", object_id=key.id,
                 name=name, grid=node.code)
    return raw, key


async def revoke_key(db: AsyncSession, key_id: int, *, revoked_by: int | None = None) -> ApiKey:
    key = await db.get(ApiKey, key_id)
    if key is None:
        raise KeyProblem(f"no API key with id {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(db, "apikey_revoke", person_id=revoked_by, object_type="api_key", object_id=key.id, name=key.name)
    return key


async def list_keys(db: AsyncSession) -> list[tuple[ApiKey, str]]:
    rows = await db.execute(sa.select(ApiKey, GridNode.code).join(GridNode, GridNode.id == ApiKey.node_id).order_by(ApiKey.id))
    return [(key, code) for key, code in rows.all()]


async def key_for(db: AsyncSession, raw: str | None) -> ApiKey | None:
    """The live key behind `raw`, or None (unknown, revoked or malformed: the same answer)."""
    if not raw or not isinstance(raw, str) or len(raw) > 200:
        return None
    key = (await db.execute(sa.select(ApiKey).where(ApiKey.key_hash == hash_key(raw)))).scalar_one_or_none()
    if key is None or key.revoked_at is not None:
        return None
    return key


def current_minute() -> int:
    return int(time.time() // 60)


async def over_rate_limit(store, key: ApiKey) -> bool:
    """Count this call in the key's current minute (a Litestar store: memory, or Redis when set,
    so several app processes count together). True once the minute's calls pass the limit."""
    window = current_minute()
    name = f"{key.id}:{window}"
    raw = await store.get(name)
    count = int(raw or 0) + 1
    await store.set(name, str(count).encode(), expires_in=90)
    return count > CALLS_PER_MINUTE
