"""A problem's life through the HTML forms (which reach the service through store_one),
and the property company's scope."""
from __future__ import annotations

import io

import sqlalchemy as sa
from PIL import Image

from server.accounts.models import AuditEntry
from server.issues.models import IssueEvent, Status
from server.sync.models import Photo

from .conftest import in_days


def jpeg(width=2400, height=1800) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 160, 90)).save(out, "JPEG", quality=95)
    return out.getvalue()


async def post_event(client, csrf, issue, kind, **fields):
    return await client.post(f"/issues/{issue.id}/events", data={"kind": kind, "issue_id": issue.id, **fields},
                             headers=csrf, follow_redirects=False)


async def test_it_walks_a_problem_from_assignment_to_closing(signed_in_as, people, new_problem, company_node,
                                                           company_of_staff, db, csrf_headers, as_viewer, category):
    from server.issues import service

    secretary = await as_viewer(people.admin)
    issue, _ = await service.report_issue(db, secretary, node=company_node, category=category.id, description="电梯异响")
    await db.commit()
    client = await signed_in_as(people.admin)
    csrf = await csrf_headers(client)
    response = await post_event(client, csrf, issue, "assign", company_id=str(company_of_staff.id), deadline=in_days(5))
    assert response.status_code == 303 and "saved=1" in response.headers["location"]

    # The property staff see it now, and report it fixed with a photo (shrunk on the server).
    client = await signed_in_as(people.property_staff)
    csrf = await csrf_headers(client)  # tied to the session
    page = await client.get(f"/issues/{issue.id}")
    assert page.status_code == 200 and 'value="rectify"' in page.text and 'value="verify"' not in page.text
    without_photo = await post_event(client, csrf, issue, "rectify", note="已更换电梯部件")
    assert without_photo.status_code == 422
    response = await client.post(f"/issues/{issue.id}/events", data={"kind": "rectify", "issue_id": issue.id, "note": "已更换电梯部件"},
                                 files={"photos": ("fixed.jpg", jpeg(), "image/jpeg")}, headers=csrf, follow_redirects=False)
    assert response.status_code == 303
    await db.refresh(issue)
    assert issue.status == Status.rectified
    event = (await db.execute(sa.select(IssueEvent).where(IssueEvent.issue_id == issue.id, IssueEvent.kind == "rectify"))).scalar_one()
    photo = (await db.execute(sa.select(Photo).where(Photo.record_id == __import__("uuid").UUID(event.id)))).scalar_one()
    assert photo.size <= 300 * 1024 and max(photo.width, photo.height) <= 1600
    assert (await client.get(f"/photos/{photo.id}")).status_code == 200

    client = await signed_in_as(people.admin)

    csrf = await csrf_headers(client)  # tied to the session
    page = await client.get(f"/issues/{issue.id}")
    assert f"/photos/{photo.id}" in page.text
    assert (await post_event(client, csrf, issue, "verify")).status_code == 303
    # Closing before feedback is refused by the state machine: kept as a note, the page says so.
    response = await post_event(client, csrf, issue, "close")
    assert "kept=" in response.headers["location"]
    page = await client.get(response.headers["location"])
    assert "办结前必须先向居民反馈" in page.text
    assert (await post_event(client, csrf, issue, "feedback", text="电梯已修好", channel="phone")).status_code == 303
    assert (await post_event(client, csrf, issue, "close")).headers["location"].endswith("saved=1")
    await db.refresh(issue)
    assert issue.status == Status.closed and issue.on_time is True and issue.note_count == 1


async def test_it_keeps_property_staff_to_their_companys_problems(signed_in_as, people, new_problem, csrf_headers, db):
    issue = await new_problem(description="只给微网格长看")
    client = await signed_in_as(people.property_staff)
    csrf = await csrf_headers(client)  # tied to the session
    assert (await client.get(f"/issues/{issue.id}")).status_code == 404
    assert "只给微网格长看" not in (await client.get("/issues")).text
    csrf = await csrf_headers(client)
    assert (await post_event(client, csrf, issue, "rectify", note="x")).status_code == 404


