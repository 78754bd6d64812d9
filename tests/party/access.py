"""Who may use the Party organisation and station pages (merged into the access matrix).

"inside" is the leader's community, "outside" another. `community` in the matrix is the
demo's 社区党委书记 of the inside community, so she names delegates there.
"""
from __future__ import annotations

import sqlalchemy as sa

from server.db import make_sessionmaker
from server.grid.models import GridNode
from tests.accounts.access_matrix import SIGNIN, entry, expect


async def _community_code(env, where) -> str:
    async with make_sessionmaker(env.engine)() as db:
        path = env.microgrid(where).path[:16]
        return (await db.execute(sa.select(GridNode.code).where(GridNode.path == path))).scalar_one()


async def _page(env, where, role):
    return f"/party?community={await _community_code(env, where)}"


async def _delegate(env, where, role):
    return f"/party/{await _community_code(env, where)}/delegate"


async def _station(env, where, role):
    return f"/party/{await _community_code(env, where)}/station"


ACCESS = {
    ("GET", "/party"): entry(_page, answers=expect((200, 404), visitor=SIGNIN, admin=200, property=403),
                             why="everyone who works in a community sees its Party organisation and station"),
    ("POST", "/party/{code:str}/delegate"): entry(
        _delegate, data={"person_id": ""}, answers=expect(403, visitor=SIGNIN, community=(303, 404)),
        why="only the community Party secretary names her delegate"),
    ("POST", "/party/{code:str}/station"): entry(
        _station, data={"name": "矩阵服务站", "address": "东街1号", "phone": "028-88220000"},
        answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303),
        why="the community's staff and the street keep the station's address and phone"),
}
