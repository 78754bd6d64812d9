"""The registers as the street keeps them in Excel: sheets, Chinese headers, value words.

One workbook, one sheet per register, the same for export, import and the template:

    网格      the grid tree: code, name, level, type, parent code, order, property company, status
    住户      households living there now: micro-grid code + address (the key), head, phone, ...
    人员      people: name, mobile (the key), gender, birth year, 政治面貌 — never an ID-card number
    岗位      posts: mobile, name, role, grid code, A/B, title, company, start and end dates
    物业公司   property companies: name (the key), phone

Headers and values are Chinese whatever the page's language: they are the street's own
words. The sheet "说明" (notes) explains every column and is ignored on import.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from server.accounts.models import PoliticalStatus, Role
from server.grid.models import CareTag, CompoundKind, HouseholdStatus, Level, MicrogridKind

NOTES_SHEET = "说明"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    note: str
    example: str = ""
    required: bool = False


@dataclass(frozen=True)
class Sheet:
    kind: str
    title: str
    columns: tuple[Column, ...]
    about: str

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


GRID = Sheet("grid", "网格", (
    Column("code", "编码", "网格的唯一编码，如 JY-01-003。编码一经使用永不复用。", "JY-01-003", True),
    Column("name", "名称", "网格名称，如 锦绣花园、3栋1单元微网格。", "锦绣花园", True),
    Column("level", "层级", "街道、社区（村）、小区（院落/林盘）、楼栋、单元、微网格之一。", "小区", True),
    Column("kind", "类型", "小区：居民小区或散居林盘；微网格：居民小区、散居林盘、个体工商户、旅游景区、驻区单位、经开区企业；其他层级留空。", "居民小区"),
    Column("parent", "上级编码", "上级网格的编码；只有街道留空。下级必须比上级层级低（可以跳级）。", "JY-01"),
    Column("order", "排序", "同一上级下的显示顺序（整数），可留空。", "3"),
    Column("company", "物业公司", "服务这个小区的物业公司名称（须在“物业公司”表或系统中），可留空。", "锦城物业服务有限公司"),
    Column("status", "状态", "在用 或 撤销。撤销的网格保留历史，编码不再使用；撤销前须无在住住户、无在岗人员、无在用下级。", "在用"),
), "网格树：街道→社区（村）→小区（院落/林盘）→楼栋→单元→微网格。以“编码”识别。")

HOUSEHOLDS = Sheet("households", "住户", (
    Column("microgrid", "微网格编码", "住户所在微网格的编码。", "JY-01-003-02-1-01", True),
    Column("address", "地址", "门牌地址，如 2栋1单元301室。同一微网格内不重复（微网格编码＋地址识别一户）。", "2栋1单元301室", True),
    Column("head_name", "户主", "户主姓名。", "王秀英", True),
    Column("phone", "电话", "手机号（11位）或座机（如 028-88888888），可留空。", "13800001111"),
    Column("members", "人数", "家庭人数（1–30），留空为 1。", "3"),
    Column("care_tags", "关爱标签", "可多个，用顿号分隔：独居老人、残疾人、低保、留守儿童、退役军人、大病、特困供养。", "独居老人"),
    Column("notes", "备注", "不超过500字。不要填写身份证号码。", "子女在外地工作"),
    Column("status", "状态", "在住、迁出 或 已故。迁出、已故的住户保留历史，不再进入走访清单。", "在住"),
), "住户花名册：当前在住的住户。以“微网格编码＋地址”识别。")

PEOPLE = Sheet("people", "人员", (
    Column("name", "姓名", "姓名。", "李春秀", True),
    Column("phone", "手机号", "11位手机号，用来识别人员（每人唯一）。", "13900002222", True),
    Column("gender", "性别", "男 或 女，可留空。", "女"),
    Column("birth_year", "出生年份", "四位年份，如 1975，可留空。", "1975"),
    Column("political_status", "政治面貌", "中共党员、中共预备党员、共青团员、民主党派、无党派人士、群众之一，可留空。", "中共党员"),
), "人员基本情况表（村社区微网格人员基本情况表）。以“手机号”识别。系统不保存身份证号码。")

POSTS = Sheet("posts", "岗位", (
    Column("phone", "手机号", "任职人员的手机号（须在“人员”表或系统中）。", "13900002222", True),
    Column("name", "姓名", "任职人员姓名（用来核对手机号）。", "李春秀"),
    Column("role", "角色", "街道管理员、社区工作人员、网格员、微网格长、物业 之一。", "微网格长", True),
    Column("grid", "网格编码", "岗位所在网格的编码。微网格长在微网格上，网格员在小区上，社区工作人员在社区上。", "JY-01-003-02-1-01", True),
    Column("post_kind", "A/B岗", "微网格长填 A（主岗）或 B（备岗）；每个微网格只有一个在岗的A岗。其他角色留空。", "A"),
    Column("title", "职务", "如 社区党委书记、网格员，可留空。", "微网格长"),
    Column("company", "物业公司", "物业人员所属的物业公司名称。", ""),
    Column("started_on", "开始日期", "如 2024-03-01，可留空。", "2024-03-01"),
    Column("ended_on", "结束日期", "岗位结束的日期；在岗留空。填写后岗位成为历史，该人员的手机不再有这个岗位的权限。", ""),
), "岗位花名册（含微网格A岗人员花名册）。在岗的岗位以“手机号＋角色＋网格编码＋A/B岗”识别。")

COMPANIES = Sheet("companies", "物业公司", (
    Column("name", "名称", "物业公司全称（唯一）。", "锦城物业服务有限公司", True),
    Column("phone", "电话", "联系电话，可留空。", "028-88886666"),
), "物业公司及其联系电话。以“名称”识别。")

SHEETS = (GRID, HOUSEHOLDS, PEOPLE, POSTS, COMPANIES)
SHEET_BY_TITLE = {s.title: s for s in SHEETS}

# --- the words in the cells, both ways ------------------------------------------------

LEVEL_WORDS = {
    Level.street: "街道", Level.community: "社区", Level.compound: "小区", Level.building: "楼栋",
    Level.unit: "单元", Level.microgrid: "微网格",
}
LEVEL_SYNONYMS = {
    "街道": Level.street, "社区": Level.community, "村": Level.community, "社区（村）": Level.community,
    "社区(村)": Level.community, "小区": Level.compound, "院落": Level.compound, "林盘": Level.compound,
    "片区": Level.compound, "小区（院落）": Level.compound, "小区(院落)": Level.compound,
    "小区（院落/林盘）": Level.compound, "楼栋": Level.building, "单元": Level.unit, "微网格": Level.microgrid,
}
# Levels from the top: a node sits under any level above its own (levels may be skipped).
LEVEL_RANK = {Level.street: 0, Level.community: 1, Level.compound: 2, Level.building: 3, Level.unit: 4,
              Level.microgrid: 5}

KIND_WORDS = {
    "residential": "居民小区", "rural": "散居林盘", "business": "个体工商户", "scenic": "旅游景区",
    "institution": "驻区单位", "enterprise": "经开区企业",
}
KIND_SYNONYMS = {word: kind for kind, word in KIND_WORDS.items()} | {"林盘": "rural", "院落": "residential"}
KINDS_OF_LEVEL = {
    Level.compound: {k.value for k in CompoundKind},
    Level.microgrid: {k.value for k in MicrogridKind},
}

NODE_ACTIVE, NODE_RETIRED = "在用", "撤销"

CARE_WORDS = {
    CareTag.elderly_alone: "独居老人", CareTag.disabled: "残疾人", CareTag.low_income: "低保",
    CareTag.left_behind_child: "留守儿童", CareTag.veteran: "退役军人", CareTag.serious_illness: "大病",
    CareTag.special_support: "特困供养",
}
CARE_SYNONYMS = {word: tag.value for tag, word in CARE_WORDS.items()}
CARE_SEPARATORS = re.compile(r"[、,，;；/\s]+")

HOUSEHOLD_STATUS_WORDS = {HouseholdStatus.active: "在住", HouseholdStatus.moved_out: "迁出",
                          HouseholdStatus.deceased: "已故"}
HOUSEHOLD_STATUS_SYNONYMS = {w: s.value for s, w in HOUSEHOLD_STATUS_WORDS.items()} | {"死亡": "deceased", "去世": "deceased"}

GENDER_WORDS = {"male": "男", "female": "女"}
GENDER_SYNONYMS = {"男": "male", "女": "female"}

POLITICAL_WORDS = {
    PoliticalStatus.party_member: "中共党员", PoliticalStatus.probationary_member: "中共预备党员",
    PoliticalStatus.league_member: "共青团员", PoliticalStatus.democratic_party: "民主党派",
    PoliticalStatus.independent: "无党派人士", PoliticalStatus.masses: "群众",
}
POLITICAL_SYNONYMS = {w: s.value for s, w in POLITICAL_WORDS.items()} | {"党员": "party_member", "预备党员": "probationary_member", "团员": "league_member"}

ROLE_WORDS = {
    Role.admin: "街道管理员", Role.community: "社区工作人员", Role.compound: "网格员",
    Role.leader: "微网格长", Role.property: "物业",
}
ROLE_SYNONYMS = {w: r.value for r, w in ROLE_WORDS.items()} | {"物业人员": "property", "社区": "community"}
# The level each role's post sits on (as server/accounts/invites.py ROLE_LEVELS).
ROLE_LEVELS = {
    Role.admin: {Level.street}, Role.community: {Level.community}, Role.compound: {Level.compound},
    Role.leader: {Level.microgrid}, Role.property: {Level.compound, Level.community, Level.microgrid},
}

# --- what a cell may hold ---------------------------------------------------------------

MOBILE = re.compile(r"1\d{10}")
LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(-\d{1,6})?")
# 18-digit resident ID (last may be X) or the old 15-digit one: we never store these.
ID_CARD = re.compile(r"\d{17}[\dXx]|\d{15}")
ID_CARD_HEADER = re.compile(r"身份证|证件号|公民身份")
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-.]{0,39}")
