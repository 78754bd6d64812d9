"""Who may use recruitment and the helpers register (merged into the access matrix).

"inside" is the leader's community, "outside" another. The public page is for everyone;
the review and the register are the community's staff's and the street's.
"""
from __future__ import annotations

import sqlalchemy as sa

from server.db import make_sessionmaker
from server.grid.models import GridNode
from server.recruit.models import Helper, HelperKind, Nomination
from tests.accounts.access_matrix import SIGNIN, entry, expect

STAFF_ONLY = expect(403, visitor=SIGNIN, community=(200, 404), admin=200)


async def _community(env, where) -> GridNode:
    async with make_sessionmaker(env.engine)() as db:
        path = env.microgrid(where).path[:16]
        return (await db.execute(sa.select(GridNode).where(GridNode.path == path))).scalar_one()


async def _join(env, where, role):
    return f"/join/{(await _community(env, where)).code}"


async def _nomination(env, where, role, suffix=""):
    community = await _community(env, where)
    async with make_sessionmaker(env.engine)() as db:
        n = Nomination(community_id=community.id, community_path=community.path, way="self", position="helper",
                       helper_kind="volunteer", name="矩阵自荐", phone="10012345678", reason="有空")
        db.add(n)
        await db.commit()
        return f"/recruitment/{n.id}{suffix}"


async def _helper(env, where, role, suffix=""):
    mg = env.microgrid(where)
    async with make_sessionmaker(env.engine)() as db:
        h = Helper(grid_id=mg.id, grid_path=mg.path, kind=HelperKind.volunteer, name="矩阵志愿者", phone="10012345678")
        db.add(h)
        await db.commit()
        return f"/helpers/{h.id}{suffix}"


async def _helpers_list(env, where, role):
    return f"/helpers?community={(await _community(env, where)).code}"


async def _new_helper(env, where, role):
    return {"community": (await _community(env, where)).code, "grid": env.microgrid(where).code,
            "kind": "volunteer", "name": "新志愿者", "phone": ""}


async def _helper_edit(env, where, role):
    return {"grid": env.microgrid(where).code, "kind": "building_leader", "name": "矩阵楼栋长", "phone": ""}


ACCESS = {
    ("GET", "/join/{code:str}"): entry(_join, answers=expect(200), why="the public page, no account (推荐、自荐)"),
    ("POST", "/join/{code:str}"): entry(
        _join, data={"name": "x"}, answers=expect(400),
        why="public; a form without the signed fill-in time is refused like the report page's"),
    ("GET", "/recruitment"): entry("/recruitment", answers=expect(403, visitor=SIGNIN, community=200, admin=200),
                                   why="the community's staff and the street review nominations"),
    ("GET", "/recruitment/{nomination_id:int}"): entry(_nomination, answers=STAFF_ONLY,
                                                        why="a community sees only its own nominations"),
    ("POST", "/recruitment/{nomination_id:int}/phone"): entry(
        lambda e, w, r: _nomination(e, w, r, "/phone"), answers=STAFF_ONLY, why="an audited reveal"),
    ("POST", "/recruitment/{nomination_id:int}/notes"): entry(
        lambda e, w, r: _nomination(e, w, r, "/notes"), data={"interview_notes": "电话聊过"},
        answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303)),
    ("POST", "/recruitment/{nomination_id:int}/decision"): entry(
        lambda e, w, r: _nomination(e, w, r, "/decision"), data={"decision": "decline", "reason": "人手已够"},
        answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303)),
    ("GET", "/helpers"): entry(_helpers_list, answers=STAFF_ONLY, why="the register is the community's to keep"),
    ("POST", "/helpers"): entry("/helpers", data=_new_helper,
                                answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303)),
    ("GET", "/helpers/{helper_id:int}"): entry(_helper, answers=STAFF_ONLY),
    ("POST", "/helpers/{helper_id:int}"): entry(
        _helper, data=_helper_edit, answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303)),
    ("POST", "/helpers/{helper_id:int}/retire"): entry(
        lambda e, w, r: _helper(e, w, r, "/retire"),
        answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303)),
}
