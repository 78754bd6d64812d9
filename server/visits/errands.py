"""An errand's life (帮办代办): 受理 → 办理中 → 办结, or 转办 to a named department.

    accepted ─ start ─→ in_progress ─ done ─→ done
        │                    └────── refer ─→ referred (the department named)
        ├─────────── done ──────────────────→ done
        └─────────── refer ─────────────────→ referred

Recording the errand is accepting it (受理). Like a problem's state (server/issues/state.py),
the status is a pure fold over the steps, sorted by (client time, id): phones may deliver
them in any order. A step that is not valid at its place (办结 twice, 办理中 after 办结) is
kept, marked not applied, with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Protocol

from server.clock import aware
from server.i18n import N_
from server.visits.models import ErrandStatus, ErrandStepKind


class StepLike(Protocol):
    id: str
    kind: str
    at: datetime
    department: str


ALLOWED = {
    ErrandStepKind.start: frozenset({ErrandStatus.accepted}),
    ErrandStepKind.done: frozenset({ErrandStatus.accepted, ErrandStatus.in_progress}),
    ErrandStepKind.refer: frozenset({ErrandStatus.accepted, ErrandStatus.in_progress}),
}
RESULT = {
    ErrandStepKind.start: ErrandStatus.in_progress,
    ErrandStepKind.done: ErrandStatus.done,
    ErrandStepKind.refer: ErrandStatus.referred,
}
WHY_FINISHED = N_("The errand was already finished at that point.")
WHY_STARTED = N_("The errand was already being handled at that point.")
# Steps that finish an errand: the resident must hear about them.
FINISHING = frozenset({ErrandStepKind.done, ErrandStepKind.refer})


@dataclass
class ErrandState:
    status: str = ErrandStatus.accepted
    department: str = ""
    notes: dict[str, str] = field(default_factory=dict)  # step id -> why it was not applied ("" applied)


def ordered(steps: Iterable[StepLike]) -> list[StepLike]:
    return sorted(steps, key=lambda s: (aware(s.at), s.id))


def why_not(status: str, kind: str) -> str:
    if status in ALLOWED.get(kind, frozenset()):
        return ""
    return WHY_STARTED if status == ErrandStatus.in_progress else WHY_FINISHED


def fold(steps: Iterable[StepLike]) -> ErrandState:
    state = ErrandState()
    for step in ordered(steps):
        why = why_not(state.status, step.kind)
        state.notes[step.id] = why
        if why:
            continue
        state.status = RESULT[step.kind]
        if step.kind == ErrandStepKind.refer:
            state.department = step.department
    return state


def next_steps(status: str) -> list[str]:
    """What the errand's page offers now."""
    return [kind.value for kind in ErrandStepKind if status in ALLOWED[kind]]
