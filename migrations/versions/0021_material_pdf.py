"""Training materials as PDFs (issue 14: "HTML and PDF"): the original file of a material,
apart from the material row, and its size on the material.

Revision ID: 0021_material_pdf
Revises: 0020_matters
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0021_material_pdf'
down_revision: Union[str, None] = '0020_matters'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('training_material') as batch:
        batch.add_column(sa.Column('pdf_size', sa.Integer(), nullable=False, server_default='0'))
    op.create_table(
        'training_material_file',
        sa.Column('material_id', sa.Integer(), sa.ForeignKey('training_material.id'), primary_key=True),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('training_material_file')
    with op.batch_alter_table('training_material') as batch:
        batch.drop_column('pdf_size')
