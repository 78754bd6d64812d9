"""Reads of the grid tree, every one scoped through the Viewer."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Person, Post, Role, current_post
from server.accounts.scope import Viewer, bound_subtree_clause
from server.grid import tally
from server.grid.models import GridNode, Household, Level, active_household, active_node, care_rank
from server.tree import SEGMENT, in_subtree

MAX_DEPTH = 8  # path is String(64): eight segments of eight digits


@dataclass
class ChildRow:
    node: GridNode
    households: int
    microgrids: int


async def get_node_for(db: AsyncSession, viewer: Viewer, code: str) -> GridNode:
    """The node with this code if the viewer may see it; 404 otherwise (no existence leak)."""
    node = (await db.execute(sa.select(GridNode).where(GridNode.code == code))).scalar_one_or_none()
    if node is None or not viewer.sees_path(node.path):
        raise NotFoundException()
    return node


# The hot pages' statements are built once (issue 15): building and keying a select costs
# more than SQLite takes to run it. Values go in as bind parameters.
def _trail_query() -> sa.Select:
    target = sa.select(GridNode.path).where(GridNode.code == sa.bindparam("code")).scalar_subquery()
    prefixes = [sa.func.substr(target, 1, SEGMENT * depth) for depth in range(1, MAX_DEPTH + 1)]
    return sa.select(GridNode).where(GridNode.path.in_(prefixes)).order_by(GridNode.depth, GridNode.path)


_TRAIL = _trail_query()


async def get_node_with_trail_for(db: AsyncSession, viewer: Viewer, code: str) -> tuple[GridNode, list[GridNode]]:
    """The node (scoped like get_node_for) and its ancestors, root first, in one query."""
    rows = list((await db.execute(_TRAIL, {"code": code})).scalars())
    if not rows or rows[-1].code != code or not viewer.sees_path(rows[-1].path):
        raise NotFoundException()
    return rows[-1], rows[:-1]


@lru_cache(maxsize=16)
def _household_query(roots: int) -> sa.Select:
    return sa.select(Household).where(Household.id == sa.bindparam("household_id"),
                                      bound_subtree_clause(Household.grid_path, roots))


async def get_household_for(db: AsyncSession, viewer: Viewer, household_id: int) -> Household:
    """The household, if the viewer may see it. Scoped in SQL by the path, not by id alone:
    the bound on the path is also the street key a partitioned database routes by."""
    household = (await db.execute(
        _household_query(len(viewer.grid_paths)), {"household_id": household_id, **viewer.subtree_params()}
    )).scalar_one_or_none()
    if household is None or not viewer.sees_path(household.grid_path):
        raise NotFoundException()
    return household


async def root_nodes_for(db: AsyncSession, viewer: Viewer) -> list[GridNode]:
    paths = viewer.grid_paths
    if not paths:
        return []
    rows = await db.execute(sa.select(GridNode).where(GridNode.path.in_(paths)).order_by(GridNode.path))
    return list(rows.scalars())


_ANCESTORS = (sa.select(GridNode).where(GridNode.path.in_(sa.bindparam("paths", expanding=True)))
              .order_by(GridNode.depth))


async def ancestors(db: AsyncSession, node: GridNode) -> list[GridNode]:
    paths = node.ancestor_paths()[:-1]
    if not paths:
        return []
    return list((await db.execute(_ANCESTORS, {"paths": paths})).scalars())


CHILDREN_PAGE = 50  # children listed a page at a time: a city's street has 1,500 communities


@dataclass
class Children:
    rows: list[ChildRow]
    total: int
    page: int
    pages: int


async def children_with_counts(db: AsyncSession, node: GridNode, page: int = 1) -> Children:
    """One page of the node's children, each with the households and micro-grids beneath it.
    A page past the end shows the last one."""
    active = (GridNode.parent_id == node.id, active_node())
    total = (await db.execute(sa.select(sa.func.count()).select_from(GridNode).where(*active))).scalar_one()
    pages = max(1, -(-total // CHILDREN_PAGE))
    page = min(max(page, 1), pages)
    children = list(
        (await db.execute(
            sa.select(GridNode).where(*active).order_by(GridNode.sort_order, GridNode.code)
            .limit(CHILDREN_PAGE).offset((page - 1) * CHILDREN_PAGE)
        )).scalars()
    )
    if not children:
        return Children([], total, page, pages)
    # From the counts kept on write (server/grid/tally.py): one indexed read for the page's children
    # (a city's street page counted 3.0 s cold at scale 100 before, and kept it a minute per process).
    counts = await tally.of_nodes(db, [child.id for child in children])
    return Children([
        # A micro-grid child counts itself.
        ChildRow(child, counts[child.id].households, counts[child.id].level(Level.microgrid))
        for child in children
    ], total, page, pages)


_HOUSEHOLDS_IN = (
    sa.select(Household).where(Household.grid_path == sa.bindparam("path"),
                               Household.microgrid_id == sa.bindparam("microgrid_id"), active_household())
    .order_by(Household.address, Household.id)
)


async def households_in(db: AsyncSession, microgrid: GridNode) -> list[Household]:
    """The households living on the micro-grid now, the most vulnerable first."""
    rows = await db.execute(_HOUSEHOLDS_IN, {"path": microgrid.path, "microgrid_id": microgrid.id})
    return sorted(rows.scalars(), key=lambda h: (h.care_rank(), h.address))


_HOUSEHOLD_ROWS_IN = (
    sa.select(Household.id, Household.address, Household.head_name, Household.phone, Household.members,
              Household.care_tags)
    .where(Household.grid_path == sa.bindparam("path"), Household.microgrid_id == sa.bindparam("microgrid_id"),
           active_household())
)


async def household_rows_in(db: AsyncSession, microgrid: GridNode) -> list[sa.Row]:
    """households_in as plain rows of the columns a list shows (the micro-grid page), same order:
    its 40 households without 40 ORM objects (issue 15)."""
    connection = await db.connection()
    rows = (await connection.execute(_HOUSEHOLD_ROWS_IN, {"path": microgrid.path, "microgrid_id": microgrid.id})).all()
    return sorted(rows, key=lambda h: (care_rank(h.care_tags), h.address, h.id))


async def former_households_in(db: AsyncSession, microgrid: GridNode, limit: int = 50) -> list[Household]:
    """Households that moved out or died: kept as history, shown apart."""
    rows = await db.execute(
        sa.select(Household).where(Household.grid_path == microgrid.path, Household.microgrid_id == microgrid.id,
                                   sa.not_(active_household()))
        .order_by(Household.left_on.desc(), Household.id.desc()).limit(limit)
    )
    return list(rows.scalars())


_LEADERS_OF = (
    sa.select(Post, Person)
    .join(Person, Person.id == Post.person_id)
    .where(Post.node_id == sa.bindparam("node_id"), Post.role == Role.leader, current_post())
    .order_by(Post.post_kind)
)


async def leaders_of(db: AsyncSession, node: GridNode) -> list[tuple[Post, Person]]:
    return [tuple(row) for row in await db.execute(_LEADERS_OF, {"node_id": node.id})]


async def search_households(db: AsyncSession, viewer: Viewer, root: GridNode | None, query: str,
                            limit: int = 30) -> list[tuple[Household, GridNode]]:
    """Households whose head's name or address contains `query`, under `root` (None: anywhere the
    viewer sees, e.g. all of a leader's A and B grids), in scope."""
    query = query.strip()
    if not query:
        return []
    under_root = in_subtree(Household.grid_path, root.path) if root is not None else sa.true()
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = await db.execute(
        sa.select(Household, GridNode)
        .join(GridNode, GridNode.id == Household.microgrid_id)
        .where(
            under_root,
            viewer.subtree_clause(Household.grid_path),
            active_household(),
            sa.or_(Household.head_name.like(pattern, escape="\\"), Household.address.like(pattern, escape="\\")),
        )
        .order_by(Household.id)
        .limit(limit)
    )
    return [tuple(row) for row in rows]
