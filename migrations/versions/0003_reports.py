"""reports

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 18:41:21.448330
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=True),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('building_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('tier', sa.Enum('big', 'small', 'private', name='tier', native_enum=False, length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('address', sa.String(length=128), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lng', sa.Float(), nullable=True),
    sa.Column('status', sa.Enum('submitted', 'accepted', 'in_progress', 'resolved', 'closed', 'rejected', 'referred', 'duplicate', name='status', native_enum=False, length=16), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('assignee_title', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('accept_due_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('resolve_due_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('escalation', sa.Integer(), nullable=False),
    sa.Column('accepted_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('resolved_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('closed_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('rating_comment', sa.String(length=200), nullable=True),
    sa.Column('updated_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['residents.id'], name=op.f('fk_reports_assignee_id_residents')),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_reports_building_id_buildings')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_reports_community_id_communities')),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['reports.id'], name=op.f('fk_reports_duplicate_of_id_reports')),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_reports_grid_id_grids')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_reports_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('code', name=op.f('uq_reports_code'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_assignee_status', ['assignee_id', 'status'], unique=False)
        batch_op.create_index('ix_reports_category_created', ['category', 'created_at'], unique=False)
        batch_op.create_index('ix_reports_community_status', ['community_id', 'status'], unique=False)
        batch_op.create_index('ix_reports_resident_created', ['resident_id', 'created_at'], unique=False)

    op.create_table('report_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('from_status', sa.Enum('submitted', 'accepted', 'in_progress', 'resolved', 'closed', 'rejected', 'referred', 'duplicate', name='status', native_enum=False, length=16), nullable=True),
    sa.Column('to_status', sa.Enum('submitted', 'accepted', 'in_progress', 'resolved', 'closed', 'rejected', 'referred', 'duplicate', name='status', native_enum=False, length=16), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_events_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_events'))
    )
    with op.batch_alter_table('report_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_events_report_id'), ['report_id'], unique=False)

    op.create_table('report_followers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_followers_report_id_reports')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_report_followers_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_followers')),
    sa.UniqueConstraint('report_id', 'resident_id', name=op.f('uq_report_followers_report_id'))
    )
    with op.batch_alter_table('report_followers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_followers_report_id'), ['report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_followers_resident_id'), ['resident_id'], unique=False)

    op.create_table('report_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('media_id', sa.String(length=128), nullable=False),
    sa.Column('pic_url', sa.String(length=512), nullable=True),
    sa.Column('purpose', sa.String(length=8), nullable=False),
    sa.Column('stored_path', sa.String(length=255), nullable=True),
    sa.Column('content_type', sa.String(length=32), nullable=True),
    sa.Column('fetch_error', sa.String(length=128), nullable=True),
    sa.Column('fetched_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_photos_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_photos'))
    )
    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_photos_report_id'), ['report_id'], unique=False)

    with op.batch_alter_table('communities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('center_lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('center_lng', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('radius_m', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('communities', schema=None) as batch_op:
        batch_op.drop_column('radius_m')
        batch_op.drop_column('center_lng')
        batch_op.drop_column('center_lat')

    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_photos_report_id'))

    op.drop_table('report_photos')
    with op.batch_alter_table('report_followers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_followers_resident_id'))
        batch_op.drop_index(batch_op.f('ix_report_followers_report_id'))

    op.drop_table('report_followers')
    with op.batch_alter_table('report_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_events_report_id'))

    op.drop_table('report_events')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_resident_created')
        batch_op.drop_index('ix_reports_community_status')
        batch_op.drop_index('ix_reports_category_created')
        batch_op.drop_index('ix_reports_assignee_status')

    op.drop_table('reports')
