"""One-time invites: the only way a phone gets enrolled.

The URL carries a random token; the table keeps its sha256, so a copy of the database
cannot enrol anyone. An invite names a person and one post: an existing post of theirs
(`post_id`), or a role on a grid node that becomes their post when the invite is used.
Redeeming it enrols one device. Ending the post voids its unused invites.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import segno
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Device, Invite, Person, Post, Role, current_post
from server.accounts.scope import APPOINTABLE_BY
from server.clock import today_in_china, utcnow
from server.grid.models import GridNode, Level
from server.i18n import N_

# Who may invite whom: the same table as who may appoint whom (server/accounts/scope.py).
INVITABLE_BY = APPOINTABLE_BY
ROLE_TITLES = {
    Role.admin: "街道管理员",
    Role.community: "社区工作人员",
    Role.compound: "网格员",
    Role.leader: "微网格长",
    Role.property: "物业",
}
# The level a role's post normally sits on (a check on what the CLI and the form accept).
ROLE_LEVELS = {
    Role.admin: {Level.street},
    Role.community: {Level.community},
    Role.compound: {Level.compound},
    Role.leader: {Level.microgrid},
    Role.property: {Level.compound, Level.community, Level.microgrid},
}


class InviteProblem(ValueError):
    """Why an invite cannot be used: unknown, used or expired (an English message id in .message)."""

    def __init__(self, reason: str, message: str, invite: Invite | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.invite = invite
        # Plain values, read now: after a rollback the row object may no longer be loaded
        # (reading it then is a MissingGreenlet, i.e. a 500 for the phone that lost a race).
        self.invite_id = invite.id if invite is not None else None
        self.person_id = invite.person_id if invite is not None else None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_url(base_url: str, token: str) -> str:
    return f"{base_url}/invite/{token}"


def qr_svg_data_uri(url: str) -> str:
    """The invite as a QR code, an SVG data: URI (allowed by img-src; no inline style)."""
    return segno.make(url, error="m").svg_data_uri(scale=5, border=2, dark="#1f2328")


def role_level_problem(role: str, node: GridNode) -> str | None:
    if role not in ROLE_LEVELS:
        return N_("Unknown role.")
    if node.level not in ROLE_LEVELS[Role(role)]:
        return N_("This role does not belong on this level of the grid.")
    return None


async def create_invite(db: AsyncSession, *, person: Person, role: str, node: GridNode, post_kind: str | None,
                        created_by: int | None, hours: int) -> tuple[Invite, str]:
    """Add an invite and return it with the token (shown once, never stored).

    When the person already holds this post, the invite names it (`post_id`).
    """
    token = secrets.token_urlsafe(24)
    now = utcnow()
    post_kind = post_kind if role == Role.leader else None
    held = await _current_post_like(db, person.id, node.id, role, post_kind)
    invite = Invite(token_hash=hash_token(token), person_id=person.id, role=role, node_id=node.id,
                    post_kind=post_kind, post_id=held.id if held else None, created_by=created_by,
                    created_at=now, expires_at=now + timedelta(hours=hours))
    db.add(invite)
    await db.flush()
    return invite, token


async def find_invite(db: AsyncSession, token: str) -> Invite:
    """The invite behind a token if it can still be used; InviteProblem otherwise."""
    invite = None
    if isinstance(token, str) and 10 <= len(token) <= 100:
        invite = (await db.execute(sa.select(Invite).where(Invite.token_hash == hash_token(token)))).scalar_one_or_none()
    if invite is None:
        raise InviteProblem("unknown", N_("This invitation link is not valid. Check that it was copied whole, or ask for a new one."))
    if invite.used_at is not None:
        raise InviteProblem("used", N_("This invitation link has already been used. Each link works once: ask your administrator for a new one."), invite)
    if invite.post_id is not None:
        post = await db.get(Post, invite.post_id)
        if post is None or not post.is_current:
            raise InviteProblem("ended", MSG_POST_ENDED, invite)
    expires = invite.expires_at if invite.expires_at.tzinfo else invite.expires_at.replace(tzinfo=timezone.utc)
    if expires <= utcnow():
        raise InviteProblem("expired", N_("This invitation link has expired. Ask your administrator for a new one."), invite)
    return invite


async def redeem_invite(db: AsyncSession, invite: Invite) -> None:
    """Mark the invite used, atomically: of two phones racing with one link, one wins."""
    result = await db.execute(
        sa.update(Invite)
        .where(Invite.id == invite.id, Invite.used_at.is_(None), Invite.expires_at > utcnow())
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InviteProblem("used", N_("This invitation link has already been used. Each link works once: ask your administrator for a new one."), invite)
    await ensure_post(db, invite)


async def _current_post_like(db: AsyncSession, person_id: int, node_id: int, role: str,
                             post_kind: str | None) -> Post | None:
    query = sa.select(Post).where(Post.person_id == person_id, Post.node_id == node_id, Post.role == role,
                                  current_post())
    if role == Role.leader and post_kind:
        query = query.where(Post.post_kind == post_kind)
    return (await db.execute(query.order_by(Post.id))).scalars().first()


MSG_POST_ENDED = N_("The post this invitation was for has ended. Ask your administrator for a new invitation.")


async def ensure_post(db: AsyncSession, invite: Invite) -> Post:
    """The post the invite grants: the named one (still held), else the matching one, else a new one."""
    if invite.post_id is not None:
        post = await db.get(Post, invite.post_id)
        if post is None or not post.is_current:
            raise InviteProblem("ended", MSG_POST_ENDED, invite)
        return post
    existing = await _current_post_like(db, invite.person_id, invite.node_id, invite.role, invite.post_kind)
    if existing:
        return existing
    node = await db.get(GridNode, invite.node_id)
    if node is None or node.retired_at is not None:
        raise InviteProblem("ended", MSG_POST_ENDED, invite)
    post = Post(person_id=invite.person_id, node_id=node.id, node_path=node.path, role=invite.role,
                post_kind=invite.post_kind, title=ROLE_TITLES.get(Role(invite.role), ""),
                company_id=node.property_company_id if invite.role == Role.property else None,
                started_on=today_in_china())
    db.add(post)
    return post


async def void_invites_for_post(db: AsyncSession, post: Post) -> None:
    """An ended post's unused invitations stop working (one that named it, or one that would re-create it)."""
    await db.execute(
        sa.update(Invite)
        .where(Invite.used_at.is_(None), Invite.expires_at > utcnow(),
               sa.or_(Invite.post_id == post.id,
                      sa.and_(Invite.person_id == post.person_id, Invite.node_id == post.node_id,
                              Invite.role == post.role)))
        .values(expires_at=utcnow())
        .execution_options(synchronize_session=False)
    )


