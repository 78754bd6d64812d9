"""The audit log: one function every area calls; rows are never updated or deleted."""
from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import AuditEntry
from server.accounts.scope import Viewer


def client_ip(request) -> str:
    if request is None or request.client is None:
        return ""
    return request.client.host or ""


def record(
    db: AsyncSession,
    action: str,
    *,
    viewer: Viewer | None = None,
    person_id: int | None = None,
    device_id: int | None = None,
    object_type: str = "",
    object_id: object = "",
    request=None,
    **detail: Any,
) -> AuditEntry:
    """Add an audit entry to the current transaction (committed with the change it records)."""
    entry = AuditEntry(
        person_id=person_id if person_id is not None else (viewer.person_id if viewer else None),
        device_id=device_id if device_id is not None else (viewer.device_id if viewer else None),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        ip=client_ip(request),
        detail=detail,
    )
    db.add(entry)
    return entry
