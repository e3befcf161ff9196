"""handoff: human handoff (人工服务) chats, misunderstanding counter

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:08:38.414638
"""
import sqlalchemy as sa
from alembic import op

import models.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('open', 'closed', name='handoffstatus', native_enum=False, length=16), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('opened_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('last_message_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('closed_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_handoffs_community_id_communities')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_handoffs_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoffs'))
    )
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.create_index('ix_handoffs_community_status', ['community_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoffs_resident_id'), ['resident_id'], unique=False)

    op.create_table('handoff_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handoff_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('read_at', models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id'], name=op.f('fk_handoff_messages_handoff_id_handoffs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoff_messages'))
    )
    with op.batch_alter_table('handoff_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoff_messages_handoff_id'), ['handoff_id'], unique=False)

    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handoff_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('misunderstood', sa.Integer(), server_default='0', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_column('misunderstood')
        batch_op.drop_column('handoff_id')

    with op.batch_alter_table('handoff_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoff_messages_handoff_id'))

    op.drop_table('handoff_messages')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoffs_resident_id'))
        batch_op.drop_index('ix_handoffs_community_status')

    op.drop_table('handoffs')
