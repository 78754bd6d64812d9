"""Who may use the registers' pages (merged into the access matrix).

The street administrator and community staff (their community) edit; leaders and compound
staff only propose household changes. Writes are sent with values that fail validation
(422 proves the handler was reached and allowed) unless they act on an object made for
the call, so the matrix never changes the shared demo street.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from server.db import make_sessionmaker
from server.registers.models import HouseholdChange, ImportJob
from tests.accounts.access_matrix import SIGNIN, entry, expect

OFFICE = expect(403, visitor=SIGNIN, community=200, admin=200)
OFFICE_FORM = expect(403, visitor=SIGNIN, community=422, admin=422)
OFFICE_IN_SCOPE = expect(403, visitor=SIGNIN, community=(200, 404), admin=200)
OFFICE_FORM_IN_SCOPE = expect(403, visitor=SIGNIN, community=(422, 404), admin=422)


async def _node(env, where, role, suffix=""):
    return f"/registers/grid/{env.microgrid(where).code}{suffix}"


async def _household(env, where, role, suffix=""):
    return f"/registers/households/{await env.household_id(where)}{suffix}"


async def _person(env, where, role, suffix=""):
    person = env.people.leader if where == "inside" else env.people.other_secretary
    return f"/registers/people/{person.id}{suffix}"


async def _job(env, where, role, suffix=""):
    """inside: a finished job of the person asking; outside: somebody else's."""
    owner = env.person_of(role) if where == "inside" and env.person_of(role) else env.people.other_secretary
    async with make_sessionmaker(env.engine)() as db:
        job = ImportJob(person_id=owner.id, filename="x.xlsx", sha256="0" * 64, size=1, status="done")
        db.add(job)
        await db.commit()
        return f"/registers/import/{job.id}{suffix}"


async def _fresh_post(env, where, role):
    async with make_sessionmaker(env.engine)() as db:
        from server.accounts.models import Post

        person_id = await env.new_person_in(env.microgrid(where))
        post_id = (await db.execute(sa.select(Post.id).where(Post.person_id == person_id))).scalar_one()
    return f"/registers/posts/{post_id}/end"


async def _change(env, where, role, action):
    """A pending change that changes nothing when approved (removing a tag the household lacks)."""
    household_id = await env.household_id(where)
    async with make_sessionmaker(env.engine)() as db:
        from server.grid.models import Household

        household = await db.get(Household, household_id)
        missing = next(t for t in ("special_support", "veteran", "disabled") if t not in household.care_tags)
        change = HouseholdChange(id=uuid.uuid4(), kind="care_tag_removed", household_id=household.id,
                                 microgrid_id=household.microgrid_id, grid_path=household.grid_path,
                                 data={"care_tag": missing}, person_id=env.people.leader.id,
                                 proposed_at=datetime.now(timezone.utc))
        db.add(change)
        await db.commit()
        return f"/registers/changes/{change.id}/{action}"


async def _company(env, where, role):
    async with make_sessionmaker(env.engine)() as db:
        from server.grid.models import PropertyCompany

        company_id = (await db.execute(sa.select(PropertyCompany.id).order_by(PropertyCompany.id).limit(1))).scalar_one()
    return f"/registers/companies/{company_id}"


async def _proposal(env, where, role):
    return f"/households/{await env.household_id(where)}/changes"


