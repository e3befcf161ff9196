"""trust: names, consent, public report ids, session versions

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:42:04.219191
"""
import secrets

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_name', sa.String(length=64), nullable=True))

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_id', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('published', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_unique_constraint(batch_op.f('uq_reports_public_id'), ['public_id'])

    connection = op.get_bind()
    for (report_id,) in connection.execute(sa.text("SELECT id FROM reports")).all():
        connection.execute(sa.text("UPDATE reports SET public_id = :p WHERE id = :i"),
                           {"p": secrets.token_hex(8), "i": report_id})
    # One mobile, one resident per community: later duplicates lose the number.
    connection.execute(sa.text(
        "UPDATE residents SET mobile = NULL WHERE mobile IS NOT NULL AND id NOT IN ("
        "SELECT MIN(id) FROM residents WHERE mobile IS NOT NULL GROUP BY community_id, mobile)"))
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_version', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('consented_at', models.base.UTCDateTime(), nullable=True))
        batch_op.create_index('uq_residents_community_mobile', ['community_id', 'mobile'], unique=True, sqlite_where=sa.text('mobile IS NOT NULL'), postgresql_where=sa.text('mobile IS NOT NULL'))

    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default='0'))



def downgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('session_version')

    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_index('uq_residents_community_mobile', sqlite_where=sa.text('mobile IS NOT NULL'), postgresql_where=sa.text('mobile IS NOT NULL'))
        batch_op.drop_column('consented_at')
        batch_op.drop_column('consent_version')

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_reports_public_id'), type_='unique')
        batch_op.drop_column('published')
        batch_op.drop_column('public_id')

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('actor_name')

