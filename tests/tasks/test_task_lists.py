"""任务清单化、清单责任化: who issues, who owns, reports exactly once, progress equals a hand count."""
import uuid
from datetime import timedelta

import sqlalchemy as sa

from server.accounts.models import Post, Role, current_post
from server.clock import today_in_china
from server.grid.models import GridNode, Level
from server.notify.models import Notification
from server.tasks.models import Task, TaskAssignment, TaskReport
from server.tasks.reminders import scan_tasks
from tests.conftest import csrf_headers
from tests.sync.helpers import post_sync, record


async def _issue(client, targets, title="老旧院落执勤", days=7):
    due = (today_in_china() + timedelta(days=days)).isoformat()
    return await client.post("/tasks", data={"title": title, "description": "每天两小时", "due_on": due,
                                             "targets": [str(t) for t in targets]},
                             headers=await csrf_headers(client), follow_redirects=False)


async def _compound_of(db, microgrid):
    return (await db.execute(sa.select(GridNode).where(GridNode.path == microgrid.path[:24]))).scalar_one()


async def test_a_community_issues_a_task_to_a_compound_each_micro_grid_owned_by_its_a_post(db, people, signed_in_as):
    client = await signed_in_as(people.secretary)
    compound = await _compound_of(db, people.microgrid)
    response = await _issue(client, [compound.id], title="政策宣传周")
    assert response.status_code == 303
    task_id = uuid.UUID(response.headers["location"].rsplit("/", 1)[1])
    shares = (await db.execute(sa.select(TaskAssignment).where(TaskAssignment.task_id == task_id))).scalars().all()
    microgrids = (await db.execute(sa.select(GridNode.id).where(
        GridNode.level == Level.microgrid, GridNode.path.startswith(compound.path), GridNode.retired_at.is_(None)))).scalars().all()
    assert sorted(s.microgrid_id for s in shares) == sorted(microgrids)
    mine = next(s for s in shares if s.microgrid_id == people.microgrid.id)
    assert mine.owner_id == people.leader.id
    a_posts = dict((await db.execute(sa.select(Post.node_id, Post.person_id).where(
        Post.node_id.in_(microgrids), Post.role == Role.leader, Post.post_kind == "A", current_post()))).all())
    assert all(s.owner_id == a_posts.get(s.microgrid_id) for s in shares)


async def test_only_the_street_or_a_community_issues_and_only_inside_its_part(db, people, signed_in_as):
    compound = await _compound_of(db, people.microgrid)
    leader = await signed_in_as(people.leader)
    assert (await _issue(leader, [compound.id])).status_code == 403
    other = await signed_in_as(people.other_secretary)
    outside = await _issue(other, [compound.id])
    assert outside.status_code == 422 and "请至少选择" in outside.text and "老旧院落执勤" in outside.text
    past = await _issue(await signed_in_as(people.secretary), [compound.id], days=-1)
    assert past.status_code == 422 and "今天或以后" in past.text


async def test_a_report_from_the_phone_counts_exactly_once_and_progress_equals_a_hand_count(db, people, signed_in_as):
    staff = await signed_in_as(people.secretary)
    compound = await _compound_of(db, people.microgrid)
    task_id = uuid.UUID((await _issue(staff, [people.community.id], title="关爱户摸底")).headers["location"].rsplit("/", 1)[1])
    share_id = (await db.execute(sa.select(TaskAssignment.id).where(
        TaskAssignment.task_id == task_id, TaskAssignment.microgrid_id == people.microgrid.id))).scalar_one()
    leader = await signed_in_as(people.leader)
    report = record("task_report", {"assignment_id": share_id, "note": "已摸底23户"})
    assert (await post_sync(leader, [report])).json()["results"][0]["status"] == "created"
    assert (await post_sync(leader, [report])).json()["results"][0]["status"] == "duplicate"
    db.expire_all()
    assert (await db.execute(sa.select(sa.func.count()).select_from(TaskReport).where(
        TaskReport.assignment_id == share_id))).scalar() == 1
    share = await db.get(TaskAssignment, share_id)
    assert share.done_at is not None and share.report_count == 1
    # Progress by community equals counting the rows by hand.
    rows = (await db.execute(sa.select(TaskAssignment).where(TaskAssignment.task_id == task_id))).scalars().all()
    total, done = len(rows), sum(1 for r in rows if r.done_at is not None)
    mine = (await leader.get("/tasks")).text
    assert "关爱户摸底" in mine and "已上报完成" in mine
    staff = await signed_in_as(people.secretary)  # one test client: sign in as the secretary again
    page = (await staff.get(f"/tasks/{task_id}")).text
    assert f'data-community="{people.community.code}"' in page
    assert f"{total} 个微网格，已完成 {done} 个" in page and done == 1
    assert "已摸底23户" in page  # one community: its shares listed with the report
    del compound


