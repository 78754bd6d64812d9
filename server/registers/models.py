"""The registers' own tables: import jobs, and changes leaders propose from the field.

An import job holds the uploaded file (at most 20 MB) until it is applied, so the dry run,
the confirmation and the apply can run in any app process, and a page closed halfway
finds the job again. A household change is an outbox record (sync type
`household_change`): a leader proposes, community staff approve or reject, approval
applies it to the household through the same functions as an edit in the app.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.clock import utcnow
from server.tree import PathType


class JobStatus(StrEnum):
    checking = "checking"  # the dry run is reading the file
    checked = "checked"  # dry run done: counts and problems are known, nothing written
    applying = "applying"  # confirmed: writing, in one transaction
    done = "done"  # applied
    failed = "failed"  # the file could not be read at all, or the apply was refused


RUNNING = (JobStatus.checking, JobStatus.applying)


class ImportJob(SQLModel, table=True):
    __tablename__ = "import_job"
    __table_args__ = (sa.Index("ix_import_job_person_created", "person_id", "created_at"),)

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True, default_factory=uuid.uuid4)
    person_id: Optional[int] = Field(default=None, foreign_key="person.id")
    filename: str = Field(max_length=200)
    sha256: str = Field(max_length=64)
    size: int
    # The file itself until the job is done (then emptied: the sha256 stays in the audit log).
    content: Optional[bytes] = Field(default=None, sa_type=sa.LargeBinary)
    status: str = Field(default=JobStatus.checking.value, max_length=16)
    progress_done: int = 0
    progress_total: int = 0
    # {sheet: {"added": n, "changed": n, "retired": n, "unchanged": n}}
    counts: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # [[sheet, row, column, message id, {params}], ...] in file order (capped, see importer.py)
    problems: list[Any] = Field(default_factory=list, sa_type=sa.JSON)
    problem_count: int = 0
    error: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    finished_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))


class ChangeKind(StrEnum):
    moved_in = "moved_in"  # a new household on the micro-grid
    moved_out = "moved_out"
    deceased = "deceased"
    phone = "phone"
    members = "members"
    care_tag_added = "care_tag_added"
    care_tag_removed = "care_tag_removed"


class ChangeStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class HouseholdChange(SQLModel, table=True):
    """A change to the household register proposed from the field (outbox record)."""

    __tablename__ = "household_change"
    __table_args__ = (sa.Index("ix_household_change_status_path", "status", "grid_path"),
                      sa.Index("ix_household_change_household", "household_id"))

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)  # the outbox record's client UUID
    kind: str = Field(max_length=24)
    household_id: Optional[int] = Field(default=None, foreign_key="household.id")
    microgrid_id: int = Field(foreign_key="grid_node.id")
    grid_path: str = Field(sa_type=PathType)  # the micro-grid's path: approvals are scoped by it
    # What the change carries: address/head_name/phone/members/care_tag, as the leader sent it.
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    note: str = Field(default="", max_length=500)
    person_id: int = Field(foreign_key="person.id")
    proposed_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    status: str = Field(default=ChangeStatus.pending.value, max_length=16)
    decided_by: Optional[int] = Field(default=None, foreign_key="person.id")
    decided_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))
    decision_note: str = Field(default="", max_length=200)
