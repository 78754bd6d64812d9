"""The one scoping mechanism: what the signed-in person may see and do.

Every query that touches grid data filters by `viewer.subtree_clause(column)` or loads
its object through a `get_*_for(viewer, ...)` helper. Outside the viewer's subtree
the answer is 404 (we do not even admit the object exists); a role that may not take
an action gets 403.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from litestar.exceptions import NotFoundException, PermissionDeniedException

from server.accounts.models import Role
from server.tree import subtree_bounds

# Roles that work with the grid tree and its households.
GRID_ROLES = frozenset({Role.admin, Role.community, Role.compound, Role.leader})
# Personal data: only the people who phone residents may see a whole number (each reveal
# is audited); only the offices that keep the street's tables may export them.
REVEAL_PHONE_ROLES = frozenset({Role.community, Role.compound, Role.leader})
EXPORT_ROLES = frozenset({Role.admin, Role.community})
# Who may appoint whom: the street anyone; community staff the people who work under them,
# never their own peers or the street. Appointing, inviting a phone, revoking a phone,
# ending a post and handing a micro-grid over all follow this table (see `covers`).
APPOINTABLE_BY = {
    Role.admin: frozenset(Role),
    Role.community: frozenset({Role.compound, Role.leader, Role.property}),
}


@dataclass(frozen=True)
class PostScope:
    role: str
    node_id: int
    path: str
    post_kind: str | None = None
    company_id: int | None = None
    office: str = ""  # a Party office held through the post (server/party/models.py)


@dataclass(frozen=True)
class Viewer:
    person_id: int
    name: str
    posts: tuple[PostScope, ...]
    device_id: int | None = None
    session_id: str | None = None
    large_text: bool = False  # 大字模式, see Person.large_text
    large_text_at: str = ""  # ISO time of the last change ("" = never)
    roles: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(p.role for p in self.posts))

    @property
    def is_admin(self) -> bool:
        return Role.admin in self.roles

    @property
    def grid_paths(self) -> tuple[str, ...]:
        """Roots of the subtrees this person sees, with nested ones dropped."""
        paths = sorted({p.path for p in self.posts if p.role in GRID_ROLES})
        roots: list[str] = []
        for path in paths:
            if not any(path.startswith(root) for root in roots):
                roots.append(path)
        return tuple(roots)

    @property
    def company_ids(self) -> tuple[int, ...]:
        return tuple(sorted({p.company_id for p in self.posts if p.role == Role.property and p.company_id}))

    @property
    def can_reveal_phone(self) -> bool:
        return bool(self.roles & REVEAL_PHONE_ROLES)

    @property
    def can_export(self) -> bool:
        return bool(self.roles & EXPORT_ROLES)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def sees_path(self, path: str) -> bool:
        return any(path.startswith(root) for root in self.grid_paths)

    def offices_at(self, path: str) -> frozenset[str]:
        """Party offices this person holds over the node at `path` (through it or an ancestor)."""
        return frozenset(p.office for p in self.posts if p.office and path.startswith(p.path))

    def roles_at(self, path: str) -> frozenset[str]:
        """Roles this person holds over the node at `path` (through it or an ancestor)."""
        return frozenset(p.role for p in self.posts if path.startswith(p.path))

    def subtree_clause(self, column) -> sa.ColumnElement[bool]:
        roots = self.grid_paths
        if not roots:
            return sa.false()
        clauses = []
        for root in roots:
            low, high = subtree_bounds(root)
            clauses.append(sa.and_(column >= low, column < high))
        return sa.or_(*clauses) if len(clauses) > 1 else clauses[0]

    def subtree_params(self, name: str = "scope") -> dict[str, str]:
        """The values for `bound_subtree_clause(column, len(viewer.grid_paths), name)`."""
        params = {}
        for i, root in enumerate(self.grid_paths):
            params[f"{name}_low{i}"], params[f"{name}_high{i}"] = subtree_bounds(root)
        return params

    def may_appoint(self, role: str, path: str) -> bool:
        """May this person appoint someone to `role` on the node at `path`?"""
        return any(
            role in APPOINTABLE_BY.get(p.role, ()) and path.startswith(p.path) for p in self.posts
        )

    def covers(self, posts: Iterable[tuple[str, str]]) -> bool:
        """Authority follows the post: True when this person may appoint every (role, path) given.

        A person's phones open all their posts at once, so inviting a phone for them,
        revoking one, ending one of their posts or handing their micro-grid over needs
        authority over *every* post they hold; otherwise only the street can.
        """
        return all(self.may_appoint(role, path) for role, path in posts)

    def may_edit(self, path: str) -> bool:
        """May this person change the registers at `path` (a node, its households)?

        The street edits its whole tree; community staff what lies under their community
        (not the community node itself, which belongs to the street's table).
        """
        return any(
            (p.role == Role.admin and path.startswith(p.path))
            or (p.role == Role.community and path.startswith(p.path) and path != p.path)
            for p in self.posts
        )

    def require_role(self, *roles: str) -> None:
        if not self.has_role(*roles):
            raise PermissionDeniedException("Your role may not do this")

    def require_path(self, path: str) -> None:
        if not self.sees_path(path):
            raise NotFoundException()


def bound_subtree_clause(column, roots: int, name: str = "scope") -> sa.ColumnElement[bool]:
    """`Viewer.subtree_clause` for a statement built once (hot pages, issue 15): the bounds are
    bind parameters, given per request by `viewer.subtree_params(name)`; one statement per
    number of roots (`len(viewer.grid_paths)`)."""
    if not roots:
        return sa.false()
    clauses = [sa.and_(column >= sa.bindparam(f"{name}_low{i}"), column < sa.bindparam(f"{name}_high{i}"))
               for i in range(roots)]
    return sa.or_(*clauses) if roots > 1 else clauses[0]
