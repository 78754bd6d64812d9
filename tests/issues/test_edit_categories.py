"""Categories are data the street administrator edits."""
import sqlalchemy as sa

from server.issues.models import IssueCategory


async def test_it_lets_the_street_administrator_add_rename_and_retire_a_category(signed_in_as, people, csrf_headers, db):
    client = await signed_in_as(people.admin)
    csrf = await csrf_headers(client)
    assert (await client.get("/issue-categories")).status_code == 200
    response = await client.post("/issue-categories", data={"name": "电动车管理", "name_en": "E-bikes"}, headers=csrf,
                                 follow_redirects=False)
    assert response.status_code == 303
    category = (await db.execute(sa.select(IssueCategory).where(IssueCategory.name == "电动车管理"))).scalar_one()
    assert category.active
    leader = await signed_in_as(people.leader)
    assert "电动车管理" in (await leader.get(f"/r/{people.microgrid.code}")).text
    client = await signed_in_as(people.admin)
    await client.post("/issue-categories", data={"category_id": str(category.id), "name": "电动车充电管理", "name_en": "E-bikes",
                                                 "sort_order": "9"}, headers=await csrf_headers(client))
    await db.refresh(category)
    assert category.name == "电动车充电管理" and not category.active
    assert "电动车充电管理" not in (await client.get(f"/r/{people.microgrid.code}")).text


async def test_it_forbids_categories_to_everyone_else(signed_in_as, people, csrf_headers):
    client = await signed_in_as(people.secretary)
    assert (await client.get("/issue-categories")).status_code == 403
    assert (await client.post("/issue-categories", data={"name": "x"}, headers=await csrf_headers(client))).status_code == 403
