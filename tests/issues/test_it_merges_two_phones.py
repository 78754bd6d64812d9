"""The state machine against the database: events from two phones, delivered in any
order (with replays), leave the problem in the same state and lose no event."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings, strategies as st

from server.issues import service
from server.issues.models import IssueEvent

from .conftest import in_days, viewer_of

PAYLOADS = {
    "solve_on_spot": {}, "verify": {}, "supervise": {}, "close": {}, "reopen": {},
    "assign": {"department": "县住建局", "deadline": in_days(5)},
    "rectify": {"note": "已整改"}, "send_back": {"reason": "未整改到位"},
    "apply_analysis": {"problem": "反复出现", "reason": "多次反映"}, "announce": {"title": "说明", "body": "无法解决的原因"},
    "feedback": {"text": "已告知居民"}, "comment": {"text": "备注"},
}
event = st.tuples(st.sampled_from(sorted(PAYLOADS)), st.integers(min_value=1, max_value=600))
phone = st.lists(event, max_size=7)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(phone_a=phone, phone_b=phone, data=st.data())
async def test_it_ends_in_the_same_state_whatever_order_the_phones_deliver_in(db, people, category, phone_a, phone_b, data):
    admin = await viewer_of(db, people.admin)
    base = datetime.now(timezone.utc) - timedelta(hours=11)
    # Distinct clock readings: ties are broken by event id, and the two copies' ids differ.
    events = [(str(uuid.uuid4()), kind, base + timedelta(minutes=m, microseconds=i))
              for i, (kind, m) in enumerate(phone_a + phone_b)]
    orders = [events, data.draw(st.permutations(events))]
    outcomes = []
    for order in orders:
        issue, _ = await service.report_issue(db, admin, node=people.microgrid, category=category.id, description="合并测试", at=base)
        # Each delivery arrives once, some twice (a lost response makes the phone resend).
        deliveries = order + data.draw(st.lists(st.sampled_from(order), max_size=3)) if order else []
        for key, kind, at in deliveries:
            event_id = str(uuid.uuid5(uuid.UUID(key), issue.id))
            await service.record_event(db, admin, issue.id, kind, PAYLOADS[kind], id=event_id, at=at)
        await db.commit()
        stored = (await db.execute(sa.select(IssueEvent).where(IssueEvent.issue_id == issue.id))).scalars().all()
        by_key = {e.id: e for e in stored}
        notes = {key: (by_key[str(uuid.uuid5(uuid.UUID(key), issue.id))].applied) for key, _, _ in events}
        columns = {c: getattr(issue, c) for c in ("status", "deadline", "flagged", "escalated", "announced", "analysis_status",
                                                   "feedback_count", "reopen_count", "supervise_count", "on_time",
                                                   "event_count", "note_count", "assignee_department")}
        assert len(stored) == len(events) + 1  # every event kept once, plus the report
        outcomes.append((columns, notes))
    assert outcomes[0] == outcomes[1]
