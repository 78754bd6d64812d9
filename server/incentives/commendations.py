"""Commendations (评先评优) and the public honour page (树典型、广宣传).

A period is a quarter ("2026-Q3") or a year ("2026"). Community staff (or the street)
propose leaders of their part of the grid, the top of the period's points ranking offered
first; the street approves or declines. Approved leaders appear on the honour page, open to
everyone (the notice boards already name them), with their tallies as the article tells
李春秀's, and each has a printable certificate. Every proposal and decision is audited.
"""
from __future__ import annotations

import re
import uuid
from typing import Any

import sqlalchemy as sa
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response import Redirect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import audit
from server.accounts.auth import signed_in
from server.accounts.models import Person, Role
from server.accounts.scope import Viewer
from server.clock import today_in_china, utcnow
from server.grid import queries as grid_queries
from server.grid.models import GridNode
from server.i18n import N_
from server.incentives import ledger
from server.incentives.models import Commendation, CommendationStatus
from server.tree import ancestor_paths
from server.validate import ascii_int
from server.visits.queries import tallies
from server.web import render, t

STAFF_ROLES = (Role.admin, Role.community)
DEFAULT_TITLE = "优秀微网格长"
STATUS_LABELS = {
    CommendationStatus.proposed: N_("Proposed"),
    CommendationStatus.approved: N_("Commended"),
    CommendationStatus.declined: N_("Not approved"),
}


def current_quarter() -> str:
    today = today_in_china()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def parse_period(value: str) -> str | None:
    """ "2026" or "2026-Q3" (years 2000 to next year), else None."""
    match = re.fullmatch(r"(20[0-9]{2})(?:-Q([1-4]))?", (value or "").strip())
    if not match or int(match.group(1)) > today_in_china().year + 1:
        return None
    return match.group(0)


def period_months(period: str) -> list[str]:
    year = int(period[:4])
    if "-Q" in period:
        first = (int(period[-1]) - 1) * 3 + 1
        return [f"{year}-{m:02d}" for m in range(first, first + 3)]
    return [f"{year}-{m:02d}" for m in range(1, 13)]


def recent_periods(n: int = 6) -> list[str]:
    today = today_in_china()
    year, quarter = today.year, (today.month - 1) // 3 + 1
    out = []
    for _ in range(n):
        out.append(f"{year}-Q{quarter}")
        quarter -= 1
        if quarter == 0:
            year, quarter = year - 1, 4
    return out + [str(today.year), str(today.year - 1)]


