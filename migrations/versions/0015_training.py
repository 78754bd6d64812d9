"""Training materials (issue 14): policies and how-to guides, kept on the phone.

Revision ID: 0015_training
Revises: 0014_duty_rota
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

PathType = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")

revision: str = '0015_training'
down_revision: Union[str, None] = '0014_duty_rota'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('training_material',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_path', PathType, nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('training_material', schema=None) as batch_op:
        batch_op.create_index('ix_training_material_owner', ['owner_path'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('training_material', schema=None) as batch_op:
        batch_op.drop_index('ix_training_material_owner')
    op.drop_table('training_material')