async def test_a_leader_may_not_report_another_micro_grids_share_nor_see_another_communitys(db, people, signed_in_as):
    staff = await signed_in_as(people.secretary)
    task_id = uuid.UUID((await _issue(staff, [people.community.id], title="消防检查")).headers["location"].rsplit("/", 1)[1])
    neighbours = (await db.execute(sa.select(TaskAssignment.id).where(
        TaskAssignment.task_id == task_id, TaskAssignment.microgrid_id == people.neighbour_microgrid.id))).scalar_one()
    leader = await signed_in_as(people.leader)
    result = (await post_sync(leader, [record("task_report", {"assignment_id": neighbours, "note": "代报"})])).json()
    assert result["results"][0]["status"] == "rejected"
    assert (await leader.get(f"/tasks/assignments/{neighbours}/report")).status_code == 404
    other = await signed_in_as(people.other_secretary)
    assert (await other.get(f"/tasks/{task_id}")).status_code == 404


async def test_staff_reassign_a_share_to_another_leader_of_that_micro_grid_only(db, people, signed_in_as):
    staff = await signed_in_as(people.secretary)
    task_id = uuid.UUID((await _issue(staff, [people.community.id], title="垃圾分类宣传")).headers["location"].rsplit("/", 1)[1])
    share_id = (await db.execute(sa.select(TaskAssignment.id).where(
        TaskAssignment.task_id == task_id, TaskAssignment.microgrid_id == people.microgrid.id))).scalar_one()
    headers = await csrf_headers(staff)
    # Someone with no post in that micro-grid (made here: other tests give the cast posts there).
    from server.accounts.models import Person

    outsider = Person(name="局外人", phone="13900009999")
    db.add(outsider)
    await db.commit()
    stranger = await staff.post(f"/tasks/assignments/{share_id}/owner", data={"owner_id": str(outsider.id)},
                                headers=headers, follow_redirects=False)
    assert stranger.status_code == 403
    leader = await signed_in_as(people.leader)
    assert (await leader.post(f"/tasks/assignments/{share_id}/owner", data={"owner_id": str(people.leader.id)},
                              headers=await csrf_headers(leader), follow_redirects=False)).status_code == 403


async def test_overdue_shares_remind_their_owner_once_a_day(db, people):
    task = Task(id=uuid.uuid4(), issuer_node_id=people.community.id, issuer_path=people.community.path, title="超期测试",
                due_on=today_in_china() - timedelta(days=1), created_by=people.secretary.id, assignment_count=1)
    db.add(task)
    await db.flush()
    share = TaskAssignment(task_id=task.id, microgrid_id=people.microgrid.id, grid_path=people.microgrid.path,
                           owner_id=people.leader.id, due_on=task.due_on)
    db.add(share)
    await db.commit()
    for _ in range(2):
        await scan_tasks(db, today_in_china())
        await db.commit()
    rows = (await db.execute(sa.select(Notification).where(
        Notification.dedupe_key == f"push:task:{share.id}:{today_in_china().isoformat()}"))).scalars().all()
    assert len(rows) == 1 and rows[0].person_id == people.leader.id and "超期测试" in rows[0].title


async def test_the_demo_task_is_part_done(db):
    task = (await db.execute(sa.select(Task).where(Task.title == "疫情期间老旧院落执勤"))).scalar_one()
    rows = (await db.execute(sa.select(TaskAssignment).where(TaskAssignment.task_id == task.id))).scalars().all()
    done = sum(1 for r in rows if r.done_at is not None)
    assert 0 < done < len(rows)
