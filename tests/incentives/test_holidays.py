"""Holiday visits (节日走访慰问): the list a campaign draws, who sees what, a mark from the phone
exactly once, reassignment, and progress that equals a hand count (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from server.accounts.models import AuditEntry, Post, Role, current_post
from server.db import make_sessionmaker
from server.grid.models import Household, active_household
from server.incentives import ledger
from server.incentives.holidays import DEFAULT_TAGS, progress_by_community
from server.incentives.models import HolidayCampaign, HolidayTarget, HolidayVisit, PointsEntry
from server.accounts.scope import Viewer
from tests.conftest import csrf_headers
from tests.sync.helpers import CST, post_sync, record


@pytest.fixture
async def campaign(engine, people, signed_in_as):
    """春节 for the cast's community, opened by its secretary through the form: (campaign, client)."""
    secretary = await signed_in_as(people.secretary)
    today = datetime.now(CST).date()
    response = await secretary.post("/holidays", data={
        "name": "春节走访慰问", "grid": people.community.code, "starts_on": (today - timedelta(days=3)).isoformat(),
        "ends_on": (today + timedelta(days=20)).isoformat(), "care_tags": list(DEFAULT_TAGS), "include_leaders": "on",
    }, headers=await csrf_headers(secretary), follow_redirects=False)
    assert response.status_code == 303
    campaign_id = int(response.headers["location"].rsplit("/", 1)[1])
    async with make_sessionmaker(engine)() as db:
        return await db.get(HolidayCampaign, campaign_id)


async def _targets(db, campaign, **where) -> list[HolidayTarget]:
    clauses = [getattr(HolidayTarget, k) == v for k, v in where.items()]
    return list((await db.execute(sa.select(HolidayTarget).where(HolidayTarget.campaign_id == campaign.id, *clauses)
                                  .order_by(HolidayTarget.id))).scalars())


async def test_it_draws_care_households_and_leaders_with_their_own_visitors(db, people, campaign):
    households = (await db.execute(sa.select(Household.id, Household.microgrid_id, Household.care_tags).where(
        Household.grid_path.startswith(people.community.path), active_household()))).all()
    expected = {hid for hid, _mg, tags in households if set(tags or []) & set(DEFAULT_TAGS)}
    targets = await _targets(db, campaign, kind="household")
    assert expected and {t.household_id for t in targets} == expected
    # Each household goes to the A-post leader of its own micro-grid.
    a_posts = dict((await db.execute(sa.select(Post.node_id, Post.person_id).where(
        Post.role == Role.leader, Post.post_kind == "A", current_post()))).all())
    micro = {hid: mg for hid, mg, _ in households}
    assert all(t.visitor_id == a_posts.get(micro[t.household_id]) for t in targets)
    leaders = await _targets(db, campaign, kind="leader")
    assert people.leader.id in {t.person_id for t in leaders}
    assert {t.visitor_id for t in leaders} == {people.secretary.id}
    audit = (await db.execute(sa.select(AuditEntry).where(AuditEntry.object_type == "holiday_campaign",
                                                          AuditEntry.object_id == str(campaign.id)))).scalar_one()
    assert audit.action == "holiday_campaign"


async def test_it_shows_each_viewer_only_their_part(db, people, signed_in_as, campaign):
    mine = await _targets(db, campaign, visitor_id=people.leader.id)
    others = [t for t in await _targets(db, campaign, kind="household") if t.visitor_id not in (people.leader.id, None)]
    assert mine and others
    leader = await signed_in_as(people.leader)
    page = (await leader.get("/holidays/mine")).text
    section = _section(page, campaign.id)
    assert section.count("data-holiday-target=") == len(mine)
    assert f'data-holiday-target="{others[0].id}"' not in page and 'data-outbox-type="holiday_visit"' in section
    page = (await leader.get(f"/holidays/{campaign.id}?show=all")).text
    assert page.count('<li><div class="list-item">') == len(mine)
    assert (await leader.get(f"/holidays/targets/{mine[0].id}")).status_code == 403
    assert (await leader.get("/holidays/new")).status_code == 403
    # Another community does not see this community's campaign at all.
    other = await signed_in_as(people.other_secretary)
    assert (await other.get(f"/holidays/{campaign.id}")).status_code == 404
    assert "春节走访慰问" not in (await other.get("/holidays")).text
    assert (await other.get(f"/holidays/targets/{mine[0].id}")).status_code == 404
    # The neighbour's list holds only the neighbour's households.
    neighbour = await signed_in_as(people.neighbour)
    page = (await neighbour.get("/holidays/mine")).text
    assert f'data-holiday-target="{mine[0].id}"' not in page


