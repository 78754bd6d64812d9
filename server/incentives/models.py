"""Glimmer points (微光积分): the street's versioned rule table, the append-only points ledger.

A balance is the sum of a person's entries. Nothing here is ever updated or deleted: a
wrong entry is undone by a reversing entry (`reverses_id`), and a change of the rule
table is a new version (`IncentiveRules.version`), effective from the moment it is saved,
so points already earned keep the version they were earned under (kept on each entry).

`PointsAccount` is one row per person, the thing a redemption or a deduction locks
(SELECT ... FOR UPDATE) so two requests at once cannot both spend the same points, and
the time the person's records were last folded into the ledger (earning.py, ledger.py),
and the balance, kept equal to the sum of the entries by every write that appends one.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.clock import utcnow
from server.tree import PathType


class EntryKind(StrEnum):
    earned = "earned"  # folded from a verified record by the rule table
    manual = "manual"  # an award or deduction by community staff or the street, with a reason
    reversal = "reversal"  # undoes (part of) another entry: a correction, never an edit


class IncentiveRules(SQLModel, table=True):
    """One version of the street's rule table: points per kind of work, caps, scorecard weights."""

    __tablename__ = "incentive_rules"

    id: Optional[int] = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    points: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON)  # rule code -> points
    caps: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON)  # daily_work, ...
    weights: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON)  # scorecard component -> weight
    note: str = Field(default="", max_length=200)
    created_by: Optional[int] = Field(default=None, foreign_key="person.id")
    # Effective from: work done from this moment on is priced by this version.
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class PointsEntry(SQLModel, table=True):
    __tablename__ = "points_entry"
    __table_args__ = (
        sa.Index("ix_points_entry_person_at", "person_id", "at"),
        sa.Index("ix_points_entry_person_key", "person_id", "key", "points"),  # the fold's slots: index-only
        sa.Index("ix_points_entry_person_month", "person_id", "month", "kind", "points"),  # a month's earnings
        # Rankings: a month (or a quarter's three) of a subtree, summed per person.
        sa.Index("ix_points_entry_month_path", "month", "grid_path", "person_id", "kind", "points"),
    )

    id: str = Field(primary_key=True, max_length=36)
    person_id: int = Field(foreign_key="person.id")
    points: int  # negative for a deduction or a reversal
    kind: str = Field(max_length=10)  # EntryKind
    rule: str = Field(default="", max_length=24)  # the rule code that priced it ("" for manual)
    rule_version: Optional[int] = None
    # What earned it: "visit", "work", "patrol", "issue", "manual" and the record's id.
    source_type: str = Field(default="", max_length=12)
    source_id: str = Field(default="", max_length=36)
    # The earning slot (one visit point per household per month, one per record...):
    # the fold compares what a slot should hold with what its entries add up to.
    key: str = Field(default="", max_length=80)
    grid_path: str = Field(default="", sa_type=PathType)  # where the work was done: rankings are scoped by it
    at: datetime = Field(sa_type=sa.DateTime(timezone=True))  # when the work was done
    month: str = Field(max_length=7)  # YYYY-MM of `at`, China time
    reverses_id: Optional[str] = Field(default=None, max_length=36)
    reason: str = Field(default="", max_length=200)
    created_by: Optional[int] = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class PointsAccount(SQLModel, table=True):
    """Per person: the row spending locks, and how far their records have been folded."""

    __tablename__ = "points_account"

    person_id: int = Field(primary_key=True, foreign_key="person.id")
    folded_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))
    folded_version: Optional[int] = None
    # The sum of the person's entries, kept in the transaction that appends them (ledger.credit):
    # a balance read is one row, not a scan of the person's history; `weiwang points recompute`
    # checks it against the sum and mends any drift.
    balance: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Rating(StrEnum):
    satisfied = "satisfied"  # 满意
    basic = "basic"  # 基本满意
    unsatisfied = "unsatisfied"  # 不满意


