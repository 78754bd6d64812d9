"""Joint patrols (联动巡查): checklist templates, their versions and items, patrols, answers.

A template is edited by publishing a new version: the items of a published version are
never changed, so a patrol keeps exactly the checklist it was filled with (a phone may
send a patrol filled offline against a version that has been replaced since). An item
carries a `key` that stays the same across versions, so "the item that failed last
month" is found again in this month's checklist even after an edit.

A patrol is made on a phone, often offline: its primary key is the client's UUID, and
its answers' keys are derived from it, so replaying it stores nothing twice.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.clock import utcnow
from server.tree import PathType
from server.i18n import N_


RURAL = "rural"  # server.grid.models.CompoundKind.rural


class Result(StrEnum):
    passed = "pass"  # 合格
    failed = "fail"  # 不合格
    not_applicable = "na"  # 不涉及


RESULT_LABELS = {
    Result.passed: N_("Pass"),
    Result.failed: N_("Fail"),
    Result.not_applicable: N_("N/A"),
}

# Who takes part, in the seed's order (居民小组长, 微网格长, 支委, 业主代表, 物业企业人员), then
# the community's staff; the report lists the participants by these roles.
PARTICIPANT_ROLES = {
    "resident_group_leader": N_("Resident group leader"),  # 居民小组长
    "leader": N_("Micro-grid leader"),  # 微网格长
    "branch_committee": N_("Branch committee member"),  # 支委
    "owners_rep": N_("Owners' representative"),  # 业主代表
    "property": N_("Property company staff"),  # 物业
    "staff": N_("Community staff"),  # 社区/网格员
    "other": N_("Other"),
}


class PatrolTemplate(SQLModel, table=True):
    """A checklist. `owner_path` "" is the street-wide default; a community may keep its own."""

    __tablename__ = "patrol_template"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    owner_node_id: Optional[int] = Field(default=None, foreign_key="grid_node.id")
    # The community's path (or "" for everywhere): the compounds under it use this template.
    owner_path: str = Field(default="", sa_type=PathType, unique=True)
    current_version_id: Optional[int] = None  # no FK: the two tables point at each other
    # The scattered rural settlements' (散居林盘) own checklist in this template, when it has one
    # (人居环境, 道路, 沟渠河道, 消防, 自建房安全, 垃圾收运 ...): they have no lifts or property company.
    rural_version_id: Optional[int] = None

    def version_for(self, compound_kind: str | None) -> int | None:
        """The version a compound of this kind fills in."""
        if compound_kind == RURAL and self.rural_version_id:
            return self.rural_version_id
        return self.current_version_id
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class PatrolTemplateVersion(SQLModel, table=True):
    __tablename__ = "patrol_template_version"
    __table_args__ = (sa.UniqueConstraint("template_id", "number", name="uq_patrol_template_version_number"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="patrol_template.id", index=True)
    number: int  # 1, 2, 3... within the template
    compound_kind: str = Field(default="", max_length=16, sa_column_kwargs={"server_default": ""})  # "" or rural
    note: str = Field(default="", max_length=200)  # what changed
    created_by: Optional[int] = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class PatrolItem(SQLModel, table=True):
    """One line of one version: never edited once published."""

    __tablename__ = "patrol_item"
    __table_args__ = (sa.Index("ix_patrol_item_version_order", "version_id", "sort_order"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="patrol_template_version.id")
    key: str = Field(max_length=40)  # stable across versions: "cleaning", "lighting", "item-7"...
    section: str = Field(max_length=40)  # 物业服务, 环境卫生... (data, in Chinese)
    title: str = Field(max_length=40)  # 保洁
    hint: str = Field(default="", max_length=200)  # what to look at
    category_code: str = Field(max_length=32)  # the ledger category a failure is filed under
    sort_order: int = 0


class Patrol(SQLModel, table=True):
    __tablename__ = "patrol"
    __table_args__ = (
        sa.Index("ix_patrol_compound_month", "compound_path", "month"),
        sa.Index("ix_patrol_month_compound", "month", "compound_path"),
    )

    id: str = Field(primary_key=True, max_length=36)  # client UUID
    compound_id: int = Field(foreign_key="grid_node.id")
    compound_path: str = Field(sa_type=PathType)  # copied: scope and calendar are range queries
    month: str = Field(max_length=7)  # YYYY-MM, China time, of patrolled_at
    version_id: int = Field(foreign_key="patrol_template_version.id")
    recorded_by: int = Field(foreign_key="person.id")
    # [{"role": "owners_rep", "name": "李四", "person_id": null}, ...]
    participants: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    notes: str = Field(default="", max_length=1000)
    patrolled_at: datetime = Field(sa_type=sa.DateTime(timezone=True))  # on the phone
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    # Counted once when stored, for the calendar and the trend chart.
    pass_count: int = 0
    fail_count: int = 0
    na_count: int = 0

    @property
    def pass_rate(self) -> float | None:
        """Share of applicable items that passed (None when nothing applied)."""
        judged = self.pass_count + self.fail_count
        return self.pass_count / judged if judged else None


class PatrolAnswer(SQLModel, table=True):
    __tablename__ = "patrol_answer"
    __table_args__ = (
        sa.UniqueConstraint("patrol_id", "item_id", name="uq_patrol_answer_item"),
        sa.Index("ix_patrol_answer_path_key", "compound_path", "item_key"),
        sa.Index("ix_patrol_answer_issue", "issue_id"),
    )

    id: str = Field(primary_key=True, max_length=36)  # uuid5(patrol id, item id)
    patrol_id: str = Field(foreign_key="patrol.id", max_length=36)
    item_id: int = Field(foreign_key="patrol_item.id")
    item_key: str = Field(max_length=40)
    compound_path: str = Field(sa_type=PathType)
    month: str = Field(max_length=7)
    result: str = Field(max_length=4)
    note: str = Field(default="", max_length=500)
    fixed_on_spot: bool = False
    # The ledger problem this failure became (made through report_issue, same transaction).
    issue_id: Optional[str] = Field(default=None, foreign_key="issue.id", max_length=36)
    photo_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    sort_order: int = 0
