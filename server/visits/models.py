"""Door-to-door work: visits (走访) and the work log (errands, mediations, hazard checks).

Rows are made on the phone, often offline, so each one's primary key is the client's
UUID (see server/sync). `grid_path` is the micro-grid's path, copied so scope checks and
counts per subtree are range queries without a join.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.clock import utcnow
from server.tree import PathType
from server.i18n import N_


class VisitKind(StrEnum):
    routine = "routine"  # 日常走访
    care = "care"  # 关爱走访
    policy = "policy"  # 政策宣传
    survey = "survey"  # 需求调查


VISIT_KINDS = {
    VisitKind.routine: N_("Routine visit"),
    VisitKind.care: N_("Care visit"),
    VisitKind.policy: N_("Policy publicity"),
    VisitKind.survey: N_("Needs survey"),
}

# Needs a household raises, and policies a leader explains: tags, one tap each.
NEEDS = {
    "elderly_care": N_("Elderly care"),
    "medical": N_("Medical care"),
    "employment": N_("Employment"),
    "repairs": N_("Repairs"),
    "environment": N_("Environment and hygiene"),
    "safety": N_("Safety"),
    "neighbours": N_("Neighbour relations"),
    "paperwork": N_("Paperwork"),
}
POLICIES = {
    "medical_insurance": N_("Medical insurance"),
    "pension": N_("Pension insurance"),
    "elderly_subsidy": N_("Old-age subsidy"),
    "minimum_living": N_("Minimum living allowance"),
    "anti_fraud": N_("Anti-fraud"),
    "waste_sorting": N_("Waste sorting"),
    "fire_safety": N_("Fire safety"),
}


class WorkKind(StrEnum):
    errand = "errand"  # 帮办代办
    mediation = "mediation"  # 调解纠纷
    hazard_check = "hazard_check"  # 安全隐患排查


WORK_KINDS = {
    WorkKind.errand: N_("Errand"),
    WorkKind.mediation: N_("Mediation"),
    WorkKind.hazard_check: N_("Hazard check"),
}

# Government services a leader handles for residents who cannot go themselves.
SERVICES = {
    "social_security": N_("Social security"),
    "medical_insurance": N_("Medical insurance"),
    "elderly_subsidy": N_("Old-age subsidy"),
    "disability_card": N_("Disability card"),
    "residence_certificate": N_("Residence certificate"),
    "minimum_living": N_("Minimum living allowance"),
    "other": N_("Other"),
}
UNSETTLED_OUTCOMES = ("partly", "unsettled", "referred")
OUTCOMES = {
    "settled": N_("Settled"),
    "partly": N_("Partly settled"),
    "unsettled": N_("Not settled"),
    "referred": N_("Referred upwards"),
}


class Visit(SQLModel, table=True):
    __tablename__ = "visit"
    __table_args__ = (
        sa.Index("ix_visit_household_at", "household_id", "visited_at"),
        # household_id too: a month of a leader's visits and the households they reached, from the
        # index alone (the scorecards read 1,352 leaders' months at once).
        sa.Index("ix_visit_person_at", "person_id", "visited_at", "household_id"),
        sa.Index("ix_visit_grid_path_at", "grid_path", "visited_at"),
    )

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    household_id: int = Field(foreign_key="household.id")
    grid_path: str = Field(sa_type=PathType)
    person_id: int = Field(foreign_key="person.id")
    kind: str = Field(max_length=16)
    needs: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    policies: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    note: str = Field(default="", max_length=500)
    visited_at: datetime = Field(sa_type=sa.DateTime(timezone=True))  # when, on the phone
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class WorkLogEntry(SQLModel, table=True):
    """One errand, mediation or hazard check; the columns a kind does not use stay empty."""

    __tablename__ = "work_log_entry"
    __table_args__ = (
        sa.Index("ix_work_log_person_at", "person_id", "done_at"),
        sa.Index("ix_work_log_grid_path_at", "grid_path", "done_at"),
        sa.Index("ix_work_log_entry_issue", "issue_id"),
    )

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    kind: str = Field(max_length=16)
    person_id: int = Field(foreign_key="person.id")
    microgrid_id: int = Field(foreign_key="grid_node.id")
    grid_path: str = Field(sa_type=PathType)
    household_id: Optional[int] = Field(default=None, foreign_key="household.id")
    service: str = Field(default="", max_length=32)  # errand: which government service
    parties: str = Field(default="", max_length=120)  # mediation: who disagreed
    outcome: str = Field(default="", max_length=16)  # mediation
    hazard: str = Field(default="", max_length=120)  # hazard check: what
    place: str = Field(default="", max_length=120)  # hazard check: where
    fixed: Optional[bool] = None  # hazard check: fixed on the spot or not
    note: str = Field(default="", max_length=500)
    done_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    # 事事有着落: the ledger problem an unfixed hazard or an unsettled mediation became
    # (its id is uuid5(this id, "problem"), so a second tap finds the same problem).
    issue_id: Optional[str] = Field(default=None, foreign_key="issue.id", max_length=36)
    # An errand's life, derived from its steps (errands.fold); "" for other kinds.
    errand_status: str = Field(default="", max_length=12, sa_column_kwargs={"server_default": ""})
    errand_department: str = Field(default="", max_length=60, sa_column_kwargs={"server_default": ""})

    def may_become_problem(self) -> bool:
        """An unfixed hazard or a mediation that did not settle the dispute."""
        if self.kind == WorkKind.hazard_check:
            return self.fixed is False
        return self.kind == WorkKind.mediation and self.outcome in UNSETTLED_OUTCOMES


class ErrandStepKind(StrEnum):
    start = "start"  # 办理中
    done = "done"  # 办结
    refer = "refer"  # 转办: handed to a government service or department, named


class ErrandStatus(StrEnum):
    accepted = "accepted"  # 受理 (recording the errand is accepting it)
    in_progress = "in_progress"  # 办理中
    done = "done"  # 办结
    referred = "referred"  # 转办


ERRAND_STATUSES = {
    ErrandStatus.accepted: N_("Accepted"),
    ErrandStatus.in_progress: N_("In progress"),
    ErrandStatus.done: N_("Errand done"),
    ErrandStatus.referred: N_("Referred"),
}
ERRAND_STEPS = {
    ErrandStepKind.start: N_("Start handling"),
    ErrandStepKind.done: N_("Mark done"),
    ErrandStepKind.refer: N_("Refer to a department"),
}
TOLD = {"sms": N_("Told by text message"), "in_person": N_("Told in person")}


class ErrandStep(SQLModel, table=True):
    """One step in an errand's life; the errand's status is the fold of its steps (errands.py)."""

    __tablename__ = "errand_step"
    __table_args__ = (sa.Index("ix_errand_step_entry_at", "entry_id", "at"),)

    id: str = Field(primary_key=True, max_length=36)  # client UUID
    entry_id: uuid.UUID = Field(sa_type=sa.Uuid, foreign_key="work_log_entry.id")
    kind: str = Field(max_length=12)
    department: str = Field(default="", max_length=60)  # 转办: the service or department
    note: str = Field(default="", max_length=500)
    told: str = Field(default="", max_length=10)  # how the resident heard: sms | in_person | ""
    actor_id: Optional[int] = Field(default=None, foreign_key="person.id")
    actor_name: str = Field(default="", max_length=40)
    at: datetime = Field(sa_type=sa.DateTime(timezone=True))  # on the phone
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    applied: bool = True  # False: no longer valid at its place in the log (kept, with why)
    why: str = Field(default="", max_length=200)
