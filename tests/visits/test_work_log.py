import sqlalchemy as sa

from server.visits import queries
from server.visits.models import WorkLogEntry
from tests.conftest import csrf_headers
from tests.sync.helpers import households_of, post_sync, record, visit


async def test_it_shows_each_work_log_form(people, signed_in_as):
    client = await signed_in_as(people.leader)
    for kind, field in (("errand", 'name="service"'), ("mediation", 'name="parties"'), ("hazard_check", 'name="place"')):
        html = (await client.get(f"/worklog/new/{kind}")).text
        assert f'data-outbox-type="{kind}"' in html and field in html
    assert (await client.get("/worklog/new/picnic")).status_code == 404


async def test_it_records_a_hazard_check_posted_without_javascript(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    response = await client.post("/worklog/hazard_check", data={"hazard": "消防通道堵塞", "place": "5栋", "fixed": "false"},
                                 headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == 303
    entry = (await db.execute(sa.select(WorkLogEntry).where(WorkLogEntry.hazard == "消防通道堵塞"))).scalar_one()
    assert entry.fixed is False and entry.microgrid_id == people.microgrid.id and entry.person_id == people.leader.id


async def test_it_counts_the_leaders_tally_this_month_and_in_total(db, people, signed_in_as):
    client = await signed_in_as(people.neighbour)
    households = await households_of(db, people.neighbour_microgrid)
    before = (await queries.tallies(db, [people.neighbour.id]))[people.neighbour.id]
    batch = ([record("errand", {"service": "social_security"}) for _ in range(3)]
             + [record("mediation", {"parties": "甲乙", "outcome": "settled"}) for _ in range(2)]
             + [record("hazard_check", {"hazard": "电线", "place": "1栋"})]
             + [visit(h.id) for h in households[:4]])
    assert {r["status"] for r in (await post_sync(client, batch)).json()["results"]} == {"created"}
    after = (await queries.tallies(db, [people.neighbour.id]))[people.neighbour.id]
    for key, n in (("errand", 3), ("mediation", 2), ("hazard_check", 1), ("visits", 4)):
        assert after.this_month[key] - before.this_month[key] == n
        assert after.total[key] - before.total[key] == n
    html = (await client.get("/worklog")).text
    assert "本月" in html and "累计" in html and str(after.total["errand"]) in html


async def _all_pages(client) -> str:
    """Every page of the leaders' tallies (50 to a page; a page past the last shows the last)."""
    pages, last = [], None
    for number in range(1, 60):
        html = (await client.get("/worklog/leaders", params={"page": number})).text
        if html == last:
            break
        pages.append(html)
        last = html
    return "".join(pages)


async def test_it_shows_community_staff_every_leaders_tally(db, people, signed_in_as):
    client = await signed_in_as(people.secretary)
    html = await _all_pages(client)
    assert f'data-person-id="{people.leader.id}"' in html and f'data-person-id="{people.neighbour.id}"' in html
    other = await signed_in_as(people.other_secretary)
    html = await _all_pages(other)
    assert f'data-person-id="{people.leader.id}"' not in html


async def test_it_refuses_the_leaders_page_to_a_leader(people, signed_in_as):
    client = await signed_in_as(people.leader)
    assert (await client.get("/worklog/leaders")).status_code == 403


async def test_it_shows_the_tally_on_the_profile_and_as_a_fragment(people, signed_in_as):
    client = await signed_in_as(people.leader)
    me = (await client.get("/me")).text
    fragment = await client.get("/worklog", headers={"hx-request": "true"})
    assert 'hx-get="/worklog"' in me
    assert fragment.text.lstrip().startswith('<table class="table table-cards tally">')
    staff = await signed_in_as(people.secretary)
    assert 'href="/worklog/leaders"' in (await staff.get("/me")).text


async def test_it_pages_the_streets_leaders_fifty_at_a_time_each_under_its_community(db, people, signed_in_as):
    """No 1,352-row page (issue 13): the street sees 50 leaders a page, every one exactly once."""
    import re

    import sqlalchemy as sa

    from server.accounts.models import Post, current_post

    total = (await db.execute(sa.select(sa.func.count()).select_from(Post).where(Post.role == "leader", current_post()))).scalar()
    assert total > 50
    client = await signed_in_as(people.admin)
    seen, page = [], 1
    while True:
        html = (await client.get(f"/worklog/leaders?page={page}")).text
        rows = re.findall(r'<tr data-person-id="(\d+)">', html)
        assert 0 < len(rows) <= 50
        assert f'data-leaders-total="{total}"' in html
        seen += rows
        if f'href="/worklog/leaders?page={page + 1}"' not in html:
            break
        page += 1
    assert len(seen) == total and page == -(-total // 50)
    assert " · " in re.search(r'<tr data-person-id="\d+"><th>[^<]*<br><span class="muted">([^<]*)</span>', html).group(1)
