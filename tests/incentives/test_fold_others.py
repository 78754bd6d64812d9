"""Points earned by someone else's act are folded with that act (ledger.fold_others): a problem
the leader reported closed with feedback, a resident's "satisfied", a patrol she took part in.
Before, they waited for her own page open or the nightly recompute, so the rankings and
scorecards lagged behind the ledger."""
from __future__ import annotations


import sqlalchemy as sa

from server.incentives.models import PointsAccount, PointsEntry
from server.issues import service
from server.issues.models import IssueCategory
from tests.conftest import csrf_headers
from tests.issues.conftest import viewer_of


async def _rules(db, person_id: int) -> list[str]:
    db.expire_all()
    return sorted((await db.execute(sa.select(PointsEntry.rule).where(PointsEntry.person_id == person_id))).scalars())


async def _balance(db, person_id: int) -> int:
    return (await db.execute(sa.select(PointsAccount.balance).where(PointsAccount.person_id == person_id))).scalar() or 0


async def test_closing_a_problem_and_a_satisfied_rating_credit_the_reporter_at_once(db, people, client, new_leader):
    leader = await new_leader("报告人网格长")
    category = (await db.execute(sa.select(IssueCategory.id).where(IssueCategory.code == "property"))).scalar_one()
    issue, _ = await service.report_issue(db, await viewer_of(db, leader), node=people.microgrid, category=category,
                                          description="楼道堆放杂物")
    await db.commit()
    issue_id, code = issue.id, issue.tracking_code
    secretary = await viewer_of(db, people.secretary)
    await service.record_event(db, secretary, issue_id, "solve_on_spot", {"note": "已清理"})
    await service.record_event(db, secretary, issue_id, "feedback", {"text": "已告知居民"})
    await db.commit()
    assert await _rules(db, leader.id) == []  # nothing yet: not closed
    await service.record_event(db, secretary, issue_id, "close", {})
    await db.commit()
    # Neither the leader's page nor a recompute ran: the close itself folded her points.
    assert await _rules(db, leader.id) == ["issue_closed", "issue_on_time"]
    closed_balance = await _balance(db, leader.id)
    assert closed_balance == 5  # 3 for closing with feedback, 2 on time (the default rule table)

    answer = await client.post(f"/track/{code}/rating", data={"rating": "satisfied"},
                               headers=await csrf_headers(client), follow_redirects=False)
    assert answer.status_code == 303
    assert await _rules(db, leader.id) == ["issue_closed", "issue_on_time", "satisfied"]
    assert await _balance(db, leader.id) == closed_balance + 2
    # A later event on the closed problem folds nothing twice.
    await service.record_event(db, secretary, issue_id, "comment", {"text": "回访"})
    await db.commit()
    assert await _rules(db, leader.id) == ["issue_closed", "issue_on_time", "satisfied"]


from tests.patrols.conftest import checklist, compound, patrol_record, post_sync  # noqa: E402,F401 (fixtures)


async def test_a_patrol_credits_its_participants_at_once(db, people, signed_in_as, new_leader, compound, checklist):
    version_id, items = checklist
    joined = await new_leader("巡查参与网格长")  # a B post in the compound: on its roster
    client = await signed_in_as(people.secretary)
    record = patrol_record(compound, version_id, items,
                           participants=[{"role": "leader", "name": "-", "person_id": joined.id}])
    assert (await post_sync(client, [record])).json()["results"][0]["status"] == "created"
    assert await _rules(db, joined.id) == ["patrol"]
    assert await _balance(db, joined.id) == 2
    assert (await post_sync(client, [record])).json()["results"][0]["status"] == "duplicate"
    assert await _rules(db, joined.id) == ["patrol"]  # a replay folds nothing twice
