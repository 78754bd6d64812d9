"""The ledger as .xlsx, with the Chinese headers of the street's own tables.

openpyxl's write-only mode streams rows without keeping cells in memory. Headers are
always Chinese: the file goes to the street's offices whatever the screen language.
The reporter's phone is never exported (personal information); who exported what is
in the audit log (the route writes it).
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.clock import CHINA, aware, today_in_china
from server.grid.models import GridNode, Level, PropertyCompany
from server.issues.models import Issue, IssueCategory
from server.issues.queries import COMMUNITY_LEN, COMPOUND_LEN
from server.spreadsheets import BOLD, XLSX, Book  # noqa: F401 (XLSX: the routes' media type)


HEADERS = [
    ("编号", 12), ("上报时间", 17), ("社区/村", 12), ("小区/院落", 16), ("位置", 22), ("问题类别", 12),
    ("问题描述", 40), ("紧急程度", 9), ("来源", 9), ("状态", 12), ("责任单位", 24), ("整改期限", 12),
    ("是否超期", 9), ("解决时间", 17), ("是否按期", 9), ("反馈次数", 9), ("办结时间", 17),
    ("联动分析", 9), ("联动处置", 9), ("已公告", 8),
]
STATUS_ZH = {
    "reported": "待处理", "reopened": "重新处理", "assigned": "已交办", "rectified": "待核实",
    "resolved": "已解决待反馈", "unsolvable": "无法解决已公告", "fed_back": "已反馈", "closed": "已办结",
}
SOURCE_ZH = {"leader": "微网格长", "staff": "工作人员", "resident": "居民", "patrol": "联动巡查", "open311": "城市系统(Open311)"}
URGENCY_ZH = {"normal": "一般", "urgent": "紧急"}


def _time(value: datetime | None) -> str:
    return aware(value).astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if value else ""


def _yes(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


async def ledger_workbook(db: AsyncSession, conds: list) -> tuple[bytes, int]:
    rows = (await db.execute(
        sa.select(Issue, IssueCategory.name, GridNode.name, PropertyCompany.name)
        .join(IssueCategory, IssueCategory.id == Issue.category_id)
        .join(GridNode, GridNode.id == Issue.node_id)
        .outerjoin(PropertyCompany, PropertyCompany.id == Issue.assignee_company_id)
        .where(*conds).order_by(Issue.reported_at, Issue.id)
    )).all()
    # Community and compound names by path prefix: one query for the lot.
    prefixes = {issue.node_path[:n] for issue, *_ in rows for n in (COMMUNITY_LEN, COMPOUND_LEN)}
    names: dict[str, tuple[str, str]] = {}
    for start in range(0, len(prefixes), 500):
        chunk = list(prefixes)[start:start + 500]
        names.update({path: (name, level) for path, name, level in (await db.execute(
            sa.select(GridNode.path, GridNode.name, GridNode.level).where(GridNode.path.in_(chunk))
        )).all()})

    today = today_in_china()
    book = Book(write_only=True)
    sheet = book.sheet("问题台账")
    for index, (_, width) in enumerate(HEADERS):
        sheet.ws.column_dimensions[chr(ord("A") + index)].width = width
    sheet.ws.freeze_panes = "A2"
    sheet.append([title for title, _ in HEADERS], font=BOLD)
    for issue, category, place, company in rows:
        community = names.get(issue.node_path[:COMMUNITY_LEN], ("", ""))[0]
        compound_name, compound_level = names.get(issue.node_path[:COMPOUND_LEN], ("", ""))
        sheet.append([
            issue.tracking_code, _time(issue.reported_at), community,
            compound_name if compound_level == Level.compound else "", place, category, issue.description,
            URGENCY_ZH.get(issue.urgency, issue.urgency), SOURCE_ZH.get(issue.source, issue.source),
            STATUS_ZH.get(issue.status, issue.status), company or issue.assignee_department,
            issue.deadline.isoformat() if issue.deadline else "", _yes(issue.is_overdue(today)) if issue.deadline else "",
            _time(issue.resolved_at), _yes(issue.on_time), issue.feedback_count, _time(issue.closed_at),
            _yes(issue.flagged), _yes(issue.escalated), _yes(issue.announced),
        ])
    return book.save(), len(rows)
