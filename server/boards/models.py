"""What a printed board needs beyond the grid: a leader's consent and photo, a plan's layout."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.clock import utcnow


class BoardProfile(SQLModel, table=True):
    """A leader's notice-board details. The phone is shown only once the leader agrees."""

    __tablename__ = "board_profile"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    show_phone: bool = False
    photo_id: Optional[uuid.UUID] = Field(default=None, sa_type=sa.Uuid, foreign_key="photo.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class PlanLayout(SQLModel, table=True):
    """Where staff placed a compound's buildings (or a settlement's plots) on its plan board."""

    __tablename__ = "plan_layout"

    node_id: int = Field(foreign_key="grid_node.id", primary_key=True)
    # {"<child node id>": [column, row]} on a grid of cells
    positions: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
