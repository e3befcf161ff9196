"""time bank and audit log

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 19:08:48.498849
"""
from alembic import op
import sqlalchemy as sa
import models.base
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=False),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_target', ['target', 'created_at'], unique=False)

    op.create_table('timebank_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('balance', sa.Integer(), nullable=False),
    sa.Column('earned_total', sa.Integer(), nullable=False),
    sa.Column('leaderboard_opt_out', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint('balance >= 0', name=op.f('ck_timebank_accounts_not_negative')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_timebank_accounts_community_id_communities')),
    sa.ForeignKeyConstraint(['owner_id'], ['residents.id'], name=op.f('fk_timebank_accounts_owner_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timebank_accounts')),
    sa.UniqueConstraint('owner_id', name=op.f('uq_timebank_accounts_owner_id'))
    )
    with op.batch_alter_table('timebank_accounts', schema=None) as batch_op:
        batch_op.create_index('uq_timebank_pool', ['community_id'], unique=True, sqlite_where=sa.text('owner_id IS NULL'), postgresql_where=sa.text('owner_id IS NULL'))

    op.create_table('timebank_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('service_type', sa.String(length=32), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=True),
    sa.Column('beneficiary_name', sa.String(length=32), nullable=True),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('photo_media_id', sa.String(length=128), nullable=True),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', name='recordstatus', native_enum=False, length=16), nullable=False),
    sa.Column('verifier', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('entered_by', sa.String(length=64), nullable=True),
    sa.Column('verified_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('reminded_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['residents.id'], name=op.f('fk_timebank_records_beneficiary_id_residents')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_timebank_records_community_id_communities')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['residents.id'], name=op.f('fk_timebank_records_volunteer_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timebank_records'))
    )
    with op.batch_alter_table('timebank_records', schema=None) as batch_op:
        batch_op.create_index('ix_records_status', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_records_volunteer_date', ['volunteer_id', 'service_date'], unique=False)

    op.create_table('volunteer_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('skills', sa.String(length=200), nullable=False),
    sa.Column('availability', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'declined', name='applicationstatus', native_enum=False, length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('decided_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_volunteer_applications_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_applications'))
    )
    with op.batch_alter_table('volunteer_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_applications_resident_id'), ['resident_id'], unique=False)

    op.create_table('timebank_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('earn', 'hold', 'release', 'redeem', 'transfer_out', 'transfer_in', 'donation', 'grant', 'overflow', 'adjust', 'expiry', name='entrykind', native_enum=False, length=16), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['timebank_accounts.id'], name=op.f('fk_timebank_ledger_account_id_timebank_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timebank_ledger'))
    )
    with op.batch_alter_table('timebank_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_account_id', ['account_id', 'id'], unique=False)

    op.create_table('timebank_redemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('service_code', sa.String(length=32), nullable=False),
    sa.Column('service_name', sa.String(length=32), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('held', 'fulfilled', 'cancelled', name='redemptionstatus', native_enum=False, length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['timebank_accounts.id'], name=op.f('fk_timebank_redemptions_account_id_timebank_accounts')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_timebank_redemptions_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timebank_redemptions'))
    )
    with op.batch_alter_table('timebank_redemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timebank_redemptions_account_id'), ['account_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('timebank_redemptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timebank_redemptions_account_id'))

    op.drop_table('timebank_redemptions')
    with op.batch_alter_table('timebank_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_account_id')

    op.drop_table('timebank_ledger')
    with op.batch_alter_table('volunteer_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_applications_resident_id'))

    op.drop_table('volunteer_applications')
    with op.batch_alter_table('timebank_records', schema=None) as batch_op:
        batch_op.drop_index('ix_records_volunteer_date')
        batch_op.drop_index('ix_records_status')

    op.drop_table('timebank_records')
    with op.batch_alter_table('timebank_accounts', schema=None) as batch_op:
        batch_op.drop_index('uq_timebank_pool', sqlite_where=sa.text('owner_id IS NULL'), postgresql_where=sa.text('owner_id IS NULL'))

    op.drop_table('timebank_accounts')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_target')

    op.drop_table('audit_log')
