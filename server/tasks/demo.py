"""The demo's task list: the street's 疫情期间老旧院落执勤 (duty at the old courtyards) issued to the
residential compounds of its first communities, due in a week, part done (three shares in five
reported, each with a note), so progress by community has something to show."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.accounts.models import Post, Role
from server.clock import today_in_china
from server.grid.models import GridNode, Level
from server.tasks.models import Task, TaskAssignment, TaskReport

TITLE = "疫情期间老旧院落执勤"
DESCRIPTION = "各微网格长每天在老旧院落出入口执勤两小时：测温、登记外来人员、提醒佩戴口罩，完成后上报执勤情况并附照片。"
NOTES = ["已按要求在院落门口执勤，登记外来人员12人", "执勤完成，提醒未戴口罩居民8人", "已执勤，院落消杀记录已张贴"]
DEMO_ID = uuid.UUID("6f0c2d0e-0000-4000-8000-00000000a001")


async def load_tasks_demo(conn: AsyncConnection, communities: int = 3) -> dict[str, int]:
    g = GridNode.__table__
    street = (await conn.execute(sa.select(g.c.id, g.c.path).where(g.c.level == Level.street).order_by(g.c.path))).first()
    if street is None:
        return {"tasks": 0}
    admin = (await conn.execute(sa.select(Post.__table__.c.person_id).where(
        Post.__table__.c.role == Role.admin).order_by(Post.__table__.c.id))).scalar()
    community_paths = [r.path for r in (await conn.execute(sa.select(g.c.path).where(
        g.c.level == Level.community, g.c.path.startswith(street.path)).order_by(g.c.path).limit(communities)))]
    compounds = [r.path for r in (await conn.execute(sa.select(g.c.path).where(
        g.c.level == Level.compound, g.c.kind == "residential",
        sa.or_(*[g.c.path.startswith(p) for p in community_paths])).order_by(g.c.path)))]
    if admin is None or not compounds:
        return {"tasks": 0}
    microgrids = (await conn.execute(sa.select(g.c.id, g.c.path).where(
        g.c.level == Level.microgrid, sa.or_(*[g.c.path.startswith(p) for p in compounds])).order_by(g.c.path))).all()
    p = Post.__table__
    owners = dict((await conn.execute(sa.select(p.c.node_id, p.c.person_id).where(
        p.c.node_id.in_([m.id for m in microgrids]), p.c.role == Role.leader, p.c.post_kind == "A",
        p.c.ended_on.is_(None)).order_by(p.c.id.desc()))).all())
    now = datetime.now(timezone.utc)
    due = today_in_china() + timedelta(days=7)
    await conn.execute(sa.insert(Task.__table__).values(
        id=DEMO_ID, issuer_node_id=street.id, issuer_path=street.path, title=TITLE, description=DESCRIPTION,
        due_on=due, created_by=admin, created_at=now - timedelta(days=3), assignment_count=len(microgrids)))
    reports = 0
    for n, m in enumerate(microgrids):
        done = n % 5 in (1, 2, 3) and m.id in owners  # three in five; the first of every five still open
        at = now - timedelta(days=2, hours=n % 24) if done else None
        assignment_id = (await conn.execute(sa.insert(TaskAssignment.__table__).values(
            task_id=DEMO_ID, microgrid_id=m.id, grid_path=m.path, owner_id=owners.get(m.id), due_on=due, done_at=at,
            report_count=1 if done else 0).returning(TaskAssignment.__table__.c.id))).scalar_one()
        if done:
            await conn.execute(sa.insert(TaskReport.__table__).values(
                id=uuid.uuid5(DEMO_ID, str(m.id)), assignment_id=assignment_id, grid_path=m.path, person_id=owners[m.id],
                note=NOTES[n % len(NOTES)], reported_at=at, received_at=at))
            reports += 1
    return {"tasks": 1, "task_shares": len(microgrids), "task_reports": reports}
