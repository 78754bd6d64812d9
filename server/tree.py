"""The grid tree's path: how "everything under this node" is one indexed range query.

Each node's path is its parent's path plus its own id as 8 zero-padded digits, so a
subtree is `path >= P AND path < P || ':'` (':' sorts right after '9' in every collation
we use; the column is declared COLLATE "C" on PostgreSQL to be sure). Tables that need
scope checks without a join copy the path of their node (household.grid_path,
post.node_path, issue.grid_path, ...).

A base module: accounts (scoping), grid (the tree) and every area use it; it imports
none of them.
"""
from __future__ import annotations

import sqlalchemy as sa

SEGMENT = 8  # digits per path segment: room for 99,999,999 nodes, a whole province.
COMMUNITY_LEN = 2 * SEGMENT  # a path's first two segments: street, community
PathType = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def child_path(parent_path: str, node_id: int) -> str:
    return f"{parent_path}{node_id:0{SEGMENT}d}"


def subtree_bounds(path: str) -> tuple[str, str]:
    return path, path + ":"


def ancestor_paths(path: str) -> list[str]:
    """The path of a node and of every ancestor, root first."""
    return [path[:i] for i in range(SEGMENT, len(path) + 1, SEGMENT)]


def in_subtree(column, path: str) -> sa.ColumnElement[bool]:
    """`column` (a path) lies at or under `path`."""
    low, high = subtree_bounds(path)
    return sa.and_(column >= low, column < high)


def community_of(column) -> sa.ColumnElement[str]:
    """The community's path of a path column, for grouping by community. The numbers are literals,
    not parameters: PostgreSQL groups by an expression only when SELECT and GROUP BY read the same
    text, and two copies of this expression would otherwise bind $1 and $5."""
    return sa.func.substr(column, sa.literal_column("1"), sa.literal_column(str(COMMUNITY_LEN)))
