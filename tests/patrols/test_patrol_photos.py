"""A patrol's photos: six for each answer, through the one photo pipeline (server/photos.py)."""
from __future__ import annotations

import uuid

from tests.patrols.conftest import patrol_record
from tests.sync.helpers import post_sync
from tests.sync.test_photos import jpeg, put_photo


async def test_it_lets_a_patrol_carry_six_photos_for_each_answer(db, people, signed_in_as, compound, checklist):
    client = await signed_in_as(people.leader)
    version_id, items = checklist
    rec = patrol_record(compound, version_id, items)
    assert (await post_sync(client, [rec])).json()["results"][0]["status"] == "created"
    statuses = [(await put_photo(client, str(uuid.uuid4()), rec["id"], jpeg(300 + i, 200))).status_code for i in range(8)]
    assert statuses == [201] * 8


async def test_it_takes_a_photo_with_the_form_posted_without_javascript(db, people, signed_in_as, compound, checklist):
    import sqlalchemy as sa

    from server.patrols.models import PatrolAnswer
    from server.sync.models import Photo
    from tests.conftest import csrf_headers
    from tests.sync.test_photo_limits import has_gps, jpeg_with_gps

    version_id, items = checklist
    client = await signed_in_as(people.leader)
    record_id = str(uuid.uuid4())
    form = {"id": record_id, "compound_id": str(compound.id), "template_version_id": str(version_id)}
    form.update({f"result-{item.id}": "pass" for item in items})
    form[f"result-{items[0].id}"] = "fail"
    form[f"handling-{items[0].id}"] = "fixed"
    files = [(f"photo-{items[0].id}", ("stairs.jpg", jpeg_with_gps(3000, 2000), "image/jpeg"))]
    response = await client.post(f"/patrols/compounds/{compound.code}", data=form, files=files,
                                 headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == 303, response.text
    photo = (await db.execute(sa.select(Photo).where(Photo.record_id == uuid.UUID(record_id)))).scalar_one()
    assert (photo.width, photo.height) == (1600, 1067) and not has_gps(photo.data)
    answer = (await db.execute(sa.select(PatrolAnswer).where(PatrolAnswer.patrol_id == record_id,
                                                             PatrolAnswer.item_id == items[0].id))).scalar_one()
    assert answer.photo_ids == [str(photo.id)]


async def test_it_refuses_an_image_bomb_on_the_patrol_form_and_keeps_the_answers(db, people, signed_in_as, compound, checklist):
    from tests.conftest import csrf_headers
    from tests.sync.test_photo_limits import bomb_png

    version_id, items = checklist
    client = await signed_in_as(people.leader)
    form = {"compound_id": str(compound.id), "template_version_id": str(version_id), "notes": "二号楼巡查"}
    form.update({f"result-{item.id}": "pass" for item in items})
    files = [(f"photo-{items[1].id}", ("bomb.png", bomb_png(20000), "image/png"))]
    response = await client.post(f"/patrols/compounds/{compound.code}", data=form, files=files,
                                 headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == 413
    assert "4000万像素" in response.text and "二号楼巡查" in response.text
