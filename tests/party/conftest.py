"""Party fixtures: the demo's office holders around the leader's micro-grid."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from server.accounts.models import Person, Post, current_post
from tests.issues.conftest import as_viewer, category, csrf_headers, new_problem, viewer_of  # noqa: F401


async def holder_of(db, office: str, path: str) -> Person:
    return (await db.execute(
        sa.select(Person).join(Post, Post.person_id == Person.id)
        .where(Post.office == office, Post.node_path == path, current_post()).order_by(Post.id)
    )).scalars().first()


@pytest.fixture
async def branch_head(db, people) -> Person:
    """The grid Party branch's secretary over the leader's compound (or its committee member there)."""
    compound = people.microgrid.path[:24]
    return await holder_of(db, "branch_secretary", compound) or await holder_of(db, "branch_member", compound)


@pytest.fixture
async def committee_member(db, people) -> Person:
    return await holder_of(db, "party_member", people.community.path)


@pytest.fixture
def put_on_duty(db, people):
    """put_on_duty(person, checked_in=True): today's slot at the leader's community's station is theirs."""
    from server.clock import today_in_china, utcnow
    from server.party.models import DutySlot, ServiceStation

    async def _put(person, checked_in: bool = True) -> DutySlot:
        station = (await db.execute(sa.select(ServiceStation).where(
            ServiceStation.community_id == people.community.id))).scalar_one()
        slot = (await db.execute(sa.select(DutySlot).where(DutySlot.station_id == station.id,
                                                           DutySlot.day == today_in_china()))).scalar_one_or_none()
        if slot is None:
            slot = DutySlot(station_id=station.id, community_path=station.community_path, day=today_in_china(),
                            person_id=person.id)
            db.add(slot)
        slot.person_id = person.id
        slot.checked_in_at = utcnow() if checked_in else None
        await db.commit()
        await db.refresh(slot)
        return slot
    return _put
