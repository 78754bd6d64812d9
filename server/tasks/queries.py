"""Reads and writes of task lists, every one scoped by the Viewer.

A task is seen by whoever sees one of its assignments (the street sees all of a street-wide
task, a community its own share, a leader her micro-grids') or issued it; progress is counted
by community (the first two segments of an assignment's path) in one grouped query.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Person, Post, Role, current_post
from server.accounts.scope import Viewer
from server.clock import today_in_china
from server.grid.models import GridNode, Level
from server.tasks.models import Task, TaskAssignment, TaskReport
from server.tree import COMMUNITY_LEN, in_subtree

# The street issues to everyone under it, a community to its own grids (the seed's 清单).
ISSUER_ROLES = (Role.admin, Role.community)
# Who may hand a micro-grid's share to another of its leaders.
REASSIGN_ROLES = (Role.admin, Role.community, Role.compound)


def community_path(path: str) -> str:
    return path[:COMMUNITY_LEN]


async def issuer_node(db: AsyncSession, viewer: Viewer) -> GridNode:
    """The node a person issues tasks from: the street for its administrator, else her community."""
    for role in ISSUER_ROLES:
        post = next((p for p in viewer.posts if p.role == role), None)
        if post is not None:
            return await db.get(GridNode, post.node_id)
    raise PermissionDeniedException("Only the street or a community issues tasks")


async def target_options(db: AsyncSession, viewer: Viewer, issuer: GridNode) -> list[GridNode]:
    """What a task may be issued to: the communities and compounds under the issuer."""
    rows = await db.execute(sa.select(GridNode).where(
        in_subtree(GridNode.path, issuer.path), GridNode.level.in_([Level.community, Level.compound]),
        GridNode.retired_at.is_(None), viewer.subtree_clause(GridNode.path)).order_by(GridNode.path))
    return list(rows.scalars())


async def microgrids_under(db: AsyncSession, viewer: Viewer, nodes: list[GridNode]) -> list[GridNode]:
    if not nodes:
        return []
    rows = await db.execute(sa.select(GridNode).where(
        sa.or_(*[in_subtree(GridNode.path, n.path) for n in nodes]), GridNode.level == Level.microgrid,
        GridNode.retired_at.is_(None), viewer.subtree_clause(GridNode.path)).order_by(GridNode.path))
    return list(rows.scalars())


async def a_post_leaders(db: AsyncSession, microgrid_ids: list[int]) -> dict[int, int]:
    """micro-grid id -> its A-post leader now (the default owner)."""
    owners: dict[int, int] = {}
    for start in range(0, len(microgrid_ids), 1000):
        chunk = microgrid_ids[start:start + 1000]
        rows = await db.execute(sa.select(Post.node_id, Post.person_id).where(
            Post.node_id.in_(chunk), Post.role == Role.leader, Post.post_kind == "A", current_post())
            .order_by(Post.id))
        for node_id, person_id in rows:
            owners.setdefault(node_id, person_id)
    return owners


async def issue_task(db: AsyncSession, viewer: Viewer, issuer: GridNode, *, title: str, description: str,
                     due_on: date, microgrids: list[GridNode]) -> Task:
    """The task and one assignment per micro-grid, owned by its A-post leader. The caller commits."""
    task = Task(id=uuid.uuid4(), issuer_node_id=issuer.id, issuer_path=issuer.path, title=title,
                description=description, due_on=due_on, created_by=viewer.person_id, assignment_count=len(microgrids))
    db.add(task)
    await db.flush()
    owners = await a_post_leaders(db, [m.id for m in microgrids])
    rows = [{"task_id": task.id, "microgrid_id": m.id, "grid_path": m.path, "owner_id": owners.get(m.id),
             "due_on": due_on, "done_at": None, "report_count": 0} for m in microgrids]
    for start in range(0, len(rows), 1000):
        await db.execute(sa.insert(TaskAssignment), rows[start:start + 1000])
    return task


def _visible(viewer: Viewer):
    """Tasks with an assignment in the viewer's part, or issued inside it."""
    shares = sa.select(TaskAssignment.task_id).where(viewer.subtree_clause(TaskAssignment.grid_path))
    return sa.or_(Task.id.in_(shares), viewer.subtree_clause(Task.issuer_path))


async def tasks_for(db: AsyncSession, viewer: Viewer, limit: int = 100) -> list[Task]:
    if not viewer.grid_paths:
        return []
    rows = await db.execute(sa.select(Task).where(_visible(viewer)).order_by(Task.created_at.desc()).limit(limit))
    return list(rows.scalars())


async def get_task_for(db: AsyncSession, viewer: Viewer, task_id) -> Task:
    try:
        key = uuid.UUID(str(task_id))
    except ValueError:
        raise NotFoundException() from None
    task = (await db.execute(sa.select(Task).where(Task.id == key, _visible(viewer)))).scalar_one_or_none() \
        if viewer.grid_paths else None
    if task is None:
        raise NotFoundException()
    return task


