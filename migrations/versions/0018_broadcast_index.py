"""A publicity broadcast's messages are counted by broadcast (its page shows sent/skipped/failed):
an index on notification.broadcast_id, so that count does not scan the whole outbox.

Revision ID: 0018_broadcast_index
Revises: 0017_recruit
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0018_broadcast_index'
down_revision: Union[str, None] = '0017_recruit'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_broadcast', ['broadcast_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_broadcast')
