"""Task lists with owners (任务清单化、清单责任化).

The street or a community issues a task (e.g. 疫情期间老旧院落执勤, a policy campaign, a census of
care households) to a set of micro-grids; each micro-grid gets an assignment with an owner
(by default its A-post leader, reassignable), and the owner reports it done from the phone,
offline too (sync type `task_report`, the client's UUID as the report's key). Progress by
community counts the assignments that have a report.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.clock import today_in_china, utcnow
from server.tree import PathType


class Task(SQLModel, table=True):
    __tablename__ = "task"
    __table_args__ = (sa.Index("ix_task_issuer_path", "issuer_path", "created_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_type=sa.Uuid, primary_key=True)
    issuer_node_id: int = Field(foreign_key="grid_node.id")  # the street or the community that issued it
    issuer_path: str = Field(sa_type=PathType)
    title: str = Field(max_length=60)
    description: str = Field(default="", max_length=1000)
    due_on: date
    created_by: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    assignment_count: int = 0


class TaskAssignment(SQLModel, table=True):
    """One micro-grid's share of a task, and who answers for it."""

    __tablename__ = "task_assignment"
    __table_args__ = (
        sa.UniqueConstraint("task_id", "microgrid_id", name="uq_task_assignment_grid"),
        sa.Index("ix_task_assignment_owner", "owner_id", "done_at"),
        sa.Index("ix_task_assignment_task_path", "task_id", "grid_path"),
        sa.Index("ix_task_assignment_path", "grid_path"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: uuid.UUID = Field(sa_type=sa.Uuid, foreign_key="task.id")
    microgrid_id: int = Field(foreign_key="grid_node.id")
    grid_path: str = Field(sa_type=PathType)
    owner_id: Optional[int] = Field(default=None, foreign_key="person.id")  # None: the micro-grid has no leader yet
    due_on: date  # copied from the task: overdue is one indexed comparison
    done_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))  # the first report
    report_count: int = 0

    def is_overdue(self, today: date | None = None) -> bool:
        return self.done_at is None and self.due_on < (today or today_in_china())


class TaskReport(SQLModel, table=True):
    """A completion report from the phone: a note and photos (PUT /api/photos with this id)."""

    __tablename__ = "task_report"
    __table_args__ = (sa.Index("ix_task_report_assignment", "assignment_id", "reported_at"),)

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)  # client UUID: a replay is a no-op
    assignment_id: int = Field(foreign_key="task_assignment.id")
    grid_path: str = Field(sa_type=PathType)
    person_id: int = Field(foreign_key="person.id")
    note: str = Field(max_length=500)
    reported_at: datetime = Field(sa_type=sa.DateTime(timezone=True))  # on the phone
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
