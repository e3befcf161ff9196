"""residents.message_seq: bumped by every message handled for the person

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 14:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_seq', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_column('message_seq')
