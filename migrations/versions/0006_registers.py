"""The street's own registers (issue 9): post history (start/end dates), retired grid
nodes, households that moved out or died, the staff basic-information fields, invites
that name one post, import jobs, and household changes proposed from the field.

Existing rows stay as they were: every post current, every node and household active.

Revision ID: 0006_registers
Revises: 0005
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0006_registers'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('import_job',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('problem_count', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.create_index('ix_import_job_person_created', ['person_id', 'created_at'], unique=False)

    op.create_table('household_change',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('microgrid_id', sa.Integer(), nullable=False),
    sa.Column('grid_path', sa.String(length=64).with_variant(sa.String(length=64, collation='C'), 'postgresql'), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], ),
    sa.ForeignKeyConstraint(['microgrid_id'], ['grid_node.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('household_change', schema=None) as batch_op:
        batch_op.create_index('ix_household_change_household', ['household_id'], unique=False)
        batch_op.create_index('ix_household_change_status_path', ['status', 'grid_path'], unique=False)

    with op.batch_alter_table('grid_node', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='active'))
        batch_op.add_column(sa.Column('left_on', sa.Date(), nullable=True))

    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.add_column(sa.Column('post_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_invite_post_id', 'post', ['post_id'], ['id'])

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gender', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('birth_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('political_status', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False,
                                      server_default=''))

    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.add_column(sa.Column('started_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('ended_on', sa.Date(), nullable=True))



def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35, PostgreSQL): batch mode would copy
    # person, post, household and grid_node into new tables and drop the old ones, which the
    # rows pointing at them forbid. None of these columns is in a key or an index.
    for table, columns in (("post", ("ended_on", "started_on")),
                           ("person", ("political_status", "birth_year", "gender")),
                           ("household", ("left_on", "status")),
                           ("grid_node", ("retired_at",))):
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")

    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.drop_constraint('fk_invite_post_id', type_='foreignkey')
        batch_op.drop_column('post_id')

    with op.batch_alter_table('household_change', schema=None) as batch_op:
        batch_op.drop_index('ix_household_change_status_path')
        batch_op.drop_index('ix_household_change_household')

    op.drop_table('household_change')
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_index('ix_import_job_person_created')

    op.drop_table('import_job')
