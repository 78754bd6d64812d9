"""Nominations in, decisions out; the helpers register. Functions take a session and never
commit: the route commits (or, on a refusal, rolls back) after them.

Approval is one transaction: the person (registers' `find_or_new_person`), the post
(registers' `appoint`) and the one-time invite (accounts' `create_invite`), or a helper
entry; a refusal or an error anywhere leaves none of them (the route rolls back).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import invites
from server.accounts.audit import record
from server.accounts.models import Invite, Person, Role
from server.accounts.scope import Viewer
from server.clock import utcnow
from server.grid.models import GridNode, Level
from server.i18n import N_
from server.recruit.models import (
    Helper, HelperKind, Nomination, NominationStatus, Position, Way,
)
from server.notify import rules
from server.notify.models import Channel
from server.notify.outbox import queue
from server.registers import edits, sheets
from server.tree import COMMUNITY_LEN, in_subtree

HELPER_LEVELS = (Level.compound, Level.building, Level.unit, Level.microgrid)

MSG_REQUIRED = N_("Please fill this in.")
MSG_TOO_LONG = N_("This is too long.")
MSG_MOBILE = N_("Enter an 11-digit mobile number.")
MSG_PHONE = N_("Not a phone number: use an 11-digit mobile number or a landline like 028-88888888.")
MSG_CHOOSE = N_("Please choose one of the options.")
MSG_GRID = N_("Choose a grid of this community.")
MSG_MICROGRID = N_("A leader's post is on a micro-grid: choose one.")
MSG_WAITING = N_("This person is already waiting for the community's answer.")
MSG_DECIDED = N_("This nomination has already been decided.")
MSG_REASON = N_("Say why, in a few words: the person will be told.")


class Refused(Exception):
    """A decision the staff can fix: {field: message id}. The route rolls back and shows them."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def community_of(path: str) -> str:
    return path[:COMMUNITY_LEN]


async def public_community(db: AsyncSession, code: str) -> GridNode:
    node = (await db.execute(sa.select(GridNode).where(GridNode.code == code))).scalar_one_or_none()
    if node is None or node.level != Level.community or node.retired_at is not None:
        raise NotFoundException()
    return node


async def grids_of(db: AsyncSession, community: GridNode, levels=(Level.compound, Level.microgrid)) -> list[GridNode]:
    """The community's compounds and micro-grids (what a resident or the staff may name), tree order."""
    return list((await db.execute(
        sa.select(GridNode).where(in_subtree(GridNode.path, community.path), GridNode.level.in_(levels),
                                  GridNode.retired_at.is_(None)).order_by(GridNode.path)
    )).scalars())


async def grid_in(db: AsyncSession, community_path: str, code: str, levels) -> GridNode | None:
    if not code:
        return None
    node = (await db.execute(sa.select(GridNode).where(GridNode.code == code[:40]))).scalar_one_or_none()
    if node is None or not node.path.startswith(community_path) or node.level not in levels or node.retired_at:
        return None
    return node


def _text(form: dict, name: str, errors: dict, limit: int, *, required: bool) -> str:
    value = str(form.get(name) or "").strip()
    if required and not value:
        errors[name] = MSG_REQUIRED
    elif len(value) > limit:
        errors[name] = MSG_TOO_LONG
    return value[:limit]


# --- the public page -------------------------------------------------------------------

POSITION_CHOICES = ("leader", *[k.value for k in HelperKind if k != HelperKind.other])


