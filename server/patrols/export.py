"""A patrol report as .xlsx, with the Chinese headers of the street's own tables.

Headers are always Chinese: the file goes to the street's offices whatever the screen
language. Who exported what is in the audit log (the route writes it).
"""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from server.grid.models import GridNode
from server.clock import CHINA, aware
from server.patrols.models import PARTICIPANT_ROLES, Patrol, PatrolTemplateVersion
from server.patrols.queries import AnswerRow

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RESULT_ZH = {"pass": "合格", "fail": "不合格", "na": "不涉及"}
STATUS_ZH = {
    "reported": "待处理", "reopened": "重新处理", "assigned": "已交办", "rectified": "待核实",
    "resolved": "已解决待反馈", "unsolvable": "无法解决已公告", "fed_back": "已反馈", "closed": "已办结",
}
ROLE_ZH = {
    "resident_group_leader": "居民小组长", "leader": "微网格长", "branch_committee": "支委", "owners_rep": "业主代表",
    "property": "物业", "staff": "社区工作人员", "other": "其他",
}
FAIL_FILL = PatternFill("solid", fgColor="FFEBE9")
HEADERS = [("序号", 6), ("类别", 10), ("检查项目", 12), ("检查内容", 40), ("结果", 8), ("情况说明", 30),
           ("处理方式", 12), ("问题编号", 12), ("问题状态", 14)]


def patrol_workbook(patrol: Patrol, compound: GridNode, community: str, version: PatrolTemplateVersion,
                    template_name: str, rows: list[AnswerRow], recorder: str) -> bytes:
    assert set(ROLE_ZH) == set(PARTICIPANT_ROLES)
    wb = Workbook()
    ws = wb.active
    ws.title = "巡查报告"
    bold = Font(bold=True)
    ws.append([f"{community} {compound.name} 联动巡查报告（{patrol.month}）"])
    ws["A1"].font = Font(bold=True, size=14)
    when = aware(patrol.patrolled_at).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    ws.append(["巡查时间", when, "", "记录人", recorder])
    ws.append(["检查清单", f"{template_name} 第{version.number}版"])
    ws.append(["合格", patrol.pass_count, "", "不合格", patrol.fail_count, "不涉及", patrol.na_count])
    rate = patrol.pass_rate
    ws.append(["合格率", "" if rate is None else f"{rate * 100:.0f}%"])
    people = "、".join(f"{p.get('name', '')}（{ROLE_ZH.get(p.get('role', ''), '')}）" for p in patrol.participants)
    ws.append(["参加人员", people])
    if patrol.notes:
        ws.append(["备注", patrol.notes])
    for row in ws.iter_rows(min_row=2, max_row=ws.max_row, max_col=1):
        row[0].font = bold
    ws.append([])
    ws.append([h for h, _ in HEADERS])
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = bold
    for index, r in enumerate(rows, start=1):
        a, item, issue = r.answer, r.item, r.issue
        handling = "当场整改" if a.fixed_on_spot else ("转问题台账" if issue else "")
        ws.append([index, item.section, item.title, item.hint, RESULT_ZH.get(a.result, a.result), a.note, handling,
                   issue.tracking_code if issue else "", STATUS_ZH.get(issue.status, issue.status) if issue else ""])
        if a.result == "fail":
            for cell in ws[ws.max_row]:
                cell.fill = FAIL_FILL
    for col, (_, width) in enumerate(HEADERS, start=1):
        ws.column_dimensions[ws.cell(row=header_row, column=col).column_letter].width = width
    for row in ws.iter_rows(min_row=header_row + 1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.print_title_rows = f"{header_row}:{header_row}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def history_workbook(compound: GridNode, community: str, patrols: list[Patrol],
                     answers: dict[str, dict[str, str]], items: list[tuple[str, str, str]],
                     repeated: list) -> bytes:
    """A compound's patrols side by side: one row per item, one column per patrol, and the
    items failing repeatedly (the joint-analysis list) on a second sheet."""
    wb = Workbook()
    ws = wb.active
    ws.title = "巡查记录"
    bold = Font(bold=True)
    ws.append([f"{community} {compound.name} 联动巡查记录"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["类别", "检查项目"] + [f"{p.month}\n{aware(p.patrolled_at).astimezone(CHINA):%m-%d}" for p in patrols])
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for key, section, title in items:
        row = [section, title] + [RESULT_ZH.get(answers.get(p.id, {}).get(key, ""), "") for p in patrols]
        ws.append(row)
        for cell in ws[ws.max_row][2:]:
            if cell.value == "不合格":
                cell.fill = FAIL_FILL
    ws.append(["", "合格率"] + ["" if p.pass_rate is None else f"{p.pass_rate * 100:.0f}%" for p in patrols])
    ws.column_dimensions["A"].width = 10
    ws.column_dimensions["B"].width = 14
    ws.freeze_panes = ws.cell(row=header_row + 1, column=3)
    analysis = wb.create_sheet("反复不合格")
    analysis.append(["类别", "检查项目", "不合格次数", "月份"])
    for cell in analysis[1]:
        cell.font = bold
    for f in repeated:
        analysis.append([f.section, f.title, f.failures, "、".join(f.months)])
    analysis.column_dimensions["B"].width = 14
    analysis.column_dimensions["D"].width = 40
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
