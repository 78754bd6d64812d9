"""Recruitment (推荐、自荐) and the helpers register (挖掘潜在人群).

A resident self-nominates or recommends someone from the community's public page
(`/join/<community code>`); the community's staff interview and decide. Approval makes
the person, their post and the one-time invite (a leader) or a helper entry in one
transaction (server/recruit/service.py). Helpers (居民小组长, 楼栋长, 志愿者 ...) hold no
account: the community keeps them per grid, and the patrol participant picker lists them.
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


class Way(StrEnum):
    self = "self"  # 自荐
    recommend = "recommend"  # 推荐


class Position(StrEnum):
    leader = "leader"  # 微网格长
    helper = "helper"  # 居民小组长, 楼栋长, 志愿者 ...


class NominationStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    declined = "declined"


class HelperKind(StrEnum):
    resident_group_leader = "resident_group_leader"  # 居民小组长
    building_leader = "building_leader"  # 楼栋长
    volunteer = "volunteer"  # 志愿者
    owners_rep = "owners_rep"  # 业主代表
    other = "other"


WAY_LABELS = {Way.self: N_("Self-nomination"), Way.recommend: N_("Recommendation")}
POSITION_LABELS = {Position.leader: N_("Micro-grid leader"), Position.helper: N_("Helper")}
STATUS_LABELS = {
    NominationStatus.pending: N_("Waiting for review"),
    NominationStatus.approved: N_("Approved"),
    NominationStatus.declined: N_("Declined"),
}
HELPER_KIND_LABELS = {
    HelperKind.resident_group_leader: N_("Resident group leader"),
    HelperKind.building_leader: N_("Building leader"),
    HelperKind.volunteer: N_("Volunteer"),
    HelperKind.owners_rep: N_("Owners' representative"),
    HelperKind.other: N_("Other helper"),
}
# A helper's kind as a joint-patrol participant role (server/patrols/models.py PARTICIPANT_ROLES).
HELPER_PATROL_ROLE = {
    HelperKind.resident_group_leader: "resident_group_leader",
    HelperKind.owners_rep: "owners_rep",
}


class Helper(SQLModel, table=True):
    """Someone who helps on a grid without a post: kept by the community, never signs in."""

    __tablename__ = "helper"
    __table_args__ = (sa.Index("ix_helper_grid_path", "grid_path"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    grid_id: int = Field(foreign_key="grid_node.id")
    grid_path: str = Field(sa_type=PathType)  # copied from the node: scope is a range query
    kind: str = Field(max_length=24)
    name: str = Field(max_length=40)
    phone: str = Field(default="", max_length=20)
    note: str = Field(default="", max_length=200)
    created_by: Optional[int] = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    retired_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))


class Nomination(SQLModel, table=True):
    """One self-nomination or recommendation from the public page, and what the community decided."""

    __tablename__ = "nomination"
    __table_args__ = (
        sa.Index("ix_nomination_community", "community_path", "status"),
        sa.Index("ix_nomination_ip", "ip_hash", "submitted_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="grid_node.id")
    community_path: str = Field(sa_type=PathType)
    grid_id: Optional[int] = Field(default=None, foreign_key="grid_node.id")  # what the resident named
    way: str = Field(max_length=10)
    position: str = Field(max_length=10)
    helper_kind: str = Field(default="", max_length=24)  # a helper's kind (HelperKind), "" for a leader
    name: str = Field(max_length=40)
    phone: str = Field(max_length=20)
    reason: str = Field(max_length=500)
    nominator_name: str = Field(default="", max_length=40)
    nominator_phone: str = Field(default="", max_length=20)
    ip_hash: str = Field(default="", max_length=16)  # keyed hash of the address: rate limits only
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    status: str = Field(default=NominationStatus.pending, max_length=10)
    interview_notes: str = Field(default="", sa_type=sa.Text)
    decision_reason: str = Field(default="", max_length=500)
    decided_by: Optional[int] = Field(default=None, foreign_key="person.id")
    decided_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))
    # What the approval made.
    person_id: Optional[int] = Field(default=None, foreign_key="person.id")
    post_id: Optional[int] = Field(default=None, foreign_key="post.id")
    invite_id: Optional[int] = Field(default=None, foreign_key="invite.id")
    helper_id: Optional[int] = Field(default=None, foreign_key="helper.id")
