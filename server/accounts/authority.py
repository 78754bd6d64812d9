"""Authority follows the post: who may act on a person's posts and phones.

A person's phones open every post they hold at once. So inviting a phone for someone,
revoking one of their phones, ending one of their posts or handing their micro-grid to
someone else needs authority over *every* post that person holds now
(`Viewer.covers`, with the table `APPOINTABLE_BY` in scope.py); when nobody below
covers them all, only the street administrator can.

An outside review found the hole this closes: community staff could invite a phone for
anyone holding a post in their community, a peer or a street administrator who also
leads a micro-grid there, and so sign in as them with all their posts.
"""
from __future__ import annotations

import sqlalchemy as sa
from litestar.exceptions import PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Post, current_post
from server.accounts.scope import Viewer
from server.i18n import N_

MSG_NOT_COVERED = N_(
    "This person holds a post outside what you may appoint. Only someone whose part of the grid covers "
    "every post they hold (the street administrator) may do this."
)


async def current_posts_of(db: AsyncSession, person_id: int) -> list[tuple[str, str]]:
    """(role, node path) of every post the person holds now."""
    rows = await db.execute(
        sa.select(Post.role, Post.node_path).where(Post.person_id == person_id, current_post())
    )
    return [(role, path) for role, path in rows]


async def covers_person(db: AsyncSession, viewer: Viewer, person_id: int) -> bool:
    return viewer.covers(await current_posts_of(db, person_id))


async def require_covers_person(db: AsyncSession, viewer: Viewer, person_id: int) -> None:
    """403 unless the viewer may appoint every post this person holds now."""
    if not await covers_person(db, viewer, person_id):
        raise PermissionDeniedException(MSG_NOT_COVERED)
