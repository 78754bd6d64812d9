"""Commendations: proposed by the community from the ranking, approved by the street, on the public honour page."""
from __future__ import annotations

import sqlalchemy as sa

from server.accounts.models import AuditEntry
from server.incentives.commendations import current_quarter
from server.incentives.models import Commendation
from tests.conftest import csrf_headers


async def test_it_goes_from_the_ranking_to_the_honour_page(db, people, signed_in_as, new_leader, client):
    leader = await new_leader("王模范")
    secretary = await signed_in_as(people.secretary)
    await secretary.post(f"/points/people/{leader.id}/adjust", data={"direction": "award", "points": "150", "reason": "先进"},
                         headers=await csrf_headers(secretary))
    page = (await secretary.get("/commendations")).text
    assert "王模范" in page and 'id="candidates"' in page
    period = current_quarter()
    response = await secretary.post("/commendations", data={"period": period, "person_id": str(leader.id),
                                                            "title": "优秀微网格长", "citation": "帮居民办成医保续费12件"},
                                    headers=await csrf_headers(secretary), follow_redirects=False)
    assert response.status_code == 303
    commendation = (await db.execute(sa.select(Commendation).where(Commendation.person_id == leader.id))).scalar_one()
    assert (commendation.period, commendation.status, commendation.points) == (period, "proposed", 150)
    # Not public before the street approves; the secretary cannot approve.
    assert (await client.get(f"/honour/{commendation.id}/certificate")).status_code == 404
    assert (await secretary.post(f"/commendations/{commendation.id}/approve", headers=await csrf_headers(secretary))).status_code == 403
    admin = await signed_in_as(people.admin)
    response = await admin.post(f"/commendations/{commendation.id}/approve", headers=await csrf_headers(admin),
                                follow_redirects=False)
    assert response.status_code == 303
    client.cookies.clear()  # the honour page is public
    honour = await client.get("/honour")
    assert honour.status_code == 200 and "王模范" in honour.text and "帮居民办成医保续费12件" in honour.text
    certificate = await client.get(f"/honour/{commendation.id}/certificate")
    assert certificate.status_code == 200 and "荣誉证书" in certificate.text and "优秀微网格长" in certificate.text
    assert people.community.name in certificate.text
    actions = (await db.execute(sa.select(AuditEntry.action).where(AuditEntry.object_id == commendation.id))).scalars().all()
    assert sorted(actions) == ["commendation_approve", "commendation_propose"]


async def test_it_keeps_proposals_to_the_proposers_part_of_the_grid(db, people, signed_in_as, new_leader):
    leader = await new_leader()
    other = await signed_in_as(people.other_secretary)
    response = await other.post("/commendations", data={"period": current_quarter(), "person_id": str(leader.id)},
                                headers=await csrf_headers(other))
    assert response.status_code == 404
    assert (await db.execute(sa.select(Commendation).where(Commendation.person_id == leader.id))).first() is None
    client = await signed_in_as(people.leader)
    assert (await client.get("/commendations")).status_code == 403
