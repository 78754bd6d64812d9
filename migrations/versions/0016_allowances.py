"""Allowances (issue 10): yearly budgets per community, leaders' claims (synced from the phone),
street payout batches. Amounts in integer fen.

Revision ID: 0016_allowances
Revises: 0015_training
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0016_allowances'
down_revision: Union[str, None] = '0015_training'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PATH = sa.String(length=64).with_variant(sa.String(length=64, collation='C'), 'postgresql')


def upgrade() -> None:
    op.create_table('allowance_budget',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('node_path', PATH, nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('set_by', sa.Integer(), nullable=True),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['set_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('year', 'node_path', name='uq_allowance_budget_year_node')
    )
    op.create_table('payout_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('node_path', PATH, nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('claims', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('allowance_claim',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('grid_path', PATH, nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('claimed_on', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['payout_batch.id'], ),
    sa.ForeignKeyConstraint(['decided_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('allowance_claim', schema=None) as batch_op:
        batch_op.create_index('ix_allowance_claim_path_status', ['grid_path', 'status'], unique=False)
        batch_op.create_index('ix_allowance_claim_person', ['person_id', 'claimed_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('allowance_claim', schema=None) as batch_op:
        batch_op.drop_index('ix_allowance_claim_person')
        batch_op.drop_index('ix_allowance_claim_path_status')

    op.drop_table('allowance_claim')
    op.drop_table('payout_batch')
    op.drop_table('allowance_budget')
