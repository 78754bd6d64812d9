"""Photos on the ledger's forms posted without JavaScript: the same pipeline as the outbox's
upload (server/photos.py), shrunk here from a camera's own file."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from server.sync.models import Photo
from tests.conftest import csrf_headers
from tests.sync.test_photo_limits import bomb_png, has_gps, jpeg_with_gps, peak_memory_mb, png, webp
from tests.sync.test_photos import jpeg


# ---------------------------------------------------------------- forms posted without JavaScript


async def _report(client, people, category, files, description="墙皮脱落"):
    headers = await csrf_headers(client)
    return await client.post("/issues", data={"node_id": str(people.microgrid.id), "category_id": str(category.id),
                                              "description": description},
                             files=files, headers=headers, follow_redirects=False)


async def _photos_of(db, location: str) -> list[Photo]:
    record_id = uuid.UUID(location.split("/")[2].split("?")[0])
    db.expire_all()
    return list((await db.execute(sa.select(Photo).where(Photo.record_id == record_id))).scalars())


@pytest.mark.parametrize("side", [13000, 20000])
async def test_it_refuses_an_image_bomb_on_the_report_form(side, db, people, signed_in_as, category):
    client = await signed_in_as(people.leader)
    category_id = category.id
    before = peak_memory_mb()
    response = await client.post("/issues", data={"node_id": str(people.microgrid.id), "category_id": str(category_id),
                                                  "description": "楼道墙皮脱落"},
                                 files=[("photos", ("bomb.png", bomb_png(side), "image/png"))],
                                 headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == 413
    assert "照片" in response.text and "4000万像素" in response.text
    assert "楼道墙皮脱落" in response.text  # the text typed is kept
    assert peak_memory_mb() - before < 100


async def test_it_refuses_an_image_bomb_on_a_rectification(db, people, signed_in_as, new_problem, as_viewer):
    from server.issues import service
    from tests.issues.conftest import in_days

    leader = await signed_in_as(people.leader)
    issue_id = (await new_problem()).id
    await service.record_event(db, await as_viewer(people.secretary), issue_id, "assign",
                               {"department": "社区居委会", "deadline": in_days(3)})
    await db.commit()
    response = await leader.post(f"/issues/{issue_id}/events", data={"kind": "rectify", "note": "已修好"},
                                 files=[("photos", ("bomb.png", bomb_png(20000), "image/png"))],
                                 headers=await csrf_headers(leader), follow_redirects=False)
    assert response.status_code == 413
    assert "4000万像素" in response.text
    db.expire_all()
    events = (await db.execute(sa.text("select count(*) from issue_event where issue_id = :i and kind = 'rectify'"),
                               {"i": issue_id})).scalar_one()
    assert events == 0


async def test_it_strips_gps_from_a_form_photo_and_takes_png_and_webp(db, people, signed_in_as, category):
    client = await signed_in_as(people.leader)
    files = [("photos", ("a.jpg", jpeg_with_gps(4000, 3000), "image/jpeg")), ("photos", ("b.png", png(alpha=True), "image/png")),
             ("photos", ("c.webp", webp(), "image/webp"))]
    response = await _report(client, people, category, files)
    assert response.status_code == 303, response.text
    stored = await _photos_of(db, response.headers["location"])
    assert len(stored) == 3
    assert not any(has_gps(p.data) for p in stored)
    assert sorted((p.width, p.height) for p in stored) == [(640, 480), (640, 480), (1600, 1200)]
    assert all(p.size <= 300 * 1024 and p.content_type == "image/jpeg" for p in stored)


async def test_it_refuses_seven_photos_on_the_report_form(db, people, signed_in_as, category):
    client = await signed_in_as(people.leader)
    files = [("photos", (f"{i}.jpg", jpeg(200 + i, 200), "image/jpeg")) for i in range(7)]
    response = await _report(client, people, category, files, description="七张照片")
    assert response.status_code == 413
    assert "最多" in response.text and "6" in response.text
    six = await _report(client, people, category, files[:6], description="六张照片")
    assert six.status_code == 303
    assert len(await _photos_of(db, six.headers["location"])) == 6


async def test_it_says_plainly_when_a_form_photo_is_not_a_photo(db, people, signed_in_as, category):
    client = await signed_in_as(people.leader)
    response = await _report(client, people, category, [("photos", ("x.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"))])
    assert response.status_code == 415
    assert "JPEG" in response.text and "不是照片" in response.text
