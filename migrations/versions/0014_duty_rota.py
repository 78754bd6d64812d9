"""The station's duty rota (issue 14): a leader per day, swaps asked and approved, the duty log.

Revision ID: 0014_duty_rota
Revises: 0013_commendations
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

PathType = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")

revision: str = '0014_duty_rota'
down_revision: Union[str, None] = '0013_commendations'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('duty_slot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('community_path', PathType, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['station_id'], ['service_station.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('station_id', 'day', name='uq_duty_slot_station_day')
    )
    with op.batch_alter_table('duty_slot', schema=None) as batch_op:
        batch_op.create_index('ix_duty_slot_person_day', ['person_id', 'day'], unique=False)
    op.create_table('duty_swap',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('to_person_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['requested_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['slot_id'], ['duty_slot.id'], ),
    sa.ForeignKeyConstraint(['to_person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('duty_swap', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_swap_slot_id'), ['slot_id'], unique=False)
    op.create_table('duty_log_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('visitors', sa.Integer(), nullable=False),
    sa.Column('requests', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('done', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['slot_id'], ['duty_slot.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('duty_log_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_log_entry_slot_id'), ['slot_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('duty_log_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_log_entry_slot_id'))
    op.drop_table('duty_log_entry')
    with op.batch_alter_table('duty_swap', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_swap_slot_id'))
    op.drop_table('duty_swap')
    with op.batch_alter_table('duty_slot', schema=None) as batch_op:
        batch_op.drop_index('ix_duty_slot_person_day')
    op.drop_table('duty_slot')
