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
