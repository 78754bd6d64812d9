"""Schema for the problem ledger (issue 5): problems, their event log, photos, meetings,
and the categories (seeded here, edited by the street administrator).

Revision ID: 0004
Revises: 0003
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: Union[str, None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CATEGORIES = [
    ("property", "物业服务", "Property services"),
    ("environment", "环境卫生", "Environment and sanitation"),
    ("facilities", "公共设施", "Public facilities"),
    ("safety", "安全隐患", "Safety hazards"),
    ("neighbours", "邻里纠纷", "Disputes between neighbours"),
    ("government", "政务服务", "Government services"),
    ("illegal_building", "违规种植/搭建", "Illegal planting or building"),
    ("other", "其他", "Other"),
]


def upgrade() -> None:
    category = op.create_table('issue_category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name_en', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    # The article's kinds of problem; the street administrator edits them as data.
    op.bulk_insert(category, [
        {"id": i, "code": code, "name": name, "name_en": name_en, "sort_order": i, "active": True}
        for i, (code, name, name_en) in enumerate(CATEGORIES, start=1)
    ])
    if op.get_bind().dialect.name == "postgresql":
        # Explicit ids above: move the sequence past them, or the first category added collides.
        op.execute("SELECT setval(pg_get_serial_sequence('issue_category', 'id'), (SELECT max(id) FROM issue_category))")
    op.create_table('issue_meeting',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('community_path', sa.String(length=64).with_variant(sa.String(length=64, collation='C'), 'postgresql'), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('attendees', sa.JSON(), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['grid_node.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('issue_meeting', schema=None) as batch_op:
        batch_op.create_index('ix_issue_meeting_community_month', ['community_path', 'month'], unique=False)

    op.create_table('issue',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('node_id', sa.Integer(), nullable=False),
    sa.Column('node_path', sa.String(length=64).with_variant(sa.String(length=64, collation='C'), 'postgresql'), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('urgency', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('tracking_code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('reported_by', sa.Integer(), nullable=True),
    sa.Column('reporter_name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('reporter_phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('reporter_ip_hash', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('assignee_company_id', sa.Integer(), nullable=True),
    sa.Column('assignee_department', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('escalated', sa.Boolean(), nullable=False),
    sa.Column('announced', sa.Boolean(), nullable=False),
    sa.Column('feedback_count', sa.Integer(), nullable=False),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('supervise_count', sa.Integer(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('note_count', sa.Integer(), nullable=False),
    sa.Column('last_event_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignee_company_id'], ['property_company.id'], ),
    sa.ForeignKeyConstraint(['category_id'], ['issue_category.id'], ),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], ),
    sa.ForeignKeyConstraint(['node_id'], ['grid_node.id'], ),
    sa.ForeignKeyConstraint(['reported_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tracking_code')
    )
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.create_index('ix_issue_company_status', ['assignee_company_id', 'status'], unique=False)
        batch_op.create_index('ix_issue_ip_received', ['reporter_ip_hash', 'received_at'], unique=False)
        batch_op.create_index('ix_issue_month_stats', ['month', 'node_path', 'status', 'on_time', 'deadline', 'category_id', 'source'], unique=False)
        batch_op.create_index('ix_issue_path_reported', ['node_path', 'reported_at'], unique=False)
        batch_op.create_index('ix_issue_reported', ['reported_at'], unique=False)
        batch_op.create_index('ix_issue_status_path', ['status', 'node_path', 'deadline', 'category_id', 'source'], unique=False)

    op.create_table('issue_event',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('issue_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('actor_name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('meeting_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('applied', sa.Boolean(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], ),
    sa.ForeignKeyConstraint(['meeting_id'], ['issue_meeting.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('issue_event', schema=None) as batch_op:
        batch_op.create_index('ix_issue_event_issue_at', ['issue_id', 'at'], unique=False)
        batch_op.create_index('ix_issue_event_meeting', ['meeting_id'], unique=False)
        batch_op.create_index('ix_issue_event_received', ['received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('issue_event', schema=None) as batch_op:
        batch_op.drop_index('ix_issue_event_received')
        batch_op.drop_index('ix_issue_event_meeting')
        batch_op.drop_index('ix_issue_event_issue_at')

    op.drop_table('issue_event')
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.drop_index('ix_issue_status_path')
        batch_op.drop_index('ix_issue_reported')
        batch_op.drop_index('ix_issue_path_reported')
        batch_op.drop_index('ix_issue_month_stats')
        batch_op.drop_index('ix_issue_ip_received')
        batch_op.drop_index('ix_issue_company_status')

    op.drop_table('issue')
    with op.batch_alter_table('issue_meeting', schema=None) as batch_op:
        batch_op.drop_index('ix_issue_meeting_community_month')

    op.drop_table('issue_meeting')
    op.drop_table('issue_category')
