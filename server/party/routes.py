"""The Party organisation and the service station of a community: who holds which office,
the branches and their compounds, the station's address and phone; the secretary names
her delegate, the community's staff keep the station's details.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import audit
from server.accounts.auth import signed_in
from server.accounts.models import Post, Role, current_post
from server.accounts.scope import Viewer
from server.issues.service import valid_phone
from server.party import queries
from server.party.models import OFFICE_LABELS, Office, ServiceStation
from server.validate import parse_id
from server.web import render, t

PARTY_ROLES = (Role.admin, Role.community, Role.compound, Role.leader)


def _form_dict(form) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


def may_keep_station(viewer: Viewer, community_path: str) -> bool:
    """The community's staff (and the street) keep the station's address and phone."""
    return any(p.role in (Role.admin, Role.community) and community_path.startswith(p.path) for p in viewer.posts)


def is_secretary(viewer: Viewer, community_path: str) -> bool:
    return any(p.office == Office.party_secretary and p.path == community_path for p in viewer.posts)


class PartyController(Controller):
    path = "/party"
    guards = [signed_in]

    async def _page(self, request, db, viewer, community, *, errors=None, values=None, status_code=200, saved=False):
        org = await queries.organisation(db, community)
        return render(request, "party/organisation.html", status_code=status_code, org=org, community=community,
                      communities=await queries.communities_for(db, viewer), office_labels=OFFICE_LABELS,
                      may_name_delegate=is_secretary(viewer, community.path),
                      may_keep_station=may_keep_station(viewer, community.path),
                      errors=errors or {}, values=values or {}, saved=saved, tab="home", back_url="/")

    @get("/", name="party.organisation")
    async def show_organisation(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*PARTY_ROLES)
        communities = await queries.communities_for(db, viewer)
        code = request.query_params.get("community") or (communities[0].code if communities else "")
        if not code:
            raise NotFoundException()
        community = await queries.community_for(db, viewer, code)
        return await self._page(request, db, viewer, community, saved=request.query_params.get("saved") == "1")

    @post("/{code:str}/delegate", name="party.name_delegate")
    async def name_delegate(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> Any:
        """The secretary names (or withdraws) the one delegate who records decisions for her."""
        viewer.require_role(Role.community)
        community = await queries.community_for(db, viewer, code)
        if not is_secretary(viewer, community.path):
            raise PermissionDeniedException(t(request, "Only the community Party secretary may name her delegate."))
        values = _form_dict(await request.form())
        person_id = parse_id(values.get("person_id"))
        staff = (await db.execute(
            sa.select(Post).where(Post.node_path == community.path, Post.role == Role.community, current_post())
        )).scalars().all()
        chosen = [p for p in staff if person_id is not None and p.person_id == person_id and p.office != Office.party_secretary]
        if values.get("person_id") and not chosen:
            return await self._page(request, db, viewer, community, status_code=422, values=values,
                                    errors={"person_id": t(request, "Please choose one of the community's staff.")})
        for p in staff:
            if p.office == Office.delegate:
                p.office = ""
        if chosen:
            chosen[0].office = Office.delegate
        audit.record(db, "name_delegate", viewer=viewer, object_type="community", object_id=community.code,
                     request=request, person_id=chosen[0].person_id if chosen else None)
        await db.commit()
        return Redirect(path=f"/party?community={community.code}&saved=1", status_code=303)

    @post("/{code:str}/station", name="party.keep_station")
    async def keep_station(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> Any:
        viewer.require_role(Role.admin, Role.community)
        community = await queries.community_for(db, viewer, code)
        if not may_keep_station(viewer, community.path):
            raise PermissionDeniedException()
        values = _form_dict(await request.form())
        name = values.get("name", "").strip()[:60]
        address = values.get("address", "").strip()[:120]
        phone = values.get("phone", "").strip()[:20]
        errors = {}
        if not name:
            errors["name"] = t(request, "Please fill this in.")
        if phone and not valid_phone(phone):
            errors["phone"] = t(request, "Please enter a valid phone number.")
        if errors:
            return await self._page(request, db, viewer, community, status_code=422, values=values, errors=errors)
        station = await queries.station_of(db, community)
        if station is None:
            station = ServiceStation(community_id=community.id, community_path=community.path, name=name)
            db.add(station)
        station.name, station.address, station.phone = name, address, phone
        audit.record(db, "edit_station", viewer=viewer, object_type="community", object_id=community.code,
                     request=request, name=name, address=address, phone=phone)
        await db.commit()
        return Redirect(path=f"/party?community={community.code}&saved=1", status_code=303)


from server.party.duty_routes import DUTY_HANDLERS  # noqa: E402  (they reuse this module's checks)

PARTY_HANDLERS = [PartyController, *DUTY_HANDLERS]