async def test_it_forbids_property_staff_to_assign_or_close(signed_in_as, people, company_node, company_of_staff,
                                                            db, csrf_headers, as_viewer, category):
    from server.issues import service

    admin = await as_viewer(people.admin)
    issue, _ = await service.report_issue(db, admin, node=company_node, category=category.id, description="路灯")
    await service.record_event(db, admin, issue.id, "assign", {"company_id": company_of_staff.id, "deadline": in_days(3)})
    await db.commit()
    client = await signed_in_as(people.property_staff)
    csrf = await csrf_headers(client)
    assert (await post_event(client, csrf, issue, "verify")).status_code == 403
    assert (await post_event(client, csrf, issue, "assign", department="x", deadline=in_days(1))).status_code == 403
    overdue_list = await client.get("/issues?overdue=1")
    assert overdue_list.status_code == 200


async def test_it_rerenders_an_invalid_form_with_the_users_input(signed_in_as, people, new_problem, csrf_headers):
    issue = await new_problem()
    client = await signed_in_as(people.leader)
    csrf = await csrf_headers(client)
    response = await post_event(client, csrf, issue, "assign", department="县住建局", deadline="")
    assert response.status_code == 422 and "县住建局" in response.text and 'aria-invalid="true"' in response.text


async def test_it_records_who_revealed_a_residents_phone(signed_in_as, people, new_problem, csrf_headers, db):
    issue = await new_problem(reporter_phone="13912345678")
    client = await signed_in_as(people.leader)
    csrf = await csrf_headers(client)  # tied to the session
    page = await client.get(f"/issues/{issue.id}")
    assert "13912345678" not in page.text and "139****5678" in page.text
    response = await client.post(f"/issues/{issue.id}/phone", headers={**await csrf_headers(client), "HX-Request": "true"})
    assert response.status_code == 200 and "13912345678" in response.text
    entry = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "reveal_phone", AuditEntry.object_id == issue.id))).scalar_one()
    assert entry.person_id == people.leader.id


async def test_it_reports_a_problem_through_the_form(signed_in_as, people, csrf_headers, category, db):
    client = await signed_in_as(people.leader)
    csrf = await csrf_headers(client)
    response = await client.post("/issues", data={"node_id": str(people.microgrid.id), "category_id": str(category.id),
                                                  "description": "单元门禁损坏", "urgency": "urgent"},
                                 headers=csrf, follow_redirects=False)
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "单元门禁损坏" in page.text and "紧急" in page.text
    missing = await client.post("/issues", data={"node_id": str(people.microgrid.id), "description": ""}, headers=csrf)
    assert missing.status_code == 422
    outside = await client.post("/issues", data={"node_id": str(people.neighbour_microgrid.id), "category_id": str(category.id),
                                                 "description": "x"}, headers=csrf)
    assert outside.status_code == 404


async def test_it_keeps_the_photos_of_a_reported_problem(signed_in_as, people, csrf_headers, category, db):
    client = await signed_in_as(people.leader)
    csrf = await csrf_headers(client)
    response = await client.post("/issues", data={"node_id": str(people.microgrid.id), "category_id": str(category.id),
                                                  "description": "墙皮脱落"},
                                 files={"photos": ("wall.jpg", jpeg(800, 600), "image/jpeg")}, headers=csrf, follow_redirects=False)
    assert response.status_code == 303
    issue_id = response.headers["location"].split("/")[2].split("?")[0]
    photo = (await db.execute(sa.select(Photo).where(Photo.record_id == __import__("uuid").UUID(issue_id)))).scalar_one()
    page = await client.get(f"/issues/{issue_id}")
    assert f"/photos/{photo.id}" in page.text and "问题照片" in page.text
    bad = await client.post("/issues", data={"node_id": str(people.microgrid.id), "category_id": str(category.id),
                                             "description": "x"}, files={"photos": ("x.jpg", b"not a photo", "image/jpeg")},
                            headers=csrf)
    assert bad.status_code == 415
    assert "不是照片" in bad.text
