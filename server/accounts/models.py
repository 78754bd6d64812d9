"""People, their posts on the grid, devices, sessions, invites and the audit log.

A person holds posts; each post is a role on one grid node and the person may see
that node's whole subtree. Nobody signs in with a password: a device (a passkey or a
browser-held key + PIN) is enrolled through a one-time invite.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.clock import utcnow
from server.tree import PathType


class Role(StrEnum):
    admin = "admin"  # 街道管理员: the whole street
    community = "community"  # 社区工作人员, 社区党委书记
    compound = "compound"  # 小区/院落 网格员
    leader = "leader"  # 微网格长 (A岗 / B岗)
    property = "property"  # 物业: only issues assigned to their company


class PostKind(StrEnum):
    primary = "A"  # A岗
    backup = "B"  # B岗


class Gender(StrEnum):
    male = "male"
    female = "female"


class PoliticalStatus(StrEnum):
    """政治面貌, as the staff basic-information table (村社区微网格人员基本情况表) records it."""

    party_member = "party_member"  # 中共党员
    probationary_member = "probationary_member"  # 中共预备党员
    league_member = "league_member"  # 共青团员
    democratic_party = "democratic_party"  # 民主党派
    independent = "independent"  # 无党派人士
    masses = "masses"  # 群众


class Person(SQLModel, table=True):
    """A person who works on the grid. Never an ID-card number (身份证号): we do not store one."""

    __tablename__ = "person"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=40)
    phone: str = Field(default="", max_length=20, index=True)
    active: bool = True
    # The staff basic-information fields; all optional.
    gender: str = Field(default="", max_length=8)
    birth_year: Optional[int] = None
    political_status: str = Field(default="", max_length=24)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    # 大字模式 (elder mode), chosen on 我的 and kept per person, on every phone they use. When it
    # changed lets a phone tell a page cached before the change from a newer one (textsize.js).
    large_text: bool = False
    large_text_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))


class Post(SQLModel, table=True):
    """A role on one grid node, from `started_on` until `ended_on`.

    An ended post stays as history (who led this micro-grid last year); it gives no scope.
    Every query that asks who holds a post *now* filters with `current_post()`.
    """

    __tablename__ = "post"
    __table_args__ = (
        sa.Index("ix_post_node_role", "node_id", "role"),
        sa.Index("ix_post_node_path", "node_path"),
        # The tier table's distinct people under a node, from the index alone (migration 0023):
        # a city's street holds 315,000 posts.
        sa.Index("ix_post_current_leader_a", "node_path", "person_id",
                 sqlite_where=sa.text("role = 'leader' AND post_kind = 'A' AND ended_on IS NULL"),
                 postgresql_where=sa.text("role = 'leader' AND post_kind = 'A' AND ended_on IS NULL")),
        sa.Index("ix_post_current_staff", "node_path", "person_id",
                 sqlite_where=sa.text("role <> 'leader' AND ended_on IS NULL"),
                 postgresql_where=sa.text("role <> 'leader' AND ended_on IS NULL")),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    node_id: int = Field(foreign_key="grid_node.id")
    # The node's path, copied so "who works under this node" is a range query.
    node_path: str = Field(sa_type=PathType)
    role: str = Field(max_length=16)
    post_kind: Optional[str] = Field(default=None, max_length=1)  # A / B for leaders
    title: str = Field(default="", max_length=40)  # e.g. 社区党委书记, 网格员
    # A Party or station office held through this post (server/party/models.py Office):
    # party_secretary, party_member, delegate, branch_secretary, branch_member; "" none.
    office: str = Field(default="", max_length=20)
    company_id: Optional[int] = Field(default=None, foreign_key="property_company.id")
    started_on: Optional[date] = None
    ended_on: Optional[date] = None

    @property
    def is_current(self) -> bool:
        return self.ended_on is None


def current_post(table=None) -> sa.ColumnElement[bool]:
    """The one clause for "a post held now": every query picking a post holder uses it.

    `table` is Post.__table__ (or an alias) for Core queries; default the ORM class.
    """
    column = Post.ended_on if table is None else table.c.ended_on
    return column.is_(None)


class Device(SQLModel, table=True):
    """A phone or PC enrolled for one person: a passkey or a browser-held device key."""

    __tablename__ = "device"

    id: Optional[int] = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    kind: str = Field(max_length=16)  # passkey | device_key
    name: str = Field(default="", max_length=80)
    credential_id: str = Field(max_length=512, unique=True)  # base64url
    public_key: bytes = Field(sa_type=sa.LargeBinary)
    sign_count: int = 0
    pin_hash: Optional[str] = Field(default=None, max_length=200)
    pin_failures: int = 0
    locked_until: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    last_used_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))
    revoked_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))


class WebSession(SQLModel, table=True):
    """A server-side session, shared by every app process through the database.

    Only a hash of the cookie value is stored, so a leaked table opens no session.
    """

    __tablename__ = "web_session"

    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of the cookie token
    person_id: int = Field(foreign_key="person.id", index=True)
    device_id: Optional[int] = Field(default=None, foreign_key="device.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    revoked_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))


class Invite(SQLModel, table=True):
    """A one-time link that enrols a device for a person, role and grid node."""

    __tablename__ = "invite"

    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=16)
    node_id: int = Field(foreign_key="grid_node.id")
    post_kind: Optional[str] = Field(default=None, max_length=1)
    # The one post this invite grants a device for (None: a new post, made when it is used).
    post_id: Optional[int] = Field(default=None, foreign_key="post.id")
    created_by: Optional[int] = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    used_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))


class AuditEntry(SQLModel, table=True):
    """Append-only: who did what to which object, when, from which device."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        sa.Index("ix_audit_at", "at"),
        sa.Index("ix_audit_person_at", "person_id", "at"),
        sa.Index("ix_audit_object", "object_type", "object_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    person_id: Optional[int] = Field(default=None, foreign_key="person.id")
    device_id: Optional[int] = Field(default=None, foreign_key="device.id")
    action: str = Field(max_length=40)  # sign_in, enrol, revoke, reveal_phone, export, ...
    object_type: str = Field(default="", max_length=40)
    object_id: str = Field(default="", max_length=64)
    ip: str = Field(default="", max_length=45)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class AuthChallenge(SQLModel, table=True):
    """A WebAuthn or device-key challenge: single use, a few minutes long.

    In the database rather than in a cookie or in memory, so any app process can check
    the answer and a replayed answer finds the row already gone.
    """

    __tablename__ = "auth_challenge"
    __table_args__ = (sa.Index("ix_auth_challenge_expires", "expires_at"),)

    id: str = Field(primary_key=True, max_length=100)  # the challenge itself, base64url
    purpose: str = Field(max_length=24)  # enrol_passkey | enrol_device_key | sign_in_passkey | sign_in_device_key
    invite_id: Optional[int] = Field(default=None, foreign_key="invite.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
