"""The points balance kept on the account (issue 10's budgets: a street's scorecards summed
every leader's whole history, 72 ms of 290; a leader's page read their history twice), an
index for a person's month of points, and the household in the visits' person index (the
scorecards count the households each leader reached in a month from the index alone).

Revision ID: 0022_points_balance
Revises: 0021_material_pdf
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0022_points_balance'
down_revision: Union[str, None] = '0021_material_pdf'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The same statements as server/incentives/ledger.py rebuild_balances (a migration keeps its own copy).
MISSING_ACCOUNTS = """
INSERT INTO points_account (person_id, balance)
SELECT person_id, 0 FROM points_entry
WHERE person_id NOT IN (SELECT person_id FROM points_account)
GROUP BY person_id
"""
SET_BALANCES = """
UPDATE points_account SET balance = COALESCE(
    (SELECT SUM(points) FROM points_entry WHERE points_entry.person_id = points_account.person_id), 0)
"""


def upgrade() -> None:
    with op.batch_alter_table('points_account') as batch:
        batch.add_column(sa.Column('balance', sa.Integer(), nullable=False, server_default='0'))
    op.create_index('ix_points_entry_person_month', 'points_entry', ['person_id', 'month', 'kind', 'points'])
    op.drop_index('ix_visit_person_at', table_name='visit')
    op.create_index('ix_visit_person_at', 'visit', ['person_id', 'visited_at', 'household_id'])
    op.execute(MISSING_ACCOUNTS)
    op.execute(SET_BALANCES)


def downgrade() -> None:
    op.drop_index('ix_visit_person_at', table_name='visit')
    op.create_index('ix_visit_person_at', 'visit', ['person_id', 'visited_at'])
    op.drop_index('ix_points_entry_person_month', table_name='points_entry')
    with op.batch_alter_table('points_account') as batch:
        batch.drop_column('balance')
