"""A partner system's key: hashed, limited to one subtree of the grid, revocable."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.clock import utcnow
from server.tree import PathType


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    # sha256 of the key: a leaked table opens nothing. The first characters stay readable
    # so an administrator can tell keys apart ("ww_3fa9…").
    key_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=12)
    node_id: int = Field(foreign_key="grid_node.id")
    node_path: str = Field(sa_type=PathType)
    created_by: Optional[int] = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    last_used_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))
    revoked_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))
