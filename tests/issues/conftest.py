"""Ledger fixtures: viewers for the cast, and a problem made through the service."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from server.accounts.models import Post
from server.accounts.scope import PostScope, Viewer
from server.grid.models import GridNode, PropertyCompany
from server.issues import service
from server.issues.models import IssueCategory

HX = {"HX-Request": "true"}


async def viewer_of(db, person) -> Viewer:
    posts = (await db.execute(sa.select(Post).where(Post.person_id == person.id))).scalars().all()
    return Viewer(person_id=person.id, name=person.name,
                  posts=tuple(PostScope(p.role, p.node_id, p.node_path, p.post_kind, p.company_id, p.office) for p in posts))


@pytest.fixture
def as_viewer(db):
    async def _viewer(person) -> Viewer:
        return await viewer_of(db, person)
    return _viewer


@pytest.fixture
async def category(db) -> IssueCategory:
    return (await db.execute(sa.select(IssueCategory).where(IssueCategory.code == "property"))).scalar_one()


@pytest.fixture
async def company_of_staff(db, people) -> PropertyCompany:
    post = (await db.execute(sa.select(Post).where(Post.person_id == people.property_staff.id))).scalars().first()
    return await db.get(PropertyCompany, post.company_id)


@pytest.fixture
async def company_node(db, company_of_staff) -> GridNode:
    """A micro-grid in a compound managed by the property staff's company."""
    compound = (await db.execute(sa.select(GridNode).where(GridNode.property_company_id == company_of_staff.id)
                                 .order_by(GridNode.path))).scalars().first()
    return (await db.execute(sa.select(GridNode).where(GridNode.path.startswith(compound.path), GridNode.level == "microgrid")
                             .order_by(GridNode.path))).scalars().first()


@pytest.fixture
def new_problem(db, people, category):
    """Report a problem in the leader's micro-grid (or `node`), committed."""
    async def _new(viewer=None, node=None, at=None, description="楼道灯不亮", **kw):
        viewer = viewer or await viewer_of(db, people.leader)
        issue, _ = await service.report_issue(db, viewer, node=node or people.microgrid, category=category.id,
                                              description=description, at=at, **kw)
        await db.commit()
        return issue
    return _new


def later(minutes: int) -> datetime:
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)


def in_days(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


@pytest.fixture
def csrf_headers():
    """conftest's csrf_headers(client), as a fixture."""
    from tests.conftest import csrf_headers as headers
    return headers
