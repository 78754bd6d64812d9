"""The front door: `/` sends each person to where their day starts; language switch."""
from __future__ import annotations

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server import i18n
from server.accounts.auth import signed_in
from server.accounts.models import Role
from server.accounts.scope import Viewer
from server.grid import queries
from server.visits.queries import backup_microgrid_ids, natural_key
from server.web import LANG_COOKIE, render, safe_next


@get("/", guards=[signed_in], name="home")
async def show_home(request: Request, db: AsyncSession, viewer: Viewer) -> object:
    if viewer.has_role(Role.leader):
        return Redirect(path="/worklist", status_code=303)  # a leader's day starts at the worklist
    roots = await queries.root_nodes_for(db, viewer)
    if len(roots) == 1:
        return Redirect(path=f"/grid/{roots[0].code}", status_code=303)
    return render(request, "home.html", roots=roots)


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
