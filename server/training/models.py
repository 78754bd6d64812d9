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
    # The original as a PDF (a policy as the government issued it), when one was added: its
    # bytes in training_material_file, its text in `body` for searching offline.
    pdf_size: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_by: Optional[int] = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class TrainingMaterialFile(SQLModel, table=True):
    """A material's PDF, apart from the material so the library's list never loads the bytes.
    In the database like every photo: several stateless app servers, one backup."""

    __tablename__ = "training_material_file"

    material_id: int = Field(foreign_key="training_material.id", primary_key=True)
    sha256: str = Field(max_length=64)
    data: bytes = Field(sa_type=sa.LargeBinary)


class TrainingSession(SQLModel, table=True):
    """A training session (常态化培训): topic, trainer, time, place, who it is for.

    The check-in code is shown on the trainer's screen (with its QR code); a person in
    the audience types or scans it to be marked present, once (TrainingAttendance).
    """

    __tablename__ = "training_session"
    __table_args__ = (
        sa.Index("ix_training_session_owner", "owner_path"),
        sa.Index("ix_training_session_audience", "audience_path", "starts_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    # "" the street's office keeps it, else the community's path.
    owner_path: str = Field(default="", sa_type=PathType)
    # "" the whole street, else one community: who may sign up and check in.
    audience_path: str = Field(default="", sa_type=PathType)
    audience_role: str = Field(default="", max_length=16)  # "" everyone; else a Role
    topic: str = Field(max_length=80)
    trainer: str = Field(max_length=40)
    starts_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    minutes: int = 90
    place: str = Field(max_length=120)
    checkin_code: str = Field(max_length=8, unique=True)
    created_by: Optional[int] = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class TrainingAttendance(SQLModel, table=True):
    """One person at one session: signed up, checked in, quiz score. One row each, ever."""

    __tablename__ = "training_attendance"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "person_id", name="uq_training_attendance"),
        sa.Index("ix_training_attendance_person", "person_id", "checked_in_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="training_session.id")
    person_id: int = Field(foreign_key="person.id")
    signed_up_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))
    checked_in_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))
    quiz_score: Optional[int] = None
    quiz_total: Optional[int] = None
    quiz_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))


class QuizQuestion(SQLModel, table=True):
    """A question of a session's short quiz: one right answer among a few options."""

    __tablename__ = "training_question"
    __table_args__ = (sa.Index("ix_training_question_session", "session_id", "sort_order"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="training_session.id")
    sort_order: int = 0
    text: str = Field(max_length=200)
    options: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    answer: int = 0  # index into options