async def test_it_stores_a_mark_exactly_once_and_prices_it_by_the_rule(db, people, signed_in_as, campaign):
    mine = await _targets(db, campaign, visitor_id=people.leader.id)
    someone_else = next(t for t in await _targets(db, campaign, kind="household") if t.visitor_id != people.leader.id)
    leader = await signed_in_as(people.leader)
    first = record("holiday_visit", {"target_id": mine[0].id, "note": "送了米和油"})
    twice = record("holiday_visit", {"target_id": mine[0].id})  # a double tap offline: another record, same target
    not_mine = record("holiday_visit", {"target_id": someone_else.id})
    # Done (on the phone's clock) the day before the campaign began.
    early = record("holiday_visit", {"target_id": mine[1].id}, created_at=datetime.now(CST) - timedelta(days=4))
    results = (await post_sync(leader, [first, twice, not_mine, early])).json()["results"]
    assert [r["status"] for r in results] == ["created", "created", "rejected", "rejected"]
    assert "不在您的走访名单上" in results[2]["errors"]["target_id"]
    assert "此期间以外" in results[3]["errors"]["target_id"]
    # Replays answer duplicate; the target holds one visit, the first.
    replay = (await post_sync(leader, [first, twice])).json()["results"]
    assert [r["status"] for r in replay] == ["duplicate", "duplicate"]
    visits = (await db.execute(sa.select(HolidayVisit).where(HolidayVisit.target_id == mine[0].id))).scalars().all()
    assert [(str(v.id), v.person_id, v.note) for v in visits] == [(first["id"], people.leader.id, "送了米和油")]
    # The rule table's holiday_visit points, once however often it is folded.
    await ledger.refresh(db, [people.leader.id])
    await ledger.refresh(db, [people.leader.id])
    await db.commit()
    earned = (await db.execute(sa.select(PointsEntry.points, PointsEntry.rule_version).where(
        PointsEntry.person_id == people.leader.id, PointsEntry.key == f"holiday_visit:{mine[0].id}"))).all()
    assert [p for p, _ in earned] == [2]


async def test_it_counts_progress_like_a_hand_count(db, people, signed_in_as, campaign):
    mine = await _targets(db, campaign, visitor_id=people.leader.id)
    leader = await signed_in_as(people.leader)
    results = (await post_sync(leader, [record("holiday_visit", {"target_id": t.id}) for t in mine[:2]])).json()["results"]
    assert [r["status"] for r in results] == ["created", "created"]
    secretary = await signed_in_as(people.secretary)
    # The no-JS form takes the same path: the secretary visits a leader on her own list.
    own = (await _targets(db, campaign, visitor_id=people.secretary.id))[0]
    response = await secretary.post("/holidays/visits", data={"target_id": str(own.id)},
                                    headers=await csrf_headers(secretary), follow_redirects=False)
    assert response.status_code == 303
    # By hand: every target of the campaign, and those with a visit row.
    targets = await _targets(db, campaign)
    visited = set((await db.execute(sa.select(HolidayVisit.target_id).where(HolidayVisit.campaign_id == campaign.id))).scalars())
    hand = {"targets": len(targets), "done": sum(t.id in visited for t in targets),
            "households": sum(t.kind == "household" for t in targets),
            "households_done": sum(t.kind == "household" and t.id in visited for t in targets),
            "leaders_done": sum(t.kind == "leader" and t.id in visited for t in targets)}
    assert hand["done"] == 3 and hand["leaders_done"] == 1
    viewer = Viewer(person_id=people.secretary.id, name="", posts=await _posts(db, people.secretary.id))
    [row] = await progress_by_community(db, viewer, campaign)
    assert (row.name, row.targets, row.done, row.households, row.households_done, row.leaders_done) == (
        people.community.name, hand["targets"], hand["done"], hand["households"], hand["households_done"], hand["leaders_done"])
    page = (await secretary.get(f"/holidays/{campaign.id}")).text
    assert f"{hand['done']} / {hand['targets']}" in page and 'id="holiday-progress"' in page
    # The street sees the same card among the communities.
    street = await signed_in_as(people.admin)
    page = (await street.get(f"/holidays/{campaign.id}")).text
    assert f'data-community="{people.community.name}"' in page and f"{hand['done']} / {hand['targets']}" in page
    # Its card opens that community's list.
    page = (await street.get(f"/holidays/{campaign.id}?show=done&community={people.community.code}")).text
    assert page.count('<li><a class="list-item" href="/holidays/targets/') == hand["done"]
    assert (await other_community_page(signed_in_as, people, campaign)).status_code == 404


