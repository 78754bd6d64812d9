"""Who may use the outbox API and the offline pages (merged into the access matrix)."""
from tests.accounts.access_matrix import PUBLIC, SIGNIN, entry, expect

SIGNED_IN_API = expect(200, visitor=SIGNIN)

ACCESS = {
    ("POST", "/api/sync"): entry("/api/sync", json={"records": []}, answers=SIGNED_IN_API,
                                 why="every signed-in person has an outbox; each record's type checks scope"),
    ("GET", "/api/sync"): entry("/api/sync", answers=SIGNED_IN_API),
    ("GET", "/api/offline-pages"): entry("/api/offline-pages", answers=SIGNED_IN_API),
    ("PUT", "/api/photos/{photo_id:uuid}"): entry(
        "/api/photos/00000000-0000-4000-8000-000000000000", answers=expect(400, visitor=SIGNIN),
        why="reaches the check for x-record-id; a photo needs a record of the sender's"),
    ("GET", "/photos/{photo_id:uuid}"): entry(
        "/photos/00000000-0000-4000-8000-000000000000", answers=expect(404, visitor=SIGNIN)),
    ("GET", "/sw.js"): entry("/sw.js", answers=PUBLIC),
    ("GET", "/manifest.webmanifest"): entry("/manifest.webmanifest", answers=PUBLIC),
    ("GET", "/offline"): entry("/offline", answers=PUBLIC, why="cached once by the service worker for everyone"),
    ("GET", "/outbox"): entry("/outbox", answers=PUBLIC, why="a shell: the records are in the phone, not the page"),
}
