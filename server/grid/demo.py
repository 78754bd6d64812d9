"""The Jinyuan demo street (晋原街道): the article's grid, made up but plausible.

`weiwang demo` fills an empty database with one street whose counts match the
article exactly at scale 1.0 (see ARTICLE_FIGURES in stats.py), so every page and
dashboard has something real-looking to show, and load tests have something big.

Everything comes from one random.Random(seed): the same seed gives the same street,
names, phone numbers and posts, on SQLite and PostgreSQL alike.

The article says 116 third-tier grids, of which 95 residential compounds and 34
rural settlements (散居林盘) — but 95 + 34 = 129. We keep the total 116 and the 34
settlements, so 82 residential compounds.

Rows go in with Core bulk inserts (executemany) in one transaction, with primary keys
assigned here: a node's path is made of ids, so ids must be known before the insert.
"""
from __future__ import annotations

import random
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from server.accounts.models import Person, Post, Role
from server.bulk import bulk_insert, indexes_set_aside, triggers_set_aside
from server.clock import utcnow
from server.grid import tally
from server.grid.models import CareTag, CompoundKind, GridNode, Household, Level, MicrogridKind, PropertyCompany
from server.tree import child_path

STREET_CODE = "JY"
STREET_NAME = "晋原街道"

# Counts at scale 1.0. Households and leaders are only in residential and rural micro-grids.
COMMUNITIES = 15
COMPOUNDS = {CompoundKind.residential: 82, CompoundKind.rural: 34}  # 116; see the module docstring
MICROGRIDS = {
    MicrogridKind.residential: 1186,
    MicrogridKind.rural: 166,
    MicrogridKind.business: 162,
    MicrogridKind.scenic: 30,
    MicrogridKind.institution: 57,
    MicrogridKind.enterprise: 5,
}
HOUSEHOLDS = 54707
PROPERTY_COMPANIES = 18

CHUNK = 50000  # rows per COPY or executemany: big enough to be fast, small enough for the progress bar
BIG_LOAD = 200_000  # households from which indexes are built after the load, not row by row

# The first two are a 社区 and a 村, so even scale 0.1 (two communities) has a village
# for its rural settlements.
COMMUNITY_NAMES = [
    "东街社区", "敦义村", "南街社区", "白岩社区", "西街社区", "泉水村", "北街社区", "子龙社区",
    "五龙村", "凤凰社区", "雪山社区", "红岩村", "金星社区", "甲子社区", "顺城村",
]
PLACE_A = "东南西北金银玉凤龙白红青桂花柳杏石泉清安永新兴和福寿康宁盛太"
PLACE_B = ["街", "岩", "山", "河", "桥", "湾", "塘", "坝", "林", "园", "城", "溪"]

FAMILY_NAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN_NAMES = [
    "建国", "秀英", "桂英", "志强", "丽", "敏", "静", "伟", "芳", "军", "洋", "勇", "艳", "杰",
    "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂兰", "玉兰", "淑珍", "德明", "春梅",
    "文华", "国华", "建华", "海燕", "小红", "永红", "红梅", "玉芳", "家明", "思远", "子涵",
    "雨桐", "浩然", "梓轩", "欣怡", "文斌", "志刚", "晓东", "丽华", "成林", "素芬", "光荣",
    "德华", "婷", "鹏", "磊", "兰英", "凤英", "学文", "世平", "蓉", "琴", "燕",
]
RURAL_FAMILIES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高谢宋唐许邓冯韩曹彭曾肖田董潘袁蔡蒋余杜叶程魏苏吕丁任"

