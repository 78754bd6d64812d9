"""Moving a piece of the grid: a node's path, its subtree's, and every copy of them.

Scope checks and subtree counts are range queries on a path copied into many tables
(household.grid_path, post.node_path, issue.node_path, ...). Moving a node rewrites the
prefix in all of them with one UPDATE each, inside the caller's transaction, so a
household, a post or an open problem under the node keeps pointing at the right place.

Every such column is declared with `server.tree.PathType`; `path_copies()` finds them in the
schema, so a new area's path column is moved without anyone remembering to list it
(tests/registers/test_moves.py fails on a `*_path` column declared without PathType).
"""
from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlmodel import SQLModel
from sqlalchemy.ext.asyncio import AsyncSession

from server.grid.models import GridNode
from server.tree import SEGMENT, PathType, subtree_bounds

MAX_DEPTH = 8  # path is String(64): eight segments of eight digits


@functools.cache
def path_copies() -> tuple[sa.Column, ...]:
    """Every column of the schema that copies a grid path, except grid_node.path itself."""
    import server.models  # noqa: F401  (every area's tables, imported late: the areas import this module)
    return tuple(
        column
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if column.type is PathType and column is not GridNode.__table__.c.path
    )


def _rewritten(column: sa.Column, old_prefix: str, new_prefix: str):
    return sa.literal(new_prefix, sa.String) + sa.func.substr(column, len(old_prefix) + 1, type_=sa.String)


async def rewrite_subtree(db: AsyncSession, old_prefix: str, new_prefix: str) -> None:
    """Give the node at `old_prefix` and everything under it the path `new_prefix...`.

    A new path never equals an existing one (it holds the moved node's own id under its new
    parent), so the unique index on grid_node.path holds row by row on SQLite and PostgreSQL.
    """
    low, high = subtree_bounds(old_prefix)
    delta = (len(new_prefix) - len(old_prefix)) // SEGMENT
    nodes = GridNode.__table__
    await db.execute(
        sa.update(nodes)
        .where(nodes.c.path >= low, nodes.c.path < high)
        .values(path=_rewritten(nodes.c.path, old_prefix, new_prefix), depth=nodes.c.depth + delta)
        .execution_options(synchronize_session=False)
    )
    for column in path_copies():
        await db.execute(
            sa.update(column.table)
            .where(column >= low, column < high)
            .values({column.name: _rewritten(column, old_prefix, new_prefix)})
            .execution_options(synchronize_session=False)
        )


async def subtree_depth(db: AsyncSession, path: str) -> int:
    """How many levels the subtree at `path` spans (1 for a leaf)."""
    low, high = subtree_bounds(path)
    deepest = (await db.execute(
        sa.select(sa.func.max(sa.func.length(GridNode.path))).where(GridNode.path >= low, GridNode.path < high)
    )).scalar()
    return ((deepest or len(path)) - len(path)) // SEGMENT + 1
