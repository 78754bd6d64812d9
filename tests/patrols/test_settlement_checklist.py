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
    template = await queries.template_for(db, rural.path)
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
