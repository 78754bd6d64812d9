"""Building outbox records the way static/js/outbox.js does."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from server.grid.models import Household
from tests.conftest import csrf_headers

CST = timezone(timedelta(hours=8))  # the phones' clocks: China Standard Time


def record(type_: str, data: dict, *, id: str | None = None, created_at: datetime | None = None) -> dict:
    return {
        "id": id or str(uuid.uuid4()),
        "type": type_,
        "created_at": (created_at or datetime.now(CST)).isoformat(),
        "data": data,
    }


def visit(household_id: int, created_at: datetime | None = None, **data) -> dict:
    return record("visit", {"household_id": household_id, "kind": "routine", **data}, created_at=created_at)


async def households_of(db, microgrid, limit: int = 50) -> list[Household]:
    rows = await db.execute(sa.select(Household).where(Household.microgrid_id == microgrid.id).order_by(Household.id).limit(limit))
    return list(rows.scalars())


async def post_sync(client, records: list[dict], **kwargs):
    headers = await csrf_headers(client)
    return await client.post("/api/sync", json={"records": records}, headers=headers, **kwargs)