@dataclass
class InviteDescription:
    person: Person
    node: GridNode
    role: str
    post_kind: str | None
    expires_at: datetime


async def describe(db: AsyncSession, invite: Invite) -> InviteDescription:
    return InviteDescription(await db.get(Person, invite.person_id), await db.get(GridNode, invite.node_id),
                             invite.role, invite.post_kind, invite.expires_at)


# --- command line: first run, `weiwang invite`, `weiwang demo` (server/cli.py owns the engine) ---

async def _street(db: AsyncSession) -> GridNode | None:
    return (await db.execute(
        sa.select(GridNode).where(GridNode.level == Level.street).order_by(GridNode.path)
    )).scalars().first()


async def admin_with_device_exists(db: AsyncSession) -> bool:
    row = (await db.execute(
        sa.select(Device.id)
        .join(Post, Post.person_id == Device.person_id)
        .join(Person, Person.id == Device.person_id)
        .where(Post.role == Role.admin, current_post(), Device.revoked_at.is_(None), Person.active.is_(True))
        .limit(1)
    )).first()
    return row is not None


async def _street_admin(db: AsyncSession, street: GridNode) -> Person:
    person = (await db.execute(
        sa.select(Person).join(Post, Post.person_id == Person.id)
        .where(Post.role == Role.admin, Post.node_id == street.id, current_post(), Person.active.is_(True))
        .order_by(Person.id)
    )).scalars().first()
    if person is None:
        person = Person(name="街道管理员")
        db.add(person)
        await db.flush()
        db.add(Post(person_id=person.id, node_id=street.id, node_path=street.path, role=Role.admin,
                    title=ROLE_TITLES[Role.admin]))
    return person


async def first_run_invite(db: AsyncSession, settings) -> str | None:
    """`weiwang serve`: an administrator invite URL while no administrator has a device."""
    if await admin_with_device_exists(db):
        return None
    street = await _street(db)
    if street is None:
        return None  # nothing to administer yet: load a street first (`weiwang demo`)
    person = await _street_admin(db, street)
    _, token = await create_invite(db, person=person, role=Role.admin, node=street, post_kind=None,
                                   created_by=None, hours=settings.invite_hours)
    await db.commit()
    return invite_url(settings.base_url, token)


