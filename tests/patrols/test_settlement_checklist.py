"""The seed's patrol: a rural settlement (散居林盘) fills its own checklist, an estate the estate one
with the maintenance records section (查看维护保养记录); a patrol of either is stored the same way."""
import sqlalchemy as sa

from server.accounts.models import Post, Role, current_post
from server.grid.models import GridNode, Level
from server.patrols.models import Patrol, PatrolTemplateVersion
from tests.patrols.conftest import patrol_record
from tests.sync.helpers import post_sync


async def _rural_compound_and_leader(db):
    row = (await db.execute(
        sa.select(GridNode, Post.person_id).join(Post, Post.node_path.startswith(GridNode.path))
        .where(GridNode.level == Level.compound, GridNode.kind == "rural", Post.role == Role.leader, current_post())
        .order_by(GridNode.path).limit(1))).first()
    return row


async def test_a_settlement_gets_the_rural_checklist_and_an_estate_the_maintenance_records(db, people, signed_in_as, compound):
    estate = (await (await signed_in_as(people.secretary)).get(f"/patrols/compounds/{compound.code}/new")).text
    assert "查看维护保养记录" in estate and "电梯维保记录" in estate and "沟渠河道" not in estate
    rural, leader_id = await _rural_compound_and_leader(db)
    from server.accounts.models import Person

    client = await signed_in_as(await db.get(Person, leader_id))
    page = (await client.get(f"/patrols/compounds/{rural.code}/new")).text
    for section in ("人居环境", "道路", "沟渠河道", "消防", "自建房安全", "垃圾收运"):
        assert f'<h2 class="section-title">{section}</h2>' in page
    assert "电梯" not in page and "物业公示" not in page


async def test_a_patrol_of_a_settlement_is_stored_with_the_rural_version(db, signed_in_as):
    from server.accounts.models import Person
    from server.patrols import queries

    rural, leader_id = await _rural_compound_and_leader(db)
    template = await queries.template_for(db, rural.path, rural.kind)
    version_id = template.version_for(rural.kind)
    assert version_id != template.current_version_id
    version = await db.get(PatrolTemplateVersion, version_id)
    assert version.compound_kind == "rural"
    items = await queries.version_items(db, version_id)
    client = await signed_in_as(await db.get(Person, leader_id))
    rec = patrol_record(rural, version_id, items)
    assert (await post_sync(client, [rec])).json()["results"][0]["status"] == "created"
    stored = await db.get(Patrol, rec["id"])
    assert stored.version_id == version_id and stored.pass_count == len(items)


async def test_the_report_lists_participants_by_the_seeds_roles_each_person_once(db, people, signed_in_as, compound, checklist):
    version_id, items = checklist
    client = await signed_in_as(people.leader)
    participants = [
        {"role": "leader", "name": "-", "person_id": people.leader.id},
        {"role": "owners_rep", "name": "李业主"},
        {"role": "resident_group_leader", "name": "王组长"},
        {"role": "owners_rep", "name": "李业主"},  # typed twice
        {"role": "other", "name": people.leader.name},  # already on the list from the roster
    ]
    rec = patrol_record(compound, version_id, items, participants=participants)
    assert (await post_sync(client, [rec])).json()["results"][0]["status"] == "created"
    stored = await db.get(Patrol, rec["id"])
    assert [p["name"] for p in stored.participants] == [people.leader.name, "李业主", "王组长"]
    html = (await client.get(f"/patrols/{rec['id']}")).text
    by_role = html.split('id="participants-by-role"', 1)[1].split("</dd>", 1)[0]
    # The seed's order: 居民小组长, 微网格长, (支委,) 业主代表, ...
    assert by_role.index("居民小组长") < by_role.index("微网格长") < by_role.index("业主代表")
    assert "王组长" in by_role and by_role.count("李业主") == 1


async def test_the_street_edits_the_settlements_checklist_apart_from_the_estates(db, people, signed_in_as):
    from server.patrols import queries
    from server.patrols.models import PatrolTemplate
    from tests.conftest import csrf_headers

    template = (await db.execute(sa.select(PatrolTemplate).where(PatrolTemplate.owner_path == ""))).scalar_one()
    estate_before, rural_before = template.current_version_id, template.rural_version_id
    client = await signed_in_as(people.admin)
    page = (await client.get(f"/patrols/templates/{template.id}?kind=rural")).text
    assert "沟渠河道" in page and 'name="kind" value="rural"' in page
    items = await queries.version_items(db, rural_before)
    form = {"rows": str(len(items)), "kind": "rural", "note": "加一项"}
    for n, item in enumerate(items):
        form.update({f"order-{n}": str(item.sort_order), f"section-{n}": item.section, f"title-{n}": item.title,
                     f"hint-{n}": item.hint, f"category-{n}": item.category_code, f"key-{n}": item.key})
    form[f"title-{len(items) - 1}"] = "垃圾乱倒乱扔"
    response = await client.post(f"/patrols/templates/{template.id}", data=form, headers=await csrf_headers(client),
                                 follow_redirects=False)
    assert response.status_code == 303 and "kind=rural" in response.headers["location"]
    await db.refresh(template)
    assert template.current_version_id == estate_before and template.rural_version_id != rural_before
    titles = {i.title for i in await queries.version_items(db, template.rural_version_id)}
    assert "垃圾乱倒乱扔" in titles and "电梯" not in titles


async def test_a_communitys_own_checklist_leaves_its_settlements_on_the_rural_one(db, people, signed_in_as):
    """The secretary makes the community's own (estate) checklist; its settlements keep the rural one."""
    from server.patrols import queries
    from tests.conftest import csrf_headers

    rural_row = (await db.execute(sa.select(GridNode).where(GridNode.level == Level.compound, GridNode.kind == "rural")
                                  .order_by(GridNode.path))).scalars().first()
    community = (await db.execute(sa.select(GridNode).where(GridNode.path == rural_row.path[:16]))).scalar_one()
    secretary_id = (await db.execute(sa.select(Post.person_id).where(
        Post.node_path == community.path, Post.role == Role.community, current_post()))).scalars().first()
    from server.accounts.models import Person

    client = await signed_in_as(await db.get(Person, secretary_id))
    response = await client.post("/patrols/templates", data={"community_id": str(community.id)},
                                 headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == 303
    estate = await queries.template_for(db, rural_row.path)
    rural = await queries.template_for(db, rural_row.path, rural_row.kind)
    assert estate.owner_path == community.path and rural.owner_path == ""
    items = await queries.version_items(db, rural.version_for(rural_row.kind))
    assert "沟渠河道" in {i.section for i in items}
