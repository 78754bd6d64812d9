"""Holiday visits (节日走访慰问, issue 10): campaigns, their target lists with who visits whom,
and the visits marked from the phones (sync type holiday_visit, one per target).

Revision ID: 0019_holiday_visits
Revises: 0018_broadcast_index
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0019_holiday_visits'
down_revision: Union[str, None] = '0018_broadcast_index'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('holiday_campaign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('node_path', sa.String(length=64).with_variant(sa.String(length=64, collation='C'), 'postgresql'), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('care_tags', sa.JSON(), nullable=False),
    sa.Column('include_leaders', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('holiday_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('grid_path', sa.String(length=64).with_variant(sa.String(length=64, collation='C'), 'postgresql'), nullable=False),
    sa.Column('visitor_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['holiday_campaign.id'], ),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['visitor_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('campaign_id', 'household_id', name='uq_holiday_target_household'),
    sa.UniqueConstraint('campaign_id', 'person_id', name='uq_holiday_target_person')
    )
    with op.batch_alter_table('holiday_target', schema=None) as batch_op:
        batch_op.create_index('ix_holiday_target_campaign_path', ['campaign_id', 'grid_path'], unique=False)
        batch_op.create_index('ix_holiday_target_visitor', ['visitor_id', 'campaign_id'], unique=False)

    op.create_table('holiday_visit',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('grid_path', sa.String(length=64).with_variant(sa.String(length=64, collation='C'), 'postgresql'), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('visited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['holiday_campaign.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['target_id'], ['holiday_target.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('target_id')
    )
    with op.batch_alter_table('holiday_visit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holiday_visit_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index('ix_holiday_visit_person', ['person_id', 'visited_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('holiday_visit', schema=None) as batch_op:
        batch_op.drop_index('ix_holiday_visit_person')
        batch_op.drop_index(batch_op.f('ix_holiday_visit_campaign_id'))

    op.drop_table('holiday_visit')
    with op.batch_alter_table('holiday_target', schema=None) as batch_op:
        batch_op.drop_index('ix_holiday_target_visitor')
        batch_op.drop_index('ix_holiday_target_campaign_path')

    op.drop_table('holiday_target')
    op.drop_table('holiday_campaign')