ESTATE_A = [
    "锦绣", "翠湖", "金色", "阳光", "幸福", "和平", "蓝天", "书香", "碧水", "滨河", "银杏", "丽景",
    "学府", "世纪", "天府", "东城", "南苑", "西岭", "雪山", "鹤鸣", "晋原", "锦江", "蜀南", "玉龙",
    "春江", "凤栖", "桂湖", "紫荆", "恒丰", "明珠",
]
ESTATE_B = ["花园", "小区", "苑", "家园", "华府", "名城", "雅居", "公馆", "新村", "佳苑"]
COURTYARDS = [
    "建设路", "粮站", "供销社", "老电影院", "文化路", "气象站", "农机站", "水电局", "邮电",
    "烟草公司", "老县委", "糖酒公司", "财贸", "蚕种场", "新华书店", "百货公司", "教师",
    "公安局", "税务", "交通局",
]
ROADS = ["东街", "南街", "西街", "北街", "建设路", "富民路", "沙渠路", "晋原大道", "子龙街", "新东街", "金三角"]
SCENIC = [
    "天府芙蓉园", "静惠山公园", "晋原古城墙遗址公园", "鹤鸣湖湿地公园", "西岭雪山游客中心",
    "大邑文化广场", "雪山湖公园", "南岸美村", "五龙湖景区", "白岩寺", "子龙庙", "桃花岛农庄",
    "川西林盘民宿群", "稻香渔歌田园", "晋原老街",
]
INSTITUTIONS = [
    "大邑县人民医院", "大邑县中医医院", "大邑县妇幼保健院", "大邑中学", "大邑县实验中学",
    "晋原小学", "北街小学", "南街小学", "子龙幼儿园", "晋原街道办事处", "大邑县市场监管局",
    "大邑县税务局", "大邑县公安局晋原派出所", "大邑县图书馆", "大邑县职业高级中学",
    "晋原街道社区卫生服务中心", "大邑县邮政分公司", "大邑县供电公司", "大邑县自来水公司",
    "大邑县人民法院",
]
ENTERPRISES = [
    "四川蜀邑食品有限公司", "成都晋原机械制造有限公司", "大邑县雪山酒业有限公司",
    "成都西岭新材料科技有限公司", "四川鹤鸣药业有限公司", "成都邑州电子有限公司",
]
COMPANY_A = ["锦城", "蜀都", "华信", "嘉宝", "金房", "天府", "邑州", "雪山", "晋原", "鹤鸣",
             "安居", "恒信", "诚信", "宜家", "和美", "长青", "同心", "信达", "康泰", "顺和"]

CARE_WEIGHTS = {
    CareTag.elderly_alone: 40, CareTag.low_income: 15, CareTag.disabled: 12,
    CareTag.left_behind_child: 10, CareTag.veteran: 10, CareTag.serious_illness: 8,
    CareTag.special_support: 5,
}
CARE_NOTES = {
    CareTag.elderly_alone: ["子女在外地工作，每周电话联系", "独居，需每周上门看望", "腿脚不便，代办医保续费"],
    CareTag.disabled: ["行动不便，需上门办理业务", "持残疾证，轮椅出行"],
    CareTag.low_income: ["低保年审已完成", "申请临时救助中"],
    CareTag.left_behind_child: ["父母在外务工，由祖父母照看", "关注学习情况"],
    CareTag.veteran: ["光荣之家挂牌", "退役军人优待证已办理"],
    CareTag.serious_illness: ["长期透析，关注医疗报销", "家属需要代办事项"],
    CareTag.special_support: ["特困供养，定期走访"],
}
OTHER_NOTES = ["租户", "常年在外务工", "养犬已登记", "有电动车，提醒勿入户充电", "房屋出租中", "新搬入住户"]
MEMBERS = [1, 2, 3, 4, 5, 6]
MEMBER_WEIGHTS = [12, 25, 28, 20, 10, 5]


