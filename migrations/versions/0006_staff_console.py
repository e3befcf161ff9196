"""staff console: grid scope and login lock-out

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 20:27:24.411474
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grid_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_until', models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_login_at', models.base.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_staff_users_grid_id_grids'), 'grids', ['grid_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_staff_users_grid_id_grids'), type_='foreignkey')
        batch_op.drop_column('last_login_at')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('grid_id')

