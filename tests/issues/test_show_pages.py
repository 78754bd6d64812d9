"""Every ledger page renders for the people who may see it, and 404s for the others."""
from __future__ import annotations

from server.clock import recent_months

from .conftest import HX


async def test_it_shows_the_ledger_with_and_without_htmx(signed_in_as, people, new_problem):
    issue = await new_problem(description="三楼楼道灯坏了")
    client = await signed_in_as(people.leader)
    page = await client.get("/issues")
    assert page.status_code == 200 and "三楼楼道灯坏了" in page.text and "<html" in page.text
    fragment = await client.get("/issues?status=reported", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text and "三楼楼道灯坏了" in fragment.text
    assert "HX-Request" in fragment.headers.get("vary", "")


async def test_it_shows_a_problem_with_its_timeline_and_actions(signed_in_as, people, new_problem):
    issue = await new_problem(description="垃圾桶满溢")
    client = await signed_in_as(people.leader)
    page = await client.get(f"/issues/{issue.id}")
    assert page.status_code == 200
    assert "垃圾桶满溢" in page.text and issue.tracking_code in page.text
    assert 'value="assign"' in page.text and 'value="solve_on_spot"' in page.text


async def test_it_answers_404_for_a_problem_outside_the_grid(signed_in_as, people, new_problem):
    issue = await new_problem()
    client = await signed_in_as(people.neighbour)
    assert (await client.get(f"/issues/{issue.id}")).status_code == 404
    assert (await client.get("/issues/not-a-uuid")).status_code == 404
    client = await signed_in_as(people.other_secretary)
    assert (await client.get(f"/issues/{issue.id}")).status_code == 404
    assert issue.description not in (await client.get("/issues")).text


async def test_it_shows_the_report_form_and_the_agenda(signed_in_as, people):
    client = await signed_in_as(people.leader)
    assert (await client.get("/issues/new")).status_code == 200
    assert (await client.get(f"/issues/new?node={people.microgrid.code}")).status_code == 200
    client = await signed_in_as(people.secretary)
    agenda = await client.get(f"/meetings?community={people.community.code}")
    assert agenda.status_code == 200 and "record-meeting" in agenda.text
    assert (await client.get(f"/meetings?community={people.other_community.code}")).status_code == 404


async def test_it_lists_the_same_problems_whichever_index_it_walks(db, people, as_viewer, new_problem):
    from server.issues import queries

    for n in range(3):
        await new_problem(description=f"索引测试{n}")
    viewer = await as_viewer(people.admin)
    for filters in (queries.Filters(), queries.Filters(status="reported"), queries.Filters(month=recent_months(1)[0])):
        seek = await queries.list_issues(db, queries.conditions(viewer, filters, None))
        walk = await queries.list_issues(db, queries.conditions(viewer, filters, None, walk=True))
        assert [r.issue.id for r in seek] == [r.issue.id for r in walk] and seek


async def test_it_never_shows_counts_older_than_the_last_change(signed_in_as, people, new_problem, db, as_viewer):
    import re

    from server.issues import service

    client = await signed_in_as(people.leader)

    def closed(text):
        found = re.search(r"<strong>(\d+)</strong> 已办结", text)
        return int(found.group(1)) if found else 0

    issue = await new_problem(description="计数缓存测试")
    before = closed((await client.get("/issues")).text)
    leader = await as_viewer(people.leader)
    for kind, data in (("solve_on_spot", {}), ("feedback", {"text": "好了"}), ("close", {})):
        await service.record_event(db, leader, issue.id, kind, data)
    await db.commit()
    assert closed((await client.get("/issues")).text) == before + 1


async def test_it_loads_the_rates_as_a_lazy_part_of_the_ledger(signed_in_as, people, new_problem, as_viewer, db):
    from server.issues import service
    from server.clock import today_in_china

    issue = await new_problem(description="比率测试")
    leader = await as_viewer(people.leader)
    for kind, data in (("solve_on_spot", {}), ("feedback", {"text": "好了"})):
        await service.record_event(db, leader, issue.id, kind, data)
    await db.commit()
    client = await signed_in_as(people.leader)
    ledger = await client.get("/issues")
    assert 'hx-get="/issues/rates?' in ledger.text and 'hx-trigger="revealed"' in ledger.text
    month = today_in_china().strftime("%Y-%m")
    fragment = await client.get(f"/issues/rates?month={month}", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert people.community.name in fragment.text and month in fragment.text and "%" in fragment.text
    page = await client.get(f"/issues/rates?month={month}")
    assert "<html" in page.text and people.community.name in page.text
