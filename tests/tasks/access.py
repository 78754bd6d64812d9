"""Who may use the task-list pages (merged into the access matrix)."""
from tests.accounts.access_matrix import SIGNIN, entry, expect


async def _share(env, where):
    """A fresh task with one share: the cast's micro-grid (inside) or another community's (outside)."""
    import uuid
    from datetime import timedelta

    import sqlalchemy as sa

    from server.accounts.models import Post, Role, current_post
    from server.clock import today_in_china
    from server.db import make_sessionmaker
    from server.tasks.models import Task, TaskAssignment

    node = env.microgrid(where)
    async with make_sessionmaker(env.engine)() as db:
        owner = (await db.execute(sa.select(Post.person_id).where(
            Post.node_id == node.id, Post.role == Role.leader, Post.post_kind == "A", current_post()))).scalars().first()
        task = Task(id=uuid.uuid4(), issuer_node_id=node.id, issuer_path=node.path[:16], title="矩阵任务",
                    due_on=today_in_china() + timedelta(days=3), created_by=env.people.admin.id, assignment_count=1)
        db.add(task)
        await db.flush()
        share = TaskAssignment(task_id=task.id, microgrid_id=node.id, grid_path=node.path, owner_id=owner,
                               due_on=task.due_on)
        db.add(share)
        await db.commit()
        return task.id, share.id, owner


async def _task_url(env, where, role):
    task_id, _, _ = await _share(env, where)
    return f"/tasks/{task_id}"


async def _share_url(env, where, role, suffix):
    _, share_id, _ = await _share(env, where)
    return f"/tasks/assignments/{share_id}{suffix}"


async def _owner_call(env, where, role):
    return await _share_url(env, where, role, "/owner")


async def _owner_data(env, where, role):
    import sqlalchemy as sa

    from server.accounts.models import Post, Role, current_post
    from server.db import make_sessionmaker

    async with make_sessionmaker(env.engine)() as db:
        owner = (await db.execute(sa.select(Post.person_id).where(
            Post.node_id == env.microgrid(where).id, Post.role == Role.leader, current_post()))).scalars().first()
    return {"owner_id": str(owner)}


async def _new_task(env, where, role):
    from datetime import timedelta

    from server.clock import today_in_china

    return {"title": "矩阵任务", "due_on": (today_in_china() + timedelta(days=3)).isoformat(),
            "targets": str(env.microgrid(where).path and (await _compound_id(env, where)))}


async def _compound_id(env, where):
    import sqlalchemy as sa

    from server.db import make_sessionmaker
    from server.grid.models import GridNode

    async with make_sessionmaker(env.engine)() as db:
        return (await db.execute(sa.select(GridNode.id).where(
            GridNode.path == env.microgrid(where).path[:24]))).scalar_one()


STAFF_AND_LEADERS = expect((200, 404), visitor=SIGNIN, admin=200, property=403)

ACCESS = {
    ("GET", "/tasks"): entry("/tasks", answers=expect(200, visitor=SIGNIN, property=403)),
    ("GET", "/tasks/new"): entry("/tasks/new", answers=expect(403, visitor=SIGNIN, community=200, admin=200),
                                 why="the street or a community issues tasks (任务清单)"),
    ("POST", "/tasks"): entry(
        "/tasks", data=_new_task, answers=expect(403, visitor=SIGNIN, community=(303, 422), admin=303),
        why="a compound outside the issuer's part is not on the form: a field error, nothing issued"),
    ("GET", "/tasks/{task_id:uuid}"): entry(_task_url, answers=STAFF_AND_LEADERS),
    ("POST", "/tasks/assignments/{assignment_id:int}/owner"): entry(
        _owner_call, data=_owner_data,
        answers=expect((303, 404), visitor=SIGNIN, leader=403, property=403, admin=303),
        why="staff over the micro-grid hand its share to another of its leaders"),
    ("GET", "/tasks/assignments/{assignment_id:int}/report"): entry(
        lambda e, w, r: _share_url(e, w, r, "/report"), answers=STAFF_AND_LEADERS),
    ("POST", "/tasks/assignments/{assignment_id:int}/report"): entry(
        lambda e, w, r: _share_url(e, w, r, "/report"), data={"note": "已完成"},
        answers=expect((303, 404), visitor=SIGNIN, admin=303, property=403)),
}
