"""The Party organisation and the leaders' service station of a community.

The seed names who runs each joint mechanism: the community Party committee (社区党委)
and its secretary lead joint handling and joint analysis and take the applications for
joint disposal; a grid Party branch (网格党支部 / 总支) over one or more compounds applies
for joint disposal; the leaders' service station (微网格长服务站) convenes the patrols and
is where the leader on duty files applications.

People hold these roles as posts (server/accounts/models.py `Post.office`): the
secretary's post is her community post with office `party_secretary`, a branch
secretary holds a compound post on each compound of the branch with office
`branch_secretary`. So scope, invites, ending a post and the audit log work as for any
other post; the bodies below only name the committees and say which compounds a branch
covers.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.clock import utcnow
from server.i18n import N_
from server.tree import PathType


class Office(StrEnum):
    party_secretary = "party_secretary"  # 社区党委书记
    party_member = "party_member"  # 社区党委委员
    delegate = "delegate"  # 书记指定的代理人: records joint-handling decisions for her
    branch_secretary = "branch_secretary"  # 网格党支部（总支）书记
    branch_member = "branch_member"  # 支委


OFFICE_LABELS = {
    Office.party_secretary: N_("Community Party secretary"),
    Office.party_member: N_("Party committee member"),
    Office.delegate: N_("Secretary's delegate"),
    Office.branch_secretary: N_("Grid Party branch secretary"),
    Office.branch_member: N_("Branch committee member"),
}
# Offices held on a community post (the committee) and on compound posts (a branch).
COMMITTEE_OFFICES = frozenset({Office.party_secretary, Office.party_member, Office.delegate})
BRANCH_OFFICES = frozenset({Office.branch_secretary, Office.branch_member})


class BodyKind(StrEnum):
    committee = "committee"  # 社区党委
    branch = "branch"  # 网格党支部 / 总支


class PartyBody(SQLModel, table=True):
    """A community Party committee, or a grid Party branch over some of its compounds."""

    __tablename__ = "party_body"
    __table_args__ = (sa.Index("ix_party_body_community", "community_path", "kind"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)
    name: str = Field(max_length=60)
    community_id: int = Field(foreign_key="grid_node.id")
    community_path: str = Field(sa_type=PathType)
    # A branch's compounds (their node ids: ids survive a move, paths do not); empty for
    # the committee, which covers the community.
    compound_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class ServiceStation(SQLModel, table=True):
    """The leaders' service station of a community: where the leader on duty sits."""

    __tablename__ = "service_station"

    id: Optional[int] = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="grid_node.id", unique=True)
    community_path: str = Field(sa_type=PathType)
    name: str = Field(max_length=60)
    address: str = Field(default="", max_length=120)
    phone: str = Field(default="", max_length=20)


class DutySlot(SQLModel, table=True):
    """One day of a station's monthly rota (值班表): who is on duty, and when they checked in."""

    __tablename__ = "duty_slot"
    __table_args__ = (
        sa.UniqueConstraint("station_id", "day", name="uq_duty_slot_station_day"),
        sa.Index("ix_duty_slot_person_day", "person_id", "day"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="service_station.id")
    community_path: str = Field(sa_type=PathType)
    day: date
    person_id: int = Field(foreign_key="person.id")
    checked_in_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))


class SwapStatus(StrEnum):
    requested = "requested"
    approved = "approved"
    declined = "declined"


class DutySwap(SQLModel, table=True):
    """A leader asks someone else to take their day; the community's staff approve it."""

    __tablename__ = "duty_swap"

    id: Optional[int] = Field(default=None, primary_key=True)
    slot_id: int = Field(foreign_key="duty_slot.id", index=True)
    requested_by: int = Field(foreign_key="person.id")
    to_person_id: int = Field(foreign_key="person.id")
    reason: str = Field(default="", max_length=200)
    status: str = Field(default=SwapStatus.requested, max_length=10)
    decided_by: Optional[int] = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    decided_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))


class DutyLogEntry(SQLModel, table=True):
    """The duty log (值班日志): who came, what they asked, what was done."""

    __tablename__ = "duty_log_entry"

    id: Optional[int] = Field(default=None, primary_key=True)
    slot_id: int = Field(foreign_key="duty_slot.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    visitors: int = 0
    requests: str = Field(default="", max_length=1000)
    done: str = Field(default="", max_length=1000)
