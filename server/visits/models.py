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
        sa.Index("ix_visit_person_at", "person_id", "visited_at"),
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