class IssueRating(SQLModel, table=True):
    """A resident's verdict on a problem after feedback, asked once per problem on the tracking page."""

    __tablename__ = "issue_rating"
    __table_args__ = (sa.Index("ix_issue_rating_month_path", "month", "node_path"),)

    issue_id: str = Field(primary_key=True, foreign_key="issue.id", max_length=36)  # once per problem
    rating: str = Field(max_length=12)
    node_path: str = Field(sa_type=PathType)  # the problem's micro-grid: scorecards are scoped by it
    month: str = Field(max_length=7)  # YYYY-MM of rated_at, China time
    rated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class RewardItem(SQLModel, table=True):
    """One thing in the street's rewards catalogue (微光积分兑换): its price in points and its stock."""

    __tablename__ = "reward_item"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    description: str = Field(default="", max_length=200)
    points: int
    stock: int = 0  # what is left to hand out; a request holds one until it is refused
    active: bool = True
    created_by: Optional[int] = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class RedemptionStatus(StrEnum):
    requested = "requested"  # 待审核: points and one item held
    approved = "approved"  # 已同意, to be handed over
    handed_over = "handed_over"  # 已领取
    refused = "refused"  # 未同意: points and item given back


class Redemption(SQLModel, table=True):
    """A leader's request for a reward. Its status is derived from its events (redemptions.py)."""

    __tablename__ = "redemption"
    __table_args__ = (sa.Index("ix_redemption_path_status", "grid_path", "status"),
                      sa.Index("ix_redemption_person", "person_id", "requested_at"))

    id: str = Field(primary_key=True, max_length=36)
    person_id: int = Field(foreign_key="person.id")
    item_id: int = Field(foreign_key="reward_item.id")
    points: int  # the price when requested
    grid_path: str = Field(sa_type=PathType)  # the leader's micro-grid: the community that approves sees it
    requested_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    status: str = Field(default=RedemptionStatus.requested.value, max_length=12)  # derived, a cache


class RedemptionEvent(SQLModel, table=True):
    __tablename__ = "redemption_event"
    __table_args__ = (sa.Index("ix_redemption_event_redemption", "redemption_id", "at"),)

    id: str = Field(primary_key=True, max_length=36)
    redemption_id: str = Field(foreign_key="redemption.id", max_length=36)
    kind: str = Field(max_length=12)  # request | approve | refuse | hand_over
    actor_id: Optional[int] = Field(default=None, foreign_key="person.id")
    note: str = Field(default="", max_length=200)
    at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class CommendationStatus(StrEnum):
    proposed = "proposed"  # 已推荐, waiting for the street
    approved = "approved"  # 已表彰: on the honour page
    declined = "declined"  # 未通过


class Commendation(SQLModel, table=True):
    """评先评优: a leader proposed for a period (a quarter or a year), approved by the street."""

    __tablename__ = "commendation"
    __table_args__ = (sa.UniqueConstraint("period", "person_id", name="uq_commendation_period_person"),
                      sa.Index("ix_commendation_status_period", "status", "period"))

    id: str = Field(primary_key=True, max_length=36)
    period: str = Field(max_length=7)  # "2026" or "2026-Q3"
    person_id: int = Field(foreign_key="person.id")
    grid_path: str = Field(sa_type=PathType)  # the leader's micro-grid: who may propose and see it
    title: str = Field(max_length=40)  # 优秀微网格长...
    citation: str = Field(default="", max_length=300)  # what they did, for the honour page and the certificate
    points: int = 0  # points earned in the period when proposed (the ranking it came from)
    status: str = Field(default=CommendationStatus.proposed.value, max_length=10)
    proposed_by: Optional[int] = Field(default=None, foreign_key="person.id")
    proposed_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    decided_by: Optional[int] = Field(default=None, foreign_key="person.id")
    decided_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))


