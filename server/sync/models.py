"""Receipts of synced records, and the photos attached to them.

A receipt is inserted in the same transaction as the record it acknowledges, keyed by
the record's client UUID. The primary key is what makes a replay harmless: a second
insert of the same id fails, even from a concurrent request, and the stored hash tells
a faithful replay (`duplicate`) from a different record reusing the id (`conflict`).
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.clock import utcnow
from server.tree import PathType


class SyncReceipt(SQLModel, table=True):
    __tablename__ = "sync_receipt"
    __table_args__ = (sa.Index("ix_sync_receipt_person_received", "person_id", "received_at"),)

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)  # the record's client UUID
    type: str = Field(max_length=32)
    person_id: int = Field(foreign_key="person.id")
    device_id: Optional[int] = Field(default=None, foreign_key="device.id")
    content_hash: str = Field(max_length=64)  # sha256 of canonical JSON of type + data (its latest version)
    status: str = Field(default="created", max_length=16)
    # The phone's version of the record last applied (1 when created; each edit on the phone adds one).
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # Where the record sits in the grid, when its type says: scopes the record's photos.
    grid_path: Optional[str] = Field(default=None, sa_type=PathType)
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class SyncAmendment(SQLModel, table=True):
    """A later version of a stored record (the contract's amendment rule, server/sync/routes.py).

    Every amendment is kept here, whether its type applied it to the record's rows
    ("applied") or only keeps it as the newer version for the office to read ("kept"): the
    history of what the phone sent, never lost and never a dead end on the phone.
    """

    __tablename__ = "sync_amendment"

    id: Optional[int] = Field(default=None, primary_key=True)
    record_id: uuid.UUID = Field(sa_type=sa.Uuid, foreign_key="sync_receipt.id", index=True)
    version: int
    type: str = Field(max_length=32)
    person_id: int = Field(foreign_key="person.id")
    previous_hash: str = Field(max_length=64)
    content_hash: str = Field(max_length=64)
    data: dict = Field(sa_type=sa.JSON)
    status: str = Field(max_length=16)  # "applied" | "kept"
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class Photo(SQLModel, table=True):
    """A photo of any synced record (a visit, a hazard, later an issue).

    The bytes live in the database, not under var/: a city runs several stateless app
    servers behind a load balancer, and one backup of the database then holds
    everything. Photos are shrunk on the phone to at most 300 KB, so this stays small.
    """

    __tablename__ = "photo"

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)  # the photo's client UUID
    record_id: uuid.UUID = Field(sa_type=sa.Uuid, foreign_key="sync_receipt.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    content_type: str = Field(max_length=32)
    width: int
    height: int
    size: int
    sha256: str = Field(max_length=64)
    data: bytes = Field(sa_type=sa.LargeBinary)
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