async def submit(db: AsyncSession, community: GridNode, form: dict[str, Any], ip_hash: str) -> Nomination:
    """A resident's nomination, checked; Refused with the fields to fix."""
    errors: dict[str, str] = {}
    way = str(form.get("way") or "")
    if way not in set(Way):
        errors["way"] = MSG_CHOOSE
    choice = str(form.get("position") or "")
    if choice not in POSITION_CHOICES:
        errors["position"] = MSG_CHOOSE
    name = _text(form, "name", errors, 40, required=True)
    phone = _text(form, "phone", errors, 20, required=True)
    if "phone" not in errors and not sheets.MOBILE.fullmatch(phone):
        errors["phone"] = MSG_MOBILE
    reason = _text(form, "reason", errors, 500, required=True)
    nominator_name = _text(form, "nominator_name", errors, 40, required=False)
    nominator_phone = _text(form, "nominator_phone", errors, 20, required=False)
    if nominator_phone and not sheets.MOBILE.fullmatch(nominator_phone):
        errors["nominator_phone"] = MSG_MOBILE
    grid = None
    if form.get("grid"):
        grid = await grid_in(db, community.path, str(form["grid"]), (Level.compound, Level.microgrid))
        if grid is None:
            errors["grid"] = MSG_GRID
    if not errors:
        waiting = (await db.execute(sa.select(Nomination.id).where(
            Nomination.community_path == community.path, Nomination.phone == phone,
            Nomination.status == NominationStatus.pending).limit(1))).first()
        if waiting:
            errors["phone"] = MSG_WAITING
    if errors:
        raise Refused(errors)
    nomination = Nomination(
        community_id=community.id, community_path=community.path, grid_id=grid.id if grid else None, way=way,
        position=Position.leader if choice == "leader" else Position.helper,
        helper_kind="" if choice == "leader" else choice, name=name, phone=phone, reason=reason,
        nominator_name=nominator_name if way == Way.recommend else "",
        nominator_phone=nominator_phone if way == Way.recommend else "", ip_hash=ip_hash,
    )
    db.add(nomination)
    await db.flush()
    # The community's staff are told at once (a push, in this transaction: no nomination, no push).
    await rules.approval_waiting(db, community.path, title="新的自荐/推荐待审核", body=nomination.name,
                                 url=f"/recruitment/{nomination.id}", key=f"nomination:{nomination.id}")
    return nomination


async def tell_nominee(db: AsyncSession, nomination: Nomination, community: GridNode) -> None:
    """The person named hears the decision by text message (the notification outbox), as the page promised."""
    if nomination.status == NominationStatus.approved:
        body = (f"{community.name}已同意您的报名，社区工作人员会联系您登记手机、开始工作。"
                if nomination.position == Position.leader else f"{community.name}已将您登记为协助人员，感谢您出一份力。")
    else:
        body = f"感谢您报名{community.name}的微网格工作。社区的答复：{nomination.decision_reason}"
    await queue(db, channel=Channel.sms, kind="nomination", phone=nomination.phone, body=body[:400],
                dedupe_key=f"sms:nomination:{nomination.id}")


async def recent(db: AsyncSession, *, since: datetime, ip_hash: str = "", community_path: str = "") -> int:
    clause = Nomination.ip_hash == ip_hash if ip_hash else Nomination.community_path == community_path
    return (await db.execute(
        sa.select(sa.func.count()).select_from(Nomination).where(clause, Nomination.submitted_at >= since)
    )).scalar_one()


# --- review ----------------------------------------------------------------------------

REVIEW_ROLES = (Role.admin, Role.community)


def may_review(viewer: Viewer, community_path: str) -> bool:
    """The community's staff and the street: they appoint leaders there."""
    return any(p.role in REVIEW_ROLES and community_path.startswith(p.path) for p in viewer.posts)


async def nominations_for(db: AsyncSession, viewer: Viewer, *, community_path: str = "", status: str = "",
                          limit: int = 200) -> list[tuple[Nomination, GridNode | None]]:
    query = (sa.select(Nomination, GridNode).outerjoin(GridNode, GridNode.id == Nomination.grid_id)
             .where(viewer.subtree_clause(Nomination.community_path)))
    if community_path:
        query = query.where(Nomination.community_path == community_path)
    if status:
        query = query.where(Nomination.status == status)
    rows = await db.execute(query.order_by(Nomination.submitted_at.desc(), Nomination.id.desc()).limit(limit))
    return [(n, g) for n, g in rows.all()]