def scaled_figures(scale: float) -> dict[str, Any]:
    """The counts to generate at this scale; every kind at least once."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    def s(n: int) -> int:
        return max(1, round(n * scale))
    compounds = {k: s(n) for k, n in COMPOUNDS.items()}
    microgrids = {k: s(n) for k, n in MICROGRIDS.items()}
    # Every compound holds at least one micro-grid.
    microgrids[MicrogridKind.residential] = max(microgrids[MicrogridKind.residential], compounds[CompoundKind.residential])
    microgrids[MicrogridKind.rural] = max(microgrids[MicrogridKind.rural], compounds[CompoundKind.rural])
    household_mgs = microgrids[MicrogridKind.residential] + microgrids[MicrogridKind.rural]
    return {
        "communities": max(2, round(COMMUNITIES * scale)),
        "compounds": compounds,
        "microgrids": microgrids,
        "households": max(household_mgs, round(HOUSEHOLDS * scale)),
        "companies": s(PROPERTY_COMPANIES),
    }


def deal(total: int, weights: list[float], rng: random.Random, minimum: int = 0) -> list[int]:
    """Share `total` among buckets by weight, each bucket getting at least `minimum`."""
    n = len(weights)
    if n == 0:
        return []
    if total < minimum * n:
        minimum = 0
    counts = [minimum] * n
    for i in rng.choices(range(n), weights=weights, k=total - minimum * n):
        counts[i] += 1
    return counts


def spread(total: int, n: int, rng: random.Random) -> list[int]:
    """`total` in `n` parts of about total/n ± 25%, each at least 1, summing exactly."""
    mean = total / n
    low, high = max(1, round(mean * 0.75)), max(1, round(mean * 1.25))
    counts = [rng.randint(low, high) for _ in range(n)]
    diff = total - sum(counts)
    step = 1 if diff > 0 else -1
    while diff:
        i = rng.randrange(n)
        if step < 0 and counts[i] <= 1:
            continue
        counts[i] += step
        diff -= step
    return counts


class Names:
    """Unique names from curated lists first, then combinations, all from the one rng."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()
        self.shops: dict[str, int] = {}

    def pick(self, curated: list[str], make) -> str:
        for name in curated:
            if name not in self.used:
                self.used.add(name)
                return name
        for _ in range(50):
            name = make()
            if name not in self.used:
                self.used.add(name)
                return name
        # Pools exhausted (very large scales): number the names.
        base = make()
        n = 2
        while f"{base}{n}" in self.used:
            n += 1
        self.used.add(f"{base}{n}")
        return f"{base}{n}"


@dataclass
class Street:
    """Everything to insert, as lists of row dicts in insertion order (parents first)."""

    companies: list[dict] = field(default_factory=list)
    nodes: list[dict] = field(default_factory=list)
    persons: list[dict] = field(default_factory=list)
    posts: list[dict] = field(default_factory=list)
    households: list[dict] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "grid_nodes": len(self.nodes),
            "households": len(self.households),
            "persons": len(self.persons),
            "posts": len(self.posts),
            "property_companies": len(self.companies),
        }


