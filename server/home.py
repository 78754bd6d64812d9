"""The front door: `/` sends each person to where their day starts; language switch."""
from __future__ import annotations

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server import i18n
from server.accounts.auth import signed_in
from server.accounts.models import Role
from server.accounts.scope import Viewer
from server.grid import queries
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
async def search_in_my_grid(request: Request, db: AsyncSession, viewer: Viewer) -> object:
    """The search tab: search within the person's own part of the grid."""
    roots = await queries.root_nodes_for(db, viewer)
    if not roots:
        return render(request, "home.html", roots=roots)
    return Redirect(path=f"/grid/{roots[0].code}/search", status_code=303)
