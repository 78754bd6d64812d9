"""Keeping the registers true in the app: every change here checks the viewer's authority,
writes the audit log with what it was before and after, and leaves history in place.

Grid nodes are added, renamed, moved and retired (never deleted: a code is never used
again). Households move, move out or die (kept, off worklists). Posts start and end; a
micro-grid changes hands by `hand_over`, which ends the old post and starts the new one in
one transaction: the new leader has the worklist at once, the old leader's records stay
theirs, and their phones lose the micro-grid on their next request (an ended post gives
no scope: server/accounts/sessions.py).

Each function returns `{field: message id}` when the change is refused for a reason the
person can fix (shown beside the field), raises 403/404 for authority, and never commits:
the route commits after it.
"""
from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from server import cache
from server.accounts.audit import record
from server.accounts.authority import MSG_NOT_COVERED, covers_person
from server.accounts.invites import ROLE_TITLES, void_invites_for_post
from server.accounts.models import Person, PoliticalStatus, Post, Role, current_post
from server.accounts.scope import Viewer
from server.clock import today_in_china, utcnow
from server.grid.models import (
    CareTag, GridNode, Household, HouseholdStatus, Level, PropertyCompany, active_household,
)
from server.i18n import N_
from server.registers import sheets
from server.registers.importer import may_add_under
from server.registers.models import ChangeStatus, HouseholdChange
from server.registers.paths import MAX_DEPTH, rewrite_subtree, subtree_depth
from server.tree import SEGMENT, child_path, in_subtree
from server.validate import ascii_int, parse_id

Errors = dict[str, str]

MSG_REQUIRED = N_("Required.")
MSG_CODE_TAKEN = N_("This code is already used (codes are never used twice, not even a retired grid's).")
MSG_BAD_CODE = N_("A code is letters, digits, - _ or . (at most 40 characters).")
MSG_LEVEL_UNDER = N_("This level cannot sit under the chosen parent: a node sits under a higher level.")
MSG_KIND = N_("Choose the type of this compound or micro-grid.")
MSG_TOO_DEEP = N_("The tree would be more than 8 levels deep here.")
MSG_INTO_ITSELF = N_("A grid cannot move under itself or under one of its own parts.")
MSG_RETIRED = N_("This grid is retired.")
MSG_NOT_FOUND_CODE = N_("No grid with this code in your part of the grid.")
MSG_BUSY = N_("This grid still has households living in it, people in post or parts in use. Move or end them first.")
MSG_TOO_LONG = N_("Too long.")
MSG_PHONE = N_("Not a phone number: use an 11-digit mobile number or a landline like 028-88888888.")
MSG_MOBILE = N_("Enter an 11-digit mobile number.")
MSG_MEMBERS = N_("Members must be a whole number from 1 to 30.")
MSG_ADDRESS_TAKEN = N_("A household already lives at this address on this micro-grid.")
MSG_NOT_MICROGRID = N_("Choose a micro-grid.")
MSG_SAME_PLACE = N_("The household already lives on this micro-grid.")
MSG_YEAR = N_("Birth year is a four-digit year such as 1975.")
MSG_PHONE_TAKEN = N_("Another person already has this mobile number.")
MSG_ROLE = N_("Choose a role you may appoint here.")
MSG_ROLE_LEVEL = N_("This role does not belong on this level of the grid.")
MSG_SECOND_A = N_("This micro-grid already has an A-post leader. Hand it over instead.")
MSG_POST_ENDED = N_("This post has already ended.")
MSG_SAME_PERSON = N_("This person already holds this post.")
MSG_PERSON = N_("Choose the person, or enter a new person's name and mobile number.")
MSG_COMPANY_TAKEN = N_("A property company of this name already exists.")


