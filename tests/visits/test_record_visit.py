
import sqlalchemy as sa

from server.visits.models import Visit
from tests.conftest import csrf_headers
from tests.sync.helpers import households_of


async def test_it_shows_the_visit_form_as_an_offline_capable_form(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    html = (await client.get(f"/households/{household.id}/visits/new")).text
    assert 'data-outbox-type="visit"' in html and 'hx-boost="false"' in html
    assert 'value="routine" checked' in html  # two taps: open the form, save
    # One big 拍照 / 选照片 button (issue 13): no `capture`, so the phone offers its camera and its album.
    assert 'accept="image/*"' in html and "拍照 / 选照片" in html and 'capture="environment"' not in html
    # No id in the HTML: the phone makes one per submission (a cached form is reused).
    assert 'name="id"' not in html


async def test_it_offers_the_visit_on_the_household_page(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    html = (await client.get(f"/households/{household.id}")).text
    assert f'href="/households/{household.id}/visits/new"' in html


async def test_it_records_a_visit_posted_without_javascript(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[2]
    before = (await db.execute(sa.select(sa.func.count()).select_from(Visit).where(Visit.household_id == household.id))).scalar_one()
    response = await client.post(
        f"/households/{household.id}/visits",
        data={"kind": "policy", "policies": ["anti_fraud", "pension"], "note": "讲了反诈"},
        headers=await csrf_headers(client), follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == f"/households/{household.id}"
    rows = list((await db.execute(sa.select(Visit).where(Visit.household_id == household.id).order_by(Visit.received_at.desc()))).scalars())
    assert len(rows) == before + 1
    assert rows[0].kind == "policy" and rows[0].policies == ["anti_fraud", "pension"] and rows[0].note == "讲了反诈"


async def test_it_keeps_the_input_and_marks_the_field_when_invalid(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    response = await client.post(f"/households/{household.id}/visits", data={"note": "只写了备注"},
                                 headers=await csrf_headers(client))
    assert response.status_code == 422
    assert "只写了备注" in response.text and "此项必填" in response.text


async def test_it_lists_a_households_visits_as_a_fragment_for_htmx(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[2]
    fragment = await client.get(f"/households/{household.id}/visits", headers={"hx-request": "true"})
    page = await client.get(f"/households/{household.id}/visits")
    assert fragment.text.lstrip().startswith('<ul class="list visit-list"')
    assert "<html" in page.text and "HX-Request" in fragment.headers["vary"]


async def test_it_will_not_show_the_form_for_a_household_outside_the_grid(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    theirs = (await households_of(db, people.neighbour_microgrid))[0]
    assert (await client.get(f"/households/{theirs.id}/visits/new")).status_code == 404


async def test_a_form_whose_record_cannot_be_stored_answers_with_the_form_not_a_500(db, people, signed_in_as, monkeypatch):
    """The no-JS visit form when the sync's fast path fails (here the new record's id is one the
    visit table already holds, so the multi-row insert fails and the record is refused on the
    slow path): the store rolls back, expiring what the request had loaded; the form must still
    come back with what was typed, not a 500 from reading the expired household."""
    import uuid

    from server.sync import service
    from server.clock import utcnow

    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[1]
    taken = uuid.uuid4()
    db.add(Visit(id=taken, household_id=household.id, grid_path=household.grid_path, person_id=people.leader.id,
                 kind="routine", needs=[], policies=[], note="早先的一条", visited_at=utcnow(), created_at=utcnow()))
    await db.commit()
    monkeypatch.setattr(service.uuid, "uuid4", lambda: taken)
    try:
        response = await client.post(f"/households/{household.id}/visits", data={"kind": "routine", "note": "楼上漏水"},
                                     headers=await csrf_headers(client), follow_redirects=False)
    finally:
        monkeypatch.setattr(service.uuid, "uuid4", uuid.uuid4)
    assert response.status_code == 422, response.text[:300]
    assert "楼上漏水" in response.text and household.address in response.text
    notes = list((await db.execute(sa.select(Visit.note).where(Visit.id == taken))).scalars())
    assert notes == ["早先的一条"]  # the earlier record is untouched
