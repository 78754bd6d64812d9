"""Who may use the door-to-door pages (merged into the access matrix)."""
from tests.accounts.access_matrix import GRID_PAGE, SIGNIN, entry, expect

GRID_PEOPLE_PAGE = expect(200, visitor=SIGNIN, property=403)


async def _household(env, where, role, suffix=""):
    return f"/households/{await env.household_id(where)}{suffix}"


async def _hazard(env, where, role):
    return {"hazard": "电动车楼道充电", "place": "2栋", "microgrid_id": str(env.microgrid(where).id)}


async def _new_work(env, where, role):
    return f"/worklog/new/errand?household={await env.household_id(where)}"


async def _work_entry(env, where, role, suffix="", kind="hazard_check"):
    """A fresh work-log record in the cast's micro-grid (inside) or another community's (outside)."""
    import uuid
    from datetime import datetime, timezone

    from server.db import make_sessionmaker
    from server.visits.models import WorkLogEntry

    node = env.microgrid(where)
    async with make_sessionmaker(env.engine)() as db:
        entry = WorkLogEntry(id=uuid.uuid4(), kind=kind, person_id=env.people.leader.id, microgrid_id=node.id,
                             grid_path=node.path, hazard="矩阵隐患", place="1栋", fixed=False, service="other",
                             errand_status="accepted" if kind == "errand" else "", done_at=datetime.now(timezone.utc))
        db.add(entry)
        await db.commit()
    return f"/worklog/entries/{entry.id}{suffix}"


WORK_ENTRY_POST = expect((303, 404), visitor=SIGNIN, admin=303, property=403)

ACCESS = {
    ("GET", "/worklog/entries/{entry_id:uuid}"): entry(_work_entry, answers=GRID_PAGE),
    ("POST", "/worklog/entries/{entry_id:uuid}/problem"): entry(
        lambda e, w, r: _work_entry(e, w, r, "/problem"), data={}, answers=WORK_ENTRY_POST,
        why="事事有着落: anyone of the grid over the record puts it on the ledger"),
    ("POST", "/worklog/entries/{entry_id:uuid}/steps"): entry(
        lambda e, w, r: _work_entry(e, w, r, "/steps", kind="errand"), data={"kind": "start"}, answers=WORK_ENTRY_POST),
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
