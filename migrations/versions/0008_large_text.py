"""大字模式 (elder mode, issue 13): a person's choice of large text, and when it last changed.

Revision ID: 0008_large_text
Revises: 0007_reach
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0008_large_text'
down_revision: Union[str, None] = '0007_reach'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Plain ADD COLUMN, no batch copy of person (see downgrade).
    op.add_column('person', sa.Column('large_text', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('person', sa.Column('large_text_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35, PostgreSQL): batch mode would copy person into a new
    # table, which the rows pointing at it forbid (see 0006).
    for column in ("large_text_at", "large_text"):
        op.execute(f"ALTER TABLE person DROP COLUMN {column}")