class CommandError(ValueError):
    pass


async def invite_command(db: AsyncSession, settings, *, name: str, role: str, grid: str | None,
                         post_kind: str | None, phone: str = "") -> str:
    """`weiwang invite`: find or create the person, then print a one-time URL."""
    if role not in INVITABLE_BY[Role.admin]:
        raise CommandError(f"unknown role {role!r}; use one of: " + ", ".join(r.value for r in Role))
    if grid:
        node = (await db.execute(sa.select(GridNode).where(GridNode.code == grid))).scalar_one_or_none()
        if node is None:
            raise CommandError(f"no grid node with code {grid!r}")
    elif role == Role.admin:
        node = await _street(db)
        if node is None:
            raise CommandError("no street in the database yet; load one first (weiwang demo)")
    else:
        raise CommandError("--grid is required for this role")
    problem = role_level_problem(role, node)
    if problem:
        raise CommandError(f"{problem} ({role} on a {node.level})")
    if post_kind and role != Role.leader:
        raise CommandError("--post (A/B) is only for micro-grid leaders")
    person = await find_or_create_person(db, name=name, phone=phone, node=node)
    _, token = await create_invite(db, person=person, role=role, node=node,
                                   post_kind=(post_kind or "A") if role == Role.leader else None,
                                   created_by=None, hours=settings.invite_hours)
    await db.commit()
    return invite_url(settings.base_url, token)


async def find_or_create_person(db: AsyncSession, *, name: str, phone: str, node: GridNode) -> Person:
    """A person of that name already working in this part of the grid, or a new one.

    Names repeat in a street of 50,000 households, so a name alone never picks someone
    from elsewhere in the tree.
    """
    name = name.strip()
    if not name or len(name) > 40:
        raise CommandError("the name must be 1 to 40 characters")
    community_path = node.path[:16]  # the node's community (or the street itself)
    found = (await db.execute(
        sa.select(Person).join(Post, Post.person_id == Person.id)
        .where(Person.name == name, Post.node_path.startswith(community_path))
        .order_by(Person.id)
    )).scalars().first()
    if found:
        return found
    person = Person(name=name, phone=phone.strip()[:20])
    db.add(person)
    await db.flush()
    return person


async def demo_invites(db: AsyncSession, settings) -> list[tuple[str, str]]:
    """Invite URLs for the demo's street admin, a community secretary and two neighbouring leaders."""
    out: list[tuple[str, str]] = []
    street = await _street(db)
    if street is None:
        return out

    async def first_post(*conditions):
        return (await db.execute(
            sa.select(Post, Person, GridNode).join(Person, Person.id == Post.person_id)
            .join(GridNode, GridNode.id == Post.node_id).where(current_post(), *conditions)
            .order_by(GridNode.path, Post.id)
        )).first()

    picks: list[tuple[str, Post, Person, GridNode]] = []
    admin = await _street_admin(db, street)
    picks.append(("street admin", Post(role=Role.admin, node_id=street.id, node_path=street.path, person_id=admin.id), admin, street))
    row = await first_post(Post.role == Role.community, Post.title == "社区党委书记")
    if row:
        picks.append(("community secretary", *row))
    # Two A-post leaders of micro-grids under the same parent: neighbours.
    leaders = (await db.execute(
        sa.select(Post, Person, GridNode).join(Person, Person.id == Post.person_id)
        .join(GridNode, GridNode.id == Post.node_id)
        .where(Post.role == Role.leader, Post.post_kind == "A", current_post(), GridNode.kind == "residential")
        .order_by(GridNode.path).limit(50)
    )).all()
    for first, second in zip(leaders, leaders[1:]):
        if first[2].parent_id == second[2].parent_id and first[1].id != second[1].id:
            picks.append(("leader", *first))
            picks.append(("neighbouring leader", *second))
            break
    for label, post, person, node in picks:
        _, token = await create_invite(db, person=person, role=post.role, node=node, post_kind=post.post_kind,
                                       created_by=None, hours=settings.invite_hours)
        out.append((f"{label}: {person.name} · {node.name} ({node.code})", invite_url(settings.base_url, token)))
    await db.commit()
    return out