class AllowanceBudget(SQLModel, table=True):
    """The year's allowance fund (the article's ¥350,000+) for one community, or the street's own
    reserve: amounts in integer fen, never floats."""

    __tablename__ = "allowance_budget"
    __table_args__ = (sa.UniqueConstraint("year", "node_path", name="uq_allowance_budget_year_node"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    year: int
    node_path: str = Field(sa_type=PathType)  # a community's path
    amount_fen: int = Field(sa_type=sa.BigInteger)
    set_by: Optional[int] = Field(default=None, foreign_key="person.id")
    set_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class AllowanceClaim(SQLModel, table=True):
    """A leader's claim for duty (执勤), meal (误餐) or travel (出行) costs, made on the phone
    (often offline: the client's UUID is the key), approved by the community, paid in a street batch."""

    __tablename__ = "allowance_claim"
    __table_args__ = (sa.Index("ix_allowance_claim_path_status", "grid_path", "status"),
                      sa.Index("ix_allowance_claim_person", "person_id", "claimed_on"))

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    person_id: int = Field(foreign_key="person.id")
    grid_path: str = Field(sa_type=PathType)  # the leader's micro-grid: the community that approves sees it
    kind: str = Field(max_length=8)  # duty | meal | travel
    claimed_on: date  # the day the cost was incurred
    amount_fen: int = Field(sa_type=sa.BigInteger)
    note: str = Field(default="", max_length=200)
    status: str = Field(default="claimed", max_length=10)  # claimed | approved | refused | paid
    decided_by: Optional[int] = Field(default=None, foreign_key="person.id")
    decided_at: Optional[datetime] = Field(default=None, sa_type=sa.DateTime(timezone=True))
    batch_id: Optional[int] = Field(default=None, foreign_key="payout_batch.id")
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))  # on the phone
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class PayoutBatch(SQLModel, table=True):
    """A street payout: every approved claim of its part of the grid at that moment, exported as .xlsx."""

    __tablename__ = "payout_batch"

    id: Optional[int] = Field(default=None, primary_key=True)
    node_path: str = Field(sa_type=PathType)
    total_fen: int = Field(default=0, sa_type=sa.BigInteger)
    claims: int = 0
    created_by: Optional[int] = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class HolidayCampaign(SQLModel, table=True):
    """节日走访慰问: a holiday campaign (春节, 中秋...) of the street or a community over its subtree.

    Its target list is drawn once, when it is created (holidays.py): the leaders of the subtree
    and the households with the chosen care tags, each with who is to visit them.
    """

    __tablename__ = "holiday_campaign"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=40)
    node_path: str = Field(sa_type=PathType)  # the street's or a community's path: whose campaign it is
    starts_on: date
    ends_on: date  # a visit done (on the phone) after this day is refused
    care_tags: list[str] = Field(default_factory=list, sa_type=sa.JSON)  # the households' tags drawn
    include_leaders: bool = True
    created_by: Optional[int] = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class HolidayTarget(SQLModel, table=True):
    """One household or leader to visit in a campaign, and who visits them (reassignable by staff)."""

    __tablename__ = "holiday_target"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "household_id", name="uq_holiday_target_household"),
        sa.UniqueConstraint("campaign_id", "person_id", name="uq_holiday_target_person"),
        sa.Index("ix_holiday_target_campaign_path", "campaign_id", "grid_path"),
        sa.Index("ix_holiday_target_visitor", "visitor_id", "campaign_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="holiday_campaign.id")
    kind: str = Field(max_length=10)  # household | leader
    household_id: Optional[int] = Field(default=None, foreign_key="household.id")
    person_id: Optional[int] = Field(default=None, foreign_key="person.id")  # a leader visited
    # The household's micro-grid (a leader: their post's): who sees the target, progress by community.
    grid_path: str = Field(sa_type=PathType)
    visitor_id: Optional[int] = Field(default=None, foreign_key="person.id")  # None: nobody assigned yet


class HolidayVisit(SQLModel, table=True):
    """A target marked visited, from the visitor's phone (sync type holiday_visit): at most one per target."""

    __tablename__ = "holiday_visit"
    __table_args__ = (sa.Index("ix_holiday_visit_person", "person_id", "visited_at"),)

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)  # the phone's record id
    target_id: int = Field(foreign_key="holiday_target.id", unique=True)
    campaign_id: int = Field(foreign_key="holiday_campaign.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    grid_path: str = Field(sa_type=PathType)  # the target's
    note: str = Field(default="", max_length=200)
    visited_at: datetime = Field(sa_type=sa.DateTime(timezone=True))  # on the phone
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
