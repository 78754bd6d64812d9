"""The outbox's administration, the provider's webhook and the resident's opt-out page."""
import uuid

from tests.accounts.access_matrix import PUBLIC, SIGNIN, entry, expect

ACCESS = {
    ("GET", "/admin/notifications"): entry("/admin/notifications/", answers=expect(403, visitor=SIGNIN, admin=200),
                                           why="failures are the street administrator's to see"),
    ("POST", "/admin/notifications/{notification_id:uuid}/retry"): entry(
        f"/admin/notifications/{uuid.UUID(int=0)}/retry", answers=expect(403, visitor=SIGNIN, admin=303)),
    ("POST", "/notify/inbound"): entry("/notify/inbound/?token=x", json={}, answers=expect(403),
                                       why="the provider's token, never a session"),
    ("GET", "/unsubscribe"): entry("/unsubscribe/", answers=PUBLIC),
    ("POST", "/unsubscribe"): entry("/unsubscribe/", data={"phone": "x"}, answers=expect(422),
                                    why="a resident without an account"),
}

ACCESS.update({
    ("GET", "/api/push/key"): entry("/api/push/key", answers=expect(200, visitor=SIGNIN)),
    ("POST", "/api/push/subscriptions"): entry("/api/push/subscriptions", json={}, answers=expect(400, visitor=SIGNIN),
                                               why="each person subscribes their own phones"),
    ("GET", "/me/notifications"): entry("/me/notifications/", answers=expect(200, visitor=SIGNIN)),
    ("POST", "/me/notifications"): entry("/me/notifications/", data={"kind": "assigned"}, answers=expect(303, visitor=SIGNIN)),
})


async def _broadcast(env, where, role, suffix=""):
    """A fresh waiting broadcast (each call: an approval moves it) to the micro-grid, by someone else."""
    from server.db import make_sessionmaker
    from server.notify.models import Broadcast

    node = env.microgrid(where)
    async with make_sessionmaker(env.engine)() as db:
        broadcast = Broadcast(node_id=node.id, node_path=node.path, text="宣传", created_by=env.people.neighbour.id)
        db.add(broadcast)
        await db.commit()
    return f"/broadcasts/{broadcast.id}{suffix}"


BROADCAST_STAFF = expect(403, visitor=SIGNIN, community=200, admin=200)
ACCESS.update({
    ("GET", "/broadcasts"): entry("/broadcasts/", answers=BROADCAST_STAFF, why="宣传短信: community staff and the street"),
    ("GET", "/broadcasts/new"): entry("/broadcasts/new", answers=BROADCAST_STAFF),
    ("POST", "/broadcasts"): entry("/broadcasts/", data={"grid": "x", "text": ""},
                                   answers=expect(403, visitor=SIGNIN, community=422, admin=422),
                                   why="reaches the form's check (a place outside the viewer's is not in the list)"),
    ("GET", "/broadcasts/{broadcast_id:uuid}"): entry(
        _broadcast, answers=expect(403, visitor=SIGNIN, community=(200, 404), admin=200)),
    ("POST", "/broadcasts/{broadcast_id:uuid}/approve"): entry(
        lambda e, w, r: _broadcast(e, w, r, "/approve"), answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303),
        why="the community's Party secretary (the matrix's community person) or the street"),
    ("POST", "/broadcasts/{broadcast_id:uuid}/reject"): entry(
        lambda e, w, r: _broadcast(e, w, r, "/reject"), data={"reason": ""},
        answers=expect(403, visitor=SIGNIN, community=(422, 404), admin=422), why="a rejection needs its reason"),
})
