"""Glimmer points pages: a leader's own points, staff's view of a leader with manual entries,
rankings per community and street, and the street's rule table.

Every read is scoped: a person's page through `ledger.get_leader_for` (404 outside the
viewer's part of the grid), rankings through `viewer.subtree_clause` on where the points
were earned. Manual entries and rule-table versions are audited.
"""
from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import audit
from server.accounts.auth import signed_in
from server.accounts.models import Role
from server.accounts.scope import Viewer
from server.clock import today_in_china
from server.grid import queries as grid_queries
from server.i18n import N_
from server.incentives import ledger
from server.incentives.rules import CAPS, MAX_CAP, MAX_POINTS, MAX_WEIGHT, RULES, WEIGHTS, load_rule_book, save_version
from server.validate import PathId, ascii_int, parse_month
from server.web import render, t

STAFF_ROLES = (Role.admin, Role.community)
RANKING_ROLES = (Role.admin, Role.community, Role.compound)
MAX_MANUAL = 200

KIND_LABELS = {
    "earned": N_("Earned"),
    "manual": N_("Award or deduction"),
    "reversal": N_("Correction"),
    "redemption": N_("Reward"),
}
PERIOD_LABELS = {"month": N_("Month"), "quarter": N_("Quarter"), "year": N_("Year")}


def labels(request: Request) -> dict[str, Any]:
    return {"rule_labels": {code: label for code, (label, _) in RULES.items()}, "kind_labels": KIND_LABELS}


def this_month() -> str:
    return today_in_china().strftime("%Y-%m")


async def _person_page(request: Request, db: AsyncSession, person_id: int, before: str | None = None,
                       fold: bool = True, **extra) -> dict[str, Any]:
    """Balance, the month's points and a page of history: folded first when something of
    theirs arrived since (`fold`; not while showing a refused form back)."""
    month = this_month()
    figures = await ledger.fresh_figures(db, person_id, month, fold=fold)
    entries, older = await ledger.history(db, person_id, before=before)
    # The history's labels translated once here, not once per entry in the template.
    return dict(balance=figures.balance, month_points=figures.month_points, entries=entries, older=older, month=month,
                rule_names={code: t(request, label) for code, (label, _) in RULES.items()},
                kind_names={kind: t(request, label) for kind, label in KIND_LABELS.items()}, **labels(request), **extra)


Before = Parameter(query="before", default=None, max_length=36)