async def get_nomination_for(db: AsyncSession, viewer: Viewer, nomination_id: int) -> Nomination:
    """A nomination of a community the viewer reviews: 404 outside their part, 403 for a role that may not."""
    found = (await db.execute(sa.select(Nomination).where(
        Nomination.id == nomination_id, viewer.subtree_clause(Nomination.community_path)))).scalar_one_or_none()
    if found is None:
        raise NotFoundException()
    if not may_review(viewer, found.community_path):
        raise PermissionDeniedException("Your role may not do this")
    return found


def save_notes(db: AsyncSession, viewer: Viewer, nomination: Nomination, notes: str, request=None) -> dict[str, str]:
    notes = notes.strip()
    if len(notes) > 4000:
        return {"interview_notes": MSG_TOO_LONG}
    before = nomination.interview_notes
    if notes != before:
        nomination.interview_notes = notes
        edits.audit_change(db, viewer, "nomination_notes", "nomination", nomination.id,
                           {"interview_notes": before}, {"interview_notes": notes}, request)
    return {}


async def decline(db: AsyncSession, viewer: Viewer, nomination: Nomination, reason: str, request=None) -> None:
    if nomination.status != NominationStatus.pending:
        raise Refused({"decision": MSG_DECIDED})
    reason = reason.strip()
    if not reason:
        raise Refused({"reason": MSG_REASON})
    if len(reason) > 500:
        raise Refused({"reason": MSG_TOO_LONG})
    nomination.status, nomination.decision_reason = NominationStatus.declined, reason
    nomination.decided_by, nomination.decided_at = viewer.person_id, utcnow()
    edits.audit_change(db, viewer, "nomination_decline", "nomination", nomination.id,
                       {"status": NominationStatus.pending}, {"status": nomination.status, "reason": reason}, request)


async def approve(db: AsyncSession, viewer: Viewer, nomination: Nomination, form: dict[str, Any], *,
                  invite_hours: int, request=None) -> tuple[Invite | None, str]:
    """Approve: a leader gets person + post + invite, a helper a helper entry. Returns the invite
    and its token (shown once), or (None, "") for a helper. Refused: the route rolls back."""
    if nomination.status != NominationStatus.pending:
        raise Refused({"decision": MSG_DECIDED})
    as_what = str(form.get("as") or "")
    reason = str(form.get("reason") or "").strip()[:500]
    if as_what in ("A", "B"):
        node = await grid_in(db, nomination.community_path, str(form.get("grid") or ""), (Level.microgrid,))
        if node is None:
            raise Refused({"grid": MSG_MICROGRID})
        person, errors = await _person_for(db, viewer, nomination)
        if errors:
            raise Refused(errors)
        post, errors = await edits.appoint(db, viewer, person, node, Role.leader, as_what, request=request)
        if errors:
            raise Refused(errors)
        invite, token = await invites.create_invite(db, person=person, role=Role.leader, node=node, post_kind=as_what,
                                                    created_by=viewer.person_id, hours=invite_hours)
        record(db, "invite", viewer=viewer, object_type="invite", object_id=invite.id, request=request,
               person=person.id, role=Role.leader, node=node.code, post=invite.post_id)
        nomination.person_id, nomination.post_id, nomination.invite_id = person.id, post.id, invite.id
        made: dict[str, Any] = {"person": person.id, "post": post.id, "invite": invite.id, "node": node.code,
                                "post_kind": as_what}
    elif as_what in set(HelperKind):
        node = await grid_in(db, nomination.community_path, str(form.get("grid") or ""), HELPER_LEVELS)
        if node is None:
            raise Refused({"grid": MSG_GRID})
        helper = await add_helper(db, viewer, node, {"kind": as_what, "name": nomination.name,
                                                     "phone": nomination.phone, "note": ""}, request=request)
        nomination.helper_id = helper.id
        invite, token = None, ""
        made = {"helper": helper.id, "node": node.code, "kind": as_what}
    else:
        raise Refused({"as": MSG_CHOOSE})
    nomination.status, nomination.decision_reason = NominationStatus.approved, reason
    nomination.decided_by, nomination.decided_at = viewer.person_id, utcnow()
    edits.audit_change(db, viewer, "nomination_approve", "nomination", nomination.id,
                       {"status": NominationStatus.pending}, {"status": nomination.status, **made}, request)
    return invite, token


