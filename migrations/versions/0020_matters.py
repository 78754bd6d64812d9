"""Every matter settled, task lists, the settlements' checklist (issue 14):
a work-log entry's ledger problem and an errand's life (errand_step, folded into
errand_status); tasks issued to micro-grids with an owner each and completion reports;
the rural settlements' own patrol checklist (a version of the template kept apart) and the
maintenance records section (查看维护保养记录) in a new version of the estate checklist.

Revision ID: 0020_matters
Revises: 0019_holiday_visits
"""
import uuid
from datetime import datetime, timezone
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0020_matters'
down_revision: Union[str, None] = '0019_holiday_visits'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PATH = sa.String(length=64).with_variant(sa.String(length=64, collation='C'), 'postgresql')
TEXT = sqlmodel.sql.sqltypes.AutoString

# (key, section, title, what to look at, ledger category code): the seed's list for the
# scattered settlements (人居环境, 道路, 沟渠河道, 消防, 自建房安全, 垃圾收运).
RURAL_ITEMS = [
    ("rural_yards", "人居环境", "院落整洁", "房前屋后无乱堆乱放，柴草、农具堆放整齐", "environment"),
    ("rural_toilets", "人居环境", "厕所粪污", "户厕、公厕干净，粪污不外溢", "environment"),
    ("rural_livestock", "人居环境", "畜禽圈养", "畜禽圈养，无散养污染道路、院坝", "environment"),
    ("rural_roads", "道路", "村组道路", "路面平整无坑洼，无占道晾晒、堆放", "facilities"),
    ("rural_bridges", "道路", "桥涵安全", "桥梁、涵洞完好，护栏、警示标志齐全", "safety"),
    ("rural_lights", "道路", "路灯", "路灯完好，夜间照明正常", "facilities"),
    ("rural_ditches", "沟渠河道", "沟渠畅通", "灌排沟渠无堵塞、无垃圾", "environment"),
    ("rural_river", "沟渠河道", "河道岸线", "河道无漂浮物，岸线无乱倒乱建", "environment"),
    ("rural_flood", "沟渠河道", "防汛隐患", "堤岸、塘堰无垮塌渗漏，汛期警示到位", "safety"),
    ("rural_straw", "消防", "柴草堆放", "柴草远离房屋和灶台，不占消防通道", "safety"),
    ("rural_fire_water", "消防", "消防水源", "消防水池、取水点可用，灭火器在检验期内", "safety"),
    ("rural_burning", "消防", "野外用火", "无焚烧秸秆、垃圾，无违规用火", "safety"),
    ("rural_house_structure", "自建房安全", "房屋结构", "墙体无明显裂缝、倾斜，屋面无塌陷", "safety"),
    ("rural_house_business", "自建房安全", "经营用房", "用作民宿、农家乐的自建房消防和结构安全达标", "safety"),
    ("rural_house_building", "自建房安全", "新建改建", "新建、改建、扩建有审批，无违规加层", "illegal_building"),
    ("rural_bins", "垃圾收运", "垃圾桶站", "桶站完好，分类标识清楚，周边整洁", "environment"),
    ("rural_collection", "垃圾收运", "清运及时", "按时清运，无满溢、无积存", "environment"),
    ("rural_dumping", "垃圾收运", "乱倒乱扔", "田边、路边、沟边无乱倒建筑和生活垃圾", "environment"),
]
# 查看维护保养记录: the records the property company must show on the patrol.
MAINTENANCE_ITEMS = [
    ("maint_lifts", "查看维护保养记录", "电梯维保记录", "每半月一次维保，记录签字齐全，与年检一致", "facilities"),
    ("maint_fire", "查看维护保养记录", "消防设施维保记录", "消防设施月度检查、年度检测记录齐全", "safety"),
    ("maint_water", "查看维护保养记录", "二次供水清洗记录", "水箱每半年清洗消毒，水质检测报告在有效期内", "facilities"),
    ("maint_equipment", "查看维护保养记录", "设施设备台账", "监控、门禁、水泵、配电等维护保养记录可查", "property"),
]

template_t = sa.table('patrol_template', sa.column('id', sa.Integer), sa.column('name', sa.String),
                      sa.column('owner_node_id', sa.Integer), sa.column('owner_path', sa.String),
                      sa.column('rural_version_id', sa.Integer), sa.column('current_version_id', sa.Integer),
                      sa.column('created_at', sa.DateTime(timezone=True)))
version_t = sa.table('patrol_template_version', sa.column('id', sa.Integer), sa.column('template_id', sa.Integer),
                     sa.column('number', sa.Integer), sa.column('note', sa.String), sa.column('created_by', sa.Integer),
                     sa.column('compound_kind', sa.String),
                     sa.column('created_at', sa.DateTime(timezone=True)))