def build_street(seed: int = 1, scale: float = 1.0, first_ids: dict[str, int] | None = None) -> Street:
    """Generate the demo street in memory; ids start at first_ids[table] (default 1)."""
    rng = random.Random(seed)
    fig = scaled_figures(scale)
    ids = {"grid_node": 1, "person": 1, "post": 1, "household": 1, "property_company": 1}
    ids.update(first_ids or {})
    out = Street()
    now = utcnow()

    def next_id(table: str) -> int:
        value = ids[table]
        ids[table] += 1
        return value

    def node(parent: dict | None, level: Level, code: str, name: str, sort_order: int, kind=None) -> dict:
        node_id = next_id("grid_node")
        row = {
            "id": node_id,
            "parent_id": parent["id"] if parent else None,
            "level": level.value,
            "kind": kind.value if kind else None,
            "code": code,
            "name": name,
            "path": child_path(parent["path"] if parent else "", node_id),
            "depth": parent["depth"] + 1 if parent else 0,
            "sort_order": sort_order,
            "property_company_id": None,
        }
        out.nodes.append(row)
        return row

    def person_name() -> str:
        return rng.choice(FAMILY_NAMES) + rng.choice(GIVEN_NAMES)

    def phone() -> str:
        # 100xxxxxxxx: 11 digits, and no real Chinese mobile number starts with 100.
        return f"100{rng.randrange(10**8):08d}"

    staff_phones: set[str] = set()

    def staff_phone() -> str:
        # A person's phone is their key in the registers (server/registers): never twice.
        # (Drawing again only on a clash keeps every seed's street as it was otherwise.)
        value = phone()
        while value in staff_phones:
            value = phone()
        staff_phones.add(value)
        return value

    def person() -> int:
        person_id = next_id("person")
        out.persons.append({"id": person_id, "name": person_name(), "phone": staff_phone(), "active": True,
                            "created_at": now})
        return person_id

    def post(person_id: int, at: dict, role: Role, title: str = "", post_kind: str | None = None, company_id=None) -> None:
        out.posts.append({
            "id": next_id("post"), "person_id": person_id, "node_id": at["id"], "node_path": at["path"],
            "role": role.value, "post_kind": post_kind, "title": title, "company_id": company_id,
            "office": "",
        })

    names = Names(rng)
    street = node(None, Level.street, STREET_CODE, STREET_NAME, 0)
    for _ in range(2):
        post(person(), street, Role.admin, "街道管理员")

    # --- communities and villages
    extra_names = lambda: rng.choice(PLACE_A) + rng.choice(PLACE_B) + ("村" if rng.random() < 0.33 else "社区")
    communities = []
    for i in range(1, fig["communities"] + 1):
        name = names.pick(COMMUNITY_NAMES, extra_names)
        communities.append({"index": i, "name": name, "village": name.endswith("村")})
    villages = [c for c in communities if c["village"]]

    # --- compounds per community: settlements in villages, residential mostly in towns
    n_rural = fig["compounds"][CompoundKind.rural]
    n_res = fig["compounds"][CompoundKind.residential]
    homes = villages or communities
    rural_per = dict(zip((c["index"] for c in homes), deal(n_rural, [1] * len(homes), rng, minimum=1)))
    towns = [c for c in communities if not c["village"]]
    res_per = deal(n_res, [3 if not c["village"] else 1 for c in communities], rng)
    # Every town community has at least one residential compound when there are enough.
    if n_res >= len(towns):
        for k, c in enumerate(communities):
            while not c["village"] and res_per[k] == 0:
                donor = max(range(len(res_per)), key=lambda j: res_per[j])
                res_per[donor] -= 1
                res_per[k] += 1
    for k, c in enumerate(communities):
        c["residential"] = res_per[k]
        c["rural"] = rural_per.get(c["index"], 0)

    # Old courtyards (院落) are small and self-managed; estates (小区) are big and have a
    # property company.
    res_styles = []
    for _ in range(n_res):
        res_styles.append("courtyard" if rng.random() < 0.3 else "estate")
    if "estate" not in res_styles:
        res_styles[0] = "estate"
    res_mg_counts = deal(
        fig["microgrids"][MicrogridKind.residential],
        [0.4 if s == "courtyard" else 1.6 for s in res_styles], rng, minimum=1,
    )
    rural_mg_counts = deal(fig["microgrids"][MicrogridKind.rural], [1] * n_rural, rng, minimum=1)

    # Non-residential micro-grids: shops and agencies cluster in the town communities.
    other_kinds = {
        MicrogridKind.business: lambda c: 1 if c["village"] else 3,
        MicrogridKind.scenic: lambda c: 1,
        MicrogridKind.institution: lambda c: 1 if c["village"] else 2,
        MicrogridKind.enterprise: lambda c: 1,
    }
    other_per = {
        kind: deal(fig["microgrids"][kind], [w(c) for c in communities], rng)
        for kind, w in other_kinds.items()
    }

    # --- property companies
    n_estates = res_styles.count("estate")
    n_companies = min(fig["companies"], n_estates)
    for _ in range(n_companies):
        cname = names.pick([], lambda: rng.choice(COMPANY_A) + rng.choice(COMPANY_A) + "物业服务有限公司"
                           if rng.random() < 0.5 else rng.choice(COMPANY_A) + "物业服务有限公司")
        out.companies.append({"id": next_id("property_company"), "name": cname, "phone": f"028-{rng.randrange(10**7, 10**8)}"})
    # Each company manages several estates; every company at least one.
    estate_company = [out.companies[i]["id"] for i in range(n_companies)]
    estate_company += [rng.choice(out.companies)["id"] for _ in range(n_estates - n_companies)]
    rng.shuffle(estate_company)
    company_compounds: dict[int, list[dict]] = {c["id"]: [] for c in out.companies}

    household_mgs: list[dict] = []  # residential/rural micro-grids, with address info
    other_mgs: list[tuple[dict, dict]] = []  # (micro-grid, community node)
    res_i = rural_i = estate_i = 0
    community_nodes = []
    for c in communities:
        cnode = node(street, Level.community, f"{STREET_CODE}-{c['index']:02d}", c["name"], c["index"])
        community_nodes.append(cnode)
        c["node"] = cnode
        secretary = person()
        post(secretary, cnode, Role.community, "社区党委书记")
        for _ in range(2):
            post(person(), cnode, Role.community, "社区工作人员")
        c["leaders"] = []  # A-leader person ids, for B-posts on non-residential micro-grids
        local_names: set[str] = set()
        group_no = 0  # 村民小组 numbers run through the whole village
        cpd_index = 0
        for _ in range(c["residential"]):
            cpd_index += 1
            style = res_styles[res_i]
            if style == "courtyard":
                cname = names.pick([], lambda: rng.choice(COURTYARDS) + "院落" if rng.random() < 0.5
                                   else f"{rng.choice(ROADS)}{rng.randint(1, 199)}号院落")
            else:
                cname = names.pick([], lambda: rng.choice(ESTATE_A) + rng.choice(ESTATE_B))
            cpd = node(cnode, Level.compound, f"{cnode['code']}-{cpd_index:03d}", cname, cpd_index, CompoundKind.residential)
            post(person(), cpd, Role.compound, "网格员")
            if style == "estate":
                cpd["property_company_id"] = estate_company[estate_i]
                company_compounds[estate_company[estate_i]].append(cpd)
                estate_i += 1
            # compound → buildings → units → micro-grids: mostly one micro-grid a unit,
            # a high-rise unit split in two (低区/高区); one to three units a building.
            n_mgs = res_mg_counts[res_i]
            res_i += 1
            unit_sizes = []
            while sum(unit_sizes) < n_mgs:
                unit_sizes.append(min(rng.choice((1, 1, 1, 2)), n_mgs - sum(unit_sizes)))
            b_no = 0
            u = 0
            compound_mgs = []
            while u < len(unit_sizes):
                b_no += 1
                bld = node(cpd, Level.building, f"{cpd['code']}-{b_no:02d}", f"{b_no}栋", b_no)
                for u_no in range(1, min(rng.randint(1, 3), len(unit_sizes) - u) + 1):
                    size = unit_sizes[u]
                    u += 1
                    unit = node(bld, Level.unit, f"{bld['code']}-{u_no}", f"{u_no}单元", u_no)
                    # Old courtyards are walk-ups with many doors a floor; estates are high-rise.
                    per_floor = rng.choice((6, 8)) if style == "courtyard" else rng.choice((2, 2, 3, 4))
                    unit_state = {"per_floor": per_floor, "next": 0}
                    for m in range(1, size + 1):
                        label = f"{b_no}栋{u_no}单元" + ("" if size == 1 else ("低区", "高区")[m - 1])
                        mg = node(unit, Level.microgrid, f"{unit['code']}-{m:02d}", label + "微网格", m, MicrogridKind.residential)
                        compound_mgs.append({"node": mg, "building": b_no, "unit_no": u_no, "unit": unit_state})
            household_mgs.append(compound_mgs)
        for _ in range(c["rural"]):
            cpd_index += 1
            cname = rng.choice(RURAL_FAMILIES) + "家林盘"
            for prefix in ("", "上", "下", "大", "小", "新") * 10:
                if prefix + cname not in local_names:
                    break
                cname = rng.choice(RURAL_FAMILIES) + "家林盘"
            cname = prefix + cname
            local_names.add(cname)
            cpd = node(cnode, Level.compound, f"{cnode['code']}-{cpd_index:03d}", cname, cpd_index, CompoundKind.rural)
            post(person(), cpd, Role.compound, "网格员")
            compound_mgs = []
            for m in range(1, rural_mg_counts[rural_i] + 1):
                group_no += 1
                mg = node(cpd, Level.microgrid, f"{cpd['code']}-{m:02d}", f"{group_no}组微网格", m, MicrogridKind.rural)
                compound_mgs.append({"node": mg, "group": group_no})
            rural_i += 1
            household_mgs.append(compound_mgs)
        m = 0
        k = c["index"] - 1
        for kind in other_kinds:
            for _ in range(other_per[kind][k]):
                m += 1
                mg = node(cnode, Level.microgrid, f"{cnode['code']}-M{m:02d}", _other_name(kind, rng, names), 100 + m, kind)
                other_mgs.append((mg, c))
        c["compound_mgs"] = household_mgs[-(c["residential"] + c["rural"]):] if c["residential"] + c["rural"] else []

    # --- leaders: one A-post on every residential/rural micro-grid (one notice board each);
    # the B-post is the A-leader of the next micro-grid in the same compound, so the
    # number of distinct leaders stays the number of boards.
    all_leaders: list[int] = []
    for c in communities:
        for compound_mgs in c["compound_mgs"]:
            for mg in compound_mgs:
                leader = person()
                mg["leader"] = leader
                post(leader, mg["node"], Role.leader, "微网格长", "A")
                c["leaders"].append(leader)
                all_leaders.append(leader)
    for c in communities:
        for compound_mgs in c["compound_mgs"]:
            n = len(compound_mgs)
            for i, mg in enumerate(compound_mgs):
                if n > 1:
                    backup = compound_mgs[(i + 1) % n]["leader"]
                else:  # a one-grid compound: borrow another leader of the community
                    others = [p for p in c["leaders"] if p != mg["leader"]] or [p for p in all_leaders if p != mg["leader"]]
                    backup = rng.choice(others) if others else mg["leader"]
                post(backup, mg["node"], Role.leader, "微网格长", "B")
    for mg, c in other_mgs:
        pool = c["leaders"] or all_leaders
        post(rng.choice(pool), mg, Role.leader, "微网格长", "B")

    # --- property staff: two per company, posted on one of its compounds
    for company in out.companies:
        managed = company_compounds[company["id"]]
        for title in ("物业项目经理", "物业客服"):
            post(person(), rng.choice(managed), Role.property, title, company_id=company["id"])

    # --- households
    flat = [mg for c in communities for compound_mgs in c["compound_mgs"] for mg in compound_mgs]
    per_mg = spread(fig["households"], len(flat), rng)
    care_tags = list(CARE_WEIGHTS)
    care_weights = list(CARE_WEIGHTS.values())
    for mg, n in zip(flat, per_mg):
        mnode = mg["node"]
        for _ in range(n):
            if "unit" in mg:
                state = mg["unit"]
                floor, room = divmod(state["next"], state["per_floor"])
                state["next"] += 1
                address = f"{mg['building']}栋{mg['unit_no']}单元{floor + 1}{room + 1:02d}室"
            else:
                mg["next"] = mg.get("next", 0) + 1
                address = f"{mg['group']}组{mg['next']}号"
            tags: list[str] = []
            notes = ""
            members = rng.choices(MEMBERS, MEMBER_WEIGHTS)[0]
            r = rng.random()
            if r < 0.15:
                tags = [rng.choices(care_tags, care_weights)[0]]
                if rng.random() < 0.1:
                    second = rng.choices(care_tags, care_weights)[0]
                    if second != tags[0] and CareTag.elderly_alone not in (tags[0], second):
                        tags.append(second)
                if tags[0] == CareTag.elderly_alone:
                    members = 1
                if rng.random() < 0.5:
                    notes = rng.choice(CARE_NOTES[CareTag(tags[0])])
            elif r < 0.20:
                notes = rng.choice(OTHER_NOTES)
            out.households.append({
                "id": next_id("household"), "microgrid_id": mnode["id"], "grid_path": mnode["path"],
                "address": address, "head_name": person_name(), "phone": phone(),
                "members": members, "care_tags": [str(t) for t in tags], "notes": notes,
            })
    return out


