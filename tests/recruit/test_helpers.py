"""The helpers register (挖掘潜在人群): kept per grid by the community's staff, audited, phones
masked in the list, drawn on by the joint-patrol participant picker."""
from __future__ import annotations

import uuid

import sqlalchemy as sa

from server.accounts.models import AuditEntry
from server.grid.models import GridNode
from server.patrols import queries as patrol_queries
from server.patrols.models import Patrol
from server.recruit.models import Helper


async def _community(db, node) -> GridNode:
    return (await db.execute(sa.select(GridNode).where(GridNode.path == node.path[:16]))).scalar_one()


async def test_staff_add_edit_and_retire_a_helper_and_each_is_audited(db, people, signed_in_as, csrf_headers):
    community = await _community(db, people.microgrid)
    secretary = await signed_in_as(people.secretary)
    bad = await secretary.post("/helpers", headers=await csrf_headers(secretary),
                               data={"community": community.code, "grid": people.microgrid.code, "kind": "volunteer",
                                     "name": "褚志愿", "phone": "12"})
    assert bad.status_code == 422 and "不是电话号码" in bad.text and "褚志愿" in bad.text
    added = await secretary.post("/helpers", headers=await csrf_headers(secretary), follow_redirects=False,
                                 data={"community": community.code, "grid": people.microgrid.code, "kind": "volunteer",
                                       "name": "褚志愿", "phone": "13500001111", "note": "周末有空"})
    assert added.status_code == 303
    helper = (await db.execute(sa.select(Helper).where(Helper.name == "褚志愿"))).scalar_one()
    assert (helper.grid_path, helper.kind, helper.phone) == (people.microgrid.path, "volunteer", "13500001111")
    listed = (await secretary.get(f"/helpers?community={community.code}")).text
    assert "褚志愿" in listed and "135****1111" in listed and "13500001111" not in listed
    edited = await secretary.post(f"/helpers/{helper.id}", headers=await csrf_headers(secretary), follow_redirects=False,
                                  data={"grid": people.microgrid.code, "kind": "building_leader", "name": "褚志愿",
                                        "phone": "13500001111", "note": "3栋楼栋长"})
    assert edited.status_code == 303
    retired = await secretary.post(f"/helpers/{helper.id}/retire", headers=await csrf_headers(secretary),
                                   follow_redirects=False)
    assert retired.status_code == 303
    await db.refresh(helper)
    assert helper.kind == "building_leader" and helper.retired_at is not None
    assert "褚志愿" not in (await secretary.get(f"/helpers?community={community.code}")).text
    actions = [a for a, in (await db.execute(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == "helper", AuditEntry.object_id == str(helper.id)).order_by(AuditEntry.id)))]
    assert actions == ["helper_add", "helper_edit", "helper_retire"]


async def test_another_community_neither_sees_nor_edits_the_register(db, people, signed_in_as, csrf_headers):
    helper = Helper(grid_id=people.microgrid.id, grid_path=people.microgrid.path, kind="volunteer", name="卫外人",
                    phone="13500002222")
    db.add(helper)
    await db.commit()
    other = await signed_in_as(people.other_secretary)
    assert (await other.get(f"/helpers/{helper.id}")).status_code == 404
    assert (await other.post(f"/helpers/{helper.id}/retire", headers=await csrf_headers(other))).status_code == 404
    assert "卫外人" not in (await other.get("/helpers")).text
    leader = await signed_in_as(people.leader)
    assert (await leader.get("/helpers")).status_code == 403


async def test_the_patrol_picker_offers_the_compounds_helpers(db, people, signed_in_as, csrf_headers):
    compound = (await db.execute(sa.select(GridNode).where(GridNode.path == people.microgrid.path[:24]))).scalar_one()
    helper = Helper(grid_id=people.microgrid.id, grid_path=people.microgrid.path, kind="resident_group_leader",
                    name="蒋组长", phone="")
    elsewhere = Helper(grid_id=people.other_community.id, grid_path=people.other_community.path, kind="volunteer",
                       name="沈远方", phone="")
    db.add_all([helper, elsewhere])
    await db.commit()
    leader = await signed_in_as(people.leader)
    page = (await leader.get(f"/patrols/compounds/{compound.code}/new")).text
    assert "蒋组长" in page and 'name="helper" value="%d"' % helper.id in page and "沈远方" not in page
    template = await patrol_queries.template_for(db, compound.path)
    items = await patrol_queries.version_items(db, template.current_version_id)
    record_id = str(uuid.uuid4())
    form = {"id": record_id, "compound_id": str(compound.id), "template_version_id": str(template.current_version_id),
            "helper": [str(helper.id)], f"helper_role-{helper.id}": "resident_group_leader",
            f"helper_name-{helper.id}": "蒋组长", **{f"result-{i.id}": "pass" for i in items}}
    saved = await leader.post(f"/patrols/compounds/{compound.code}", data=form, headers=await csrf_headers(leader),
                              follow_redirects=False)
    assert saved.status_code == 303
    patrol = await db.get(Patrol, record_id)
    assert {"role": "resident_group_leader", "name": "蒋组长"} in [
        {k: p[k] for k in ("role", "name")} for p in patrol.participants]
