"""The state machine: a problem's state is a fold over its events, in a fixed order.

    reported ─┬─ solve_on_spot ─────────────────────────────┐
              └─ assign ─→ assigned ─ rectify ─→ rectified ─┤ verify
                     ↑          └──── send_back ←───┘       ↓
    reopened ────────┘ (assign or solve_on_spot)         resolved ─ feedback ─→ fed_back ─ close ─→ closed
                                                                                  └─ reopen ←┘ (and from closed)
    any open state ─ announce ─→ unsolvable ─ feedback ─→ fed_back ...
    flag / escalate / supervise / decision / comment change flags, not the status.
    The joint-analysis and joint-disposal applications (apply_* → accept_* or decline_*)
    change their own small state, not the status: accepting an analysis application puts
    the problem on a month's agenda (flagged), accepting a disposal application records
    the committee's solution plan (escalated, with the plan's deadline).

Pure functions, no database: the same list of events gives the same state whatever
order they arrived in, because they are sorted by (report first, client time, id)
before folding. An event that is not valid at its place (verifying a problem that is
already closed, say) is kept, marked not applied, and given a note saying why.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable, Protocol

from server.i18n import N_
from server.issues.models import OPEN_STATUSES, Application, EventKind, Status
from server.clock import aware, china_date


class EventLike(Protocol):
    id: str
    kind: str
    at: datetime
    payload: dict[str, Any]


# Which statuses each kind may act on. Kinds not listed are valid in any status.
_OPEN = frozenset(OPEN_STATUSES)
ALLOWED: dict[str, frozenset[str]] = {
    EventKind.solve_on_spot: frozenset({Status.reported, Status.reopened}),
    EventKind.assign: frozenset({Status.reported, Status.reopened, Status.assigned}),
    EventKind.rectify: frozenset({Status.assigned}),
    EventKind.verify: frozenset({Status.rectified}),
    EventKind.send_back: frozenset({Status.rectified}),
    EventKind.flag: _OPEN,
    EventKind.escalate: _OPEN,
    EventKind.supervise: _OPEN,
    EventKind.announce: _OPEN,
    EventKind.apply_analysis: _OPEN,
    EventKind.accept_analysis: _OPEN,
    EventKind.decline_analysis: _OPEN,
    EventKind.apply_disposal: _OPEN,
    EventKind.accept_disposal: _OPEN,
    EventKind.decline_disposal: _OPEN,
    EventKind.feedback: frozenset({Status.resolved, Status.unsolvable, Status.fed_back}),
    EventKind.close: frozenset({Status.fed_back}),
    EventKind.reopen: frozenset({Status.fed_back, Status.closed}),
}

# A meeting's decision does what the matching event does.
DECISION_OUTCOMES = {
    "note": None,  # recorded, nothing else changes
    "press": EventKind.supervise,  # 督促物业整改 (joint handling)
    "analyse": EventKind.flag,  # 转联动分析 (the secretary's own decision: on the analysis agenda)
    "escalate": EventKind.escalate,  # older logs only: disposal now goes by the branch's application
    "announce": EventKind.announce,  # 无法解决：发布公告
}
# What a meeting may decide now: disposal is no longer a decision but an application.
OFFERED_OUTCOMES = ("press", "analyse", "announce", "note")
# Which application each kind answers, and the field of IssueState that holds it.
APPLICATION_OF = {
    EventKind.apply_analysis: "analysis_status", EventKind.accept_analysis: "analysis_status",
    EventKind.decline_analysis: "analysis_status", EventKind.apply_disposal: "disposal_status",
    EventKind.accept_disposal: "disposal_status", EventKind.decline_disposal: "disposal_status",
}
APPLY_KINDS = frozenset({EventKind.apply_analysis, EventKind.apply_disposal})

# Why an event was kept as a note (English message ids, translated where shown).
WHY = {
    Status.closed: N_("The problem was already closed."),
    "feedback_first": N_("Feedback to the residents must be given before closing."),
    "not_rectified": N_("No rectification was waiting for verification."),
    "not_assigned": N_("The problem was not assigned to anyone at that point."),
    "settled": N_("The problem was already settled at that point."),
    "open": N_("The problem was not settled yet: there was nothing to give feedback on."),
    "no_feedback": N_("No feedback had been given yet, so it could not be reopened."),
    "duplicate_report": N_("The problem had already been reported."),
    "once_per_feedback": N_("Already reopened once after this feedback."),
    "no_application": N_("No application was waiting for a decision."),
    "pending": N_("An application is already waiting for a decision."),
    "accepted": N_("The application was already accepted."),
}


@dataclass
class IssueState:
    status: str = Status.reported
    assignee_company_id: int | None = None
    assignee_department: str = ""
    deadline: date | None = None
    flagged: bool = False
    escalated: bool = False
    announced: bool = False
    feedback_count: int = 0
    reopen_count: int = 0
    supervise_count: int = 0
    analysis_status: str = ""
    analysis_month: str = ""
    disposal_status: str = ""
    resolved_at: datetime | None = None
    on_time: bool | None = None
    closed_at: datetime | None = None
    event_count: int = 0
    note_count: int = 0
    last_event_at: datetime | None = None
    # event id -> the reason it was kept as a note ("" when applied)
    notes: dict[str, str] = field(default_factory=dict)

    def columns(self) -> dict[str, Any]:
        """The cached columns of the Issue row."""
        values = dict(self.__dict__)
        values.pop("notes")
        return values


def order_key(event: EventLike) -> tuple:
    return (0 if event.kind == EventKind.report else 1, aware(event.at), event.id)


def ordered(events: Iterable[EventLike]) -> list[EventLike]:
    return sorted(events, key=order_key)


def effective_kind(event: EventLike) -> str | None:
    if event.kind == EventKind.decision:
        return DECISION_OUTCOMES.get((event.payload or {}).get("outcome", "note"))
    return event.kind


def _parse_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _why_not(state: IssueState, kind: str, seen_report: bool, feedback_since_reopen: bool) -> str:
    """'' if `kind` may act on `state`, else the reason."""
    if kind == EventKind.report:
        return WHY["duplicate_report"] if seen_report else ""
    if kind == EventKind.reopen and state.reopen_count and not feedback_since_reopen:
        return WHY["once_per_feedback"]
    allowed = ALLOWED.get(kind)
    if allowed is None or state.status in allowed:
        application = getattr(state, APPLICATION_OF[kind]) if kind in APPLICATION_OF else None
        if application is None:
            return ""
        if kind in APPLY_KINDS:
            return WHY["pending"] if application == Application.applied else (
                WHY["accepted"] if application == Application.accepted else "")
        return "" if application == Application.applied else WHY["no_application"]
    if state.status == Status.closed:
        return WHY[Status.closed]
    if kind == EventKind.close:
        return WHY["feedback_first"]
    if kind in (EventKind.verify, EventKind.send_back):
        return WHY["not_rectified"]
    if kind == EventKind.rectify:
        return WHY["not_assigned"]
    if kind == EventKind.feedback:
        return WHY["open"]
    if kind == EventKind.reopen:
        return WHY["no_feedback"]
    return WHY["settled"]


def _apply(state: IssueState, kind: str, event: EventLike) -> None:
    payload = event.payload or {}
    at = aware(event.at)
    if kind == EventKind.solve_on_spot:
        state.status = Status.resolved
        state.resolved_at, state.on_time = at, True
    elif kind == EventKind.assign:
        state.status = Status.assigned
        state.assignee_company_id = payload.get("company_id") or None
        state.assignee_department = payload.get("department") or ""
        state.deadline = _parse_date(payload.get("deadline"))
    elif kind == EventKind.rectify:
        state.status = Status.rectified
    elif kind == EventKind.verify:
        state.status = Status.resolved
        state.resolved_at = at
        state.on_time = state.deadline is None or china_date(at) <= state.deadline
    elif kind == EventKind.send_back:
        state.status = Status.assigned
    elif kind == EventKind.flag:
        state.flagged = True
    elif kind == EventKind.escalate:
        state.escalated = True
    elif kind == EventKind.apply_analysis:
        state.analysis_status = Application.applied
    elif kind == EventKind.accept_analysis:
        state.analysis_status = Application.accepted
        state.flagged = True
        state.analysis_month = str(payload.get("month") or "")[:7]
    elif kind == EventKind.decline_analysis:
        state.analysis_status = Application.declined
    elif kind == EventKind.apply_disposal:
        state.disposal_status = Application.applied
    elif kind == EventKind.accept_disposal:
        state.disposal_status = Application.accepted
        state.escalated = True
        # The plan's deadline is the problem's from now on: overdue and on-time follow it.
        state.deadline = _parse_date(payload.get("deadline")) or state.deadline
    elif kind == EventKind.decline_disposal:
        state.disposal_status = Application.declined
    elif kind == EventKind.supervise:
        state.supervise_count += 1
    elif kind == EventKind.announce:
        state.status = Status.unsolvable
        state.announced = True
        state.resolved_at, state.on_time = at, None
    elif kind == EventKind.feedback:
        state.status = Status.fed_back
        state.feedback_count += 1
    elif kind == EventKind.close:
        state.status = Status.closed
        state.closed_at = at
    elif kind == EventKind.reopen:
        # A new round: whoever takes it on sets a new deadline.
        state.status = Status.reopened
        state.reopen_count += 1
        state.assignee_company_id, state.assignee_department, state.deadline = None, "", None
        state.resolved_at = state.on_time = state.closed_at = None


def fold(events: Iterable[EventLike]) -> IssueState:
    """The state after all `events`, whatever order they came in."""
    state = IssueState()
    seen_report = False
    feedback_since_reopen = False
    for event in ordered(events):
        state.event_count += 1
        at = aware(event.at)
        if state.last_event_at is None or at > state.last_event_at:
            state.last_event_at = at
        kind = effective_kind(event)
        why = _why_not(state, kind, seen_report, feedback_since_reopen) if kind else ""
        if kind is None and event.kind == EventKind.decision and state.status == Status.closed:
            why = WHY[Status.closed]
        state.notes[event.id] = why
        if why:
            state.note_count += 1
            continue
        if kind == EventKind.report:
            seen_report = True
        elif kind == EventKind.feedback:
            feedback_since_reopen = True
        elif kind == EventKind.reopen:
            feedback_since_reopen = False
        if kind:
            _apply(state, kind, event)
    return state