item_t = sa.table('patrol_item', sa.column('id', sa.Integer), sa.column('version_id', sa.Integer),
                  sa.column('key', sa.String), sa.column('section', sa.String), sa.column('title', sa.String),
                  sa.column('hint', sa.String), sa.column('category_code', sa.String), sa.column('sort_order', sa.Integer))


def _publish(conn, template_id: int, number: int, note: str, items: list[dict], now, rural: bool = False) -> int:
    version_id = conn.execute(version_t.insert().values(
        template_id=template_id, number=number, note=note, created_by=None, created_at=now,
        compound_kind='rural' if rural else '').returning(version_t.c.id)).scalar_one()
    if items:
        conn.execute(item_t.insert(), [{**i, "version_id": version_id} for i in items])
    column = 'rural_version_id' if rural else 'current_version_id'
    conn.execute(template_t.update().where(template_t.c.id == template_id).values({column: version_id}))
    return version_id


def _checklists() -> None:
    conn = op.get_bind()
    now = datetime.now(timezone.utc)
    # The estate checklist (the street-wide default) gains the maintenance records section:
    # a new version, so patrols already made keep the checklist they were filled with.
    default = conn.execute(sa.select(template_t.c.id, template_t.c.current_version_id)
                           .where(template_t.c.owner_path == '')).first()
    if default is not None and default.current_version_id is not None:
        items = [dict(r._mapping) for r in conn.execute(
            sa.select(item_t.c.key, item_t.c.section, item_t.c.title, item_t.c.hint, item_t.c.category_code,
                      item_t.c.sort_order).where(item_t.c.version_id == default.current_version_id)
            .order_by(item_t.c.sort_order, item_t.c.id))]
        keys = {i["key"] for i in items}
        order = max((i["sort_order"] for i in items), default=0)
        for key, section, title, hint, category in MAINTENANCE_ITEMS:
            if key not in keys:
                order += 1
                items.append({"key": key, "section": section, "title": title, "hint": hint,
                              "category_code": category, "sort_order": order})
        number = conn.execute(sa.select(sa.func.max(version_t.c.number))
                              .where(version_t.c.template_id == default.id)).scalar() or 0
        _publish(conn, default.id, number + 1, "增加：查看维护保养记录", items, now)
        # The settlements' own checklist, in the same (street-wide) template.
        _publish(conn, default.id, number + 2, "默认清单（散居林盘）", [
            {"key": key, "section": section, "title": title, "hint": hint, "category_code": category, "sort_order": n}
            for n, (key, section, title, hint, category) in enumerate(RURAL_ITEMS, start=1)], now, rural=True)


def _legacy_errands() -> None:
    """Errands recorded before they had a life were recorded done: one 办结 step each."""
    conn = op.get_bind()
    entry = sa.table('work_log_entry', sa.column('id', sa.Uuid), sa.column('kind', sa.String),
                     sa.column('person_id', sa.Integer), sa.column('done_at', sa.DateTime(timezone=True)),
                     sa.column('errand_status', sa.String))
    step = sa.table('errand_step', sa.column('id', sa.String), sa.column('entry_id', sa.Uuid),
                    sa.column('kind', sa.String), sa.column('department', sa.String), sa.column('note', sa.String),
                    sa.column('told', sa.String), sa.column('actor_id', sa.Integer), sa.column('actor_name', sa.String),
                    sa.column('at', sa.DateTime(timezone=True)), sa.column('received_at', sa.DateTime(timezone=True)),
                    sa.column('applied', sa.Boolean), sa.column('why', sa.String))
    now = datetime.now(timezone.utc)
    rows = conn.execute(sa.select(entry.c.id, entry.c.person_id, entry.c.done_at).where(entry.c.kind == 'errand')).all()
    for start in range(0, len(rows), 1000):
        conn.execute(step.insert(), [
            {"id": str(uuid.uuid5(r.id, "legacy-done")), "entry_id": r.id, "kind": "done", "department": "", "note": "",
             "told": "", "actor_id": r.person_id, "actor_name": "", "at": r.done_at, "received_at": now,
             "applied": True, "why": ""} for r in rows[start:start + 1000]])
    conn.execute(entry.update().where(entry.c.kind == 'errand').values(errand_status='done'))


