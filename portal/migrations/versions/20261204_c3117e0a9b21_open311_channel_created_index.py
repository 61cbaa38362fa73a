"""Open311: an index for GET requests (channel, created_at)

``GET /open311/v2/requests`` lists the Open311 channel's inquiries received in a
date window, newest first: one index range scan instead of walking every channel's
inquiries of the window.

Revision ID: c3117e0a9b21
Revises: ae12721471ef
Create Date: 2026-12-04 01:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3117e0a9b21'
down_revision = 'ae12721471ef'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.create_index('ix_inquiries_channel_created', ['channel', 'created_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.drop_index('ix_inquiries_channel_created')
