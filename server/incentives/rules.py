"""The rule table: what each kind of verified work is worth, the caps, the scorecard's weights.

The street administrator edits it; every save is a new version (models.IncentiveRules),
effective from then on. Work is priced by the version in force when it was done, so a
new table never re-prices the past and re-folding the same records gives the same ledger.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.clock import aware
from server.i18n import N_
from server.incentives.models import IncentiveRules

# Rule code -> (label, default points). The order is the order on the page.
RULES = {
    "visit": (N_("A visit (one point-earning visit per household per month)"), 1),
    "care_visit": (N_("A visit to a household living alone in old age"), 3),
    "errand": (N_("An errand for a resident"), 3),
    "mediation": (N_("A dispute mediated"), 3),
    "hazard_check": (N_("A safety-hazard check"), 2),
    "patrol": (N_("Taking part in a joint patrol"), 2),
    "issue_closed": (N_("A problem you reported, closed with feedback"), 3),
    "issue_on_time": (N_("Extra when that problem was solved on time"), 2),
    "satisfied": (N_("A resident rated the result 'satisfied'"), 2),
    "holiday_visit": (N_("A holiday visit (节日走访慰问) to a household or leader on your list"), 2),
}
CAPS = {
    # Errands, mediations and hazard checks are typed by the leader alone: a day's points for
    # them are capped, so typing more than a day's real work earns nothing more.
    "daily_work": (N_("Most points a day for errands, mediations and hazard checks"), 15),
}
# Scorecard components (scorecard.py) and their default weights; the score is out of 100.
WEIGHTS = {
    "coverage": (N_("Households visited this month ÷ households"), 30),
    "care_coverage": (N_("Care-tag households visited ÷ care-tag households"), 20),
    "on_time": (N_("Problems solved on time ÷ problems solved"), 15),
    "feedback": (N_("Problems with feedback ÷ problems settled"), 10),
    "satisfaction": (N_("Satisfied ratings (basically satisfied counts half) ÷ ratings"), 15),
    "patrols": (N_("Took part in at least one joint patrol this month"), 10),
}
# The short names the score's formula is written with (the dashboard's formula card): words, never codes.
WEIGHT_NAMES = {
    "coverage": N_("Coverage"),
    "care_coverage": N_("Care households visited"),
    "on_time": N_("On time"),
    "feedback": N_("Feedback"),
    "satisfaction": N_("Satisfaction"),
    "patrols": N_("Patrols"),
}
MAX_POINTS = 100  # per rule: a typo cannot make one visit worth a fortune
MAX_CAP = 500
MAX_WEIGHT = 100

EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class RuleVersion:
    version: int
    points: dict[str, int]
    caps: dict[str, int]
    weights: dict[str, int]
    effective_from: datetime = EPOCH


DEFAULT = RuleVersion(
    version=0,
    points={code: pts for code, (_, pts) in RULES.items()},
    caps={code: n for code, (_, n) in CAPS.items()},
    weights={code: w for code, (_, w) in WEIGHTS.items()},
)


@dataclass
class RuleBook:
    """Every version, oldest first: `at(moment)` is the one in force then."""

    versions: list[RuleVersion] = field(default_factory=lambda: [DEFAULT])

    def __post_init__(self) -> None:
        self._starts = [v.effective_from for v in self.versions]

    def at(self, moment: datetime) -> RuleVersion:
        i = bisect_right(self._starts, aware(moment)) - 1
        return self.versions[max(i, 0)]

    @property
    def current(self) -> RuleVersion:
        return self.versions[-1]


def _complete(row: IncentiveRules) -> RuleVersion:
    """A stored version, with any rule it does not name at its default (a rule added in a later release)."""
    return RuleVersion(
        version=row.version,
        points={**DEFAULT.points, **{k: int(v) for k, v in row.points.items() if k in RULES}},
        caps={**DEFAULT.caps, **{k: int(v) for k, v in row.caps.items() if k in CAPS}},
        weights={**DEFAULT.weights, **{k: int(v) for k, v in row.weights.items() if k in WEIGHTS}},
        effective_from=aware(row.created_at),
    )


async def load_rule_book(db: AsyncSession) -> RuleBook:
    rows = (await db.execute(sa.select(IncentiveRules).order_by(IncentiveRules.version))).scalars().all()
    return RuleBook([DEFAULT, *(_complete(r) for r in rows)])


async def save_version(db: AsyncSession, *, points: dict[str, int], caps: dict[str, int], weights: dict[str, int],
                       note: str, person_id: int) -> IncentiveRules:
    """A new version, in force from now (the caller audits and commits)."""
    current = (await db.execute(sa.select(sa.func.max(IncentiveRules.version)))).scalar() or 0
    row = IncentiveRules(version=current + 1, points=points, caps=caps, weights=weights, note=note, created_by=person_id)
    db.add(row)
    await db.flush()
    return row
