"""Who may use training sessions (merged into the access matrix).

"inside" sessions are for the leader's community, "outside" ones for another. The
street's office and a community's staff run sessions; the audience signs up, checks in
with the code and answers the quiz.
"""
from __future__ import annotations

import sqlalchemy as sa

from server.clock import utcnow
from server.db import make_sessionmaker
from server.grid.models import GridNode
from server.training.models import TrainingSession
from server.training.sessions import new_code
from tests.accounts.access_matrix import SIGNIN, entry, expect


async def _community(env, where) -> GridNode:
    async with make_sessionmaker(env.engine)() as db:
        path = env.microgrid(where).path[:16]
        return (await db.execute(sa.select(GridNode).where(GridNode.path == path))).scalar_one()


async def _session(env, where) -> TrainingSession:
    community = await _community(env, where)
    async with make_sessionmaker(env.engine)() as db:
        s = TrainingSession(owner_path=community.path, audience_path=community.path, topic="矩阵培训", trainer="讲师",
                            starts_at=utcnow(), place="服务站", checkin_code=new_code())
        db.add(s)
        await db.commit()
        return s


async def _url(env, where, role, suffix=""):
    return f"/training/sessions/{(await _session(env, where)).id}{suffix}"


async def _new_session(env, where, role):
    return {"topic": "矩阵新课", "trainer": "讲师", "day": "2031-03-01", "time": "14:30", "minutes": "60",
            "place": "服务站", "audience_role": "leader", "community": (await _community(env, where)).code}


async def _code(env, where, role):
    return {"code": (await _session(env, where)).checkin_code}


ACCESS = {
    ("GET", "/training/sessions"): entry("/training/sessions", answers=expect(200, visitor=SIGNIN, property=403)),
    ("POST", "/training/sessions"): entry(
        "/training/sessions", data=_new_session,
        answers=expect(403, visitor=SIGNIN, community=(303, 422), admin=303),
        why="the street plans for anyone; community staff for their own community (another's code: a form error)"),
    ("GET", "/training/sessions/{session_id:int}"): entry(
        _url, answers=expect((200, 404), visitor=SIGNIN, property=403, admin=200),
        why="the audience (the community's people) and who runs it"),
    ("POST", "/training/sessions/{session_id:int}/signup"): entry(
        lambda e, w, r: _url(e, w, r, "/signup"),
        answers=expect((303, 404), visitor=SIGNIN, property=403, admin=403),
        why="the street's office runs sessions but is not a community's audience"),
    ("GET", "/training/checkin"): entry("/training/checkin", answers=expect(200, visitor=SIGNIN, property=403)),
    ("POST", "/training/checkin"): entry(
        "/training/checkin", data=_code, answers=expect((303, 422), visitor=SIGNIN, property=403, admin=422),
        why="the code is the key: outside one's community it is refused with a reason, no record"),
    ("POST", "/training/sessions/{session_id:int}/questions"): entry(
        lambda e, w, r: _url(e, w, r, "/questions"),
        data={"text": "矩阵题", "option_0": "对", "option_1": "错", "answer": "0"},
        answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303)),
    ("POST", "/training/sessions/{session_id:int}/quiz"): entry(
        lambda e, w, r: _url(e, w, r, "/quiz"), data={},
        answers=expect((422, 404), visitor=SIGNIN, property=403, admin=422),
        why="the quiz follows a check-in (none here)"),
}