def upgrade() -> None:
    with op.batch_alter_table('work_log_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issue_id', TEXT(length=36), nullable=True))
        batch_op.add_column(sa.Column('errand_status', TEXT(length=12), server_default='', nullable=False))
        batch_op.add_column(sa.Column('errand_department', TEXT(length=60), server_default='', nullable=False))
        batch_op.create_foreign_key('fk_work_log_entry_issue_id', 'issue', ['issue_id'], ['id'])
        batch_op.create_index('ix_work_log_entry_issue', ['issue_id'], unique=False)

    op.create_table('errand_step',
    sa.Column('id', TEXT(length=36), nullable=False),
    sa.Column('entry_id', sa.Uuid(), nullable=False),
    sa.Column('kind', TEXT(length=12), nullable=False),
    sa.Column('department', TEXT(length=60), nullable=False),
    sa.Column('note', TEXT(length=500), nullable=False),
    sa.Column('told', TEXT(length=10), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', TEXT(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied', sa.Boolean(), nullable=False),
    sa.Column('why', TEXT(length=200), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['entry_id'], ['work_log_entry.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('errand_step', schema=None) as batch_op:
        batch_op.create_index('ix_errand_step_entry_at', ['entry_id', 'at'], unique=False)

    op.create_table('task',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('issuer_node_id', sa.Integer(), nullable=False),
    sa.Column('issuer_path', PATH, nullable=False),
    sa.Column('title', TEXT(length=60), nullable=False),
    sa.Column('description', TEXT(length=1000), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assignment_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['issuer_node_id'], ['grid_node.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index('ix_task_issuer_path', ['issuer_path', 'created_at'], unique=False)
    op.create_table('task_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Uuid(), nullable=False),
    sa.Column('microgrid_id', sa.Integer(), nullable=False),
    sa.Column('grid_path', PATH, nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('report_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['microgrid_id'], ['grid_node.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('task_id', 'microgrid_id', name='uq_task_assignment_grid')
    )
    with op.batch_alter_table('task_assignment', schema=None) as batch_op:
        batch_op.create_index('ix_task_assignment_owner', ['owner_id', 'done_at'], unique=False)
        batch_op.create_index('ix_task_assignment_path', ['grid_path'], unique=False)
        batch_op.create_index('ix_task_assignment_task_path', ['task_id', 'grid_path'], unique=False)
    op.create_table('task_report',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('grid_path', PATH, nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('note', TEXT(length=500), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['task_assignment.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('task_report', schema=None) as batch_op:
        batch_op.create_index('ix_task_report_assignment', ['assignment_id', 'reported_at'], unique=False)

    with op.batch_alter_table('patrol_template', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rural_version_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('patrol_template_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('compound_kind', TEXT(length=16), server_default='', nullable=False))

    _checklists()
    _legacy_errands()


def downgrade() -> None:
    conn = op.get_bind()
    # The settlements' checklists go (patrols made with them too); the estate checklist keeps its versions.
    versions = [r.id for r in conn.execute(sa.select(version_t.c.id).where(version_t.c.compound_kind != ''))]
    if versions:
        patrols = sa.table('patrol', sa.column('id', sa.String), sa.column('version_id', sa.Integer))
        answers = sa.table('patrol_answer', sa.column('patrol_id', sa.String))
        patrol_ids = [r.id for r in conn.execute(sa.select(patrols.c.id).where(patrols.c.version_id.in_(versions)))]
        if patrol_ids:
            conn.execute(answers.delete().where(answers.c.patrol_id.in_(patrol_ids)))
            conn.execute(patrols.delete().where(patrols.c.id.in_(patrol_ids)))
        conn.execute(item_t.delete().where(item_t.c.version_id.in_(versions)))
        conn.execute(version_t.delete().where(version_t.c.id.in_(versions)))
    # Plain DROP COLUMN (SQLite 3.35+): a batch would recreate these tables, which other tables reference.
    op.execute("ALTER TABLE patrol_template_version DROP COLUMN compound_kind")
    op.execute("ALTER TABLE patrol_template DROP COLUMN rural_version_id")

    with op.batch_alter_table('task_report', schema=None) as batch_op:
        batch_op.drop_index('ix_task_report_assignment')
    op.drop_table('task_report')
    with op.batch_alter_table('task_assignment', schema=None) as batch_op:
        batch_op.drop_index('ix_task_assignment_task_path')
        batch_op.drop_index('ix_task_assignment_path')
        batch_op.drop_index('ix_task_assignment_owner')
    op.drop_table('task_assignment')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_issuer_path')
    op.drop_table('task')
    with op.batch_alter_table('errand_step', schema=None) as batch_op:
        batch_op.drop_index('ix_errand_step_entry_at')
    op.drop_table('errand_step')
    with op.batch_alter_table('work_log_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_work_log_entry_issue')
        batch_op.drop_constraint('fk_work_log_entry_issue_id', type_='foreignkey')
        batch_op.drop_column('errand_department')
        batch_op.drop_column('errand_status')
        batch_op.drop_column('issue_id')
