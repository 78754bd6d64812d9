"""Each rule of the fold on its own, with the reason a refused event is kept as a note.

Written from the mutation run on server/issues/state.py (issue 12): every test here killed
mutants that the journeys let live (a count that stopped counting, a deadline day judged
late, a refusal with the wrong reason, a decision on a closed problem applied).
"""
from __future__ import annotations

from datetime import date, timedelta

from server.clock import CHINA
from server.issues.models import Application, EventKind, Status
from server.issues.state import WHY, fold, ordered
from tests.issues.test_state_machine import T0, E, report


def assigned(deadline: str = "2026-11-10", **payload) -> list[E]:
    return [report(), E("assign", 1, {"company_id": 3, "deadline": deadline, **payload})]


def why(events: list[E], last: E) -> str:
    return fold([*events, last]).notes[last.id]


def test_the_report_leads_the_timeline_even_when_its_phone_clock_was_late():
    late_report = E(EventKind.report, 30)
    comment = E("comment", 5)
    assert [e.id for e in ordered([comment, late_report])] == [late_report.id, comment.id]


def test_a_second_report_is_kept_as_a_note():
    second = E(EventKind.report, 2)
    state = fold([report(), second])
    assert state.notes[second.id] == WHY["duplicate_report"] and state.note_count == 1


def test_each_refusal_names_its_own_reason():
    assert why(assigned(), E("verify", 2)) == WHY["not_rectified"]
    assert why(assigned(), E("send_back", 2)) == WHY["not_rectified"]
    assert why([report()], E("rectify", 2)) == WHY["not_assigned"]
    assert why(assigned(), E("feedback", 2)) == WHY["open"]
    solved = [report(), E("solve_on_spot", 1)]
    assert why(solved, E("reopen", 2)) == WHY["no_feedback"]
    assert why(solved, E("close", 2)) == WHY["feedback_first"]
    assert why(solved, E("assign", 2)) == WHY["settled"]
    closed = [*solved, E("feedback", 2), E("close", 3)]
    assert why(closed, E("supervise", 4)) == WHY[Status.closed]
    # Allowed events carry no reason at all.
    assert why(assigned(), E("rectify", 2)) == ""


def test_solving_on_the_spot_is_on_time_and_resolved_then():
    spot = E("solve_on_spot", 7)
    state = fold([report(), spot])
    assert state.status == Status.resolved and state.on_time is True and state.resolved_at == spot.at


def test_verifying_on_the_deadline_day_is_on_time_and_the_day_after_is_late():
    deadline = (T0.astimezone(CHINA) + timedelta(days=3)).date()
    days_to_deadline = 3 * 24 * 60

    def verified_at(minutes: int):
        verify = E("verify", minutes)
        state = fold([*assigned(deadline.isoformat()), E("rectify", 2), verify])
        assert state.status == Status.resolved and state.resolved_at == verify.at
        return state.on_time

    assert verified_at(days_to_deadline) is True  # same China date as the deadline
    assert verified_at(days_to_deadline + 24 * 60) is False
    assert fold([*assigned(deadline.isoformat())]).deadline == date.fromisoformat(deadline.isoformat())


def test_sending_back_returns_it_to_the_assignee():
    state = fold([*assigned(department="住建局"), E("rectify", 2), E("send_back", 3)])
    assert state.status == Status.assigned and state.assignee_department == "住建局"


def test_supervising_and_feedback_count_every_time():
    state = fold([*assigned(), E("supervise", 2), E("supervise", 3), E("supervise", 4)])
    assert state.supervise_count == 3
    state = fold([report(), E("solve_on_spot", 1), E("feedback", 2), E("feedback", 3)])
    assert state.feedback_count == 2 and state.status == Status.fed_back


