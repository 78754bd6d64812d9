"""Amendments (issue 12): an edit of a record the server already holds is applied or kept as a
new version with history, never a dead-end conflict. The receipt remembers the phone's version;
sync_amendment keeps every later version.

Revision ID: 0010_amendments
Revises: 0009_incentives
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0010_amendments'
down_revision: Union[str, None] = '0009_incentives'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy: photos point at sync_receipt, see 0006).
    op.add_column('sync_receipt', sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    op.create_table(
        'sync_amendment',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('record_id', sa.Uuid(), sa.ForeignKey('sync_receipt.id'), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('type', sa.String(length=32), nullable=False),
        sa.Column('person_id', sa.Integer(), sa.ForeignKey('person.id'), nullable=False),
        sa.Column('previous_hash', sa.String(length=64), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_sync_amendment_record_id', 'sync_amendment', ['record_id'])


def downgrade() -> None:
    op.drop_index('ix_sync_amendment_record_id', table_name='sync_amendment')
    op.drop_table('sync_amendment')
    op.execute("ALTER TABLE sync_receipt DROP COLUMN version")
