"""The service station and the Party organisation (issue 14): Party offices held through
posts, the community Party committees and grid Party branches, the leaders' service
stations, and the ledger's joint-analysis / joint-disposal applications.

Existing rows: the staff post titled 社区党委书记 becomes the committee's secretary;
problems keep their flags (an older flag or escalation stays where it was).

Revision ID: 0011_party_station
Revises: 0010_amendments
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

PathType = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")

revision: str = '0011_party_station'
down_revision: Union[str, None] = '0010_amendments'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('party_body',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('community_path', PathType, nullable=False),
    sa.Column('compound_ids', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['grid_node.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('party_body', schema=None) as batch_op:
        batch_op.create_index('ix_party_body_community', ['community_path', 'kind'], unique=False)

    op.create_table('service_station',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('community_path', PathType, nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['grid_node.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('community_id')
    )

    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.add_column(sa.Column('office', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False,
                                      server_default=''))
    op.execute("UPDATE post SET office = 'party_secretary' WHERE role = 'community' AND title = '社区党委书记'")

    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('analysis_status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('analysis_month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('disposal_status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (as 0006): batch mode would copy issue and post into
    # new tables and drop the old ones, which the rows pointing at them forbid.
    for table, columns in (("issue", ("disposal_status", "analysis_month", "analysis_status")), ("post", ("office",))):
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.drop_table('service_station')
    with op.batch_alter_table('party_body', schema=None) as batch_op:
        batch_op.drop_index('ix_party_body_community')
    op.drop_table('party_body')