def _other_name(kind: MicrogridKind, rng: random.Random, names: Names) -> str:
    if kind == MicrogridKind.business:
        # Twenty shop fronts a grid, numbered along a road: always a new name.
        road = rng.choice(ROADS)
        start = names.shops.get(road, 1)
        names.shops[road] = start + 20
        return f"{road}商铺{start}-{start + 19}号"
    if kind == MicrogridKind.scenic:
        return names.pick(SCENIC, lambda: rng.choice(ESTATE_A) + rng.choice(["湿地公园", "农庄", "景区", "古镇街区"]))
    if kind == MicrogridKind.institution:
        return names.pick(INSTITUTIONS, lambda: "大邑县" + rng.choice(ESTATE_A) + rng.choice(["小学", "幼儿园", "诊所", "中心"]))
    return names.pick(ENTERPRISES, lambda: "成都" + rng.choice(COMPANY_A) + rng.choice(["科技", "食品", "机械", "建材"]) + "有限公司")


# Tables in insertion order: foreign keys point backwards only.
TABLES = [
    ("property_company", PropertyCompany.__table__, "companies"),
    ("grid_node", GridNode.__table__, "nodes"),
    ("person", Person.__table__, "persons"),
    ("post", Post.__table__, "posts"),
    ("household", Household.__table__, "households"),
]


