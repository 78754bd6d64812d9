"""A year of made-up problems on the demo street, for the benchmark and for screenshots.

Each problem gets a plausible life (solved on the spot, assigned and fixed, reopened,
escalated and announced...), its events are folded with the real state machine, and
everything goes in with Core bulk inserts, so 20,000 problems and 100,000 events take
seconds. Same seed, same ledger.
"""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.accounts.models import Post, Role, current_post
from server.grid.models import GridNode, Level
from server.issues.models import Issue, IssueCategory, IssueEvent
from server.clock import month_of
from server.issues.service import TRACKING_ALPHABET
from server.issues.state import fold

CHUNK = 5000
DESCRIPTIONS = {
    "property": ["电梯经常停运", "小区门禁损坏", "物业收费不透明", "地下车库照明不足", "保安夜间不在岗"],
    "environment": ["楼道堆放杂物", "垃圾桶满溢未清运", "绿化带有积水蚊虫多", "外墙渗水发霉", "下水道堵塞有异味"],
    "facilities": ["楼道灯不亮", "健身器材损坏", "单元门闭门器坏了", "路面破损积水", "消防栓漏水"],
    "safety": ["电动车入户充电", "楼道占用消防通道", "燃气管道老化", "窨井盖缺失", "高空抛物"],
    "neighbours": ["楼上噪音扰民", "宠物狗深夜吠叫", "占用公共车位", "漏水影响楼下住户"],
    "government": ["老人医保续费不会办", "低保年审材料咨询", "残疾证办理", "居住证明开具"],
    "illegal_building": ["楼顶违规搭建", "公共绿地种菜", "阳台种花不规范", "一楼私搭雨棚"],
    "other": ["小区名称牌褪色", "快递柜位置不便", "希望增加休闲座椅"],
}
# (weight, steps): each step is (kind, payload maker or None). 'report' is implicit.
SCENARIOS = [
    (10, []),
    (10, ["assign"]),
    (8, ["assign", "rectify"]),
    (20, ["solve_on_spot", "feedback", "close"]),
    (30, ["assign", "rectify", "verify", "feedback", "close"]),
    (6, ["assign", "rectify", "verify", "feedback", "close", "reopen", "assign"]),
    (6, ["apply_analysis", "accept_analysis", "assign", "rectify", "send_back", "rectify", "verify", "feedback", "close"]),
    (4, ["apply_disposal", "accept_disposal", "supervise", "announce", "feedback", "close"]),
    (6, ["assign", "supervise", "rectify", "verify", "feedback"]),
]


ACTING_OFFICE = {"accept_analysis": "party_secretary", "apply_disposal": "branch_secretary",
                 "accept_disposal": "party_secretary"}


class _E:
    __slots__ = ("id", "kind", "at", "payload")

    def __init__(self, id, kind, at, payload):
        self.id, self.kind, self.at, self.payload = id, kind, at, payload


