"""Training materials (常态化培训): policies and how-to guides a leader can show at the door.

Every material is kept on the phone (OFFLINE_PAGES) and the library page carries each
material's text for searching without a signal (static/js/materials.js).
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.clock import utcnow
from server.i18n import N_
from server.tree import PathType


class MaterialKind(StrEnum):
    policy = "policy"  # 政策
    guide = "guide"  # 操作指南


MATERIAL_KIND_LABELS = {MaterialKind.policy: N_("Policy"), MaterialKind.guide: N_("How-to guide")}


class TrainingMaterial(SQLModel, table=True):
    __tablename__ = "training_material"
    __table_args__ = (sa.Index("ix_training_material_owner", "owner_path"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    # "" for the whole street (the street's office), else the community that keeps it.
    owner_path: str = Field(default="", sa_type=PathType)
    kind: str = Field(max_length=10)
    title: str = Field(max_length=80)
    summary: str = Field(default="", max_length=200)
    body: str = Field(sa_type=sa.Text)
    created_by: Optional[int] = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