async def honour_roll(db: AsyncSession, period: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Approved commendations (of one period, or all, newest first), with each leader's tallies."""
    where = [Commendation.status == CommendationStatus.approved.value]
    if period:
        where.append(Commendation.period == period)
    rows = (await db.execute(sa.select(Commendation, Person.name).join(Person, Person.id == Commendation.person_id)
                             .where(*where).order_by(Commendation.period.desc(), Commendation.points.desc())
                             .limit(limit))).all()
    if not rows:
        return []
    counts = await tallies(db, sorted({c.person_id for c, _ in rows}))
    places = await _places(db, [c.grid_path for c, _ in rows])
    return [{"commendation": c, "name": name, "tally": counts[c.person_id].total, "place": places.get(c.grid_path, "")}
            for c, name in rows]


async def _places(db: AsyncSession, paths: list[str]) -> dict[str, str]:
    """"斜江社区 · 青禾名都小区 · 1栋1单元微网格" for each micro-grid path: community, compound, micro-grid."""
    wanted = {a for p in paths for a in ancestor_paths(p)}
    if not wanted:
        return {}
    names = dict((await db.execute(sa.select(GridNode.path, GridNode.name).where(GridNode.path.in_(sorted(wanted))))).all())
    out = {}
    for path in paths:
        chain = [names.get(a, "") for a in ancestor_paths(path)[1:]]  # without the street
        kept = chain[:2] + chain[-1:] if len(chain) > 3 else chain
        out[path] = " · ".join(n for n in kept if n)
    return out


class CommendationController(Controller):
    path = "/commendations"
    guards = [signed_in]

    @get("/", name="commendations.list")
    async def list_commendations(self, request: Request, db: AsyncSession, viewer: Viewer,
                                 period: str = Parameter(default="", max_length=7)) -> Any:
        """Candidates from the period's ranking and the proposals, for community staff and the street."""
        viewer.require_role(*STAFF_ROLES)
        chosen = parse_period(period) or current_quarter()
        roots = await grid_queries.root_nodes_for(db, viewer)
        if not roots:
            raise NotFoundException()
        ranked = await ledger.rankings(db, viewer, roots[0].path, period_months(chosen), limit=10)
        proposals = (await db.execute(
            sa.select(Commendation, Person.name).join(Person, Person.id == Commendation.person_id)
            .where(Commendation.period == chosen, viewer.subtree_clause(Commendation.grid_path))
            .order_by(Commendation.points.desc(), Commendation.proposed_at))).all()
        proposed = {c.person_id for c, _ in proposals}
        return render(request, "incentives/commendations.html", period=chosen, periods=recent_periods(),
                      ranked=[r for r in ranked if r.person_id not in proposed], proposals=proposals,
                      status_labels=STATUS_LABELS, default_title=DEFAULT_TITLE, tab="me", back_url="/me")

    @post("/", name="commendations.propose")
    async def propose_leader(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*STAFF_ROLES)
        form = await request.form()
        period = parse_period(form.get("period") or "")
        person_id = ascii_int(form.get("person_id"), 1, 2**31 - 1)
        if period is None or person_id is None:
            raise NotFoundException()
        person, path = await ledger.get_leader_for(db, viewer, person_id)
        title = ((form.get("title") or "").strip() or DEFAULT_TITLE)[:40]
        citation = (form.get("citation") or "").strip()[:300]
        points = sum(r.points for r in await ledger.rankings(db, viewer, path, period_months(period)) if r.person_id == person.id)
        commendation = Commendation(id=str(uuid.uuid4()), period=period, person_id=person.id, grid_path=path, title=title,
                                    citation=citation, points=points, proposed_by=viewer.person_id)
        db.add(commendation)
        try:
            await db.flush()
        except IntegrityError:  # proposed already for this period: nothing more to do
            await db.rollback()
            return Redirect(path=f"/commendations?period={period}", status_code=303)
        audit.record(db, "commendation_propose", viewer=viewer, object_type="commendation", object_id=commendation.id,
                     request=request, leader_id=person.id, period=period, title=title)
        await db.commit()
        return Redirect(path=f"/commendations?period={period}", status_code=303)

    @post("/{commendation_id:str}/{decision:str}", name="commendations.decide")
    async def decide_commendation(self, request: Request, db: AsyncSession, viewer: Viewer, commendation_id: str,
                                  decision: str) -> Any:
        """The street approves (onto the honour page) or declines."""
        viewer.require_role(Role.admin)
        status = {"approve": CommendationStatus.approved, "decline": CommendationStatus.declined}.get(decision)
        commendation = await db.get(Commendation, commendation_id[:36])
        if status is None or commendation is None or not viewer.sees_path(commendation.grid_path):
            raise NotFoundException()
        commendation.status = status.value
        commendation.decided_by, commendation.decided_at = viewer.person_id, utcnow()
        audit.record(db, "commendation_" + decision, viewer=viewer, object_type="commendation", object_id=commendation.id,
                     request=request, period=commendation.period, leader_id=commendation.person_id)
        period = commendation.period
        await db.commit()
        return Redirect(path=f"/commendations?period={period}", status_code=303)


class HonourController(Controller):
    """Public: the model leaders (no sign-in, nothing personal beyond what the notice boards show)."""

    path = "/honour"

    @get("/", name="honour.roll")
    async def show_honour_roll(self, request: Request, db: AsyncSession) -> Any:
        roll = await honour_roll(db)
        periods: dict[str, list] = {}
        for row in roll:
            periods.setdefault(row["commendation"].period, []).append(row)
        return render(request, "incentives/honour.html", periods=periods)

    @get("/{commendation_id:str}/certificate", name="honour.certificate")
    async def show_certificate(self, request: Request, db: AsyncSession, commendation_id: str) -> Any:
        commendation = await db.get(Commendation, commendation_id[:36])
        if commendation is None or commendation.status != CommendationStatus.approved.value:
            raise NotFoundException()
        person = await db.get(Person, commendation.person_id)
        places = await _places(db, [commendation.grid_path])
        street = (await db.execute(sa.select(GridNode.name).where(
            GridNode.path == commendation.grid_path[:8]))).scalar() or ""
        return render(request, "incentives/certificate.html", commendation=commendation, name=person.name,
                      place=places.get(commendation.grid_path, ""), street=street,
                      period_text=period_text(request, commendation.period))


def period_text(request: Request, period: str) -> str:
    if "-Q" in period:
        return t(request, "%(year)s, quarter %(q)s", year=period[:4], q=period[-1])
    return t(request, "the year %(year)s", year=period)


COMMENDATION_HANDLERS: list = [CommendationController, HonourController]
