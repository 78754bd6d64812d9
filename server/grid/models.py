"""The six-level grid tree, households, property companies.

Street (街道) → community (社区/村) → compound (小区/院落/林盘) → building (楼栋) →
unit (单元) → micro-grid (微网格). Levels may be skipped: a rural micro-grid hangs
directly off its settlement, a business micro-grid off its community.

"Everything under this node" is one indexed range query on `path` (server/tree.py).
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.tree import PathType, ancestor_paths



class Level(StrEnum):
    street = "street"
    community = "community"
    compound = "compound"
    building = "building"
    unit = "unit"
    microgrid = "microgrid"


# The article's four tiers: building and unit are not tiers of their own.
TIER_OF_LEVEL = {Level.street: 1, Level.community: 2, Level.compound: 3, Level.microgrid: 4}


class CompoundKind(StrEnum):
    residential = "residential"  # 居民小区/院落
    rural = "rural"  # 散居林盘 (rural settlement)


class MicrogridKind(StrEnum):
    residential = "residential"  # 居民小区"微小网格"
    rural = "rural"  # 散居林盘"微网格"
    business = "business"  # 城镇个体工商户
    scenic = "scenic"  # 旅游景区
    institution = "institution"  # 驻区单位: schools, hospitals, agencies, enterprises
    enterprise = "enterprise"  # 经开区企业


# Micro-grids that hold households and have a leader with a notice board.
HOUSEHOLD_KINDS = (MicrogridKind.residential, MicrogridKind.rural)


class CareTag(StrEnum):
    elderly_alone = "elderly_alone"  # 独居老人
    disabled = "disabled"  # 残疾人
    low_income = "low_income"  # 低保
    left_behind_child = "left_behind_child"  # 留守儿童
    veteran = "veteran"  # 退役军人
    serious_illness = "serious_illness"  # 大病
    special_support = "special_support"  # 特困供养

# Order on the worklist: the most vulnerable first.
CARE_PRIORITY = [t.value for t in CareTag]


class PropertyCompany(SQLModel, table=True):
    __tablename__ = "property_company"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    phone: str = Field(default="", max_length=20)


class GridNode(SQLModel, table=True):
    __tablename__ = "grid_node"
    __table_args__ = (
        sa.Index("ix_grid_node_parent_sort", "parent_id", "sort_order"),
        sa.Index("ix_grid_node_level_kind", "level", "kind"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    parent_id: Optional[int] = Field(default=None, foreign_key="grid_node.id")
    level: str = Field(max_length=16)
    kind: Optional[str] = Field(default=None, max_length=16)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=100)
    path: str = Field(sa_type=PathType, unique=True)
    depth: int = 0
    sort_order: int = 0
    property_company_id: Optional[int] = Field(default=None, foreign_key="property_company.id")
    # A retired node keeps its row, its code (codes are never reused) and its history;
    # it no longer shows in the tree, counts or worklists.
    retired_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))

    @property
    def tier(self) -> Optional[int]:
        return TIER_OF_LEVEL.get(Level(self.level))

    def ancestor_paths(self) -> list[str]:
        """Paths of this node and every ancestor, root first (for breadcrumbs)."""
        return ancestor_paths(self.path)


class HouseholdStatus(StrEnum):
    active = "active"  # 在住
    moved_out = "moved_out"  # 迁出
    deceased = "deceased"  # 已故 (a one-person household whose head has died)


def active_node(column=None) -> sa.ColumnElement[bool]:
    """The one clause for "a node of the living tree" (not retired)."""
    return (GridNode.retired_at if column is None else column).is_(None)


class Household(SQLModel, table=True):
    """A household on a micro-grid. Moved out or deceased, it stays as history, off every worklist."""

    __tablename__ = "household"
    __table_args__ = (sa.Index("ix_household_grid_path", "grid_path"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    microgrid_id: int = Field(foreign_key="grid_node.id", index=True)
    # The micro-grid's path, copied so scope checks and subtree counts need no join.
    grid_path: str = Field(sa_type=PathType)
    address: str = Field(max_length=120)
    head_name: str = Field(max_length=40)
    phone: str = Field(default="", max_length=20)
    members: int = 1
    care_tags: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    notes: str = Field(default="", max_length=500)
    status: str = Field(default=HouseholdStatus.active.value, max_length=16)
    left_on: Optional[date] = None

    @property
    def is_active(self) -> bool:
        return self.status == HouseholdStatus.active

    def care_rank(self) -> int:
        return care_rank(self.care_tags)


def care_rank(tags) -> int:
    """Where care tags put a household on a list: the most vulnerable first."""
    ranks = [CARE_PRIORITY.index(t) for t in tags if t in CARE_PRIORITY]
    return min(ranks) if ranks else len(CARE_PRIORITY)


def active_household(column=None) -> sa.ColumnElement[bool]:
    """The one clause for "a household living here now": worklists, counts and searches use it."""
    return (Household.status if column is None else column) == HouseholdStatus.active.value


class GridTally(SQLModel, table=True):
    """How many of a thing lie at or under a node (issue 15): living households, nodes by level
    and kind, nodes run by each property company. Kept by database triggers on household and
    grid_node in the writer's own transaction (migration 0023); read by server/grid/tally.py."""

    __tablename__ = "grid_tally"

    node_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    # "households" | "node:<level>:<kind>" | "company:<id>"
    metric: str = Field(primary_key=True, max_length=40)
    n: int


class GridTallySegment(SQLModel, table=True):
    """Where each segment of a path starts (1, 9, ... 57): the triggers' way from a path to its
    ancestors' ids without a recursive query (SQLite takes none in a trigger)."""

    __tablename__ = "grid_tally_segment"

    start: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
