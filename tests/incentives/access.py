"""Who may use the glimmer points pages (merged into the access matrix)."""
from server.incentives.rules import DEFAULT
from tests.accounts.access_matrix import SIGNED_IN_PAGE, SIGNIN, entry, expect

STAFF_PAGE = expect(403, visitor=SIGNIN, community=(200, 404), admin=200)


async def _leader(env, where, role, suffix=""):
    person_id = env.people.leader.id if where == "inside" else await env.new_person_in(env.outside)
    return f"/points/people/{person_id}{suffix}"


RULES_FORM = {**{k: str(v) for k, v in DEFAULT.points.items()}, **{k: str(v) for k, v in DEFAULT.caps.items()},
              **{k: str(v) for k, v in DEFAULT.weights.items()}, "note": "矩阵"}

ACCESS = {
    ("GET", "/points"): entry("/points", answers=SIGNED_IN_PAGE, why="everyone's own balance (0 for staff)"),
    ("GET", "/points/people/{person_id:int}"): entry(_leader, answers=STAFF_PAGE),
    ("POST", "/points/people/{person_id:int}/adjust"): entry(
        lambda e, w, r: _leader(e, w, r, "/adjust"), data={"direction": "award", "points": "1", "reason": "矩阵测试"},
        answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303)),
    ("GET", "/points/rankings"): entry("/points/rankings", answers=expect(200, visitor=SIGNIN, leader=403, property=403)),
    ("GET", "/points/rules"): entry("/points/rules", answers=SIGNED_IN_PAGE, why="everyone may read what work is worth"),
    ("POST", "/points/rules"): entry("/points/rules", data=RULES_FORM, answers=expect(403, visitor=SIGNIN, admin=303),
                                     why="only the street edits the rule table (a new version each time)"),
}


async def _grid(env, where, role, suffix=""):
    return f"/scorecards{suffix}?grid={env.microgrid(where).code}"


DASHBOARD_PAGE = expect((200, 404), visitor=SIGNIN, leader=403, property=403, admin=200)
EXPORT = expect(403, visitor=SIGNIN, community=(200, 404), admin=200)
ACCESS.update({
    ("GET", "/scorecards"): entry(_grid, answers=DASHBOARD_PAGE, why="the street and community offices (and compound staff)"),
    ("GET", "/scorecards/export.xlsx"): entry(lambda e, w, r: _grid(e, w, r, "/export.xlsx"), answers=EXPORT),
    ("GET", "/scorecards/points.xlsx"): entry(lambda e, w, r: _grid(e, w, r, "/points.xlsx"), answers=EXPORT),
})


async def _rating(env, where, role):
    from tests.issues.access import _tracking

    return await _tracking(env, where, role, "/rating")

ACCESS.update({
    ("GET", "/track/{code:str}/rating"): entry(_rating, answers=expect(200), why="the tracking code is the key"),
    ("POST", "/track/{code:str}/rating"): entry(_rating, data={"rating": "basic"}, answers=expect(303),
                                                why="once per problem, only after feedback: otherwise nothing is stored"),
})
