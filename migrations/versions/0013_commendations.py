"""Commendations (评先评优, issue 10): leaders proposed per quarter or year, approved by the street,
shown on the public honour page.

Revision ID: 0013_commendations
Revises: 0012_rewards
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0013_commendations'
down_revision: Union[str, None] = '0012_rewards'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('commendation',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('grid_path', sa.String(length=64).with_variant(sa.String(length=64, collation='C'), 'postgresql'), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('citation', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('proposed_by', sa.Integer(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['proposed_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period', 'person_id', name='uq_commendation_period_person')
    )
    with op.batch_alter_table('commendation', schema=None) as batch_op:
        batch_op.create_index('ix_commendation_status_period', ['status', 'period'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('commendation', schema=None) as batch_op:
        batch_op.drop_index('ix_commendation_status_period')

    op.drop_table('commendation')