async def other_community_page(signed_in_as, people, campaign):
    """A community's staff cannot open the list of another community by its code."""
    secretary = await signed_in_as(people.secretary)
    return await secretary.get(f"/holidays/{campaign.id}?community={people.other_community.code}")


def _section(page: str, campaign_id: int) -> str:
    start = page.index(f'data-campaign="{campaign_id}"')
    return page[start:page.index("</section>", start)]


async def _posts(db, person_id):
    from server.accounts.scope import PostScope

    rows = await db.execute(sa.select(Post.role, Post.node_id, Post.node_path).where(Post.person_id == person_id, current_post()))
    return tuple(PostScope(role=r, node_id=n, path=p) for r, n, p in rows)


async def test_it_gives_a_target_to_someone_else_audited(db, people, signed_in_as, campaign):
    target = (await _targets(db, campaign, visitor_id=people.leader.id))[-1]
    target_id = target.id
    other = await signed_in_as(people.other_secretary)
    response = await other.post(f"/holidays/targets/{target.id}/visitor", data={"visitor_id": str(people.neighbour.id)},
                                headers=await csrf_headers(other))
    assert response.status_code == 404
    secretary = await signed_in_as(people.secretary)
    bad = await secretary.post(f"/holidays/targets/{target.id}/visitor", data={"visitor_id": str(people.other_secretary.id)},
                               headers=await csrf_headers(secretary))
    assert bad.status_code == 422 and "请选择本社区" in bad.text
    response = await secretary.post(f"/holidays/targets/{target.id}/visitor", data={"visitor_id": str(people.neighbour.id)},
                                    headers=await csrf_headers(secretary), follow_redirects=False)
    assert response.status_code == 303
    db.expire_all()
    assert (await db.get(HolidayTarget, target_id)).visitor_id == people.neighbour.id
    entry = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "holiday_assign",
                                                          AuditEntry.object_id == str(target_id)))).scalar_one()
    assert entry.person_id == people.secretary.id
    # The former visitor's mark is refused with its reason; the new visitor's is stored.
    leader = await signed_in_as(people.leader)
    [result] = (await post_sync(leader, [record("holiday_visit", {"target_id": target_id})])).json()["results"]
    assert result["status"] == "rejected"
    neighbour = await signed_in_as(people.neighbour)
    [result] = (await post_sync(neighbour, [record("holiday_visit", {"target_id": target_id})])).json()["results"]
    assert result["status"] == "created"


async def test_it_keeps_what_was_typed_on_a_bad_campaign(people, signed_in_as):
    secretary = await signed_in_as(people.secretary)
    response = await secretary.post("/holidays", data={"name": "中秋走访", "grid": people.community.code,
                                                       "starts_on": "2026-02-30", "ends_on": "", "include_leaders": ""},
                                    headers=await csrf_headers(secretary))
    assert response.status_code == 422
    assert 'value="中秋走访"' in response.text and "请填写开始日期" in response.text and "请至少选择一类关爱对象" in response.text
    other = await signed_in_as(people.other_secretary)
    response = await other.post("/holidays", data={"name": "中秋", "grid": people.community.code},
                                headers=await csrf_headers(other))
    assert response.status_code == 404


async def test_the_campaign_list_pages_through_every_target_once(db, people, signed_in_as, campaign, monkeypatch):
    import re

    from server.incentives import holidays

    every = {t.id for t in await _targets(db, campaign)}
    assert len(every) > 6
    monkeypatch.setattr(holidays, "LIST_LIMIT", 4)
    secretary = await signed_in_as(people.secretary)
    seen: list[int] = []
    url = f"/holidays/{campaign.id}?show=all"
    pages = 0
    while url:
        page = await secretary.get(url)
        assert page.status_code == 200
        ids = [int(i) for i in re.findall(r'href="/holidays/targets/(\d+)"', page.text)]
        assert 0 < len(ids) <= 4
        seen += ids
        pages += 1
        found = re.search(r'href="([^"]+)" rel="next"', page.text)
        url = found.group(1).replace("&amp;", "&").split("#")[0] if found else None
    assert sorted(seen) == sorted(every) and pages == -(-len(every) // 4)  # each once, none lost
    assert f"第 {pages} 页，共 {pages} 页" in page.text
    # A page past the end (the list shrank while someone read it): the last page, with its targets.
    past = await secretary.get(f"/holidays/{campaign.id}?show=all&page=999")
    assert past.status_code == 200 and f"第 {pages} 页" in past.text and re.search(r'href="/holidays/targets/\d+"', past.text)
    assert (await secretary.get(f"/holidays/{campaign.id}?page=0")).status_code == 400