async def _person_for(db: AsyncSession, viewer: Viewer, nomination: Nomination):
    """The person approved: someone the registers already hold under this mobile number (a leader
    of another micro-grid taking a B post here), if the viewer may act for them; else a new person."""
    known = (await db.execute(sa.select(Person.id).where(Person.phone == nomination.phone))).scalars().first()
    if known is None:
        return await edits.find_or_new_person(db, viewer, {"name": nomination.name, "phone": nomination.phone})
    try:
        return await edits.find_or_new_person(db, viewer, {"person_id": str(known)})
    except (NotFoundException, PermissionDeniedException):
        # Someone outside what this viewer may appoint: the street administrator decides.
        return None, {"phone": edits.MSG_PHONE_TAKEN}


# --- helpers ---------------------------------------------------------------------------

def may_keep_helpers(viewer: Viewer, path: str) -> bool:
    return any(p.role in REVIEW_ROLES and path.startswith(p.path) for p in viewer.posts)


def helper_fields(form: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    errors: dict[str, str] = {}
    kind = str(form.get("kind") or "")
    if kind not in set(HelperKind):
        errors["kind"] = MSG_CHOOSE
    name = _text(form, "name", errors, 40, required=True)
    phone = _text(form, "phone", errors, 20, required=False)
    if phone and not edits.valid_phone(phone):
        errors["phone"] = MSG_PHONE
    note = _text(form, "note", errors, 200, required=False)
    return {"kind": kind, "name": name, "phone": phone, "note": note}, errors


async def add_helper(db: AsyncSession, viewer: Viewer, node: GridNode, values: dict[str, str], request=None) -> Helper:
    if not may_keep_helpers(viewer, node.path):
        raise PermissionDeniedException("Your role may not do this")
    helper = Helper(grid_id=node.id, grid_path=node.path, created_by=viewer.person_id, **values)
    db.add(helper)
    await db.flush()
    record(db, "helper_add", viewer=viewer, object_type="helper", object_id=helper.id, request=request,
           node=node.code, kind=values["kind"], name=values["name"])
    return helper


async def get_helper_for(db: AsyncSession, viewer: Viewer, helper_id: int) -> Helper:
    found = (await db.execute(sa.select(Helper).where(
        Helper.id == helper_id, viewer.subtree_clause(Helper.grid_path)))).scalar_one_or_none()
    if found is None:
        raise NotFoundException()
    if not may_keep_helpers(viewer, found.grid_path):
        raise PermissionDeniedException("Your role may not do this")
    return found


def edit_helper(db: AsyncSession, viewer: Viewer, helper: Helper, node: GridNode, values: dict[str, str],
                request=None) -> None:
    after = {**values, "grid_path": node.path}
    before = {k: getattr(helper, k) for k in after}
    changed = {k: v for k, v in after.items() if before[k] != v}
    if not changed:
        return
    for key, value in changed.items():
        setattr(helper, key, value)
    helper.grid_id = node.id
    edits.audit_change(db, viewer, "helper_edit", "helper", helper.id, {k: before[k] for k in changed}, changed, request)


def retire_helper(db: AsyncSession, viewer: Viewer, helper: Helper, request=None) -> None:
    if helper.retired_at is None:
        helper.retired_at = utcnow()
        edits.audit_change(db, viewer, "helper_retire", "helper", helper.id, {"retired_at": None},
                           {"retired_at": helper.retired_at}, request)


async def helpers_under(db: AsyncSession, path: str, *, include_retired: bool = False) -> list[tuple[Helper, GridNode]]:
    """Helpers on a grid and everything under it (the register's list, the patrol picker)."""
    query = (sa.select(Helper, GridNode).join(GridNode, GridNode.id == Helper.grid_id)
             .where(in_subtree(Helper.grid_path, path)))
    if not include_retired:
        query = query.where(Helper.retired_at.is_(None))
    return [(h, g) for h, g in (await db.execute(query.order_by(Helper.grid_path, Helper.id))).all()]
