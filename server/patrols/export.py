"""A patrol report as .xlsx, with the Chinese headers of the street's own tables.

Headers are always Chinese: the file goes to the street's offices whatever the screen
language. Who exported what is in the audit log (the route writes it).
"""
from __future__ import annotations

from server.clock import CHINA, aware
from server.grid.models import GridNode
from server.patrols.models import PARTICIPANT_ROLES, Patrol, PatrolTemplateVersion
from server.patrols.queries import AnswerRow
from server.spreadsheets import BOLD, XLSX, Alignment, Book, Font, PatternFill  # noqa: F401 (XLSX: the routes')

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
    book = Book()
    sheet = book.sheet("巡查报告")
    ws = sheet.ws
    sheet.append([f"{community} {compound.name} 联动巡查报告（{patrol.month}）"], font=Font(bold=True, size=14))
    when = aware(patrol.patrolled_at).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    sheet.append(["巡查时间", when, "", "记录人", recorder])
    sheet.append(["检查清单", f"{template_name} 第{version.number}版"])
    sheet.append(["合格", patrol.pass_count, "", "不合格", patrol.fail_count, "不涉及", patrol.na_count])
    rate = patrol.pass_rate
    sheet.append(["合格率", "" if rate is None else f"{rate * 100:.0f}%"])
    people = "、".join(f"{p.get('name', '')}（{ROLE_ZH.get(p.get('role', ''), '')}）" for p in patrol.participants)
    sheet.append(["参加人员", people])
    if patrol.notes:
        sheet.append(["备注", patrol.notes])
    for row in ws.iter_rows(min_row=2, max_row=ws.max_row, max_col=1):
        row[0].font = BOLD
    sheet.append([])
    sheet.append([h for h, _ in HEADERS], font=BOLD)
    header_row = ws.max_row
    for index, r in enumerate(rows, start=1):
        a, item, issue = r.answer, r.item, r.issue
        handling = "当场整改" if a.fixed_on_spot else ("转问题台账" if issue else "")
        sheet.append([index, item.section, item.title, item.hint, RESULT_ZH.get(a.result, a.result), a.note, handling,
                      issue.tracking_code if issue else "", STATUS_ZH.get(issue.status, issue.status) if issue else ""],
                     fill=FAIL_FILL if a.result == "fail" else None)
    for col, (_, width) in enumerate(HEADERS, start=1):
        ws.column_dimensions[ws.cell(row=header_row, column=col).column_letter].width = width
    for row in ws.iter_rows(min_row=header_row + 1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.print_title_rows = f"{header_row}:{header_row}"
    return book.save()


def history_workbook(compound: GridNode, community: str, patrols: list[Patrol],
                     answers: dict[str, dict[str, str]], items: list[tuple[str, str, str]],
                     repeated: list) -> bytes:
    """A compound's patrols side by side: one row per item, one column per patrol, and the
    items failing repeatedly (the joint-analysis list) on a second sheet."""
    book = Book()
    sheet = book.sheet("巡查记录")
    ws = sheet.ws
    sheet.append([f"{community} {compound.name} 联动巡查记录"], font=Font(bold=True, size=14))
    sheet.append(["类别", "检查项目"] + [f"{p.month}\n{aware(p.patrolled_at).astimezone(CHINA):%m-%d}" for p in patrols],
                 font=BOLD, alignment=Alignment(wrap_text=True, vertical="top"))
    header_row = ws.max_row
    for key, section, title in items:
        sheet.append([section, title] + [RESULT_ZH.get(answers.get(p.id, {}).get(key, ""), "") for p in patrols])
        for cell in sheet.last_row[2:]:
            if cell.value == "不合格":
                cell.fill = FAIL_FILL
    sheet.append(["", "合格率"] + ["" if p.pass_rate is None else f"{p.pass_rate * 100:.0f}%" for p in patrols])
    ws.column_dimensions["A"].width = 10
    ws.column_dimensions["B"].width = 14
    ws.freeze_panes = ws.cell(row=header_row + 1, column=3)
    analysis = book.sheet("反复不合格")
    analysis.append(["类别", "检查项目", "不合格次数", "月份"], font=BOLD)
    for f in repeated:
        analysis.append([f.section, f.title, f.failures, "、".join(f.months)])
    analysis.ws.column_dimensions["B"].width = 14
    analysis.ws.column_dimensions["D"].width = 40
    return book.save()
