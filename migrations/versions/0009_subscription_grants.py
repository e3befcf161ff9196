"""subscription grants: residents' consent to subscription notifications (订阅通知)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:11:45.573127
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('subscription_grants',
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.String(length=64), nullable=False),
    sa.Column('long_term', sa.Boolean(), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_subscription_grants_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resident_id', 'template_id', name=op.f('pk_subscription_grants'))
    )


def downgrade() -> None:
    op.drop_table('subscription_grants')
