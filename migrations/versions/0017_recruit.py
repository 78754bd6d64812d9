"""Recruitment (nominations), the helpers register, training sessions with check-in and quiz (issue 14).

Revision ID: 0017_recruit
Revises: 0016_allowances
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

PathType = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")

revision: str = '0017_recruit'
down_revision: Union[str, None] = '0016_allowances'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('training_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_path', PathType, nullable=False),
    sa.Column('audience_path', PathType, nullable=False),
    sa.Column('audience_role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('trainer', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('checkin_code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('checkin_code')
    )
    with op.batch_alter_table('training_session', schema=None) as batch_op:
        batch_op.create_index('ix_training_session_audience', ['audience_path', 'starts_at'], unique=False)
        batch_op.create_index('ix_training_session_owner', ['owner_path'], unique=False)

    op.create_table('helper',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('grid_path', PathType, nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['grid_id'], ['grid_node.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('helper', schema=None) as batch_op:
        batch_op.create_index('ix_helper_grid_path', ['grid_path'], unique=False)

    op.create_table('training_attendance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('signed_up_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('quiz_score', sa.Integer(), nullable=True),
    sa.Column('quiz_total', sa.Integer(), nullable=True),
    sa.Column('quiz_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['training_session.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'person_id', name='uq_training_attendance')
    )
    with op.batch_alter_table('training_attendance', schema=None) as batch_op:
        batch_op.create_index('ix_training_attendance_person', ['person_id', 'checked_in_at'], unique=False)

    op.create_table('training_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('answer', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['training_session.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('training_question', schema=None) as batch_op:
        batch_op.create_index('ix_training_question_session', ['session_id', 'sort_order'], unique=False)

    op.create_table('nomination',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('community_path', PathType, nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('way', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('position', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('helper_kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('nominator_name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('nominator_phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('ip_hash', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('interview_notes', sa.Text(), nullable=False),
    sa.Column('decision_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('invite_id', sa.Integer(), nullable=True),
    sa.Column('helper_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['grid_node.id'], ),
    sa.ForeignKeyConstraint(['decided_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['grid_id'], ['grid_node.id'], ),
    sa.ForeignKeyConstraint(['helper_id'], ['helper.id'], ),
    sa.ForeignKeyConstraint(['invite_id'], ['invite.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['post_id'], ['post.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('nomination', schema=None) as batch_op:
        batch_op.create_index('ix_nomination_community', ['community_path', 'status'], unique=False)
        batch_op.create_index('ix_nomination_ip', ['ip_hash', 'submitted_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('nomination', schema=None) as batch_op:
        batch_op.drop_index('ix_nomination_ip')
        batch_op.drop_index('ix_nomination_community')

    op.drop_table('nomination')
    with op.batch_alter_table('training_question', schema=None) as batch_op:
        batch_op.drop_index('ix_training_question_session')

    op.drop_table('training_question')
    with op.batch_alter_table('training_attendance', schema=None) as batch_op:
        batch_op.drop_index('ix_training_attendance_person')

    op.drop_table('training_attendance')
    with op.batch_alter_table('helper', schema=None) as batch_op:
        batch_op.drop_index('ix_helper_grid_path')

    op.drop_table('helper')
    with op.batch_alter_table('training_session', schema=None) as batch_op:
        batch_op.drop_index('ix_training_session_owner')
        batch_op.drop_index('ix_training_session_audience')

    op.drop_table('training_session')
