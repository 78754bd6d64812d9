"""The fold: from a person's verified records to the points ledger they should have.

Pure functions, no database, like server/issues/state.py:

    records (Work) ──earn(rule book)──→ what each slot should hold (Earning)
    what each slot should hold + the entries already there ──plan──→ entries to append

A *slot* is what a point is earned for, keyed so a replay or a re-sync finds the same one:
`visit:<household>:<month>` (one visit point per household per month), `errand:<id>`,
`patrol:<patrol id>`, `issue_closed:<issue id>`... `plan` appends only the difference
between a slot's target and the sum of its entries, so folding twice adds nothing.

Two kinds of slot:
- *kept* slots (visits, patrols, problems, ratings) never lose points once earned: a
  problem reopened after it closed keeps its points (the work was done; closing it again
  earns nothing more), a household's care tag removed later does not re-price a visit.
- *capped* slots (errands, mediations, hazard checks) share a daily cap per person, given
  out in time order. A record synced late but done earlier in the day takes its points
  first; a later record of that day is then corrected by a reversing entry. The day's
  total, min(cap, sum), can only grow when a record is added.

So a person's earned total never falls when records arrive, in any order, any number of
times; `plan` puts new points before reversals, so no prefix of the ledger is negative.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Protocol

from server.clock import CHINA, aware, china_date
from server.incentives.models import EntryKind
from server.incentives.rules import RuleBook

CAPPED_RULES = frozenset({"errand", "mediation", "hazard_check"})
NAMESPACE = uuid.UUID("6f1d3c2e-5b1a-4c9e-9f0e-7a5d1c3b2a10")


@dataclass(frozen=True)
class Work:
    """One verified record, as the fold sees it."""

    person_id: int
    rule: str  # a code of rules.RULES
    source_type: str  # visit | work | patrol | issue
    source_id: str
    at: datetime
    grid_path: str
    slot: str  # the earning key

    @property
    def order(self) -> tuple:
        return (aware(self.at), self.source_id, self.rule)


@dataclass(frozen=True)
class Earning:
    work: Work
    points: int
    version: int


class EntryLike(Protocol):
    id: str
    person_id: int
    points: int
    kind: str
    key: str


def earn(works: Iterable[Work], book: RuleBook) -> dict[str, Earning]:
    """What each slot should hold. A slot claimed by several records (visits to one household
    in one month) goes to the earliest; capped rules share a daily cap, in time order."""
    by_slot: dict[str, Work] = {}
    for w in works:
        held = by_slot.get(w.slot)
        if held is None or w.order < held.order:
            by_slot[w.slot] = w
    out: dict[str, Earning] = {}
    used: dict[tuple[int, object], int] = defaultdict(int)  # (person, China day) -> capped points given
    for w in sorted(by_slot.values(), key=lambda w: w.order):
        rules = book.at(w.at)
        points = max(rules.points.get(w.rule, 0), 0)
        if w.rule in CAPPED_RULES:
            day = (w.person_id, china_date(w.at))
            points = min(points, max(rules.caps.get("daily_work", 0) - used[day], 0))
            used[day] += points
        out[w.slot] = Earning(w, points, rules.version)
    return out


@dataclass(frozen=True)
class NewEntry:
    id: str
    person_id: int
    points: int
    kind: str
    rule: str
    rule_version: int | None
    source_type: str
    source_id: str
    key: str
    grid_path: str
    at: datetime
    month: str
    reverses_id: str | None = None
    reason: str = ""

    def row(self) -> dict:
        return dict(self.__dict__)


def china_month(at: datetime) -> str:
    """clock.month_of without strftime: the demo folds a street's year (250,000 entries) through here."""
    local = at.astimezone(CHINA)
    return f"{local.year:04d}-{local.month:02d}"


def entry_id(person_id: int, key: str, n: int) -> str:
    """The n-th entry of a slot: two folds racing write the same id, and one of them fails."""
    return str(uuid.uuid5(NAMESPACE, f"{person_id}|{key}|{n}"))


def plan(person_id: int, targets: dict[str, Earning], existing: Iterable[EntryLike]) -> list[NewEntry]:
    """The entries to append so every slot of `person_id` holds its target: additions first, then reversals."""
    held: dict[str, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    last: dict[str, str] = {}
    for e in existing:
        if e.person_id != person_id or not e.key:
            continue
        held[e.key] += e.points
        count[e.key] += 1
        if e.points > 0:
            last[e.key] = e.id
    additions: list[NewEntry] = []
    reversals: list[NewEntry] = []
    for key, earning in sorted(targets.items(), key=lambda kv: kv[1].work.order):
        w = earning.work
        target = earning.points if w.rule in CAPPED_RULES else max(earning.points, held[key])
        delta = target - held[key]
        if delta == 0:
            continue
        at = aware(w.at)
        common = dict(person_id=person_id, rule=w.rule, rule_version=earning.version, source_type=w.source_type,
                      source_id=w.source_id, key=key, grid_path=w.grid_path, at=at, month=china_month(at))
        new_id = entry_id(person_id, key, count[key])
        count[key] += 1
        if delta > 0:
            additions.append(NewEntry(id=new_id, points=delta, kind=EntryKind.earned.value, **common))
        else:
            reversals.append(NewEntry(id=new_id, points=delta, kind=EntryKind.reversal.value,
                                      reverses_id=last.get(key), reason="daily_cap", **common))
    return additions + reversals
