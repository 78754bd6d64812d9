"""Homes per role (issue 13): the staff to-do cards count exactly what the lists they open show;
the property company's home is 待我整改, their company's problems only, in their words."""
import re
from datetime import timedelta

import sqlalchemy as sa

from server.clock import today_in_china
from server.issues import service
from server.issues.models import Issue
from tests.issues.conftest import in_days


def listed(path: str, html: str) -> int:
    """How many items the list page at `path` shows (the ledger says it as 共 N 件)."""
    if path.startswith("/issues"):
        return int(re.search(r'class="count-chip"[^>]*>共 <strong>(\d+)</strong>', html).group(1))
    if path.startswith("/registers/changes"):
        return len(re.findall(r'<li class="change"', html))
    if path.startswith("/patrols"):
        return len(re.findall(r'class="list-item calendar-row"', html))
    if path.startswith("/scorecards"):
        total = int(re.search(r'data-low-total="(\d+)"', html).group(1))
        assert len(re.findall(r'<li class="list-item" data-leader=', html)) == min(total, 50)  # a page of 50
        return total
    raise AssertionError(path)


async def _problems(db, people, new_problem, company_node, company_of_staff, as_viewer):
    admin = await as_viewer(people.admin)
    await new_problem()
    assigned = await new_problem(viewer=admin, node=company_node, description="电梯异响")
    await service.record_event(db, admin, assigned.id, "assign", {"company_id": company_of_staff.id, "deadline": in_days(3)})
    late = await new_problem(viewer=admin, node=company_node, description="垃圾桶满溢")
    await service.record_event(db, admin, late.id, "assign", {"company_id": company_of_staff.id, "deadline": in_days(1)})
    await db.commit()
    # Two days past its deadline (the cached column the ledger filters on).
    await db.execute(sa.update(Issue).where(Issue.id == late.id).values(deadline=today_in_china() - timedelta(days=2)))
    await db.commit()
    return assigned, late


async def test_it_counts_on_the_staff_home_what_each_list_shows(signed_in_as, people, db, new_problem, company_node,
                                                               company_of_staff, as_viewer):
    await _problems(db, people, new_problem, company_node, company_of_staff, as_viewer)
    # A problem reopened by the residents waits to be assigned again: 待交办 counts it, and lists it.
    reopened = await new_problem(description="又坏了的路灯")
    await db.execute(sa.update(Issue).where(Issue.id == reopened.id).values(status="reopened"))
    await db.commit()
    seen = {}
    for person in (people.admin, people.secretary):
        client = await signed_in_as(person)
        home = await client.get("/")
        assert home.status_code == 200
        cards = re.findall(r'href="([^"]+)" data-todo="(\w+)">\s*<span class="todo-count" data-todo-count>(\d+)</span>', home.text)
        assert {key for _, key, _ in cards} >= {"overdue", "to_assign", "to_verify", "to_approve", "to_patrol", "low_coverage"}
        for href, key, count in cards:
            page = await client.get(href.replace("&amp;", "&"))
            assert page.status_code == 200, href
            assert listed(href, page.text) == int(count), (person.name, key, href)
        seen[person.id] = {key: int(count) for _, key, count in cards}
    assert seen[people.admin.id]["overdue"] >= 1 and seen[people.admin.id]["to_assign"] >= 2
    client = await signed_in_as(people.secretary)
    assert reopened.id in (await client.get("/issues?status=to_assign")).text
    # Nobody has visited anyone this month in the fixtures' street: every leader with households is low.
    assert seen[people.secretary.id]["low_coverage"] >= 1
    client = await signed_in_as(people.admin)
    leaders, page = set(), 1
    while True:
        html = (await client.get(f"/scorecards?needs=coverage&page={page}")).text
        found = re.findall(r'<li class="list-item" data-leader="(\d+)"', html)
        leaders |= set(found)
        if "needs=coverage&amp;page=%d" % (page + 1) not in html:
            break
        page += 1
    assert len(leaders) == seen[people.admin.id]["low_coverage"]


async def test_it_gives_the_property_company_its_problems_to_rectify(signed_in_as, people, db, new_problem, company_node,
                                                                     company_of_staff, as_viewer):
    assigned, late = await _problems(db, people, new_problem, company_node, company_of_staff, as_viewer)
    client = await signed_in_as(people.property_staff)
    home = await client.get("/")
    assert home.status_code == 200
    shown = re.findall(r'data-issue-id="([\w-]+)"', home.text)
    assert assigned.id in shown and late.id in shown
    assert shown.index(late.id) < shown.index(assigned.id)  # the overdue one, soonest deadline, first
    company = {i for (i,) in (await db.execute(sa.select(Issue.id).where(
        Issue.assignee_company_id == company_of_staff.id, Issue.status == "assigned"))).all()}
    assert set(shown) == company
    ledger = await client.get("/issues?status=assigned")
    assert listed("/issues", ledger.text) == len(shown)
    assert "请尽快整改并回复" in home.text and "请督办" not in home.text
    assert 'href="/search"' not in home.text and "您还没有负责的网格" not in home.text
    assert "超期" in home.text


async def test_it_shows_the_year_only_for_a_date_of_another_year(signed_in_as, people, new_problem):
    from datetime import datetime, timezone
    last_year = today_in_china().year - 1
    old = await new_problem(at=datetime(last_year, 6, 1, 4, 0, tzinfo=timezone.utc), description="去年的问题")
    new = await new_problem(description="今年的问题")
    client = await signed_in_as(people.admin)
    old_row = (await client.get(f"/issues?month={last_year}-06")).text
    old_row = old_row[old_row.index(f'href="/issues/{old.id}"'):][:800]
    assert f"{last_year}-06-01" in old_row
    this_month = today_in_china().strftime("%Y-%m")
    new_row = (await client.get(f"/issues?month={this_month}")).text
    new_row = new_row[new_row.index(f'href="/issues/{new.id}"'):][:800]
    assert today_in_china().strftime("%m-%d") in new_row and f"{today_in_china().year}-" not in new_row
