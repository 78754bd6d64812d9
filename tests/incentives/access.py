"""Who may use the glimmer points pages (merged into the access matrix)."""
from server.incentives.rules import DEFAULT
from tests.accounts.access_matrix import PUBLIC, SIGNED_IN_PAGE, SIGNIN, entry, expect

STAFF_PAGE = expect(403, visitor=SIGNIN, community=(200, 404), admin=200)


async def _leader(env, where, role, suffix=""):
    person_id = env.people.leader.id if where == "inside" else await env.new_person_in(env.outside)
    return f"/points/people/{person_id}{suffix}"


RULES_FORM = {**{k: str(v) for k, v in DEFAULT.points.items()}, **{k: str(v) for k, v in DEFAULT.caps.items()},
              **{k: str(v) for k, v in DEFAULT.weights.items()}, "note": "矩阵"}

ACCESS = {
    ("GET", "/points"): entry("/points", answers=SIGNED_IN_PAGE, why="everyone's own balance (0 for staff)"),
    ("GET", "/points/people/{person_id:int}"): entry(_leader, answers=STAFF_PAGE),
    ("POST", "/points/people/{person_id:int}/adjust"): entry(
        lambda e, w, r: _leader(e, w, r, "/adjust"), data={"direction": "award", "points": "1", "reason": "矩阵测试"},
        answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303)),
    ("GET", "/points/rankings"): entry("/points/rankings", answers=expect(200, visitor=SIGNIN, leader=403, property=403)),
    ("GET", "/points/rules"): entry("/points/rules", answers=SIGNED_IN_PAGE, why="everyone may read what work is worth"),
    ("POST", "/points/rules"): entry("/points/rules", data=RULES_FORM, answers=expect(403, visitor=SIGNIN, admin=303),
                                     why="only the street edits the rule table (a new version each time)"),
}


async def _grid(env, where, role, suffix=""):
    return f"/scorecards{suffix}?grid={env.microgrid(where).code}"


DASHBOARD_PAGE = expect((200, 404), visitor=SIGNIN, leader=403, property=403, admin=200)
EXPORT = expect(403, visitor=SIGNIN, community=(200, 404), admin=200)
ACCESS.update({
    ("GET", "/scorecards"): entry(_grid, answers=DASHBOARD_PAGE, why="the street and community offices (and compound staff)"),
    ("GET", "/scorecards/export.xlsx"): entry(lambda e, w, r: _grid(e, w, r, "/export.xlsx"), answers=EXPORT),
    ("GET", "/scorecards/points.xlsx"): entry(lambda e, w, r: _grid(e, w, r, "/points.xlsx"), answers=EXPORT),
})


async def _rating(env, where, role):
    from tests.issues.access import _tracking

    return await _tracking(env, where, role, "/rating")

ACCESS.update({
    ("GET", "/track/{code:str}/rating"): entry(_rating, answers=expect(200), why="the tracking code is the key"),
    ("POST", "/track/{code:str}/rating"): entry(_rating, data={"rating": "basic"}, answers=expect(303),
                                                why="once per problem, only after feedback: otherwise nothing is stored"),
})


async def _reward_item(env, points: int = 1) -> int:
    from server.db import make_sessionmaker
    from server.incentives.models import RewardItem

    async with make_sessionmaker(env.engine)() as db:
        item = RewardItem(name="矩阵奖品", points=points, stock=100)
        db.add(item)
        await db.commit()
        return item.id


async def _redemption(env, where, role, kind="approve"):
    """A request by a leader inside (the cast's micro-grid) or outside (another community)."""
    import uuid

    from server.db import make_sessionmaker
    from server.incentives.models import Redemption

    path = env.microgrid(where).path
    person_id = env.people.leader.id if where == "inside" else env.people.neighbour.id
    async with make_sessionmaker(env.engine)() as db:
        item_id = await _reward_item(env)
        redemption = Redemption(id=str(uuid.uuid4()), person_id=person_id, item_id=item_id, points=1, grid_path=path)
        db.add(redemption)
        await db.commit()
    return f"/rewards/requests/{redemption.id}/{kind}"


async def _request_item(env, where, role):
    return f"/rewards/{await _reward_item(env, points=10**6)}/request"


REWARD_FORM = {"name": "矩阵奖品", "points": "5", "stock": "3"}
ACCESS.update({
    ("GET", "/rewards"): entry("/rewards", answers=SIGNED_IN_PAGE, why="the catalogue; leaders see their balance"),
    ("POST", "/rewards"): entry("/rewards", data=REWARD_FORM, answers=expect(403, visitor=SIGNIN, admin=303),
                                why="the street keeps the catalogue"),
    ("POST", "/rewards/{item_id:int}/request"): entry(
        _request_item, answers=expect(403, visitor=SIGNIN, leader=409),
        why="a leader asks for themselves (the item costs more than anyone holds: the balance check answers)"),
    ("GET", "/rewards/requests"): entry("/rewards/requests", answers=expect(403, visitor=SIGNIN, community=200, admin=200)),
    ("POST", "/rewards/requests/{redemption_id:str}/{kind:str}"): entry(
        _redemption, answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303),
        why="community staff decide for the leaders of their part of the grid"),
})


