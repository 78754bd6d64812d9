"""Scorecards and the points ledger as .xlsx (through server/spreadsheets.py: user text as text).

Headers are Chinese whatever the screen language: the files go to the street's offices.
The routes audit every export.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Person
from server.clock import CHINA, aware
from server.incentives.models import PointsEntry
from server.incentives.rules import RULES
from server.incentives.scorecard import Scorecard
from server.spreadsheets import BOLD, XLSX, Book  # noqa: F401 (XLSX: the routes' media type)
from server.tree import in_subtree

CARD_HEADERS = [
    ("微网格长", 12), ("微网格", 28), ("户数", 8), ("本期走访户数", 12), ("走访覆盖率", 11), ("关爱对象户", 11),
    ("已走访关爱户", 12), ("走访次数", 9), ("帮办代办", 9), ("调解纠纷", 9), ("排查隐患", 9), ("上报问题", 9),
    ("按期率", 8), ("反馈率", 8), ("参加巡查", 9), ("居民满意度", 11), ("本期积分", 9), ("积分余额", 9), ("得分", 8),
]
KIND_ZH = {"earned": "获得", "manual": "奖励/扣减", "reversal": "更正", "redemption": "兑换"}
RULE_ZH = {"visit": "入户走访", "care_visit": "走访独居老人户", "errand": "帮办代办", "mediation": "调解纠纷",
           "hazard_check": "排查隐患", "patrol": "参加联动巡查", "issue_closed": "问题反馈办结",
           "issue_on_time": "问题按期解决", "satisfied": "居民满意",
           "holiday_visit": "节日走访慰问"}
assert set(RULE_ZH) == set(RULES)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.0f}%"


def scorecards_workbook(cards: list[Scorecard], title: str) -> bytes:
    book = Book(write_only=True)
    sheet = book.sheet(title[:31])
    for index, (_, width) in enumerate(CARD_HEADERS):
        sheet.ws.column_dimensions[chr(ord("A") + index)].width = width
    sheet.append([h for h, _ in CARD_HEADERS], font=BOLD)
    for c in cards:
        comp = c.components
        sheet.append([c.name, c.grid_name, c.households, c.households_visited, _pct(comp.get("coverage")),
                      c.care_households, c.care_visited, c.visits, c.errands, c.mediations, c.hazard_checks, c.problems,
                      _pct(comp.get("on_time")), _pct(comp.get("feedback")), c.patrols, _pct(comp.get("satisfaction")),
                      c.points, c.points_balance, c.score])
    return book.save()


async def ledger_workbook(db: AsyncSession, root_path: str, scope_clause, months: list[str] | None) -> tuple[bytes, int]:
    where = [in_subtree(PointsEntry.grid_path, root_path), scope_clause(PointsEntry.grid_path)]
    if months:
        where.append(PointsEntry.month.in_(months))
    rows = (await db.execute(sa.select(PointsEntry, Person.name).join(Person, Person.id == PointsEntry.person_id)
                             .where(*where).order_by(PointsEntry.at, PointsEntry.id))).all()
    book = Book(write_only=True)
    sheet = book.sheet("积分台账")
    headers = [("时间", 17), ("微网格长", 12), ("类型", 10), ("规则", 16), ("积分", 8), ("规则版本", 9), ("原因", 30), ("编号", 38)]
    for index, (_, width) in enumerate(headers):
        sheet.ws.column_dimensions[chr(ord("A") + index)].width = width
    sheet.append([h for h, _ in headers], font=BOLD)
    for entry, name in rows:
        sheet.append([aware(entry.at).astimezone(CHINA).strftime("%Y-%m-%d %H:%M"), name, KIND_ZH.get(entry.kind, entry.kind),
                      RULE_ZH.get(entry.rule, entry.rule), entry.points, entry.rule_version, entry.reason, entry.id])
    return book.save(), len(rows)
