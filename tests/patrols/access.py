"""Who may use the patrol pages (merged into the access matrix).

"inside" is the compound holding the leader's micro-grid, "outside" a compound of another
community. A leader patrols their own compound; community staff their community's; the
street everything; property staff take no part here (their side is the ledger).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from server.db import make_sessionmaker
from server.grid.models import GridNode
from server.clock import month_of
from server.patrols import queries
from server.patrols.models import Patrol, PatrolTemplate, PatrolTemplateVersion
from tests.accounts.access_matrix import SIGNIN, entry, expect

PATROL_PAGE = expect((200, 404), visitor=SIGNIN, admin=200, property=403)
TEMPLATE_ROLES_ONLY = dict(visitor=SIGNIN, leader=403, compound=403, property=403)


async def _compound(env, where) -> GridNode:
    async with make_sessionmaker(env.engine)() as db:
        path = env.microgrid(where).path[:24]
        return (await db.execute(sa.select(GridNode).where(GridNode.path == path))).scalar_one()


async def _compound_url(env, where, role, suffix=""):
    return f"/patrols/compounds/{(await _compound(env, where)).code}{suffix}"


async def _patrol_form(env, where, role):
    """A whole checklist, all passed, as the form posts it without JavaScript."""
    compound = await _compound(env, where)
    async with make_sessionmaker(env.engine)() as db:
        template = await queries.template_for(db, compound.path)
        items = await queries.version_items(db, template.current_version_id)
    form = {"compound_id": str(compound.id), "template_version_id": str(template.current_version_id)}
    form.update({f"result-{item.id}": "pass" for item in items})
    return form


async def _patrol_url(env, where, role, suffix=""):
    """A patrol of the inside / outside compound, stored straight in the database."""
    compound = await _compound(env, where)
    now = datetime.now(timezone.utc)
    patrol_id = str(uuid.uuid4())
    async with make_sessionmaker(env.engine)() as db:
        db.add(Patrol(id=patrol_id, compound_id=compound.id, compound_path=compound.path, month=month_of(now),
                      version_id=1, recorded_by=env.people.admin.id, participants=[], patrolled_at=now))
        await db.commit()
    return f"/patrols/{patrol_id}{suffix}"


async def _community_template(env, where) -> int:
    """The inside / outside community's own checklist (a copy of version 1 of the default)."""
    community = env.people.community if where == "inside" else env.people.other_community
    async with make_sessionmaker(env.engine)() as db:
        found = (await db.execute(sa.select(PatrolTemplate).where(PatrolTemplate.owner_path == community.path))).scalar_one_or_none()
        if found is not None:
            return found.id
        template = PatrolTemplate(name="社区清单", owner_node_id=community.id, owner_path=community.path)
        db.add(template)
        await db.flush()
        version = PatrolTemplateVersion(template_id=template.id, number=1, note="")
        db.add(version)
        await db.flush()
        for item in await queries.version_items(db, 1):
            db.add(item.__class__(version_id=version.id, key=item.key, section=item.section, title=item.title,
                                  hint=item.hint, category_code=item.category_code, sort_order=item.sort_order))
        template.current_version_id = version.id
        await db.commit()
        return template.id


async def _template_url(env, where, role):
    return f"/patrols/templates/{await _community_template(env, where)}"


async def _community_form(env, where, role):
    community = env.people.community if where == "inside" else env.people.other_community
    return {"community_id": str(community.id)}


ACCESS = {
    ("GET", "/patrols"): entry("/patrols", answers=expect(200, visitor=SIGNIN, property=403),
                               why="the calendar lists only the compounds the person patrols"),
    ("GET", "/patrols/compounds/{code:str}"): entry(_compound_url, answers=PATROL_PAGE),
    ("GET", "/patrols/compounds/{code:str}/new"): entry(lambda e, w, r: _compound_url(e, w, r, "/new"), answers=PATROL_PAGE),
    ("POST", "/patrols/compounds/{code:str}"): entry(
        _compound_url, data=_patrol_form, answers=expect((303, 404), visitor=SIGNIN, admin=303, property=403),
        why="the form without JavaScript: stored by the `patrol` sync type's own apply"),
    ("GET", "/patrols/{patrol_id:str}"): entry(_patrol_url, answers=PATROL_PAGE),
    ("GET", "/patrols/{patrol_id:str}/print"): entry(lambda e, w, r: _patrol_url(e, w, r, "/print"), answers=PATROL_PAGE,
                                                     why="printing is audited"),
    ("GET", "/patrols/{patrol_id:str}/export.xlsx"): entry(
        lambda e, w, r: _patrol_url(e, w, r, "/export.xlsx"), answers=PATROL_PAGE, why="exporting is audited"),
    ("GET", "/patrols/templates"): entry("/patrols/templates", answers=expect(200, **TEMPLATE_ROLES_ONLY)),
    ("POST", "/patrols/templates"): entry(
        "/patrols/templates", data=_community_form,
        answers=expect(**TEMPLATE_ROLES_ONLY, community=(303, 404), admin=303),
        why="a community keeps its own checklist; only its staff or the street make it"),
    ("GET", "/patrols/templates/{template_id:int}"): entry(
        _template_url, answers=expect(**TEMPLATE_ROLES_ONLY, community=(200, 404), admin=200)),
    ("POST", "/patrols/templates/{template_id:int}"): entry(
        _template_url, data={"rows": "0"}, answers=expect(**TEMPLATE_ROLES_ONLY, community=(422, 404), admin=422),
        why="an empty checklist is refused: nothing is published by the matrix"),
}
ACCESS[("POST", "/patrols/compounds/{code:str}/analysis")] = entry(
    lambda e, w, r: _compound_url(e, w, r, "/analysis"), data={"item_key": "no-such-item"},
    answers=expect((404, 404), visitor=SIGNIN, leader=403, property=403),
    why="staff who run the meetings; an item that is not failing repeatedly is not found")
ACCESS[("GET", "/patrols/compounds/{code:str}/export.xlsx")] = entry(
    lambda e, w, r: _compound_url(e, w, r, "/export.xlsx"), answers=PATROL_PAGE, why="exporting is audited")
