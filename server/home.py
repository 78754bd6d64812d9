"""The front door: `/` is where each person's day starts (issue 13: a home for every role);
language switch; the search tab.

- a leader: the worklist (with four big cards on top);
- compound / community staff and the street: a to-do home, each card a count that is exactly the
  length of the filtered list it opens (the same query, the same scope);
- property staff: 待我整改, the problems assigned to their company, soonest deadline first.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server import i18n
from server.i18n import N_
from server.accounts.auth import signed_in
from server.accounts.models import Role
from server.accounts.scope import Viewer
from server.clock import today_in_china
from server.grid import queries
from server.grid.models import GridNode, Level, active_node
from server.incentives.dashboard import low_coverage_leaders
from server.issues import queries as issue_queries
from server.patrols import queries as patrol_queries
from server.registers import changes as register_changes
from server.visits.queries import backup_microgrid_ids, natural_key
from server.web import LANG_COOKIE, render, safe_next


STAFF_ROLES = (Role.admin, Role.community, Role.compound)


@dataclass
class Todo:
    key: str  # stable name (tests, CSS)
    label: str  # msgid
    count: int
    href: str
    urgent: bool = False


async def issue_count(db: AsyncSession, viewer: Viewer, **filters) -> int:
    """What the ledger at /issues?<filters> counts as 共 N 件: the same conditions, the same scope."""
    today = today_in_china()
    conds = issue_queries.conditions(viewer, issue_queries.Filters(**filters), None, today)
    return (await issue_queries.status_counts(db, conds, today))["total"]


async def staff_todos(db: AsyncSession, viewer: Viewer) -> list[Todo]:
    todos = [
        Todo("overdue", N_("Overdue problems"), await issue_count(db, viewer, overdue=True), "/issues?overdue=1", True),
        # 待交办: new and reopened problems alike wait for someone to assign them (state.py ALLOWED).
        Todo("to_assign", N_("To assign"), await issue_count(db, viewer, status="to_assign"), "/issues?status=to_assign"),
        Todo("to_verify", N_("To verify"), await issue_count(db, viewer, status="rectified"), "/issues?status=rectified"),
    ]
    if viewer.has_role(Role.admin, Role.community):
        pending = await register_changes.pending_for(db, viewer)
        todos.append(Todo("to_approve", N_("Household changes to approve"), len(pending), "/registers/changes"))
    # Leaders with low visit coverage this month: the same cards as the list the card opens.
    todos.append(Todo("low_coverage", N_("Leaders with low visit coverage"), len(await low_coverage_leaders(db, viewer)),
                      "/scorecards?needs=coverage"))
    if viewer.has_role(*patrol_queries.PATROL_ROLES):
        _, rows = await patrol_queries.calendar(db, viewer)
        # Not patrolled this month: all "due" until the due day, all "overdue" after it.
        late = today_in_china().day > patrol_queries.DUE_DAY
        state = "overdue" if late else "due"
        todos.append(Todo("to_patrol", N_("Compounds to patrol"), sum(1 for r in rows if r.state == state),
                          f"/patrols?state={state}", late))
    return todos


async def company_compounds(db: AsyncSession, viewer: Viewer) -> list[GridNode]:
    """Exactly the compounds the person's property company serves."""
    if not viewer.company_ids:
        return []
    rows = await db.execute(sa.select(GridNode).where(
        GridNode.property_company_id.in_(viewer.company_ids), GridNode.level == Level.compound, active_node())
        .order_by(GridNode.path))
    return list(rows.scalars())


async def to_rectify(db: AsyncSession, viewer: Viewer) -> tuple[int, list]:
    """待我整改: problems assigned to the company and not yet reported fixed, soonest deadline first."""
    conds = issue_queries.conditions(viewer, issue_queries.Filters(status="assigned"), None)
    count = (await issue_queries.status_counts(db, conds))["total"]
    rows = await issue_queries.list_issues(db, conds, limit=100)
    rows.sort(key=lambda r: (r.issue.deadline is None, r.issue.deadline or today_in_china(), r.issue.reported_at))
    return count, rows


@get("/", guards=[signed_in], name="home")
async def show_home(request: Request, db: AsyncSession, viewer: Viewer) -> object:
    if viewer.has_role(Role.leader) and not viewer.has_role(*STAFF_ROLES):
        return Redirect(path="/worklist", status_code=303)  # a leader's day starts at the worklist
    if viewer.has_role(*STAFF_ROLES):
        roots = await queries.root_nodes_for(db, viewer)
        return render(request, "home/staff.html", todos=await staff_todos(db, viewer), roots=roots, tab="home")
    if viewer.has_role(Role.property):
        count, rows = await to_rectify(db, viewer)
        return render(request, "home/property.html", count=count, rows=rows, today=today_in_china(),
                      compounds=await company_compounds(db, viewer), tab="home")
    return render(request, "home.html", roots=[])


@post("/lang", name="language.switch")
async def switch_language(
    request: Request, data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED)
) -> Redirect:
    lang = i18n.pick_language(data.get("lang"))
    response = Redirect(path=safe_next(data.get("next")), status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=False)
    return response


@get("/search", guards=[signed_in], name="search")
async def search_in_my_grid(request: Request, db: AsyncSession, viewer: Viewer,
                            q: str = Parameter(default="", max_length=40)) -> object:
    """The search tab: search within the person's own part of the grid.

    A leader searches all her micro-grids at once (issue 13): her own (A岗) first, the ones she
    keeps for a neighbour (B岗) under 代管, whichever post was made first.
    """
    if viewer.has_role(Role.leader) and not viewer.has_role(Role.admin, Role.community, Role.compound):
        results = await queries.search_households(db, viewer, None, q)
        backup = backup_microgrid_ids(viewer)
        results.sort(key=lambda r: (r[1].id in backup, natural_key(r[1].name), natural_key(r[0].address)))
        return render(request, "grid/search.html", partial="grid/_search_results.html", node=None, q=q,
                      search_url="/search", results=[r for r in results if r[1].id not in backup],
                      backup_results=[r for r in results if r[1].id in backup], tab="work")
    roots = await queries.root_nodes_for(db, viewer)
    if not roots:
        return render(request, "home.html", roots=roots)
    return Redirect(path=f"/grid/{roots[0].code}/search", status_code=303)
