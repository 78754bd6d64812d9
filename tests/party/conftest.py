"""Party fixtures: the demo's office holders around the leader's micro-grid."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from server.accounts.models import Person, Post, current_post
from tests.issues.conftest import as_viewer, category, csrf_headers, new_problem, viewer_of  # noqa: F401


async def holder_of(db, office: str, path: str) -> Person:
    return (await db.execute(
        sa.select(Person).join(Post, Post.person_id == Person.id)
        .where(Post.office == office, Post.node_path == path, current_post()).order_by(Post.id)
    )).scalars().first()


@pytest.fixture
async def branch_head(db, people) -> Person:
    """The grid Party branch's secretary over the leader's compound (or its committee member there)."""
    compound = people.microgrid.path[:24]
    return await holder_of(db, "branch_secretary", compound) or await holder_of(db, "branch_member", compound)


@pytest.fixture
async def committee_member(db, people) -> Person:
    return await holder_of(db, "party_member", people.community.path)
