"""Notice boards in the access matrix."""
from tests.accounts.access_matrix import SIGNIN, entry, expect


async def _board(env, where, role, suffix=""):
    return f"/boards/{env.microgrid(where).code}{suffix}"


ACCESS = {
    ("GET", "/boards/{name:str}"): entry(
        lambda e, w, r: _board(e, w, r, ".pdf"), answers=expect((200, 404), visitor=SIGNIN, leader=403, admin=200, property=403),
        why="the print file: staff within scope (the preview page is the same route without .pdf)"),
    ("GET", "/me/board"): entry("/me/board/", answers=expect(403, visitor=SIGNIN, leader=200)),
    ("POST", "/me/board"): entry("/me/board/", data={}, answers=expect(403, visitor=SIGNIN, leader=303)),
}

ACCESS[("GET", "/boards/{code:str}/chart.svg")] = entry(
    lambda e, w, r: _board(e, w, r, "/chart.svg"),
    answers=expect((200, 404), visitor=SIGNIN, leader=403, admin=200, property=403), why="printed by staff")


async def _compound(env, where, role, suffix=""):
    """The compound holding the matrix's micro-grid (inside) or the outside one."""
    import sqlalchemy as sa

    from server.db import make_sessionmaker
    from server.grid.models import GridNode

    async with make_sessionmaker(env.engine)() as db:
        code = (await db.execute(sa.select(GridNode.code).where(GridNode.path == env.microgrid(where).path[:24]))).scalar_one()
    return f"/boards/{code}{suffix}"


PLAN_STAFF = expect((200, 404), visitor=SIGNIN, leader=403, admin=200, property=403)
ACCESS.update({
    ("GET", "/boards/{code:str}/plan"): entry(lambda e, w, r: _compound(e, w, r, "/plan"), answers=PLAN_STAFF,
                                               why="平面图: staff who print the boards, within scope"),
    ("POST", "/boards/{code:str}/plan"): entry(
        lambda e, w, r: _compound(e, w, r, "/plan"), data={},
        answers=expect((422, 404), visitor=SIGNIN, leader=403, admin=422, property=403),
        why="reaches the form's check (no positions given)"),
    ("GET", "/boards/{code:str}/plan.svg"): entry(lambda e, w, r: _compound(e, w, r, "/plan.svg"), answers=PLAN_STAFF),
    ("GET", "/boards/{code:str}/plan.pdf"): entry(lambda e, w, r: _compound(e, w, r, "/plan.pdf"), answers=PLAN_STAFF,
                                                   why="a print file: audited"),
})
