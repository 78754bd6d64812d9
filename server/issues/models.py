"""The problem ledger (问题台账): problems, their append-only event log, meetings, photos.

A problem's state is never edited in place. Every change is an `IssueEvent` with its
own client UUID; the state is what you get by folding the events in a fixed order
(see state.py). The derived columns on `Issue` (status, deadline, company, flags...) are
a cache for fast filtering, recomputed from all the events on every append, so the
order in which phones deliver their events never matters.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.clock import aware, today_in_china, utcnow
from server.tree import PathType

class Status(StrEnum):
    reported = "reported"  # 待处理
    reopened = "reopened"  # 重新处理 (a resident said it is not solved)
    assigned = "assigned"  # 已交办 (property company or department, with a deadline)
    rectified = "rectified"  # 待核实 (rectification reported)
    resolved = "resolved"  # 已解决，待反馈 (solved on the spot or verified)
    unsolvable = "unsolvable"  # 无法解决，已公告，待反馈
    fed_back = "fed_back"  # 已反馈，待办结
    closed = "closed"  # 已办结


OPEN_STATUSES = (Status.reported, Status.reopened, Status.assigned, Status.rectified)
SETTLED_STATUSES = (Status.resolved, Status.unsolvable, Status.fed_back, Status.closed)
STATUS_ORDER = [s.value for s in Status]


class Source(StrEnum):
    leader = "leader"  # a micro-grid leader on site
    staff = "staff"  # compound / community / street staff
    resident = "resident"  # the public page behind the notice-board QR code
    patrol = "patrol"  # a failed item of a joint patrol
    open311 = "open311"  # another city system, through Open311 with a partner's key (server/open311)


class Urgency(StrEnum):
    normal = "normal"
    urgent = "urgent"


class IssueCategory(SQLModel, table=True):
    """物业服务, 环境卫生, ...: data, so the street administrator can edit them."""

    __tablename__ = "issue_category"

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=40)  # Chinese, shown by default
    name_en: str = Field(default="", max_length=60)
    sort_order: int = 0
    active: bool = True

    def label(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name


class Issue(SQLModel, table=True):
    __tablename__ = "issue"
    __table_args__ = (
        # See queries.py: a small subtree is read through its path, a wide one by walking
        # the newest first; counts, overdue and rates are index-only scans.
        sa.Index("ix_issue_path_reported", "node_path", "reported_at"),
        sa.Index("ix_issue_reported", "reported_at"),
        sa.Index("ix_issue_status_path", "status", "node_path", "deadline", "category_id", "source"),
        sa.Index("ix_issue_month_stats", "month", "node_path", "status", "on_time", "deadline", "category_id", "source"),
        sa.Index("ix_issue_company_status", "assignee_company_id", "status"),
        sa.Index("ix_issue_ip_received", "reporter_ip_hash", "received_at"),
    )

    id: str = Field(primary_key=True, max_length=36)  # client UUID: a replay is a no-op
    node_id: int = Field(foreign_key="grid_node.id")
    # The node's path, copied so scope checks and subtree filters need no join.
    node_path: str = Field(sa_type=PathType)
    household_id: Optional[int] = Field(default=None, foreign_key="household.id")
    category_id: int = Field(foreign_key="issue_category.id")
    description: str = Field(max_length=1000)
    urgency: str = Field(default=Urgency.normal, max_length=8)
    source: str = Field(max_length=10)
    tracking_code: str = Field(max_length=12, unique=True)
    reported_by: Optional[int] = Field(default=None, foreign_key="person.id")
    # Personal information: shown masked, revealing it is audited.
    reporter_name: str = Field(default="", max_length=40)
    reporter_phone: str = Field(default="", max_length=20)
    reporter_ip_hash: str = Field(default="", max_length=16)  # rate limit for the public page
    reported_at: datetime = Field(sa_type=sa.DateTime(timezone=True))  # client time
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    month: str = Field(max_length=7)  # YYYY-MM of reported_at, China time

    # --- derived from the events (state.fold); never written anywhere else
    status: str = Field(default=Status.reported, max_length=12)
    assignee_company_id: Optional[int] = Field(default=None, foreign_key="property_company.id")
    assignee_department: str = Field(default="", max_length=60)
    deadline: Optional[date] = None
    flagged: bool = False  # on the joint-analysis agenda (the secretary accepted the application)
    escalated: bool = False  # in joint disposal (the committee accepted the branch's application)
    # The applications (server/party): "" none, applied (waiting), accepted, declined.
    analysis_status: str = Field(default="", max_length=10)
    analysis_month: str = Field(default="", max_length=7)  # the agenda's month, YYYY-MM
    disposal_status: str = Field(default="", max_length=10)
    announced: bool = False
    feedback_count: int = 0
    reopen_count: int = 0
    supervise_count: int = 0
    resolved_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))
    on_time: Optional[bool] = None
    closed_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))
    event_count: int = 0
    note_count: int = 0  # events kept as notes because they were no longer valid
    last_event_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))

    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, today: date | None = None) -> bool:
        return self.is_open() and self.deadline is not None and self.deadline < (today or today_in_china())


class EventKind(StrEnum):
    report = "report"  # 上报
    solve_on_spot = "solve_on_spot"  # 就地解决
    assign = "assign"  # 交办 (property company or department, deadline)
    rectify = "rectify"  # 整改回复 (property staff, with photo)
    verify = "verify"  # 核实通过
    send_back = "send_back"  # 退回重新整改
    flag = "flag"  # 标为共性/疑难问题 → joint analysis (now: a meeting's decision; older logs)
    escalate = "escalate"  # 提交联动处置 (older logs only: disposal now goes by application)
    # 联动分析: the leader on duty at the station applies (问题、理由); the secretary (or her
    # delegate) puts it on a month's agenda or declines it with a reason.
    apply_analysis = "apply_analysis"
    accept_analysis = "accept_analysis"
    decline_analysis = "decline_analysis"
    # 联动处置: the grid Party branch applies to the community Party committee, which
    # accepts it with a solution plan (owner, steps, deadline) or declines with a reason.
    apply_disposal = "apply_disposal"
    accept_disposal = "accept_disposal"
    decline_disposal = "decline_disposal"
    supervise = "supervise"  # 督办
    decision = "decision"  # a monthly meeting's decision on this problem
    announce = "announce"  # 公告: it truly cannot be solved, and why
    feedback = "feedback"  # 反馈 to the residents (mandatory before closing)
    close = "close"  # 办结
    reopen = "reopen"  # 未解决: a resident says it is not solved
    comment = "comment"  # 备注


class IssueEvent(SQLModel, table=True):
    __tablename__ = "issue_event"
    __table_args__ = (
        sa.Index("ix_issue_event_issue_at", "issue_id", "at"),
        sa.Index("ix_issue_event_meeting", "meeting_id"),
        sa.Index("ix_issue_event_received", "received_at"),  # the ledger's version (queries.py)
    )

    id: str = Field(primary_key=True, max_length=36)  # client UUID
    issue_id: str = Field(foreign_key="issue.id", max_length=36)
    kind: str = Field(max_length=16)
    actor_id: Optional[int] = Field(default=None, foreign_key="person.id")
    actor_role: str = Field(default="", max_length=16)  # leader, community, property, resident...
    actor_name: str = Field(default="", max_length=40)
    at: datetime = Field(sa_type=sa.DateTime(timezone=True))  # when it happened, on the phone
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    meeting_id: Optional[str] = Field(default=None, foreign_key="issue_meeting.id", max_length=36)
    # Derived by the fold: False when the event was no longer valid at its place in the
    # log; it is then kept and shown as a note with the reason.
    applied: bool = True
    note: str = Field(default="", max_length=200)

    def delay_seconds(self) -> float:
        """How long the event waited on the phone before reaching the server."""
        return (aware(self.received_at) - aware(self.at)).total_seconds()


class Application(StrEnum):
    applied = "applied"  # waiting for the secretary / the committee
    accepted = "accepted"
    declined = "declined"


class MeetingKind(StrEnum):
    handling = "handling"  # 联动处理
    analysis = "analysis"  # 联动分析
    disposal = "disposal"  # 联动处置


class IssueMeeting(SQLModel, table=True):
    """A monthly meeting of a community: its record, whose decisions are events."""

    __tablename__ = "issue_meeting"
    __table_args__ = (sa.Index("ix_issue_meeting_community_month", "community_path", "month"),)

    id: str = Field(primary_key=True, max_length=36)
    community_id: int = Field(foreign_key="grid_node.id")
    community_path: str = Field(sa_type=PathType)
    month: str = Field(max_length=7)
    kind: str = Field(max_length=10)
    held_on: date
    place: str = Field(default="", max_length=100)
    # [{"role": "社区党委书记", "name": "王建国"}, ...]
    attendees: list[dict[str, str]] = Field(default_factory=list, sa_type=sa.JSON)
    notes: str = Field(default="", max_length=2000)
    created_by: Optional[int] = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
