"""Checklist templates: editing publishes a version; a patrol keeps the version it was filled with."""
from __future__ import annotations

import sqlalchemy as sa

from server.patrols import queries
from server.patrols.models import Patrol, PatrolAnswer, PatrolItem, PatrolTemplate, PatrolTemplateVersion
from tests.conftest import csrf_headers

from .conftest import compound_of, patrol_record, post_sync


def edit_form(items, *, drop: int | None = None, rename: dict | None = None, add: str | None = None, note="改版") -> dict:
    form = {"rows": str(len(items) + 1), "note": note}
    for n, item in enumerate(items):
        form.update({f"key-{n}": item.key, f"order-{n}": str(item.sort_order), f"section-{n}": item.section,
                     f"title-{n}": (rename or {}).get(n, item.title), f"hint-{n}": item.hint,
                     f"category-{n}": item.category_code})
        if n == drop:
            form[f"remove-{n}"] = "1"
    if add:
        n = len(items)
        form.update({f"key-{n}": "", f"order-{n}": "99", f"section-{n}": "公共设施", f"title-{n}": add,
                     f"hint-{n}": "新增检查项", f"category-{n}": "facilities"})
    return form


async def community_template(db, owner_path: str) -> PatrolTemplate | None:
    return (await db.execute(sa.select(PatrolTemplate).where(PatrolTemplate.owner_path == owner_path))).scalar_one_or_none()


async def test_it_ships_a_default_chinese_checklist_of_twenty_items(db):
    items = await queries.version_items(db, 1)  # version 1 of the street-wide default, as migrated
    titles = {i.title for i in items}
    assert len(items) == 20 and len({i.key for i in items}) == 20
    assert {"保洁", "绿化", "安保", "维修响应", "垃圾分类", "楼道堆物", "照明", "电梯", "消防通道", "电动车充电",
            "阳台种植", "违规搭建"} <= titles


async def test_it_keeps_a_communitys_patrols_on_the_version_they_were_filled_with(db, people, signed_in_as, client):
    """The secretary makes the community's own checklist, edits it; a patrol filled on v1 offline still syncs."""
    secretary = await signed_in_as(people.secretary)
    headers = await csrf_headers(secretary)
    response = await secretary.post("/patrols/templates", data={"community_id": str(people.community.id)},
                                    headers=headers, follow_redirects=False)
    assert response.status_code == 303
    template = await community_template(db, people.community.path)
    v1 = template.current_version_id  # "v1": the version current before this edit
    v1_number = (await db.get(PatrolTemplateVersion, v1)).number
    v1_items = await queries.version_items(db, v1)
    assert len(v1_items) == 24

    response = await secretary.post(f"/patrols/templates/{template.id}", headers=headers, follow_redirects=False,
                                    data=edit_form(v1_items, drop=7, rename={0: "公共区域保洁"}, add="充电桩"))
    assert response.status_code == 303
    await db.refresh(template)
    v2 = template.current_version_id
    v2_items = await queries.version_items(db, v2)
    assert v2 != v1 and (await db.get(PatrolTemplateVersion, v2)).number == v1_number + 1
    assert len(v2_items) == 24 and v2_items[0].title == "公共区域保洁" and v2_items[0].key == v1_items[0].key
    assert "充电桩" in {i.title for i in v2_items} and v1_items[7].key not in {i.key for i in v2_items}
    # Version 1 is untouched.
    assert [i.title for i in await queries.version_items(db, v1)] == [i.title for i in v1_items]

    # The leader's phone filled the checklist on v1 before the edit, offline.
    compound = await compound_of(db, people.microgrid)
    leader = await signed_in_as(people.leader)
    old = patrol_record(compound, v1, v1_items, fail={7: "fixed"})
    assert (await post_sync(leader, [old])).json()["results"][0]["status"] == "created"
    patrol = await db.get(Patrol, old["id"])
    assert patrol.version_id == v1
    answered = (await db.execute(sa.select(PatrolItem.title).join(PatrolAnswer, PatrolAnswer.item_id == PatrolItem.id)
                                 .where(PatrolAnswer.patrol_id == old["id"]))).scalars().all()
    assert "乱张贴" in answered and "充电桩" not in answered

    # The new form uses v2; the report of the old patrol shows v1's items.
    page = await leader.get(f"/patrols/compounds/{compound.code}/new")
    assert f'name="template_version_id" value="{v2}"' in page.text and "充电桩" in page.text
    report = await leader.get(f"/patrols/{old['id']}")
    assert "乱张贴" in report.text and "充电桩" not in report.text

    # An item of v2 cannot be smuggled into a v1 patrol.
    mixed = patrol_record(compound, v1, v1_items)
    mixed["data"]["answers"][0]["item_id"] = v2_items[-1].id
    result = (await post_sync(leader, [mixed])).json()["results"][0]
    assert result["status"] == "rejected"


async def test_it_rejects_a_version_of_another_communitys_checklist(db, people, signed_in_as, client):
    other = await signed_in_as(people.other_secretary)
    await other.post("/patrols/templates", data={"community_id": str(people.other_community.id)},
                     headers=await csrf_headers(other))
    theirs = await community_template(db, people.other_community.path)
    items = await queries.version_items(db, theirs.current_version_id)
    compound = await compound_of(db, people.microgrid)
    leader = await signed_in_as(people.leader)

    result = (await post_sync(leader, [patrol_record(compound, theirs.current_version_id, items)])).json()["results"][0]

    assert result["status"] == "rejected" and "template_version_id" in result["errors"]


async def test_it_lets_only_the_street_and_community_staff_edit_checklists(db, people, signed_in_as, client):
    default = await community_template(db, "")
    leader = await signed_in_as(people.leader)
    assert (await leader.get("/patrols/templates")).status_code == 403
    secretary = await signed_in_as(people.secretary)
    assert (await secretary.get(f"/patrols/templates/{default.id}")).status_code == 404  # the street's own
    admin = await signed_in_as(people.admin)
    page = await admin.get(f"/patrols/templates/{default.id}")
    assert page.status_code == 200 and "消防通道" in page.text


async def test_it_refuses_an_empty_checklist(db, people, signed_in_as, client):
    admin = await signed_in_as(people.admin)
    default = await community_template(db, "")
    items = await queries.version_items(db, default.current_version_id)
    form = edit_form(items)
    for n in range(len(items)):
        form[f"remove-{n}"] = "1"

    response = await admin.post(f"/patrols/templates/{default.id}", data=form, headers=await csrf_headers(admin))

    assert response.status_code == 422
    await db.refresh(default)
    assert len(await queries.version_items(db, default.current_version_id)) == len(items)
