"""Property: for any records, replays, arrival orders, reversals and spending, the ledger folds
to the same thing, every balance is the sum of its entries and no balance is ever negative."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from server.incentives.earning import CAPPED_RULES, Work, earn, plan
from server.incentives.rules import DEFAULT, RuleBook, RuleVersion

START = datetime(2026, 3, 1, 1, 0, tzinfo=timezone.utc)
RULES = ["visit", "care_visit", "errand", "mediation", "hazard_check", "patrol", "issue_closed"]


@dataclass
class Row:
    id: str
    person_id: int
    points: int
    kind: str
    key: str


def work(i: int, rule: str, hours: int, household: int) -> Work:
    at = START + timedelta(hours=hours)
    if rule in ("visit", "care_visit"):
        slot = f"visit:{household}:{at.strftime('%Y-%m')}"
    else:
        slot = f"{rule}:{i}"
    return Work(1, rule, "t", f"r{i:03d}", at, "00000001", slot)


records = st.lists(
    st.tuples(st.sampled_from(RULES), st.integers(0, 24 * 70), st.integers(1, 4)), min_size=0, max_size=40,
).map(lambda items: [work(i, *item) for i, item in enumerate(items)])

BOOK = RuleBook([DEFAULT, RuleVersion(1, {**DEFAULT.points, "errand": 5}, {"daily_work": 7}, DEFAULT.weights,
                                      START + timedelta(days=30))])


def fold(ledger: list[Row], known: list[Work]) -> list[Row]:
    added = plan(1, earn(known, BOOK), ledger)
    ids = {r.id for r in ledger}
    assert not ids & {e.id for e in added}, "an entry id was written twice"
    return ledger + [Row(e.id, 1, e.points, e.kind, e.key) for e in added]


def balance(ledger: list[Row]) -> int:
    return sum(r.points for r in ledger)


def assert_never_negative(ledger: list[Row]) -> None:
    running = 0
    for r in ledger:
        running += r.points
        assert running >= 0, ledger


@settings(max_examples=300, deadline=None)
@given(records, st.randoms(use_true_random=False), st.lists(st.integers(0, 3), max_size=8), st.data())
def test_it_folds_any_arrival_order_to_one_ledger_and_never_goes_negative(works, rnd, spends, data):
    # The phones deliver the records in any order, in several syncs, some twice.
    arrival = list(works)
    rnd.shuffle(arrival)
    arrival += rnd.sample(works, k=min(len(works), 5))  # replays
    ledger: list[Row] = []
    known: list[Work] = []
    spent = 0
    for i, w in enumerate(arrival):
        if w not in known:
            known.append(w)
        ledger = fold(ledger, known)
        assert_never_negative(ledger)
        # Now and then the leader spends what is there (a redemption: an entry without a slot).
        if spends and i % 3 == 0:
            want = spends.pop()
            if 0 < want <= balance(ledger):
                ledger.append(Row(f"spend{i}", 1, -want, "redemption", ""))
                spent += want
    # Folding again adds nothing: replays and re-syncs never award twice.
    assert fold(ledger, known) == ledger
    assert fold(ledger, known + known) == ledger

    # The slots end up holding what a fold of everything at once gives them.
    target = earn(known, BOOK)
    held: dict[str, int] = {}
    for r in ledger:
        if r.key:
            held[r.key] = held.get(r.key, 0) + r.points
    for key, earning in target.items():
        if earning.work.rule in CAPPED_RULES:
            assert held.get(key, 0) == earning.points
        else:
            assert held.get(key, 0) >= earning.points
    fresh = fold([], known)
    assert balance(ledger) + spent >= balance(fresh)
    assert balance(ledger) == sum(r.points for r in ledger)


@settings(max_examples=200, deadline=None)
@given(records)
def test_it_caps_a_days_typed_work_and_one_visit_point_per_household_month(works):
    earned = earn(works, BOOK)
    per_day: dict = {}
    for e in earned.values():
        if e.work.rule in CAPPED_RULES:
            day = (e.work.at + timedelta(hours=8)).date()
            per_day[day] = per_day.get(day, 0) + e.points
            cap = BOOK.at(e.work.at).caps["daily_work"]
            assert per_day[day] <= cap
    visit_slots = [k for k in earned if k.startswith("visit:")]
    assert len(visit_slots) == len(set(visit_slots))
    assert len({(w.slot) for w in works if w.rule in ("visit", "care_visit")}) == len(visit_slots)


def test_it_prices_work_by_the_rule_version_in_force_when_it_was_done():
    before = work(1, "errand", 2, 1)
    after = work(2, "errand", 24 * 40, 1)
    earned = earn([before, after], BOOK)
    assert (earned[before.slot].points, earned[before.slot].version) == (3, 0)
    assert (earned[after.slot].points, earned[after.slot].version) == (5, 1)


def test_it_corrects_a_later_record_of_a_capped_day_with_a_reversing_entry():
    # Four errands (3 points each) on one day with a daily cap of 15 by default: 12.
    day = [work(i, "errand", 2 + i, 1) for i in range(1, 5)]
    ledger = fold([], day)
    assert balance(ledger) == 12
    # Two more arrive late, done earlier that day: the cap now bites the latest record.
    early = [work(10, "mediation", 0, 1), work(11, "hazard_check", 1, 1)]
    ledger = fold(ledger, day + early)
    assert balance(ledger) == 15
    reversals = [r for r in ledger if r.kind == "reversal"]
    assert [r.points for r in reversals] == [-2]
    assert reversals[0].key == day[-1].slot
    assert fold(ledger, day + early) == ledger
