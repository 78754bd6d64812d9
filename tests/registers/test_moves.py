"""Moving a piece of the grid keeps everything under it consistent; retiring keeps history."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import SQLModel

import server.models  # noqa: F401
from server.accounts.models import Post
from server.db import make_sessionmaker
from server.grid.models import GridNode, Household
from server.issues.models import Issue, IssueCategory
from server.registers import edits
from server.registers.paths import path_copies
from server.tree import PathType
from server.visits.models import Visit
from tests.registers.conftest import real_viewer


def test_every_path_column_of_the_schema_is_rewritten_by_a_move():
    # A path column is found by its type, so a new area cannot forget to have it moved; this
    # catches a `*_path` column declared with a plain String, which the move would not see.
    moved = {(c.table.name, c.name) for c in path_copies()}
    found = {(table.name, column.name) for table in SQLModel.metadata.tables.values() for column in table.columns
             if column.name.endswith("_path")}
    assert found - moved == set(), f"path columns not declared with PathType, left behind by a move: {found - moved}"
    assert ("grid_node", "path") not in moved  # the node's own path is rewritten with its depth
    assert all(c.type is PathType for c in path_copies())


async def test_it_moves_a_compound_and_everything_under_it(engine, people, own_community):
    c = own_community
    admin = await real_viewer(engine, people.admin.id)
    async with make_sessionmaker(engine)() as db:
        category = (await db.execute(sa.select(IssueCategory).limit(1))).scalar_one()
        household = (await db.execute(sa.select(Household).where(Household.microgrid_id == c.mg1.id).limit(1))).scalar_one()
        now = datetime.now(timezone.utc)
        db.add(Issue(id=str(uuid.uuid4()), node_id=c.mg1.id, node_path=c.mg1.path, category_id=category.id, description="楼道堆物",
                     tracking_code=uuid.uuid4().hex[:8].upper(), month=now.strftime("%Y-%m"), reported_at=now,
                     received_at=now, source="leader"))
        db.add(Visit(id=uuid.uuid4(), household_id=household.id, grid_path=household.grid_path, person_id=c.leader1,
                     kind="routine", visited_at=now, received_at=now))
        await db.commit()
        compound = await db.get(GridNode, c.compound.id)
        errors = await edits.move_node(db, admin, compound, people.community.code)
        assert errors == {}
        await db.commit()
    async with make_sessionmaker(engine)() as db:
        moved = await db.get(GridNode, c.compound.id)
        assert moved.parent_id == people.community.id and moved.path.startswith(people.community.path)
        assert moved.depth == people.community.depth + 1
        mg = await db.get(GridNode, c.mg1.id)
        assert mg.path.startswith(moved.path) and mg.depth == moved.depth + 1
        for model, column in ((Household, Household.grid_path), (Post, Post.node_path), (Issue, Issue.node_path),
                              (Visit, Visit.grid_path)):
            old = (await db.execute(sa.select(sa.func.count()).select_from(model).where(column.startswith(c.compound.path)))).scalar_one()
            new = (await db.execute(sa.select(sa.func.count()).select_from(model).where(column.startswith(moved.path)))).scalar_one()
            assert old == 0 and new > 0, model
        for column in path_copies():  # nothing of any area is left under the old path
            left = (await db.execute(sa.select(sa.func.count()).select_from(column.table).where(column.startswith(c.compound.path)))).scalar_one()
            assert left == 0, f"{column.table.name}.{column.name}"
        move = (await db.execute(sa.text("SELECT count(*) FROM audit_entry WHERE action = 'registers_move' AND object_id = :id"),
                                 {"id": str(moved.id)})).scalar_one()
        assert move == 1


async def test_it_refuses_to_move_a_node_under_itself_or_the_wrong_level(engine, people, own_community):
    c = own_community
    admin = await real_viewer(engine, people.admin.id)
    async with make_sessionmaker(engine)() as db:
        compound = await db.get(GridNode, c.compound.id)
        assert await edits.move_node(db, admin, compound, c.mg1.code) == {"parent": edits.MSG_INTO_ITSELF}
        assert await edits.move_node(db, admin, compound, c.other.code) == {"parent": edits.MSG_LEVEL_UNDER}
        assert await edits.move_node(db, admin, compound, "NO-SUCH") == {"parent": edits.MSG_NOT_FOUND_CODE}


async def test_community_staff_move_only_inside_their_community(engine, people, own_community):
    c = own_community
    secretary = await real_viewer(engine, c.secretary)
    async with make_sessionmaker(engine)() as db:
        mg = await db.get(GridNode, c.mg2.id)
        assert await edits.move_node(db, secretary, mg, people.community.code) == {"parent": edits.MSG_NOT_FOUND_CODE}
        assert await edits.move_node(db, secretary, mg, c.other.code) == {}
        await db.commit()
        assert (await db.get(GridNode, c.mg2.id)).parent_id == c.other.id


async def test_retiring_needs_an_empty_grid_and_keeps_the_code(engine, people, own_community):
    c = own_community
    admin = await real_viewer(engine, people.admin.id)
    async with make_sessionmaker(engine)() as db:
        compound = await db.get(GridNode, c.compound.id)
        assert await edits.retire_node(db, admin, compound) == {"retire": edits.MSG_BUSY}
        other = await db.get(GridNode, c.other.id)
        assert await edits.retire_node(db, admin, other) == {}
        await db.commit()
        node, errors = await edits.add_node(db, admin, await db.get(GridNode, c.community.id),
                                            {"code": c.other.code, "name": "新的", "level": "compound", "kind": "rural"})
        assert node is None and errors == {"code": edits.MSG_CODE_TAKEN}
        assert (await db.get(GridNode, c.other.id)).retired_at is not None
