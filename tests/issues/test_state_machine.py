"""The state machine: the fold, feedback before closing, notes for late events, and the
property that any delivery order from two phones ends in the same state, losing nothing."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from server.issues.models import EventKind, Status
from server.issues.state import WHY, fold

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)


@dataclass
class E:
    kind: str
    minutes: int
    payload: dict = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def at(self) -> datetime:
        return T0 + timedelta(minutes=self.minutes)


def report() -> E:
    return E(EventKind.report, 0)


def test_it_walks_the_whole_life_of_a_problem():
    events = [report(), E("assign", 1, {"company_id": 3, "deadline": "2026-11-10"}), E("rectify", 2),
              E("verify", 3), E("feedback", 4, {"text": "修好了"}), E("close", 5)]
    state = fold(events)
    assert state.status == Status.closed
    assert state.assignee_company_id == 3 and state.on_time is True
    assert state.feedback_count == 1 and state.note_count == 0 and state.event_count == 6


def test_it_requires_feedback_before_closing():
    close = E("close", 3)
    state = fold([report(), E("solve_on_spot", 1), close])
    assert state.status == Status.resolved
    assert state.notes[close.id] == WHY["feedback_first"]


def test_it_keeps_a_verification_that_came_after_closing_as_a_note():
    late = E("verify", 9)
    state = fold([report(), E("solve_on_spot", 1), E("feedback", 2), E("close", 3), late])
    assert state.status == Status.closed
    assert state.notes[late.id] == WHY[Status.closed] and state.note_count == 1


def test_it_reopens_once_per_feedback():
    first, second = E("reopen", 4), E("reopen", 5)
    events = [report(), E("solve_on_spot", 1), E("feedback", 2), E("close", 3), first, second]
    state = fold(events)
    assert state.status == Status.reopened and state.reopen_count == 1
    assert state.notes[first.id] == "" and state.notes[second.id] == WHY["once_per_feedback"]
    # After a new round and new feedback, the resident may say "not solved" again.
    events += [E("solve_on_spot", 6), E("feedback", 7), E("reopen", 8)]
    assert fold(events).reopen_count == 2


def test_it_marks_an_overdue_verification_as_late():
    state = fold([report(), E("assign", 1, {"company_id": 1, "deadline": "2026-11-01"}), E("rectify", 2 * 24 * 60),
                  E("verify", 2 * 24 * 60 + 1)])
    assert state.status == Status.resolved and state.on_time is False


def test_it_lets_a_meeting_decision_escalate_and_announce():
    state = fold([report(), E("decision", 1, {"outcome": "escalate"}), E("decision", 2, {"outcome": "announce"}),
                  E("feedback", 3)])
    assert state.escalated and state.announced and state.status == Status.fed_back


# --- the property: two phones, any delivery order ----------------------------------------

KINDS = [k.value for k in EventKind if k != EventKind.report]


def payload_for(kind: str) -> dict:
    if kind == "assign":
        return {"company_id": 1, "deadline": "2026-11-05"}
    if kind == "decision":
        return {"outcome": "escalate"}
    return {}


phone_events = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(min_value=1, max_value=300)), min_size=0, max_size=12,
).map(lambda items: [E(kind, minute, payload_for(kind)) for kind, minute in items])


@settings(max_examples=300, deadline=None)
@given(phone_a=phone_events, phone_b=phone_events, data=st.data())
def test_it_ends_in_the_same_state_whatever_the_order_of_arrival(phone_a, phone_b, data):
    everything = [report(), *phone_a, *phone_b]
    # Each phone delivers its own events in order, but the two interleave arbitrarily,
    # and each arrival re-folds what has arrived so far (what the server does).
    arrival = data.draw(st.permutations(everything))
    arrived = []
    for event in arrival:
        arrived.append(event)
        partial = fold(arrived)
        assert partial.event_count == len(arrived)
    final = fold(arrived)
    reference = fold(everything)
    assert final.columns() == reference.columns()
    assert final.notes == reference.notes
    # No event is lost: each is either applied or kept as a note.
    assert set(final.notes) == {e.id for e in everything}
    assert final.event_count == len(everything)
    assert final.note_count == sum(1 for why in final.notes.values() if why)
