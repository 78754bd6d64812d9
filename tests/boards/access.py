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