class PointsController(Controller):
    path = "/points"
    guards = [signed_in]

    @get("/", name="points.mine")
    async def show_my_points(self, request: Request, db: AsyncSession, viewer: Viewer,
                             before: str | None = Before) -> Any:
        """A leader's balance and history: folded first when something of theirs arrived since."""
        context = await _person_page(request, db, viewer.person_id, before)
        return render(request, "incentives/points.html", partial="incentives/_balance.html", person_name=viewer.name,
                      own=True, tab="me", back_url="/me", **context)

    @get("/people/{person_id:int}", name="points.person")
    async def show_person_points(self, request: Request, db: AsyncSession, viewer: Viewer, person_id: PathId,
                                 before: str | None = Before) -> Any:
        viewer.require_role(*STAFF_ROLES)
        person, _path = await ledger.get_leader_for(db, viewer, person_id)
        context = await _person_page(request, db, person.id, before)
        return render(request, "incentives/points.html", person_name=person.name, person=person, own=False,
                      values={}, errors={}, back_url="/points/rankings", **context)

    @post("/people/{person_id:int}/adjust", name="points.adjust")
    async def adjust_points(self, request: Request, db: AsyncSession, viewer: Viewer, person_id: PathId) -> Any:
        """A manual award or deduction, with a reason: audited; never below a zero balance."""
        viewer.require_role(*STAFF_ROLES)
        person, path = await ledger.get_leader_for(db, viewer, person_id)
        form = await request.form()
        values = {k: (form.get(k) or "").strip() for k in ("points", "reason", "direction")}
        errors: dict[str, str] = {}
        amount = ascii_int(values["points"], 1, MAX_MANUAL)
        if amount is None:
            errors["points"] = t(request, "Enter whole points from 1 to %(max)s.", max=MAX_MANUAL)
        if not values["reason"]:
            errors["reason"] = t(request, "Say why: the leader and the audit log will read it.")
        elif len(values["reason"]) > 200:
            errors["reason"] = t(request, "At most %(n)s characters.", n=200)
        points = (amount or 0) * (-1 if values["direction"] == "deduct" else 1)
        if not errors:
            try:
                entry = await ledger.add_manual(db, person_id=person.id, points=points, reason=values["reason"],
                                                grid_path=path, by=viewer.person_id)
            except ledger.NotEnoughPoints:
                await db.rollback()
                person, path = await ledger.get_leader_for(db, viewer, person_id)
                errors["points"] = t(request, "A deduction cannot take the balance below zero.")
            else:
                audit.record(db, "points_adjust", viewer=viewer, object_type="points_entry", object_id=entry.id,
                             request=request, leader_id=person.id, points=points, reason=values["reason"])
                await db.commit()
                return Redirect(path=f"/points/people/{person.id}", status_code=303)
        context = await _person_page(request, db, person.id, fold=False)
        return render(request, "incentives/points.html", status_code=422, person_name=person.name, person=person,
                      own=False, values=values, errors=errors, back_url="/points/rankings", **context)

    @get("/rankings", name="points.rankings")
    async def show_rankings(self, request: Request, db: AsyncSession, viewer: Viewer,
                            period: str = Parameter(default="month", max_length=8),
                            month: str = Parameter(default="", max_length=7),
                            grid: str = Parameter(default="", max_length=40)) -> Any:
        """Staff: who earned most, per community or the street, by month, quarter or year."""
        viewer.require_role(*RANKING_ROLES)
        period = period if period in ledger.PERIODS else "month"
        month = parse_month(month) or this_month()
        roots = await grid_queries.root_nodes_for(db, viewer)
        if not roots:
            raise NotFoundException()
        node = await grid_queries.get_node_for(db, viewer, grid) if grid else roots[0]
        months = ledger.period_months(period, month)
        ranked = await ledger.rankings(db, viewer, node.path, months)
        return render(request, "incentives/rankings.html", ranked=ranked, node=node, period=period, month=month,
                      months=months, periods=[(p, t(request, PERIOD_LABELS[p])) for p in ledger.PERIODS],
                      may_adjust=viewer.has_role(*STAFF_ROLES), back_url="/me", tab="me")

    @get("/rules", name="points.rules")
    async def show_rules(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """The rule table in force (everyone may read what work is worth); the street edits it."""
        book = await load_rule_book(db)
        return render(request, "incentives/rules.html", **_rules_context(book, {}, {}), back_url="/points")

    @post("/rules", name="points.save_rules")
    async def save_rules(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(Role.admin)
        form = await request.form()
        values = {k: (form.get(k) or "").strip() for k in [*RULES, *CAPS, *WEIGHTS, "note"]}
        errors: dict[str, str] = {}
        parsed: dict[str, int] = {}
        for group, high in ((RULES, MAX_POINTS), (CAPS, MAX_CAP), (WEIGHTS, MAX_WEIGHT)):
            for code in group:
                number = ascii_int(values[code], 0, high)
                if number is None:
                    errors[code] = t(request, "Enter a whole number from 0 to %(max)s.", max=high)
                else:
                    parsed[code] = number
        if not errors and sum(parsed[c] for c in WEIGHTS) == 0:
            errors[next(iter(WEIGHTS))] = t(request, "At least one weight must be above zero.")
        if len(values["note"]) > 200:
            errors["note"] = t(request, "At most %(n)s characters.", n=200)
        book = await load_rule_book(db)
        if errors:
            return render(request, "incentives/rules.html", status_code=422, **_rules_context(book, values, errors),
                          back_url="/points")
        row = await save_version(db, points={c: parsed[c] for c in RULES}, caps={c: parsed[c] for c in CAPS},
                                 weights={c: parsed[c] for c in WEIGHTS}, note=values["note"], person_id=viewer.person_id)
        audit.record(db, "points_rules", viewer=viewer, object_type="incentive_rules", object_id=row.version,
                     request=request, points=row.points, caps=row.caps, weights=row.weights)
        await db.commit()
        return Redirect(path="/points/rules", status_code=303)


def _rules_context(book, values: dict, errors: dict) -> dict[str, Any]:
    current = book.current
    rows = {
        "points": [(code, label, current.points[code]) for code, (label, _) in RULES.items()],
        "caps": [(code, label, current.caps[code]) for code, (label, _) in CAPS.items()],
        "weights": [(code, label, current.weights[code]) for code, (label, _) in WEIGHTS.items()],
    }
    return dict(rows=rows, version=current.version, effective_from=current.effective_from if current.version else None,
                versions=list(reversed(book.versions[1:])), values=values, errors=errors)


INCENTIVES_HANDLERS: list = [PointsController]
