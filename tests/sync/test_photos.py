import io
import uuid

from PIL import Image

from tests.conftest import csrf_headers, sign_in
from tests.sync.helpers import households_of, post_sync, visit


def jpeg(width=800, height=600, quality=80, noise=False) -> bytes:
    image = Image.new("RGB", (width, height), (183, 49, 44))
    if noise:
        image = Image.effect_noise((width, height), 120).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


async def stored_visit(db, people, client) -> str:
    household = (await households_of(db, people.microgrid))[0]
    rec = visit(household.id)
    assert (await post_sync(client, [rec])).json()["results"][0]["status"] == "created"
    return rec["id"]


async def put_photo(client, photo_id, record_id, body, content_type="image/jpeg"):
    headers = {**await csrf_headers(client), "x-record-id": record_id, "content-type": content_type}
    return await client.put(f"/api/photos/{photo_id}", content=body, headers=headers)


async def test_it_stores_a_photo_once_and_answers_a_replay_as_duplicate(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    record_id = await stored_visit(db, people, client)
    photo_id, body = str(uuid.uuid4()), jpeg()
    first = await put_photo(client, photo_id, record_id, body)
    again = await put_photo(client, photo_id, record_id, body)
    assert (first.status_code, first.json()["status"]) == (201, "created")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    shown = await client.get(f"/photos/{photo_id}")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    # Stored re-encoded (no metadata: tests/sync/test_photo_limits.py), the same pixels' size.
    assert Image.open(io.BytesIO(shown.content)).size == (800, 600)


async def test_it_lets_community_staff_see_the_photo_but_not_another_community(db, people, signed_in_as, client, engine):
    await signed_in_as(people.leader)
    record_id = await stored_visit(db, people, client)
    photo_id = str(uuid.uuid4())
    await put_photo(client, photo_id, record_id, jpeg())
    await sign_in(client, engine, people.secretary)
    assert (await client.get(f"/photos/{photo_id}")).status_code == 200
    await sign_in(client, engine, people.other_secretary)
    assert (await client.get(f"/photos/{photo_id}")).status_code == 404


async def test_it_answers_conflict_for_other_bytes_under_the_same_photo_id(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    record_id = await stored_visit(db, people, client)
    photo_id = str(uuid.uuid4())
    await put_photo(client, photo_id, record_id, jpeg())
    assert (await put_photo(client, photo_id, record_id, jpeg(700, 500))).status_code == 409


async def test_it_refuses_a_photo_before_its_record(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    assert (await put_photo(client, str(uuid.uuid4()), str(uuid.uuid4()), jpeg())).status_code == 404


async def test_it_refuses_a_photo_for_someone_elses_record(db, people, signed_in_as, client, engine):
    await signed_in_as(people.leader)
    record_id = await stored_visit(db, people, client)
    await sign_in(client, engine, people.secretary)
    assert (await put_photo(client, str(uuid.uuid4()), record_id, jpeg())).status_code == 404


async def test_it_checks_type_size_and_dimensions(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    record_id = await stored_visit(db, people, client)
    not_image = await put_photo(client, str(uuid.uuid4()), record_id, b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    too_wide = await put_photo(client, str(uuid.uuid4()), record_id, jpeg(1700, 400))
    too_big = await put_photo(client, str(uuid.uuid4()), record_id, jpeg(1600, 1200, quality=95, noise=True))
    assert not_image.status_code == 415
    assert too_wide.status_code == 413 and "1600" in too_wide.json()["detail"]
    assert too_big.status_code == 413


async def test_it_shows_a_visits_photos_on_the_household(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    rec = visit(household.id, note="带照片")
    await post_sync(client, [rec])
    photo_id = str(uuid.uuid4())
    await put_photo(client, photo_id, rec["id"], jpeg())
    html = (await client.get(f"/households/{household.id}/visits", headers={"hx-request": "true"})).text
    assert f'src="/photos/{photo_id}"' in html
