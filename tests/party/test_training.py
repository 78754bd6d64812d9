"""The training materials library: who reads and adds what, and every material kept on the phone."""
from __future__ import annotations

import sqlalchemy as sa

from server.training.models import TrainingMaterial


async def test_staff_add_a_material_leaders_read_it_and_it_is_kept_on_the_phone(db, people, signed_in_as, csrf_headers):
    leader = await signed_in_as(people.leader)
    assert (await leader.post("/training/materials", headers=await csrf_headers(leader),
                              data={"kind": "policy", "title": "x", "body": "y"})).status_code == 403
    secretary = await signed_in_as(people.secretary)
    bad = await secretary.post("/training/materials", headers=await csrf_headers(secretary),
                               data={"kind": "policy", "title": "", "body": "留守儿童关爱政策正文"})
    assert bad.status_code == 422 and "请填写此项" in bad.text and "留守儿童关爱政策正文" in bad.text
    saved = await secretary.post("/training/materials", headers=await csrf_headers(secretary), follow_redirects=False,
                                 data={"kind": "policy", "title": "留守儿童关爱政策", "summary": "社区关爱",
                                       "body": "一、对象：父母均外出务工的未成年人。"})
    assert saved.status_code == 303
    material = (await db.execute(sa.select(TrainingMaterial).where(TrainingMaterial.title == "留守儿童关爱政策"))).scalar_one()
    assert material.owner_path == people.community.path
    leader = await signed_in_as(people.leader)
    page = await leader.get("/training/materials")
    assert "留守儿童关爱政策" in page.text and "高龄津贴申领指南" in page.text
    # The text is in the list for searching offline.
    assert "父母均外出务工的未成年人" in page.text
    assert "一、对象：父母均外出务工的未成年人。" in (await leader.get(f"/training/materials/{material.id}")).text
    kept = (await leader.get("/api/offline-pages")).json()["urls"]
    assert "/training/materials" in kept and f"/training/materials/{material.id}" in kept
    # Another community's leaders do not see it.
    other = await signed_in_as(people.other_secretary)
    assert (await other.get(f"/training/materials/{material.id}")).status_code == 404
    assert "留守儿童关爱政策" not in (await other.get("/training/materials")).text


async def test_the_me_page_leads_to_the_station_and_the_materials(people, signed_in_as):
    leader = await signed_in_as(people.leader)
    page = (await leader.get("/me")).text
    assert 'href="/party"' in page and 'href="/training/materials"' in page and "值班签到" in page
    staff = await signed_in_as(people.property_staff)
    assert 'href="/party"' not in (await staff.get("/me")).text
