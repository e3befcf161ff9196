"""work order clock: places with outlines, the SLA check point, triage, 督办 and 回访

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:30:37.235466
"""
from alembic import op
import sqlalchemy as sa
import models.base
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('return_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('done_by', sa.String(length=64), nullable=True),
    sa.Column('done_at', models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_return_visits_community_id_communities')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_return_visits_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_visits'))
    )
    with op.batch_alter_table('return_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_visits_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_return_visits_report_id'), ['report_id'], unique=False)

    op.create_table('supervisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('raised_by', sa.String(length=64), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('raised_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('answer', sa.String(length=500), nullable=True),
    sa.Column('answered_by', sa.String(length=64), nullable=True),
    sa.Column('answered_at', models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_supervisions_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervisions'))
    )
    with op.batch_alter_table('supervisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervisions_report_id'), ['report_id'], unique=False)

    op.create_table('mediation_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_mediation_cases_community_id_communities')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_mediation_cases_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediation_cases')),
    sa.UniqueConstraint('report_id', name=op.f('uq_mediation_cases_report_id'))
    )
    with op.batch_alter_table('mediation_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mediation_cases_community_id'), ['community_id'], unique=False)

    with op.batch_alter_table('buildings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outline', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('lng', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('radius_m', sa.Integer(), nullable=True))

    with op.batch_alter_table('grids', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outline', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_check_at', models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('triaged_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('triage_reason', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_reports_open_clock', ['escalation', 'next_check_at'], unique=False)

    # Open reports not yet escalated are looked at again at their current deadline.
    op.execute("UPDATE reports SET next_check_at = CASE WHEN status = 'submitted' THEN accept_due_at "
               "ELSE resolve_due_at END WHERE escalation < 2 "
               "AND status IN ('submitted', 'accepted', 'in_progress')")


def downgrade() -> None:
    op.drop_table('mediation_cases')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_open_clock')
        batch_op.drop_column('triage_reason')
        batch_op.drop_column('triaged_by')
        batch_op.drop_column('next_check_at')

    with op.batch_alter_table('grids', schema=None) as batch_op:
        batch_op.drop_column('outline')

    with op.batch_alter_table('buildings', schema=None) as batch_op:
        batch_op.drop_column('radius_m')
        batch_op.drop_column('lng')
        batch_op.drop_column('lat')
        batch_op.drop_column('outline')

    with op.batch_alter_table('supervisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervisions_report_id'))

    op.drop_table('supervisions')
    with op.batch_alter_table('return_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_visits_report_id'))
        batch_op.drop_index(batch_op.f('ix_return_visits_community_id'))

    op.drop_table('return_visits')