async def _commendation(env, where, role, suffix="/approve", status="proposed"):
    import uuid

    from server.db import make_sessionmaker
    from server.incentives.models import Commendation

    person_id = await env.new_person_in(env.microgrid(where))  # a fresh leader: one commendation a period each
    async with make_sessionmaker(env.engine)() as db:
        c = Commendation(id=str(uuid.uuid4()), period="2020", person_id=person_id,
                         grid_path=env.microgrid(where).path, title="优秀微网格长", status=status)
        db.add(c)
        await db.commit()
    return f"/commendations/{c.id}{suffix}" if suffix != "/certificate" else f"/honour/{c.id}/certificate"


async def _certificate(env, where, role):
    return await _commendation(env, where, role, "/certificate", status="approved" if where == "inside" else "proposed")


async def _propose(env, where, role):
    person_id = env.people.leader.id if where == "inside" else await env.new_person_in(env.outside)
    return {"period": "2019", "person_id": str(person_id)}

ACCESS.update({
    ("GET", "/commendations"): entry("/commendations", answers=expect(403, visitor=SIGNIN, community=200, admin=200)),
    ("POST", "/commendations"): entry("/commendations", data=_propose,
                                      answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303),
                                      why="community staff propose the leaders of their part of the grid"),
    ("POST", "/commendations/{commendation_id:str}/{decision:str}"): entry(
        _commendation, answers=expect(403, visitor=SIGNIN, admin=303), why="the street decides"),
    ("GET", "/honour"): entry("/honour", answers=PUBLIC, why="树典型: the model leaders, for everyone"),
    ("GET", "/honour/{commendation_id:str}/certificate"): entry(
        _certificate, answers=expect((200, 404)), why="public once approved (outside: one not approved yet)"),
})


async def _claim(env, where, role):
    import uuid
    from datetime import date, datetime, timezone

    from server.db import make_sessionmaker
    from server.incentives.models import AllowanceClaim

    async with make_sessionmaker(env.engine)() as db:
        claim = AllowanceClaim(id=uuid.uuid4(), person_id=env.people.leader.id, grid_path=env.microgrid(where).path,
                               kind="meal", claimed_on=date.today(), amount_fen=1000, created_at=datetime.now(timezone.utc))
        db.add(claim)
        await db.commit()
    return f"/allowances/{claim.id}/approve"


async def _budget(env, where, role):
    return {"grid": env.people.community.code if where == "inside" else env.people.other_community.code, "amount": "1000"}


async def _payout_file(env, where, role):
    from server.db import make_sessionmaker
    from server.incentives.models import PayoutBatch

    async with make_sessionmaker(env.engine)() as db:
        batch = PayoutBatch(node_path=env.people.community.path if where == "inside" else env.people.other_community.path)
        db.add(batch)
        await db.commit()
    return f"/allowances/payouts/{batch.id}/export.xlsx"

ACCESS.update({
    ("GET", "/allowances"): entry("/allowances", answers=SIGNED_IN_PAGE, why="a leader's own claims; staff decide"),
    ("GET", "/allowances/new"): entry("/allowances/new", answers=expect(403, visitor=SIGNIN, leader=200)),
    ("POST", "/allowances"): entry("/allowances", data={"kind": "meal", "day": "2000-01-01", "amount": "x"},
                                   answers=expect(403, visitor=SIGNIN, leader=422), why="reaches the checks"),
    ("POST", "/allowances/{claim_id:uuid}/{decision:str}"): entry(
        _claim, answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303)),
    ("POST", "/allowances/budget"): entry("/allowances/budget", data=_budget,
                                          answers=expect(403, visitor=SIGNIN, admin=303), why="the street sets budgets"),
    ("POST", "/allowances/payouts"): entry("/allowances/payouts", answers=expect(403, visitor=SIGNIN, admin=303)),
    ("GET", "/allowances/payouts/{batch_id:int}/export.xlsx"): entry(
        _payout_file, answers=expect(403, visitor=SIGNIN, admin=200), why="the street's payout files (audited)"),
})


async def _holiday_campaign(env, where) -> int:
    """A running campaign of the inside (cast's) or outside community, every care tag and the leaders drawn."""
    from datetime import timedelta

    from server.clock import today_in_china
    from server.db import make_sessionmaker
    from server.grid.models import CareTag
    from server.incentives.holidays import draw_targets
    from server.incentives.models import HolidayCampaign

    community = env.people.community if where == "inside" else env.people.other_community
    today = today_in_china()
    async with make_sessionmaker(env.engine)() as db:
        campaign = HolidayCampaign(name="矩阵走访", node_path=community.path, starts_on=today - timedelta(days=1),
                                   ends_on=today + timedelta(days=10), care_tags=[t.value for t in CareTag])
        db.add(campaign)
        await db.flush()
        await draw_targets(db, campaign)
        await db.commit()
        return campaign.id