async def get_assignment_for(db: AsyncSession, viewer: Viewer, assignment_id: int) -> TaskAssignment:
    assignment = (await db.execute(sa.select(TaskAssignment).where(
        TaskAssignment.id == assignment_id, viewer.subtree_clause(TaskAssignment.grid_path)))).scalar_one_or_none()
    if assignment is None or not viewer.sees_path(assignment.grid_path):
        raise NotFoundException()
    return assignment


def may_report(viewer: Viewer, assignment: TaskAssignment) -> bool:
    """The owner, a leader of that micro-grid (A or B), or staff over it reports it done."""
    if viewer.person_id == assignment.owner_id:
        return True
    return bool(viewer.roles_at(assignment.grid_path) & {Role.leader, *REASSIGN_ROLES})


@dataclass
class Progress:
    community: GridNode
    total: int
    done: int
    overdue: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


async def progress_by_community(db: AsyncSession, viewer: Viewer, task: Task, today: date | None = None) -> list[Progress]:
    """Assignments, done and overdue, per community of the viewer's part: one grouped query."""
    today = today or today_in_china()
    community = sa.func.substr(TaskAssignment.grid_path, 1, COMMUNITY_LEN)
    rows = (await db.execute(
        sa.select(community, sa.func.count(),
                  sa.func.count(TaskAssignment.done_at),
                  sa.func.sum(sa.case((sa.and_(TaskAssignment.done_at.is_(None), TaskAssignment.due_on < today), 1),
                                      else_=0)))
        .where(TaskAssignment.task_id == task.id, viewer.subtree_clause(TaskAssignment.grid_path))
        .group_by(community).order_by(community))).all()
    if not rows:
        return []
    nodes = {n.path: n for n in (await db.execute(sa.select(GridNode).where(
        GridNode.path.in_([r[0] for r in rows])))).scalars()}
    return [Progress(nodes[path], total, done, int(overdue or 0)) for path, total, done, overdue in rows if path in nodes]


@dataclass
class Share:
    assignment: TaskAssignment
    microgrid: GridNode
    owner: Person | None
    last_report: TaskReport | None


async def shares_in(db: AsyncSession, viewer: Viewer, task: Task, community: GridNode, limit: int = 500) -> list[Share]:
    """A community's assignments of a task, with owner and latest report."""
    rows = (await db.execute(
        sa.select(TaskAssignment, GridNode, Person)
        .join(GridNode, GridNode.id == TaskAssignment.microgrid_id)
        .outerjoin(Person, Person.id == TaskAssignment.owner_id)
        .where(TaskAssignment.task_id == task.id, in_subtree(TaskAssignment.grid_path, community.path),
               viewer.subtree_clause(TaskAssignment.grid_path))
        .order_by(TaskAssignment.done_at.is_not(None), TaskAssignment.grid_path).limit(limit))).all()
    reports = await latest_reports(db, [a.id for a, _, _ in rows])
    return [Share(a, mg, person, reports.get(a.id)) for a, mg, person in rows]


async def latest_reports(db: AsyncSession, assignment_ids: list[int]) -> dict[int, TaskReport]:
    if not assignment_ids:
        return {}
    rows = await db.execute(sa.select(TaskReport).where(TaskReport.assignment_id.in_(assignment_ids))
                            .order_by(TaskReport.reported_at))
    return {r.assignment_id: r for r in rows.scalars()}


async def my_shares(db: AsyncSession, viewer: Viewer) -> list[tuple[TaskAssignment, Task, GridNode]]:
    """The assignments this person owns, open ones first, then by due date."""
    rows = await db.execute(
        sa.select(TaskAssignment, Task, GridNode).join(Task, Task.id == TaskAssignment.task_id)
        .join(GridNode, GridNode.id == TaskAssignment.microgrid_id)
        .where(TaskAssignment.owner_id == viewer.person_id, viewer.subtree_clause(TaskAssignment.grid_path))
        .order_by(TaskAssignment.done_at.is_not(None), TaskAssignment.due_on, TaskAssignment.id).limit(200))
    return [tuple(r) for r in rows]


async def owner_options(db: AsyncSession, assignment: TaskAssignment) -> list[tuple[int, str]]:
    """Who may take a micro-grid's share: its leaders now (A and B posts)."""
    rows = await db.execute(sa.select(Person.id, Person.name, Post.post_kind).join(Post, Post.person_id == Person.id)
                            .where(Post.node_id == assignment.microgrid_id, Post.role == Role.leader, current_post(),
                                   Person.active).order_by(Post.post_kind, Person.id))
    seen: dict[int, str] = {}
    for pid, name, kind in rows:
        seen.setdefault(pid, f"{name}（{kind}岗）" if kind else name)
    return list(seen.items())


async def overdue_open(db: AsyncSession, today: date, limit: int = 5000) -> list[tuple[TaskAssignment, Task]]:
    rows = await db.execute(sa.select(TaskAssignment, Task).join(Task, Task.id == TaskAssignment.task_id).where(
        TaskAssignment.done_at.is_(None), TaskAssignment.owner_id.is_not(None), TaskAssignment.due_on < today)
        .limit(limit))
    return [tuple(r) for r in rows]


