"""Patrol fixtures: the leader's compound, the checklist it uses, and a patrol record builder."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from server.grid.models import GridNode
from server.patrols import queries
from server.patrols.models import PatrolItem
from tests.conftest import csrf_headers

CST = timezone(timedelta(hours=8))
HX = {"HX-Request": "true"}


async def compound_of(db, node: GridNode) -> GridNode:
    return (await db.execute(sa.select(GridNode).where(GridNode.path == node.path[:24]))).scalar_one()


@pytest.fixture
async def compound(db, people) -> GridNode:
    """The compound holding the leader's micro-grid."""
    return await compound_of(db, people.microgrid)


@pytest.fixture
async def checklist(db, compound) -> tuple[int, list[PatrolItem]]:
    """(current version id, its items) for the leader's compound."""
    template = await queries.template_for(db, compound.path)
    return template.current_version_id, await queries.version_items(db, template.current_version_id)


def patrol_record(compound: GridNode, version_id: int, items: list[PatrolItem], *, fail: dict | None = None,
                  id: str | None = None, created_at: datetime | None = None, participants=None, **data) -> dict:
    """A `patrol` record as the outbox sends it. `fail` maps an item index to "fixed" or "problem"."""
    fail = fail or {}
    answers = []
    for index, item in enumerate(items):
        answer = {"item_id": item.id, "result": "pass"}
        if index in fail:
            answer.update(result="fail", note=f"{item.title}有问题")
            if fail[index] == "fixed":
                answer["fixed_on_spot"] = True
            elif fail[index] == "problem":
                answer["problem_id"] = str(uuid.uuid4())
        answers.append(answer)
    body = {
        "compound_id": compound.id, "template_version_id": version_id, "answers": answers,
        "participants": participants if participants is not None else [{"role": "owners_rep", "name": "李业主"}],
        **data,
    }
    return {"id": id or str(uuid.uuid4()), "type": "patrol",
            "created_at": (created_at or datetime.now(CST)).isoformat(), "data": body}


async def post_sync(client, records: list[dict]):
    return await client.post("/api/sync", json={"records": records}, headers=await csrf_headers(client))


async def unpatrolled_compound(db, community: GridNode | None = None) -> GridNode:
    """A compound nobody has patrolled yet in this run (the database is shared by the tests),
    in `community` when there is one left there, else anywhere in the street."""
    from server.patrols.models import Patrol

    query = sa.select(GridNode).where(GridNode.level == "compound", GridNode.id.not_in(sa.select(Patrol.compound_id)))
    if community is not None:
        found = (await db.execute(query.where(GridNode.path.startswith(community.path))
                                  .order_by(GridNode.path.desc()))).scalars().first()
        if found is not None:
            return found
    return (await db.execute(query.order_by(GridNode.path.desc()))).scalars().first()


async def patroller_of(db, people, compound: GridNode):
    """The community secretary when the compound is theirs, else the street administrator."""
    return people.secretary if compound.path.startswith(people.community.path) else people.admin


async def checklist_of(db, compound: GridNode) -> tuple[int, list[PatrolItem]]:
    template = await queries.template_for(db, compound.path)
    return template.current_version_id, await queries.version_items(db, template.current_version_id)