async def _holiday_target(env, where, role=None, visitor_id=None) -> int:
    """A target on the inside (the cast leader's micro-grid) or outside micro-grid: given to `visitor_id` if named."""
    import sqlalchemy as sa

    from server.db import make_sessionmaker
    from server.incentives.models import HolidayTarget

    campaign_id = await _holiday_campaign(env, where)
    async with make_sessionmaker(env.engine)() as db:
        clauses = [HolidayTarget.campaign_id == campaign_id, HolidayTarget.grid_path == env.microgrid(where).path]
        if visitor_id is not None:
            clauses.append(HolidayTarget.visitor_id == visitor_id)
        target_id = (await db.execute(sa.select(HolidayTarget.id).where(*clauses).order_by(HolidayTarget.id).limit(1))).scalar()
    assert target_id is not None, "no holiday target on the micro-grid"
    return target_id


async def _holiday_page(env, where, role):
    return f"/holidays/{await _holiday_campaign(env, where)}"


async def _holiday_target_page(env, where, role, suffix=""):
    return f"/holidays/targets/{await _holiday_target(env, where)}{suffix}"


async def _holiday_mark(env, where, role):
    """Inside: a household given to the cast leader (hers to mark); outside: one given to another community's leader."""
    visitor = env.people.leader.id if where == "inside" else None
    return {"target_id": str(await _holiday_target(env, where, visitor_id=visitor))}


async def _holiday_visitor(env, where, role):
    person_id = env.people.leader.id if where == "inside" else await env.new_person_in(env.outside)
    return {"visitor_id": str(person_id)}


async def _holiday_form(env, where, role):
    from datetime import timedelta

    from server.clock import today_in_china

    today = today_in_china()
    community = env.people.community if where == "inside" else env.people.other_community
    return {"name": "矩阵走访", "grid": community.code, "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=5)).isoformat(), "include_leaders": "on"}

ACCESS.update({
    ("GET", "/holidays"): entry("/holidays", answers=SIGNED_IN_PAGE, why="staff: the campaigns of their part; a leader: hers"),
    ("GET", "/holidays/new"): entry("/holidays/new", answers=expect(403, visitor=SIGNIN, community=200, admin=200)),
    ("POST", "/holidays"): entry("/holidays", data=_holiday_form,
                                 answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303),
                                 why="the street for any community, a community for itself"),
    ("GET", "/holidays/{campaign_id:int}"): entry(
        _holiday_page, answers=expect((200, 404), visitor=SIGNIN, property=404, admin=200),
        why="staff of the part it covers; a leader with targets in it (only hers shown)"),
    ("GET", "/holidays/mine"): entry("/holidays/mine", answers=SIGNED_IN_PAGE, why="the targets given to the viewer"),
    ("POST", "/holidays/visits"): entry(
        "/holidays/visits", data=_holiday_mark, answers=expect(422, visitor=SIGNIN, leader=(303, 422)),
        why="only the visitor a target is given to marks it (store_one refuses anyone else, with the reason)"),
    ("GET", "/holidays/targets/{target_id:int}"): entry(
        _holiday_target_page, answers=expect(403, visitor=SIGNIN, compound=(200, 404), community=(200, 404), admin=200)),
    ("POST", "/holidays/targets/{target_id:int}/visitor"): entry(
        lambda e, w, r: _holiday_target_page(e, w, r, "/visitor"), data=_holiday_visitor,
        answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303),
        why="community staff give their targets to someone else in the community; audited"),
})


async def _reward_photo(env, where, role):
    """An offered item with a photo stored through the one photo path."""
    import io
    import uuid

    from PIL import Image

    from server import photos
    from server.db import make_sessionmaker
    from server.incentives.catalogue import photo_record_id
    from server.sync.models import SyncReceipt

    item_id = await _reward_item(env)
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 40)).save(buffer, "PNG")
    async with make_sessionmaker(env.engine)() as db:
        db.add(SyncReceipt(id=photo_record_id(item_id), type="reward_photo", person_id=env.people.admin.id,
                           content_hash="0" * 64))
        await db.flush()
        await photos.store_photo(db, photo_id=uuid.uuid4(), record_id=photo_record_id(item_id),
                                 person_id=env.people.admin.id, photo=photos.clean_photo(buffer.getvalue()))
        await db.commit()
    return f"/rewards/{item_id}/photo"

ACCESS.update({
    ("GET", "/rewards/{item_id:int}/photo"): entry(_reward_photo, answers=SIGNED_IN_PAGE,
                                                   why="everyone who may open the catalogue sees its photos"),
})
