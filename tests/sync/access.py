"""Who may use the outbox API and the offline pages (merged into the access matrix)."""
import hashlib
import io
import uuid

from PIL import Image

from server.db import make_sessionmaker
from server.sync.models import Photo, SyncReceipt
from tests.accounts.access_matrix import PUBLIC, SIGNIN, entry, expect


async def _photo_url(env, where, role) -> str:
    """A real photo of a record filed in the micro-grid (inside: the leader's; outside: another community's),
    owned by somebody none of the matrix's people are."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "JPEG")
    body = buffer.getvalue()
    owner = env.people.other_secretary if where == "inside" else env.people.neighbour
    async with make_sessionmaker(env.engine)() as db:
        record_id, photo_id = uuid.uuid4(), uuid.uuid4()
        db.add(SyncReceipt(id=record_id, type="visit", person_id=owner.id, content_hash="0" * 64,
                           grid_path=env.microgrid(where).path))
        await db.flush()
        db.add(Photo(id=photo_id, record_id=record_id, person_id=owner.id, content_type="image/jpeg", width=8,
                     height=8, size=len(body), sha256=hashlib.sha256(body).hexdigest(), data=body))
        await db.commit()
    return f"/photos/{photo_id}"

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
        _photo_url, answers=expect((200, 404), visitor=SIGNIN, admin=200, property=404),
        why="a photo is seen where its record sits in the grid (and by whoever took it)"),
    ("GET", "/sw.js"): entry("/sw.js", answers=PUBLIC),
    ("GET", "/manifest.webmanifest"): entry("/manifest.webmanifest", answers=PUBLIC),
    ("GET", "/offline"): entry("/offline", answers=PUBLIC, why="cached once by the service worker for everyone"),
    ("GET", "/outbox"): entry("/outbox", answers=PUBLIC, why="a shell: the records are in the phone, not the page"),
}
