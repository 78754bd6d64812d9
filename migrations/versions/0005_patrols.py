"""Schema for joint patrols (issue 6): checklist templates in versions, patrols, answers,
and the street-wide default checklist (version 1, 20 items, in Chinese: it is data).

Revision ID: 0005
Revises: 0004
"""
from datetime import datetime, timezone
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: Union[str, None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PathType = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")

# (key, section, title, what to look at, ledger category code): the article's property
# services, environment and public facilities, plus the building exterior.
DEFAULT_ITEMS = [
    ("cleaning", "物业服务", "保洁", "楼道、电梯轿厢、公共区域清扫及时，无积尘、无垃圾", "property"),
    ("greening", "物业服务", "绿化", "草坪、树木修剪养护到位，无枯死、无裸土", "property"),
    ("security", "物业服务", "安保", "门岗值守、巡逻记录完整，外来人员车辆登记", "property"),
    ("repairs", "物业服务", "维修响应", "报修事项按时响应、处理，有记录可查", "property"),
    ("notices", "物业服务", "物业公示", "收费标准、服务内容、报修电话公示齐全", "property"),
    ("waste_sorting", "环境卫生", "垃圾分类", "分类投放点标识清楚，桶站整洁，按时清运", "environment"),
    ("corridor_clutter", "环境卫生", "楼道堆物", "楼道、楼梯间、地下室无杂物堆放", "environment"),
    ("flyposting", "环境卫生", "乱张贴", "楼道、外墙、宣传栏无小广告", "environment"),
    ("pests", "环境卫生", "病媒防治", "无明显蚊蝇、鼠迹，消杀记录完整", "environment"),
    ("lighting", "公共设施", "照明", "楼道灯、路灯、地下车库照明完好", "facilities"),
    ("lifts", "公共设施", "电梯", "运行正常，年检合格证在有效期内并公示", "facilities"),
    ("fire_lanes", "公共设施", "消防通道", "畅通无占用，标识标线清晰", "safety"),
    ("fire_equipment", "公共设施", "消防设施", "灭火器、消火栓完好有效，在检验期内", "safety"),
    ("ebike_charging", "公共设施", "电动车充电", "集中充电设施完好，无飞线充电、无入户充电", "safety"),
    ("cctv_gates", "公共设施", "监控门禁", "监控、门禁、道闸运行正常", "facilities"),
    ("roads_covers", "公共设施", "道路井盖", "道路平整，井盖完好，无破损塌陷", "facilities"),
    ("balcony_planting", "房屋外观", "阳台种植", "阳台、窗台无易坠落的种植和摆放", "illegal_building"),
    ("illegal_building", "房屋外观", "违规搭建", "无私搭乱建、违规改建、占用公共部位", "illegal_building"),
    ("facades_roofs", "房屋外观", "外墙屋面", "外墙无脱落、空鼓，屋面无渗漏", "facilities"),
    ("window_fixtures", "房屋外观", "外挂设施", "防盗窗、空调外机支架牢固，无坠落隐患", "safety"),
]


def upgrade() -> None:
    template = op.create_table('patrol_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('owner_node_id', sa.Integer(), nullable=True),
    sa.Column('owner_path', PathType, nullable=False),
    sa.Column('current_version_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_node_id'], ['grid_node.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('owner_path')
    )
    version = op.create_table('patrol_template_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['template_id'], ['patrol_template.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('template_id', 'number', name='uq_patrol_template_version_number')
    )
    with op.batch_alter_table('patrol_template_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patrol_template_version_template_id'), ['template_id'], unique=False)

    item = op.create_table('patrol_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('section', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('hint', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('category_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['patrol_template_version.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('patrol_item', schema=None) as batch_op:
        batch_op.create_index('ix_patrol_item_version_order', ['version_id', 'sort_order'], unique=False)

    op.create_table('patrol',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=False),
    sa.Column('compound_path', PathType, nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=False),
    sa.Column('participants', sa.JSON(), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('patrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pass_count', sa.Integer(), nullable=False),
    sa.Column('fail_count', sa.Integer(), nullable=False),
    sa.Column('na_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['compound_id'], ['grid_node.id'], ),
    sa.ForeignKeyConstraint(['recorded_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['patrol_template_version.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('patrol', schema=None) as batch_op:
        batch_op.create_index('ix_patrol_compound_month', ['compound_path', 'month'], unique=False)
        batch_op.create_index('ix_patrol_month_compound', ['month', 'compound_path'], unique=False)

    op.create_table('patrol_answer',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('patrol_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('item_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('compound_path', PathType, nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('result', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('fixed_on_spot', sa.Boolean(), nullable=False),
    sa.Column('issue_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('photo_ids', sa.JSON(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['patrol_item.id'], ),
    sa.ForeignKeyConstraint(['patrol_id'], ['patrol.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('patrol_id', 'item_id', name='uq_patrol_answer_item')
    )
    with op.batch_alter_table('patrol_answer', schema=None) as batch_op:
        batch_op.create_index('ix_patrol_answer_issue', ['issue_id'], unique=False)
        batch_op.create_index('ix_patrol_answer_path_key', ['compound_path', 'item_key'], unique=False)

    # The street-wide default checklist, version 1. Explicit ids: a fresh database, and
    # the rows refer to each other.
    now = datetime.now(timezone.utc)
    op.bulk_insert(template, [{"id": 1, "name": "联动巡查清单", "owner_node_id": None, "owner_path": "",
                               "current_version_id": 1, "created_at": now}])
    op.bulk_insert(version, [{"id": 1, "template_id": 1, "number": 1, "note": "默认清单", "created_by": None,
                              "created_at": now}])
    op.bulk_insert(item, [
        {"id": i, "version_id": 1, "key": key, "section": section, "title": title, "hint": hint,
         "category_code": category, "sort_order": i}
        for i, (key, section, title, hint, category) in enumerate(DEFAULT_ITEMS, start=1)
    ])
    if op.get_bind().dialect.name == "postgresql":
        # Explicit ids above: move the sequences past them, or the next row collides.
        for table in ("patrol_template", "patrol_template_version", "patrol_item"):
            op.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")


def downgrade() -> None:
    with op.batch_alter_table('patrol_answer', schema=None) as batch_op:
        batch_op.drop_index('ix_patrol_answer_path_key')
        batch_op.drop_index('ix_patrol_answer_issue')

    op.drop_table('patrol_answer')
    with op.batch_alter_table('patrol', schema=None) as batch_op:
        batch_op.drop_index('ix_patrol_month_compound')
        batch_op.drop_index('ix_patrol_compound_month')

    op.drop_table('patrol')
    with op.batch_alter_table('patrol_item', schema=None) as batch_op:
        batch_op.drop_index('ix_patrol_item_version_order')

    op.drop_table('patrol_item')
    with op.batch_alter_table('patrol_template_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patrol_template_version_template_id'))

    op.drop_table('patrol_template_version')
    op.drop_table('patrol_template')
