"""Glimmer points (issue 10): the street's versioned rule table, the append-only points ledger,
and one account row per person (the lock spending takes, and how far their records are folded).

Revision ID: 0009_incentives
Revises: 0008_large_text
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0009_incentives'
down_revision: Union[str, None] = '0008_large_text'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('incentive_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('points', sa.JSON(), nullable=False),
    sa.Column('caps', sa.JSON(), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version')
    )
    op.create_table('points_account',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('folded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('folded_version', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('person_id')
    )
    op.create_table('points_entry',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=True),
    sa.Column('source_type', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('source_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('grid_path', sa.String(length=64).with_variant(sa.String(length=64, collation='C'), 'postgresql'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('reverses_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('points_entry', schema=None) as batch_op:
        batch_op.create_index('ix_points_entry_month_path', ['month', 'grid_path', 'person_id', 'points'], unique=False)
        batch_op.create_index('ix_points_entry_person_at', ['person_id', 'at'], unique=False)
        batch_op.create_index('ix_points_entry_person_key', ['person_id', 'key'], unique=False)

    op.create_table('issue_rating',
    sa.Column('issue_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('rating', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('node_path', sa.String(length=64).with_variant(sa.String(length=64, collation='C'), 'postgresql'), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], ),
    sa.PrimaryKeyConstraint('issue_id')
    )
    with op.batch_alter_table('issue_rating', schema=None) as batch_op:
        batch_op.create_index('ix_issue_rating_month_path', ['month', 'node_path'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('issue_rating', schema=None) as batch_op:
        batch_op.drop_index('ix_issue_rating_month_path')

    op.drop_table('issue_rating')
    with op.batch_alter_table('points_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_points_entry_person_key')
        batch_op.drop_index('ix_points_entry_person_at')
        batch_op.drop_index('ix_points_entry_month_path')

    op.drop_table('points_entry')
    op.drop_table('points_account')
    op.drop_table('incentive_rules')
