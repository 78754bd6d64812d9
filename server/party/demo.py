"""The demo street's Party organisation and service stations (issue 14).

Run right after the grid demo (server/grid/demo.py) in the same transaction, from the
rows it wrote, with no random numbers: the street's names and people stay exactly what
the seed makes them. In each community: the committee, whose secretary is the staff
post titled 社区党委书记 and whose first 社区工作人员 is a committee member; grid Party
branches (one per residential compound; a village's settlements make one 总支), the
first compound's grid worker the secretary and the others branch committee members;
and the leaders' service station.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.accounts.models import Post, Role, current_post
from server.clock import utcnow
from server.grid.models import CompoundKind, GridNode, Level
from server.party.models import BodyKind, Office, PartyBody, ServiceStation
from server.training.models import TrainingMaterial

# The street's first training materials (常态化培训), for every leader's phone.
MATERIALS = [
    ("policy", "高龄津贴申领指南", "80周岁以上老人每月可领取高龄津贴",
     "一、对象：具有本县户籍、年满80周岁的老年人。\n二、材料：身份证、户口簿、本人银行卡。\n"
     "三、流程：本人或家属到社区便民服务站申请，社区初审后报街道审核，审核通过次月起发放。\n"
     "四、提醒：每年需进行一次生存认证，可由微网格长上门协助。"),
    ("policy", "城乡居民医保缴费说明", "每年9月至12月集中缴费",
     "一、缴费时间：每年9月1日至12月31日。\n二、缴费方式：微信“四川税务”小程序、银行网点或社区代收。\n"
     "三、低保、特困等困难群众由政府资助参保，无需个人缴费。"),
    ("guide", "微网格长走访记录操作指南", "走访、办事、调解、隐患排查的记录方法",
     "1. 打开“工作”页，选择住户，点“记走访”。\n2. 选择走访类型，填写情况，可拍照。\n"
     "3. 无信号时照常保存，记录会留在手机上，有信号后自动上传。\n4. 发现问题可直接“报问题”进入问题台账。"),
    ("guide", "电动车安全充电宣传要点", "入户宣传时的讲解要点",
     "一、严禁电动车进楼入户、飞线充电。\n二、使用小区集中充电桩，充满即断电。\n三、发现楼道充电，及时劝导并登记隐患。"),
]
ROADS = ["东街", "南街", "西街", "北街", "建设路", "富民路"]


async def load_party_demo(conn: AsyncConnection, community_ids: list[int] | None = None) -> dict[str, int]:
    nodes, posts = GridNode.__table__, Post.__table__
    query = sa.select(nodes.c.id, nodes.c.path, nodes.c.name).where(nodes.c.level == Level.community.value)
    if community_ids is not None:
        query = query.where(nodes.c.id.in_(community_ids))
    communities = (await conn.execute(query.order_by(nodes.c.path))).all()
    now = utcnow()
    bodies, stations = [], []
    for index, (community_id, path, name) in enumerate(communities):
        staff = (await conn.execute(
            sa.select(posts.c.id, posts.c.title).where(posts.c.node_path == path, posts.c.role == Role.community.value,
                                                       current_post(posts)).order_by(posts.c.id)
        )).all()
        secretary = next((p for p in staff if p.title == "社区党委书记"), None)
        member = next((p for p in staff if p.title != "社区党委书记"), None)
        if secretary is not None:
            await conn.execute(sa.update(posts).where(posts.c.id == secretary.id).values(office=Office.party_secretary.value))
        if member is not None:
            await conn.execute(sa.update(posts).where(posts.c.id == member.id).values(office=Office.party_member.value))
        bodies.append({"kind": BodyKind.committee.value, "name": f"{name}党委", "community_id": community_id,
                       "community_path": path, "compound_ids": [], "created_at": now})
        stations.append({"community_id": community_id, "community_path": path, "name": f"{name}微网格长服务站",
                         "address": f"{ROADS[index % len(ROADS)]}{10 + index * 7}号{name}党群服务中心一楼",
                         "phone": f"028-8822{index:04d}"})
        compounds = (await conn.execute(
            sa.select(nodes.c.id, nodes.c.path, nodes.c.name, nodes.c.kind)
            .where(nodes.c.parent_id == community_id, nodes.c.level == Level.compound.value).order_by(nodes.c.path)
        )).all()
        rural = [c for c in compounds if c.kind == CompoundKind.rural.value]
        residential = [c for c in compounds if c.kind != CompoundKind.rural.value]
        # A branch per residential compound; a village's settlements share one 总支, whose
        # secretary and committee members are the settlements' grid workers, each acting
        # for their own settlement (a secretary who answers for several holds a post on each).
        groups = [[c] for c in residential] + ([rural] if rural else [])
        for number, group in enumerate(groups, start=1):
            kind_name = "党总支" if group is rural and len(rural) > 1 else "党支部"
            bodies.append({"kind": BodyKind.branch.value, "name": f"{name}第{number}网格{kind_name}",
                           "community_id": community_id, "community_path": path,
                           "compound_ids": [c.id for c in group], "created_at": now})
            workers = [(await conn.execute(
                sa.select(posts.c.id, posts.c.person_id).where(posts.c.node_id == c.id, posts.c.role == Role.compound.value,
                                                               current_post(posts)).order_by(posts.c.id).limit(1)
            )).first() for c in group]
            if not workers or workers[0] is None:
                continue
            head = workers[0]
            await conn.execute(sa.update(posts).where(posts.c.id == head.id).values(office=Office.branch_secretary.value))
            for worker in workers[1:]:
                if worker is not None:
                    await conn.execute(sa.update(posts).where(posts.c.id == worker.id).values(office=Office.branch_member.value))
    if bodies:
        await conn.execute(PartyBody.__table__.insert(), bodies)
    if stations:
        await conn.execute(ServiceStation.__table__.insert(), stations)
    await conn.execute(TrainingMaterial.__table__.insert(), [
        {"owner_path": "", "kind": kind, "title": title, "summary": summary, "body": body, "created_by": None,
         "created_at": now} for kind, title, summary, body in MATERIALS])
    return {"party_bodies": len(bodies), "stations": len(stations), "materials": len(MATERIALS)}