def _audit_value(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def audit_change(db: AsyncSession, viewer: Viewer, action: str, object_type: str, object_id: Any,
                 before: dict, after: dict, request=None, **extra: Any) -> None:
    record(db, action, viewer=viewer, object_type=object_type, object_id=object_id, request=request,
           before={k: _audit_value(v) for k, v in before.items()},
           after={k: _audit_value(v) for k, v in after.items()}, **extra)


def valid_phone(value: str) -> bool:
    return bool(sheets.MOBILE.fullmatch(value) or sheets.LANDLINE.fullmatch(value))


# --- the grid ---------------------------------------------------------------------------

async def get_editable_node(db: AsyncSession, viewer: Viewer, code: str) -> GridNode:
    """A node the viewer may see (404 otherwise) and edit (403 otherwise)."""
    node = (await db.execute(sa.select(GridNode).where(GridNode.code == code))).scalar_one_or_none()
    if node is None or not viewer.sees_path(node.path):
        raise NotFoundException()
    if not viewer.may_edit(node.path) and not may_add_under(viewer, node.path):
        raise PermissionDeniedException("Your role may not do this")
    return node


def _level_fits(level: str, parent_level: str) -> bool:
    return sheets.LEVEL_RANK[Level(parent_level)] < sheets.LEVEL_RANK[Level(level)]


async def add_node(db: AsyncSession, viewer: Viewer, parent: GridNode, form: dict[str, str],
                   request=None) -> tuple[GridNode | None, Errors]:
    if not may_add_under(viewer, parent.path):
        raise PermissionDeniedException("Your role may not do this")
    errors: Errors = {}
    code, name, level, kind = (form.get(k, "").strip() for k in ("code", "name", "level", "kind"))
    if not code:
        errors["code"] = MSG_REQUIRED
    elif not sheets.CODE.fullmatch(code):
        errors["code"] = MSG_BAD_CODE
    elif (await db.execute(sa.select(GridNode.id).where(GridNode.code == code))).first():
        errors["code"] = MSG_CODE_TAKEN
    if not name:
        errors["name"] = MSG_REQUIRED
    elif len(name) > 100:
        errors["name"] = MSG_TOO_LONG
    if level not in sheets.LEVEL_RANK or level == Level.street:
        errors["level"] = MSG_REQUIRED
    elif not _level_fits(level, parent.level):
        errors["level"] = MSG_LEVEL_UNDER
    elif Level(level) in sheets.KINDS_OF_LEVEL and kind not in sheets.KINDS_OF_LEVEL[Level(level)]:
        errors["kind"] = MSG_KIND
    if parent.retired_at is not None:
        errors["parent"] = MSG_RETIRED
    if len(parent.path) // SEGMENT >= MAX_DEPTH:
        errors["level"] = MSG_TOO_DEEP
    if errors:
        return None, errors
    node = GridNode(parent_id=parent.id, level=level, kind=kind if Level(level) in sheets.KINDS_OF_LEVEL else None,
                    code=code, name=name, path="!" + code, depth=parent.depth + 1,
                    sort_order=ascii_int(form.get("sort_order"), 0, 99999) or 0)
    db.add(node)
    await db.flush()
    node.path = child_path(parent.path, node.id)
    audit_change(db, viewer, "registers_add", "grid_node", node.id, {},
                 {"code": code, "name": name, "level": level, "kind": node.kind, "parent": parent.code}, request)
    cache.clear()
    return node, {}


async def rename_node(db: AsyncSession, viewer: Viewer, node: GridNode, form: dict[str, str], request=None) -> Errors:
    if not viewer.may_edit(node.path):
        raise PermissionDeniedException("Your role may not do this")
    name = form.get("name", "").strip()
    if not name:
        return {"name": MSG_REQUIRED}
    if len(name) > 100:
        return {"name": MSG_TOO_LONG}
    before = {"name": node.name, "sort_order": node.sort_order}
    node.name = name
    if (sort_order := ascii_int(form.get("sort_order"), 0, 99999)) is not None:
        node.sort_order = sort_order
    audit_change(db, viewer, "registers_edit", "grid_node", node.id, before,
                 {"name": node.name, "sort_order": node.sort_order}, request)
    cache.clear()
    return {}


async def move_node(db: AsyncSession, viewer: Viewer, node: GridNode, parent_code: str, request=None) -> Errors:
    """Move a node and everything under it (households, posts, problems...) in the caller's transaction."""
    if not viewer.may_edit(node.path):
        raise PermissionDeniedException("Your role may not do this")
    parent = (await db.execute(sa.select(GridNode).where(GridNode.code == parent_code.strip()))).scalar_one_or_none()
    if parent is None or not may_add_under(viewer, parent.path):
        return {"parent": MSG_NOT_FOUND_CODE}
    if parent.path.startswith(node.path):
        return {"parent": MSG_INTO_ITSELF}
    if parent.retired_at is not None:
        return {"parent": MSG_RETIRED}
    if not _level_fits(node.level, parent.level):
        return {"parent": MSG_LEVEL_UNDER}
    if parent.id == node.parent_id:
        return {}
    if len(parent.path) // SEGMENT + await subtree_depth(db, node.path) > MAX_DEPTH:
        return {"parent": MSG_TOO_DEEP}
    old_path, old_parent = node.path, node.parent_id
    new_path = child_path(parent.path, node.id)
    await db.execute(sa.update(GridNode).where(GridNode.id == node.id).values(parent_id=parent.id)
                     .execution_options(synchronize_session=False))
    await rewrite_subtree(db, old_path, new_path)
    audit_change(db, viewer, "registers_move", "grid_node", node.id, {"path": old_path, "parent_id": old_parent},
                 {"path": new_path, "parent_id": parent.id, "parent": parent.code}, request)
    db.expire_all()  # rows loaded before the move hold their old paths
    cache.clear()
    return {}


async def busy_under(db: AsyncSession, node: GridNode) -> bool:
    """Anything alive under the node: a household living there, a post held, a node in use."""
    subtree = lambda column: in_subtree(column, node.path)  # noqa: E731
    for query in (
        sa.select(Household.id).where(subtree(Household.grid_path), active_household()),
        sa.select(Post.id).where(subtree(Post.node_path), current_post()),
        sa.select(GridNode.id).where(subtree(GridNode.path), GridNode.id != node.id, GridNode.retired_at.is_(None)),
    ):
        if (await db.execute(query.limit(1))).first():
            return True
    return False


async def retire_node(db: AsyncSession, viewer: Viewer, node: GridNode, request=None) -> Errors:
    if not viewer.may_edit(node.path) or node.parent_id is None:
        raise PermissionDeniedException("Your role may not do this")
    if node.retired_at is not None:
        return {}
    if await busy_under(db, node):
        return {"retire": MSG_BUSY}
    node.retired_at = utcnow()
    audit_change(db, viewer, "registers_retire", "grid_node", node.id, {"retired_at": None},
                 {"retired_at": node.retired_at}, request, code=node.code)
    cache.clear()
    return {}


async def set_node_company(db: AsyncSession, viewer: Viewer, node: GridNode, company_id: int | None,
                           request=None) -> Errors:
    if not viewer.may_edit(node.path):
        raise PermissionDeniedException("Your role may not do this")
    if company_id is not None and await db.get(PropertyCompany, company_id) is None:
        return {"company_id": MSG_REQUIRED}
    before = {"property_company_id": node.property_company_id}
    node.property_company_id = company_id
    audit_change(db, viewer, "registers_edit", "grid_node", node.id, before, {"property_company_id": company_id}, request)
    cache.clear()
    return {}


# --- households -------------------------------------------------------------------------

def household_fields(form: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    """The editable fields of a household from a form (care tags as a list)."""
    errors: Errors = {}
    values: dict[str, Any] = {}
    for key, limit in (("address", 120), ("head_name", 40)):
        text = str(form.get(key) or "").strip()
        if not text:
            errors[key] = MSG_REQUIRED
        elif len(text) > limit:
            errors[key] = MSG_TOO_LONG
        values[key] = text
    phone = str(form.get("phone") or "").strip()
    if phone and not valid_phone(phone):
        errors["phone"] = MSG_PHONE
    values["phone"] = phone
    members = str(form.get("members") or "1").strip()
    if (count := ascii_int(members, 1, 30)) is None:
        errors["members"] = MSG_MEMBERS
    else:
        values["members"] = count
    tags = form.get("care_tags") or []
    tags = [tags] if isinstance(tags, str) else list(tags)
    values["care_tags"] = [t for t in dict.fromkeys(tags) if t in {c.value for c in CareTag}]
    notes = str(form.get("notes") or "").strip()
    if len(notes) > 500:
        errors["notes"] = MSG_TOO_LONG
    values["notes"] = notes
    return values, errors


async def _address_taken(db: AsyncSession, microgrid_id: int, address: str, except_id: int | None = None) -> bool:
    query = sa.select(Household.id).where(Household.microgrid_id == microgrid_id, Household.address == address,
                                          active_household())
    if except_id is not None:
        query = query.where(Household.id != except_id)
    return (await db.execute(query.limit(1))).first() is not None


async def add_household(db: AsyncSession, viewer: Viewer, microgrid: GridNode, form: dict[str, Any],
                        request=None, audit_extra: dict | None = None) -> tuple[Household | None, Errors]:
    if not viewer.may_edit(microgrid.path):
        raise PermissionDeniedException("Your role may not do this")
    values, errors = household_fields(form)
    if microgrid.level != Level.microgrid:
        errors["microgrid"] = MSG_NOT_MICROGRID
    elif microgrid.retired_at is not None:
        errors["microgrid"] = MSG_RETIRED
    if not errors and await _address_taken(db, microgrid.id, values["address"]):
        errors["address"] = MSG_ADDRESS_TAKEN
    if errors:
        return None, errors
    household = Household(microgrid_id=microgrid.id, grid_path=microgrid.path, **values)
    db.add(household)
    await db.flush()
    audit_change(db, viewer, "registers_add", "household", household.id, {}, {**values, "microgrid": microgrid.code},
                 request, **(audit_extra or {}))
    cache.clear()
    return household, {}


async def edit_household(db: AsyncSession, viewer: Viewer, household: Household, values: dict[str, Any],
                         request=None, audit_extra: dict | None = None) -> Errors:
    """Change some fields (already checked by household_fields or by the change's own rules)."""
    if not viewer.may_edit(household.grid_path):
        raise PermissionDeniedException("Your role may not do this")
    if "address" in values and values["address"] != household.address and await _address_taken(
            db, household.microgrid_id, values["address"], household.id):
        return {"address": MSG_ADDRESS_TAKEN}
    before = {k: getattr(household, k) for k in values}
    changed = {k: v for k, v in values.items() if before[k] != v}
    if not changed:
        return {}
    for key, value in changed.items():
        setattr(household, key, value)
    audit_change(db, viewer, "registers_edit", "household", household.id, {k: before[k] for k in changed}, changed,
                 request, **(audit_extra or {}))
    return {}


async def move_household(db: AsyncSession, viewer: Viewer, household: Household, code: str, request=None) -> Errors:
    if not viewer.may_edit(household.grid_path):
        raise PermissionDeniedException("Your role may not do this")
    target = (await db.execute(sa.select(GridNode).where(GridNode.code == code.strip()))).scalar_one_or_none()
    if target is None or not viewer.may_edit(target.path):
        return {"microgrid": MSG_NOT_FOUND_CODE}
    if target.level != Level.microgrid:
        return {"microgrid": MSG_NOT_MICROGRID}
    if target.retired_at is not None:
        return {"microgrid": MSG_RETIRED}
    if target.id == household.microgrid_id:
        return {"microgrid": MSG_SAME_PLACE}
    if await _address_taken(db, target.id, household.address):
        return {"microgrid": MSG_ADDRESS_TAKEN}
    before = {"microgrid_id": household.microgrid_id, "grid_path": household.grid_path}
    household.microgrid_id, household.grid_path = target.id, target.path
    # Proposals still waiting follow the household, so the right office approves them.
    await db.execute(sa.update(HouseholdChange).where(HouseholdChange.household_id == household.id,
                                                      HouseholdChange.status == ChangeStatus.pending)
                     .values(microgrid_id=target.id, grid_path=target.path)
                     .execution_options(synchronize_session=False))
    audit_change(db, viewer, "registers_move", "household", household.id, before,
                 {"microgrid_id": target.id, "grid_path": target.path, "microgrid": target.code}, request)
    cache.clear()
    return {}


async def household_left(db: AsyncSession, viewer: Viewer, household: Household, status: str, request=None,
                         audit_extra: dict | None = None) -> Errors:
    """Moved out or deceased: kept as history, off every worklist and count."""
    if not viewer.may_edit(household.grid_path):
        raise PermissionDeniedException("Your role may not do this")
    if status not in (HouseholdStatus.moved_out, HouseholdStatus.deceased):
        return {"status": MSG_REQUIRED}
    if household.status != HouseholdStatus.active:
        return {}
    before = {"status": household.status, "left_on": None}
    household.status, household.left_on = status, today_in_china()
    audit_change(db, viewer, "registers_household_left", "household", household.id, before,
                 {"status": status, "left_on": household.left_on}, request, **(audit_extra or {}))
    cache.clear()
    return {}


# --- people and posts -------------------------------------------------------------------

def person_fields(form: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    name = str(form.get("name") or "").strip()
    phone = str(form.get("phone") or "").strip()
    if not name:
        errors["name"] = MSG_REQUIRED
    elif len(name) > 40:
        errors["name"] = MSG_TOO_LONG
    if not sheets.MOBILE.fullmatch(phone):
        errors["phone"] = MSG_MOBILE
    gender = str(form.get("gender") or "")
    political = str(form.get("political_status") or "")
    year_text = str(form.get("birth_year") or "").strip()
    year = None
    if year_text:
        if re.fullmatch(r"\d{4}", year_text) and 1900 <= int(year_text) <= today_in_china().year:
            year = int(year_text)
        else:
            errors["birth_year"] = MSG_YEAR
    return {
        "name": name, "phone": phone, "gender": gender if gender in ("male", "female") else "",
        "birth_year": year,
        "political_status": political if political in {p.value for p in PoliticalStatus} else "",
    }, errors


async def _phone_taken(db: AsyncSession, phone: str, except_id: int | None = None) -> bool:
    query = sa.select(Person.id).where(Person.phone == phone)
    if except_id is not None:
        query = query.where(Person.id != except_id)
    return (await db.execute(query.limit(1))).first() is not None


async def require_cover(db: AsyncSession, viewer: Viewer, person_id: int) -> None:
    if not await covers_person(db, viewer, person_id):
        raise PermissionDeniedException(MSG_NOT_COVERED)


async def edit_person(db: AsyncSession, viewer: Viewer, person: Person, form: dict[str, Any], request=None) -> Errors:
    await require_cover(db, viewer, person.id)
    values, errors = person_fields(form)
    if not errors and values["phone"] != person.phone and await _phone_taken(db, values["phone"], person.id):
        errors["phone"] = MSG_PHONE_TAKEN
    if errors:
        return errors
    before = {k: getattr(person, k) for k in values}
    changed = {k: v for k, v in values.items() if before[k] != v}
    for key, value in changed.items():
        setattr(person, key, value)
    if changed:
        audit_change(db, viewer, "registers_edit", "person", person.id, {k: before[k] for k in changed}, changed, request)
    return {}


async def find_or_new_person(db: AsyncSession, viewer: Viewer, form: dict[str, Any]) -> tuple[Person | None, Errors]:
    """The person a form names: an existing one by id (visible, covered), or a new one by name and mobile."""
    from server.accounts.routes import get_person_for  # the people pages' scoped loader

    person_id = str(form.get("person_id") or "").strip()
    if person_id:
        if parse_id(person_id) is None:
            raise NotFoundException()
        person = await get_person_for(db, viewer, parse_id(person_id))
        await require_cover(db, viewer, person.id)
        return person, {}
    values, errors = person_fields(form)
    if not form.get("name") and not form.get("phone"):
        return None, {"person": MSG_PERSON}
    if not errors and await _phone_taken(db, values["phone"]):
        errors["phone"] = MSG_PHONE_TAKEN
    if errors:
        return None, errors
    person = Person(**values)
    db.add(person)
    await db.flush()
    return person, {}


async def current_holder(db: AsyncSession, node: GridNode, post_kind: str) -> Post | None:
    return (await db.execute(
        sa.select(Post).where(Post.node_id == node.id, Post.role == Role.leader, Post.post_kind == post_kind,
                              current_post()).order_by(Post.id)
    )).scalars().first()


async def appoint(db: AsyncSession, viewer: Viewer, person: Person, node: GridNode, role: str,
                  post_kind: str | None, title: str = "", request=None) -> tuple[Post | None, Errors]:
    if role not in {r.value for r in Role} or not viewer.may_appoint(role, node.path):
        return None, {"role": MSG_ROLE}
    if Level(node.level) not in sheets.ROLE_LEVELS[Role(role)]:
        return None, {"role": MSG_ROLE_LEVEL}
    if node.retired_at is not None:
        return None, {"grid": MSG_RETIRED}
    await require_cover(db, viewer, person.id)
    post_kind = (post_kind if post_kind in ("A", "B") else "A") if role == Role.leader else None
    if role == Role.leader:
        holder = await current_holder(db, node, post_kind) if post_kind == "A" else None
        if holder is not None:
            return None, {"post_kind": MSG_SAME_PERSON if holder.person_id == person.id else MSG_SECOND_A}
    existing = (await db.execute(sa.select(Post.id).where(
        Post.person_id == person.id, Post.node_id == node.id, Post.role == role, current_post(),
        Post.post_kind.is_(None) if post_kind is None else Post.post_kind == post_kind))).first()
    if existing:
        return None, {"role": MSG_SAME_PERSON}
    post = Post(person_id=person.id, node_id=node.id, node_path=node.path, role=role, post_kind=post_kind,
                title=(title.strip()[:40] or ROLE_TITLES.get(Role(role), "")),
                company_id=node.property_company_id if role == Role.property else None,
                started_on=today_in_china())
    db.add(post)
    await db.flush()
    audit_change(db, viewer, "registers_appoint", "post", post.id, {},
                 {"person": person.id, "role": role, "node": node.code, "post_kind": post_kind,
                  "started_on": post.started_on}, request)
    return post, {}


async def end_post(db: AsyncSession, viewer: Viewer, post: Post, request=None, action: str = "registers_end_post") -> Errors:
    """End a post today: it stays as history; the person's phones lose it on their next request."""
    if not viewer.may_appoint(post.role, post.node_path):
        raise PermissionDeniedException("Your role may not do this")
    await require_cover(db, viewer, post.person_id)
    if post.ended_on is not None:
        return {"post": MSG_POST_ENDED}
    post.ended_on = today_in_china()
    await void_invites_for_post(db, post)
    audit_change(db, viewer, action, "post", post.id, {"ended_on": None}, {"ended_on": post.ended_on}, request,
                 person=post.person_id)
    return {}


async def hand_over(db: AsyncSession, viewer: Viewer, microgrid: GridNode, post_kind: str, person: Person,
                    request=None) -> tuple[Post | None, Errors]:
    """The micro-grid's A (or B) post passes to `person`: the old post ends, the new one starts, at once."""
    if microgrid.level != Level.microgrid or not viewer.may_appoint(Role.leader, microgrid.path):
        raise PermissionDeniedException("Your role may not do this")
    post_kind = post_kind if post_kind in ("A", "B") else "A"
    old = await current_holder(db, microgrid, post_kind)
    if old is not None:
        if old.person_id == person.id:
            return None, {"person": MSG_SAME_PERSON}
        await require_cover(db, viewer, old.person_id)
    await require_cover(db, viewer, person.id)
    if old is not None:
        await end_post(db, viewer, old, request, action="registers_handover_end")
    new, errors = await appoint(db, viewer, person, microgrid, Role.leader, post_kind, request=request)
    if errors:
        return None, errors
    audit_change(db, viewer, "registers_handover", "grid_node", microgrid.id,
                 {"person": old.person_id if old else None, "post": old.id if old else None},
                 {"person": person.id, "post": new.id}, request, post_kind=post_kind, code=microgrid.code)
    cache.clear()
    return new, {}


# --- property companies -----------------------------------------------------------------

async def save_company(db: AsyncSession, viewer: Viewer, company: PropertyCompany | None, form: dict[str, Any],
                       request=None) -> tuple[PropertyCompany | None, Errors]:
    if company is not None and not viewer.is_admin:
        raise PermissionDeniedException("Your role may not do this")
    name = str(form.get("name") or "").strip()
    phone = str(form.get("phone") or "").strip()
    errors: Errors = {}
    if not name:
        errors["name"] = MSG_REQUIRED
    elif len(name) > 100:
        errors["name"] = MSG_TOO_LONG
    elif (await db.execute(sa.select(PropertyCompany.id).where(
            PropertyCompany.name == name, PropertyCompany.id != (company.id if company else -1)))).first():
        errors["name"] = MSG_COMPANY_TAKEN
    if phone and not valid_phone(phone):
        errors["phone"] = MSG_PHONE
    if errors:
        return None, errors
    if company is None:
        company = PropertyCompany(name=name, phone=phone)
        db.add(company)
        await db.flush()
        audit_change(db, viewer, "registers_add", "property_company", company.id, {}, {"name": name, "phone": phone}, request)
        return company, {}
    before = {"name": company.name, "phone": company.phone}
    company.name, company.phone = name, phone
    audit_change(db, viewer, "registers_edit", "property_company", company.id, before, {"name": name, "phone": phone}, request)
    return company, {}
