"""Who may use the ledger's routes (merged into the access matrix, tests/accounts/access_matrix.py).

"inside" problems and meetings sit in the leader's micro-grid and community; "outside"
ones in another community. Property staff see only problems assigned to their company
(none of these), residents' pages are public.
"""
from __future__ import annotations

import sqlalchemy as sa

from server.db import make_sessionmaker
from server.grid.models import GridNode
from server.issues import service
from server.issues.models import IssueMeeting
from tests.accounts.access_matrix import PUBLIC, SIGNIN, entry, expect

IN_SCOPE = expect((200, 404), visitor=SIGNIN, admin=200, property=403)
STAFF_PAGE = expect(200, visitor=SIGNIN)
MEETING_WRITE = expect(403, visitor=SIGNIN, community=(303, 404), admin=303)


async def _issue(env, where):
    from tests.issues.conftest import viewer_of

    async with make_sessionmaker(env.engine)() as db:
        admin = await viewer_of(db, env.people.admin)
        issue, _ = await service.report_issue(db, admin, node=env.microgrid(where), category="other", description="矩阵测试")
        await db.commit()
        return issue


async def _community(env, where) -> GridNode:
    async with make_sessionmaker(env.engine)() as db:
        return (await db.execute(sa.select(GridNode).where(GridNode.path == env.microgrid(where).path[:16]))).scalar_one()


async def _meeting(env, where) -> str:
    import uuid
    from datetime import date

    community = await _community(env, where)
    async with make_sessionmaker(env.engine)() as db:
        meeting = IssueMeeting(id=str(uuid.uuid4()), community_id=community.id, community_path=community.path,
                               month=date.today().strftime("%Y-%m"), kind="handling", held_on=date.today(),
                               attendees=[{"role": "社区党委书记", "name": "矩阵"}])
        db.add(meeting)
        await db.commit()
        return meeting.id


async def _issue_url(env, where, role, suffix=""):
    return f"/issues/{(await _issue(env, where)).id}{suffix}"


async def _new_issue_form(env, where, role):
    return {"node_id": str(env.microgrid(where).id), "category_id": "8", "description": "矩阵测试"}


async def _meeting_form(env, where, role):
    return {"community": (await _community(env, where)).code, "kind": "handling", "held_on": "2026-11-01",
            "attendee_role": "社区党委书记", "attendee_name": "矩阵"}


async def _decision_url(env, where, role):
    return f"/meetings/{await _meeting(env, where)}/decisions"


async def _decision_form(env, where, role):
    return {"issue_id": (await _issue(env, where)).id, "outcome": "note", "text": "矩阵测试"}


async def _tracking(env, where, role, suffix=""):
    return f"/track/{(await _issue(env, where)).tracking_code}{suffix}"


async def _compound_code(env, where, role):
    async with make_sessionmaker(env.engine)() as db:
        path = env.microgrid(where).path[:24]
        return f"/announcements/{(await db.execute(sa.select(GridNode.code).where(GridNode.path == path))).scalar_one()}"


ACCESS = {
    ("GET", "/issues"): entry("/issues", answers=STAFF_PAGE, why="everyone's ledger is their own part of it"),
    ("GET", "/issues/rates"): entry("/issues/rates", answers=STAFF_PAGE),
    ("GET", "/issues/export.xlsx"): entry("/issues/export.xlsx", answers=STAFF_PAGE, why="scoped like the ledger; audited"),
    ("GET", "/issues/new"): entry(lambda e, w, r: _s(f"/issues/new?node={e.microgrid(w).code}"), answers=IN_SCOPE),
    ("POST", "/issues"): entry("/issues", data=_new_issue_form,
                               answers=expect((303, 404), visitor=SIGNIN, admin=303, property=403)),
    ("GET", "/issues/{issue_id:str}"): entry(_issue_url, answers=expect((200, 404), visitor=SIGNIN, admin=200, property=404),
                                             why="property staff see only what is assigned to their company"),
    ("POST", "/issues/{issue_id:str}/events"): entry(
        lambda e, w, r: _issue_url(e, w, r, "/events"), data={"kind": "comment", "text": "矩阵测试"},
        answers=expect((303, 404), visitor=SIGNIN, admin=303, property=404)),
    ("POST", "/issues/{issue_id:str}/phone"): entry(
        lambda e, w, r: _issue_url(e, w, r, "/phone"), answers=expect((200, 404), visitor=SIGNIN, admin=403, property=403),
        why="only the people who phone residents back may see a whole number"),
    ("GET", "/meetings"): entry(lambda e, w, r: _community_url(e, w), answers=IN_SCOPE),
    ("POST", "/meetings"): entry("/meetings", data=_meeting_form, answers=MEETING_WRITE,
                                 why="the community Party secretary records the monthly meetings"),
    ("GET", "/meetings/{meeting_id:str}"): entry(lambda e, w, r: _meeting_url(e, w), answers=IN_SCOPE),
    ("GET", "/meetings/{meeting_id:str}/minutes"): entry(lambda e, w, r: _meeting_url(e, w, "/minutes"), answers=IN_SCOPE),
    ("POST", "/meetings/{meeting_id:str}/decisions"): entry(
        _decision_url, data=_decision_form, answers=expect(403, visitor=SIGNIN, community=(303, 404)),
        why="only the community Party secretary (or her named delegate) records the meetings' decisions"),
    ("GET", "/issue-categories"): entry("/issue-categories", answers=expect(403, visitor=SIGNIN, admin=200)),
    ("POST", "/issue-categories"): entry("/issue-categories", data={"name": "矩阵测试类别"},
                                         answers=expect(403, visitor=SIGNIN, admin=303)),
    # residents: no account
    ("GET", "/r/{code:str}"): entry(lambda e, w, r: _s(f"/r/{e.microgrid(w).code}"), answers=PUBLIC),
    ("POST", "/r/{code:str}"): entry(lambda e, w, r: _s(f"/r/{e.microgrid(w).code}"), data={"description": "x"},
                                     answers=expect(400), why="no signed form token: refused before anything is stored"),
    ("GET", "/r/{code:str}/qr.svg"): entry(lambda e, w, r: _s(f"/r/{e.microgrid(w).code}/qr.svg"), answers=PUBLIC,
                                           why="printed on the notice board"),
    ("GET", "/track"): entry("/track", answers=PUBLIC),
    ("GET", "/track/{code:str}"): entry(_tracking, answers=PUBLIC, why="the tracking code is the key"),
    ("POST", "/track/{code:str}/not-solved"): entry(lambda e, w, r: _tracking(e, w, r, "/not-solved"), answers=expect(303),
                                                    why="no feedback yet: nothing reopens, back to the page"),
    ("GET", "/announcements/{code:str}"): entry(_compound_code, answers=PUBLIC),
}


async def _s(value: str) -> str:
    return value


async def _community_url(env, where):
    return f"/meetings?community={(await _community(env, where)).code}"


async def _meeting_url(env, where, suffix=""):
    return f"/meetings/{await _meeting(env, where)}{suffix}"
