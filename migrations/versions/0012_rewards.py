"""Rewards (issue 10): the street's catalogue, redemptions and their events; the points ledger's
indexes cover what balances and monthly sums read (kind and points in the index), so a street's
scorecard reads them without touching the table.

(0009_incentives had already landed when these came: a second migration, not an edit of it,
so a database at 0009 or later still gets them.)

Revision ID: 0012_rewards
Revises: 0011_party_station
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0012_rewards'
down_revision: Union[str, None] = '0011_party_station'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PATH = sa.String(length=64).with_variant(sa.String(length=64, collation='C'), 'postgresql')


def upgrade() -> None:
    op.create_table('reward_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('redemption',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('grid_path', PATH, nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['reward_item.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.create_index('ix_redemption_path_status', ['grid_path', 'status'], unique=False)
        batch_op.create_index('ix_redemption_person', ['person_id', 'requested_at'], unique=False)

    op.create_table('redemption_event',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('redemption_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemption.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('redemption_event', schema=None) as batch_op:
        batch_op.create_index('ix_redemption_event_redemption', ['redemption_id', 'at'], unique=False)

    with op.batch_alter_table('points_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_points_entry_month_path')
        batch_op.drop_index('ix_points_entry_person_key')
        batch_op.create_index('ix_points_entry_month_path', ['month', 'grid_path', 'person_id', 'kind', 'points'], unique=False)
        batch_op.create_index('ix_points_entry_person_key', ['person_id', 'key', 'points'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('points_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_points_entry_person_key')
        batch_op.drop_index('ix_points_entry_month_path')
        batch_op.create_index('ix_points_entry_month_path', ['month', 'grid_path', 'person_id', 'points'], unique=False)
        batch_op.create_index('ix_points_entry_person_key', ['person_id', 'key'], unique=False)

    with op.batch_alter_table('redemption_event', schema=None) as batch_op:
        batch_op.drop_index('ix_redemption_event_redemption')

    op.drop_table('redemption_event')
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.drop_index('ix_redemption_person')
        batch_op.drop_index('ix_redemption_path_status')

    op.drop_table('redemption')
    op.drop_table('reward_item')