def test_closing_records_when_and_reopening_clears_the_round():
    close = E("close", 4)
    state = fold([report(), E("solve_on_spot", 1), E("feedback", 2), close])
    assert state.status == Status.closed and state.closed_at == close.at
    state = fold([*assigned(department="住建局"), E("rectify", 2), E("verify", 3), E("feedback", 4),
                  E("reopen", 5)])
    assert state.status == Status.reopened and state.reopen_count == 1
    assert (state.assignee_company_id, state.assignee_department, state.deadline) == (None, "", None)
    assert state.resolved_at is None and state.on_time is None and state.closed_at is None


def test_the_last_event_time_is_the_latest_whatever_the_arrival_order():
    latest = E("comment", 50)
    state = fold([E("comment", 20), latest, report(), E("comment", 10)])
    assert state.last_event_at == latest.at and state.event_count == 4


def test_a_meeting_note_applies_while_open_and_is_refused_once_closed():
    note = E(EventKind.decision, 2, {"outcome": "note"})
    state = fold([report(), note])
    assert state.notes[note.id] == "" and state.status == Status.reported and state.note_count == 0
    closed = [report(), E("solve_on_spot", 1), E("feedback", 2), E("close", 3)]
    late_note = E(EventKind.decision, 4, {"outcome": "note"})
    assert fold([*closed, late_note]).notes[late_note.id] == WHY[Status.closed]
    press = E(EventKind.decision, 2, {"outcome": "press"})
    assert fold([*assigned(), press]).supervise_count == 1


def test_an_analysis_application_is_answered_once_and_goes_on_the_months_agenda():
    apply = E(EventKind.apply_analysis, 2, {"reason": "多户反映"})
    state = fold([report(), apply])
    assert state.analysis_status == Application.applied and not state.flagged
    twice = E(EventKind.apply_analysis, 3)
    assert why([report(), apply], twice) == WHY["pending"]
    state = fold([report(), apply, E(EventKind.accept_analysis, 3, {"month": "2026-11-15"})])
    assert (state.analysis_status, state.flagged, state.analysis_month) == (Application.accepted, True, "2026-11")
    state = fold([report(), apply, E(EventKind.decline_analysis, 3, {"reason": "属物业职责"})])
    assert state.analysis_status == Application.declined and not state.flagged
    # No application: nothing to answer.
    assert why([report()], E(EventKind.accept_analysis, 3)) == WHY["no_application"]


def test_a_disposal_plan_takes_over_the_deadline():
    apply = E(EventKind.apply_disposal, 2)
    base = [*assigned("2026-11-10"), apply]
    assert fold(base).disposal_status == Application.applied and not fold(base).escalated
    state = fold([*base, E(EventKind.accept_disposal, 3, {"deadline": "2026-12-20"})])
    assert (state.disposal_status, state.escalated, state.deadline) == (Application.accepted, True, date(2026, 12, 20))
    state = fold([*base, E(EventKind.accept_disposal, 3, {})])  # a plan without a date keeps the old one
    assert state.deadline == date(2026, 11, 10)
    state = fold([*base, E(EventKind.decline_disposal, 3)])
    assert state.disposal_status == Application.declined and not state.escalated


def test_accepted_applications_are_not_filed_again_and_a_meeting_can_still_flag():
    accepted = [report(), E(EventKind.apply_analysis, 2), E(EventKind.accept_analysis, 3, {"month": "2026-11"})]
    assert why(accepted, E(EventKind.apply_analysis, 4)) == WHY["accepted"]
    assert fold([report(), E(EventKind.decision, 2, {"outcome": "analyse"})]).flagged is True


def test_a_resident_reopens_once_per_feedback():
    done = [report(), E("solve_on_spot", 1), E("feedback", 2), E("reopen", 3)]
    assert why(done, E("reopen", 4)) == WHY["once_per_feedback"]
    again = [*done, E("solve_on_spot", 4), E("feedback", 5)]
    assert why(again, E("reopen", 6)) == "" and fold([*again, E("reopen", 6)]).reopen_count == 2