ACCESS = {
    ("GET", "/registers"): entry("/registers", answers=OFFICE),
    ("GET", "/registers/template.xlsx"): entry("/registers/template.xlsx", answers=OFFICE),
    ("GET", "/registers/export.xlsx"): entry("/registers/export.xlsx", answers=OFFICE,
                                              why="whole phone numbers: only the offices that keep the tables; audited"),
    ("GET", "/registers/import"): entry("/registers/import", answers=OFFICE),
    ("POST", "/registers/import"): entry("/registers/import", data={"nothing": "here"}, answers=OFFICE_FORM,
                                         why="no file: the page again with a message"),
    ("GET", "/registers/import/{job_id:uuid}"): entry(
        _job, answers=expect(403, visitor=SIGNIN, community=(200, 404), admin=(200, 404)),
        why="a job is its uploader's only"),
    ("POST", "/registers/import/{job_id:uuid}/apply"): entry(
        lambda e, w, r: _job(e, w, r, "/apply"), answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=(303, 404))),
    ("POST", "/registers/import/{job_id:uuid}/check"): entry(
        lambda e, w, r: _job(e, w, r, "/check"), answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=(303, 404))),
    ("GET", "/registers/grid/{code:str}"): entry(_node, answers=OFFICE_IN_SCOPE),
    ("POST", "/registers/grid/{code:str}"): entry(_node, data={"name": ""}, answers=OFFICE_FORM_IN_SCOPE),
    ("POST", "/registers/grid/{code:str}/children"): entry(
        lambda e, w, r: _node(e, w, r, "/children"), data={"code": ""}, answers=OFFICE_FORM_IN_SCOPE),
    ("POST", "/registers/grid/{code:str}/move"): entry(
        lambda e, w, r: _node(e, w, r, "/move"), data={"parent": ""}, answers=OFFICE_FORM_IN_SCOPE),
    ("POST", "/registers/grid/{code:str}/retire"): entry(
        lambda e, w, r: _node(e, w, r, "/retire"), answers=OFFICE_FORM_IN_SCOPE,
        why="a micro-grid with households cannot retire: the form says so"),
    ("GET", "/registers/grid/{code:str}/handover"): entry(lambda e, w, r: _node(e, w, r, "/handover"), answers=OFFICE_IN_SCOPE),
    ("POST", "/registers/grid/{code:str}/handover"): entry(
        lambda e, w, r: _node(e, w, r, "/handover"), data={"post_kind": "A"}, answers=OFFICE_FORM_IN_SCOPE),
    ("GET", "/registers/grid/{code:str}/households/new"): entry(
        lambda e, w, r: _node(e, w, r, "/households/new"), answers=OFFICE_IN_SCOPE),
    ("POST", "/registers/grid/{code:str}/households"): entry(
        lambda e, w, r: _node(e, w, r, "/households"), data={"address": ""}, answers=OFFICE_FORM_IN_SCOPE),
    ("GET", "/registers/households/{household_id:int}"): entry(_household, answers=OFFICE_IN_SCOPE),
    ("POST", "/registers/households/{household_id:int}"): entry(_household, data={"address": ""}, answers=OFFICE_FORM_IN_SCOPE),
    ("POST", "/registers/households/{household_id:int}/move"): entry(
        lambda e, w, r: _household(e, w, r, "/move"), data={"microgrid": ""}, answers=OFFICE_FORM_IN_SCOPE),
    ("POST", "/registers/households/{household_id:int}/left"): entry(
        lambda e, w, r: _household(e, w, r, "/left"), data={"status": ""}, answers=OFFICE_FORM_IN_SCOPE),
    ("GET", "/registers/people/{person_id:int}"): entry(_person, answers=OFFICE_IN_SCOPE),
    ("POST", "/registers/people/{person_id:int}"): entry(_person, data={"name": ""}, answers=OFFICE_FORM_IN_SCOPE),
    ("POST", "/registers/people/{person_id:int}/posts"): entry(
        lambda e, w, r: _person(e, w, r, "/posts"), data={"grid": ""}, answers=OFFICE_FORM_IN_SCOPE),
    ("POST", "/registers/posts/{post_id:int}/end"): entry(
        _fresh_post, answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303),
        why="a post made for the call: it really ends"),
    ("GET", "/registers/companies"): entry("/registers/companies", answers=OFFICE),
    ("POST", "/registers/companies"): entry("/registers/companies", data={"name": ""}, answers=OFFICE_FORM),
    ("POST", "/registers/companies/{company_id:int}"): entry(
        _company, data={"name": ""}, answers=expect(403, visitor=SIGNIN, admin=422),
        why="a company serves several communities: only the street changes one"),
    ("GET", "/registers/changes"): entry("/registers/changes", answers=OFFICE),
    ("POST", "/registers/changes/{change_id:str}/approve"): entry(
        lambda e, w, r: _change(e, w, r, "approve"), answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303)),
    ("POST", "/registers/changes/{change_id:str}/reject"): entry(
        lambda e, w, r: _change(e, w, r, "reject"), data={"reason": "x"},
        answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303)),
    # A leader's proposals (the no-JS way of the household_change outbox record).
    ("POST", "/households/{household_id:int}/changes"): entry(
        _proposal, data={"note": "x"}, answers=expect((422, 404), visitor=SIGNIN, admin=422, property=404),
        why="an incomplete proposal is a rejected field (422); staff's role is refused by the sync type, also 422"),
    ("POST", "/grid/{code:str}/move-ins"): entry(
        lambda e, w, r: _grid(e, w, r, "/move-ins"), data={"note": "x"},
        answers=expect((422, 404), visitor=SIGNIN, admin=422, property=404)),
    ("GET", "/households/{household_id:int}/changes"): entry(
        _proposal, answers=expect((200, 404), visitor=SIGNIN, admin=200, property=404)),
}


async def _grid(env, where, role, suffix=""):
    return f"/grid/{env.microgrid(where).code}{suffix}"