async def load_ledger_demo(conn: AsyncConnection, issues: int = 20000, events: int = 100000, seed: int = 1,
                           now: datetime | None = None) -> dict[str, int]:
    rng = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    microgrids = (await conn.execute(
        sa.select(GridNode.__table__.c.id, GridNode.__table__.c.path).where(GridNode.__table__.c.level == Level.microgrid)
    )).all()
    compounds = dict((await conn.execute(
        sa.select(GridNode.__table__.c.path, GridNode.__table__.c.property_company_id)
        .where(GridNode.__table__.c.level == Level.compound)
    )).all())
    leaders: dict[str, list[tuple[int, str]]] = {}
    for person_id, path in (await conn.execute(
        sa.select(Post.__table__.c.person_id, Post.__table__.c.node_path).where(Post.__table__.c.role == Role.leader, current_post(Post.__table__))
    )).all():
        leaders.setdefault(path, []).append((person_id, ""))
    categories = (await conn.execute(sa.select(IssueCategory.__table__.c.id, IssueCategory.__table__.c.code))).all()
    weights = [w for w, _ in SCENARIOS]
    codes: set[str] = set()
    issue_rows: list[dict] = []
    event_rows: list[dict] = []

    def code() -> str:
        while True:
            value = "".join(rng.choice(TRACKING_ALPHABET) for _ in range(8))
            if value not in codes:
                codes.add(value)
                return value

    for _ in range(issues):
        mg_id, path = rng.choice(microgrids)
        company = compounds.get(path[:24])
        category_id, category_code = rng.choice(categories)
        reported = now - timedelta(days=rng.uniform(0, 365), minutes=rng.randint(0, 600))
        age_days = (now - reported).days
        steps = rng.choices(SCENARIOS, weights)[0][1]
        if age_days < 14:
            steps = steps[: rng.randint(0, min(2, len(steps)))]
        source = rng.choices(["leader", "resident", "staff", "patrol"], [60, 25, 10, 5])[0]
        issue_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        actor = (leaders.get(path) or [(None, "")])[0][0]
        evs = [_E(str(uuid.uuid5(uuid.UUID(issue_id), "report")), "report", reported, {})]
        at = reported
        deadline = None
        for kind in steps:
            at = min(now, at + timedelta(hours=rng.uniform(2, 24 * 6)))
            payload: dict = {}
            if kind == "assign":
                deadline = (at + timedelta(days=rng.choice((3, 7, 7, 14, 30)))).date()
                payload = {"company_id": company, "deadline": deadline.isoformat()} if company else \
                    {"department": rng.choice(["县住建局", "社区居委会", "县城管局", "供电公司"]), "deadline": deadline.isoformat()}
            elif kind == "rectify":
                payload = {"note": "已整改", "photo_count": 0}
            elif kind == "send_back":
                payload = {"reason": "整改不到位"}
            elif kind == "apply_analysis":
                payload = {"problem": rng.choice(DESCRIPTIONS[category_code]), "reason": "问题反复出现"}
            elif kind == "accept_analysis":
                payload = {"month": month_of(at), "note": ""}
            elif kind == "apply_disposal":
                payload = {"reason": "涉及多个部门，协商不成"}
            elif kind == "accept_disposal":
                payload = {"owner": "社区党委", "steps": "召集相关部门和物业研究解决方案",
                           "deadline": (at + timedelta(days=30)).date().isoformat()}
            elif kind == "announce":
                payload = {"title": "关于" + rng.choice(DESCRIPTIONS[category_code]) + "的说明", "body": "因产权及资金原因，暂无法解决，特此公告。"}
            elif kind == "feedback":
                payload = {"text": "已电话告知居民处理结果", "channel": rng.choice(["phone", "visit", "wechat"])}
            else:
                payload = {"note": ""}
            evs.append(_E(str(uuid.UUID(int=rng.getrandbits(128), version=4)), kind, at, payload))
        issue_rows.append({
            "id": issue_id, "node_id": mg_id, "node_path": path, "household_id": None, "category_id": category_id,
            "description": rng.choice(DESCRIPTIONS.get(category_code, DESCRIPTIONS["other"])), "urgency": "urgent" if rng.random() < 0.1 else "normal",
            "source": source, "tracking_code": code(), "reported_by": actor if source == "leader" else None,
            "reporter_name": "", "reporter_phone": "", "reporter_ip_hash": "", "reported_at": reported,
            "received_at": reported, "month": month_of(reported), "_events": evs, "_actor": actor,
        })
    # Pad with notes so the total is exactly `events`.
    total = sum(len(row["_events"]) for row in issue_rows)
    while total < events:
        row = rng.choice(issue_rows)
        last = max(e.at for e in row["_events"])
        row["_events"].append(_E(str(uuid.UUID(int=rng.getrandbits(128), version=4)), "comment",
                                 min(now, last + timedelta(hours=1)), {"text": "已上门查看"}))
        total += 1

    for row in issue_rows:
        evs = row.pop("_events")
        actor = row.pop("_actor")
        state = fold(evs)
        row.update(state.columns())
        for e in evs:
            note = state.notes.get(e.id, "")
            # Who records each step (server/issues/scope.py): the offices for the applications' answers.
            role = ACTING_OFFICE.get(e.kind, "leader")
            event_rows.append({
                "id": e.id, "issue_id": row["id"], "kind": e.kind, "actor_id": actor if role == "leader" else None,
                "actor_role": role,
                "actor_name": "", "at": e.at, "received_at": e.at, "payload": e.payload, "meeting_id": None,
                "applied": not note, "note": note,
            })
    for table, rows in ((Issue.__table__, issue_rows), (IssueEvent.__table__, event_rows)):
        for start in range(0, len(rows), CHUNK):
            await conn.execute(table.insert(), rows[start:start + CHUNK])
    return {"issues": len(issue_rows), "events": len(event_rows)}
