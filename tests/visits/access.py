"""Who may use the door-to-door pages (merged into the access matrix)."""
from tests.accounts.access_matrix import GRID_PAGE, SIGNIN, entry, expect

GRID_PEOPLE_PAGE = expect(200, visitor=SIGNIN, property=403)


async def _household(env, where, role, suffix=""):
    return f"/households/{await env.household_id(where)}{suffix}"


async def _hazard(env, where, role):
    return {"hazard": "电动车楼道充电", "place": "2栋", "microgrid_id": str(env.microgrid(where).id)}


async def _new_work(env, where, role):
    return f"/worklog/new/errand?household={await env.household_id(where)}"


ACCESS = {
    ("GET", "/worklist"): entry("/worklist", answers=GRID_PEOPLE_PAGE, why="empty for staff who lead no micro-grid"),
    ("GET", "/worklog"): entry("/worklog", answers=GRID_PEOPLE_PAGE),
    ("GET", "/worklog/leaders"): entry("/worklog/leaders", answers=expect(200, visitor=SIGNIN, leader=403, property=403)),
    ("GET", "/worklog/new/{kind:str}"): entry(_new_work, answers=GRID_PAGE),
    ("POST", "/worklog/{kind:str}"): entry(
        "/worklog/hazard_check", data=_hazard, answers=expect((303, 422), visitor=SIGNIN, admin=303, property=403),
        why="a micro-grid outside the viewer's part is a rejected field, as in the sync API"),
    ("GET", "/households/{household_id:int}/visits"): entry(lambda e, w, r: _household(e, w, r, "/visits"), answers=GRID_PAGE),
    ("GET", "/households/{household_id:int}/visits/new"): entry(lambda e, w, r: _household(e, w, r, "/visits/new"), answers=GRID_PAGE),
    ("POST", "/households/{household_id:int}/visits"): entry(
        lambda e, w, r: _household(e, w, r, "/visits"), data={"kind": "routine"},
        answers=expect((303, 404), visitor=SIGNIN, admin=303, property=403)),
}
