"""meetings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 18:54:00.030431
"""
from alembic import op
import sqlalchemy as sa
import models.base
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.Enum('council', 'joint', 'hearing', 'volunteer', 'talk', 'other', name='meetingtype', native_enum=False, length=16), nullable=False),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('agenda', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('place', sa.String(length=128), nullable=False),
    sa.Column('online_url', sa.String(length=255), nullable=True),
    sa.Column('starts_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('ends_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('reserved_seats', sa.Integer(), nullable=False),
    sa.Column('confirmed_count', sa.Integer(), nullable=False),
    sa.Column('signup_deadline', models.base.UTCDateTime(), nullable=False),
    sa.Column('audience', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('terms', sa.Text(), nullable=True),
    sa.Column('allow_proxy', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'cancelled', 'closed', name='meetingstatus', native_enum=False, length=16), nullable=False),
    sa.Column('organiser_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('alerted_percent', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Text(), nullable=True),
    sa.Column('decisions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('attendee_count', sa.Integer(), nullable=True),
    sa.Column('published_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('closed_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint('capacity = 0 OR confirmed_count <= capacity', name=op.f('ck_meetings_within_capacity')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_meetings_ends_after_start')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_meetings_community_id_communities')),
    sa.ForeignKeyConstraint(['organiser_id'], ['residents.id'], name=op.f('fk_meetings_organiser_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetings'))
    )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.create_index('ix_meetings_community_starts', ['community_id', 'starts_at'], unique=False)

    op.create_table('signups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('proxy_name', sa.String(length=32), nullable=True),
    sa.Column('status', sa.Enum('confirmed', 'waitlisted', 'cancelled', name='signupstatus', native_enum=False, length=16), nullable=False),
    sa.Column('checkin_code', sa.String(length=8), nullable=False),
    sa.Column('checked_in_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('walk_in', sa.Boolean(), nullable=False),
    sa.Column('registered_by', sa.String(length=64), nullable=True),
    sa.Column('promoted_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('cancelled_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_signups_meeting_id_meetings')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_signups_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signups')),
    sa.UniqueConstraint('meeting_id', 'checkin_code', name=op.f('uq_signups_meeting_id'))
    )
    with op.batch_alter_table('signups', schema=None) as batch_op:
        batch_op.create_index('ix_signups_meeting_status', ['meeting_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_signups_resident', ['resident_id', 'status'], unique=False)
        batch_op.create_index('uq_signups_proxy', ['meeting_id', 'resident_id', 'proxy_name'], unique=True, sqlite_where=sa.text("status != 'cancelled' AND proxy_name IS NOT NULL"), postgresql_where=sa.text("status != 'cancelled' AND proxy_name IS NOT NULL"))
        batch_op.create_index('uq_signups_self', ['meeting_id', 'resident_id'], unique=True, sqlite_where=sa.text("status != 'cancelled' AND proxy_name IS NULL"), postgresql_where=sa.text("status != 'cancelled' AND proxy_name IS NULL"))



def downgrade() -> None:
    with op.batch_alter_table('signups', schema=None) as batch_op:
        batch_op.drop_index('uq_signups_self', sqlite_where=sa.text("status != 'cancelled' AND proxy_name IS NULL"), postgresql_where=sa.text("status != 'cancelled' AND proxy_name IS NULL"))
        batch_op.drop_index('uq_signups_proxy', sqlite_where=sa.text("status != 'cancelled' AND proxy_name IS NOT NULL"), postgresql_where=sa.text("status != 'cancelled' AND proxy_name IS NOT NULL"))
        batch_op.drop_index('ix_signups_resident')
        batch_op.drop_index('ix_signups_meeting_status')

    op.drop_table('signups')
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_index('ix_meetings_community_starts')

    op.drop_table('meetings')