async def _next_ids(conn: AsyncConnection) -> dict[str, int]:
    first = {}
    for name, table, _ in TABLES:
        current = (await conn.execute(sa.select(sa.func.max(table.c.id)))).scalar()
        first[name] = (current or 0) + 1
    return first


async def street_exists(conn: AsyncConnection) -> bool:
    row = await conn.execute(sa.select(GridNode.__table__.c.id).where(GridNode.__table__.c.level == Level.street.value).limit(1))
    return row.first() is not None


async def _load(conn: AsyncConnection, seed: int, scale: float, progress: bool) -> dict[str, Any]:
    started = time.perf_counter()
    if (await conn.execute(sa.select(GridNode.__table__.c.id).where(GridNode.__table__.c.code == STREET_CODE))).first():
        raise DemoAlreadyLoaded(f"grid code {STREET_CODE} is taken: the demo street is already loaded")
    street = build_street(seed, scale, await _next_ids(conn))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(len(getattr(street, attr)) for *_, attr in TABLES), unit="rows", desc="晋原街道 demo")
    # Straight through the driver (COPY on PostgreSQL). A big street's secondary indexes and keys
    # are set aside and built once at the end; a small one (every test's) keeps them.
    # The grid's tally triggers too: it is counted once after the load (server/grid/tally.py).
    big = len(street.households) >= BIG_LOAD
    tables = [table for _, table, _ in TABLES]
    async with (indexes_set_aside(conn, *tables) if big else nullcontext()), triggers_set_aside(conn, *tables):
        for name, table, attr in TABLES:
            rows = getattr(street, attr)
            for i in range(0, len(rows), CHUNK):
                chunk = rows[i:i + CHUNK]
                await bulk_insert(conn, table, chunk)
                if bar is not None:
                    bar.update(len(chunk))
    if big and conn.dialect.name == "postgresql":
        for name, _, _ in TABLES:
            await conn.exec_driver_sql(f'ANALYZE "{name}"')  # the planner's figures for a table grown a hundredfold
    await tally.rebuild(conn)
    if big and conn.dialect.name == "postgresql":
        await conn.exec_driver_sql('ANALYZE "grid_tally"')
    if conn.dialect.name == "postgresql":
        # We wrote explicit ids: move each sequence past them, or the app's next insert collides.
        for name, _, _ in TABLES:
            await conn.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"
            ))
    # The Party committee, grid Party branches and service stations of these communities.
    from server.party.demo import load_party_demo

    await load_party_demo(conn, [n["id"] for n in street.nodes if n["level"] == Level.community.value])
    # A task list part done (任务清单: 老旧院落执勤).
    from server.tasks.demo import load_tasks_demo

    await load_tasks_demo(conn)
    if bar is not None:
        bar.close()
    return {**street.counts(), "seconds": round(time.perf_counter() - started, 2)}


class DemoAlreadyLoaded(RuntimeError):
    pass


async def load_demo(target: AsyncEngine | AsyncConnection | AsyncSession, seed: int = 1, scale: float = 1.0,
                    progress: bool = True) -> dict[str, Any]:
    """Insert the demo street; returns row counts and the seconds it took.

    With an engine, loads in its own transaction; with a connection or session, in the
    caller's transaction (the caller commits).
    """
    if isinstance(target, AsyncEngine):
        async with target.begin() as conn:
            return await _load(conn, seed, scale, progress)
    if isinstance(target, AsyncSession):
        target = await target.connection()
    return await _load(target, seed, scale, progress)


async def load_demo_into(engine: AsyncEngine, seed: int = 1, scale: float = 1.0, progress: bool = False) -> dict[str, Any]:
    """For tests: load into an already migrated database, quietly."""
    return await load_demo(engine, seed=seed, scale=scale, progress=progress)
