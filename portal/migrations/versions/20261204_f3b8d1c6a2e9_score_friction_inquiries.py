"""engagement scores: the inquiries behind the friction measure

The recompute now fills the friction measure from the resident's pending and
overdue inquiries about the service (``portal.inquiries.friction``); each score
keeps how many inquiries were pending in the window and how many of them were
overdue, for the explanation ("2 open inquiries, 1 of them overdue: −75").
Existing rows get 0 and 0 (friction 100, as they were scored); the next
recompute fills them in. An ADD COLUMN on SQLite too: no rebuild of the
WITHOUT ROWID table.

Revision ID: f3b8d1c6a2e9
Revises: 5dac09111970
Create Date: 2026-12-04 01:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3b8d1c6a2e9'
down_revision = '5dac09111970'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('engagement_scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inquiries_pending', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('inquiries_overdue', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade():
    # a plain DROP COLUMN (SQLite ≥ 3.35): a batch rebuild would lose WITHOUT ROWID
    op.execute('ALTER TABLE engagement_scores DROP COLUMN inquiries_overdue')
    op.execute('ALTER TABLE engagement_scores DROP COLUMN inquiries_pending')
