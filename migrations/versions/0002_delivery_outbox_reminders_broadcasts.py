"""delivery outbox reminders broadcasts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 18:23:01.365149
"""
from alembic import op
import sqlalchemy as sa
import models.base
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('broadcasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('audience', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('strategy', sa.Enum('per_resident', 'mass_tag', name='strategy', native_enum=False, length=16), nullable=False),
    sa.Column('status', sa.Enum('scheduled', 'sending', 'done', 'cancelled', name='broadcaststatus', native_enum=False, length=16), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('send_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('mass_msg_id', sa.String(length=64), nullable=True),
    sa.Column('mass_result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('error', sa.String(length=255), nullable=True),
    sa.Column('started_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('finished_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcasts'))
    )
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcasts_send_at'), ['send_at'], unique=False)

    op.create_table('delivery_pauses',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('until', models.base.UTCDateTime(), nullable=False),
    sa.Column('reason', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_delivery_pauses'))
    )
    op.create_table('community_tags',
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.Column('synced_at', models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_tags_community_id_communities')),
    sa.PrimaryKeyConstraint('community_id', name=op.f('pk_community_tags'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('dedup_key', sa.String(length=160), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sending', 'sent', 'failed', 'undeliverable', 'cancelled', name='outboxstatus', native_enum=False, length=16), nullable=False),
    sa.Column('channel', sa.Enum('custom', 'template', 'mass', name='channel', native_enum=False, length=16), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('last_error_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=255), nullable=True),
    sa.Column('claimed_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('sent_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('broadcast_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], name=op.f('fk_outbox_broadcast_id_broadcasts')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_outbox_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_outbox_dedup_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_broadcast_status', ['broadcast_id', 'status'], unique=False)
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_resident_id'), ['resident_id'], unique=False)

    op.create_table('reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('due_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('dedup_key', sa.String(length=160), nullable=False),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_reminders_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_reminders_dedup_key'))
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index('ix_reminders_due', ['done', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminders_resident_id'), ['resident_id'], unique=False)

    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tagged_community_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_residents_tagged_community_id_communities'), 'communities', ['tagged_community_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_residents_tagged_community_id_communities'), type_='foreignkey')
        batch_op.drop_column('tagged_community_id')

    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminders_resident_id'))
        batch_op.drop_index('ix_reminders_due')

    op.drop_table('reminders')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_resident_id'))
        batch_op.drop_index('ix_outbox_due')
        batch_op.drop_index('ix_outbox_broadcast_status')

    op.drop_table('outbox')
    op.drop_table('community_tags')
    op.drop_table('delivery_pauses')
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcasts_send_at'))

    op.drop_table('broadcasts')
