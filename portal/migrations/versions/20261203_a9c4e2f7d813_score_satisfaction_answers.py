"""engagement scores: the number of survey answers behind the satisfaction measure

The recompute now fills the satisfaction measure from identified survey answers
(``portal.surveys.signals.satisfaction_answers``); each score keeps how many
answers its satisfaction is the mean of, for the explanation. Existing rows get
0 (their satisfaction is missing); the next recompute fills it in. An ADD COLUMN
on SQLite too: no rebuild of the WITHOUT ROWID table. Each day's aggregates keep
how many scores have a satisfaction measure (the n of its mean).

Revision ID: a9c4e2f7d813
Revises: 5a1c0e7b9d42
Create Date: 2026-12-03 18:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a9c4e2f7d813'
down_revision = '5a1c0e7b9d42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('engagement_scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('satisfaction_answers', sa.Integer(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('score_aggregates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('satisfaction_scores', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade():
    # a plain DROP COLUMN (SQLite ≥ 3.35): a batch rebuild would lose WITHOUT ROWID
    op.execute('ALTER TABLE score_aggregates DROP COLUMN satisfaction_scores')
    op.execute('ALTER TABLE engagement_scores DROP COLUMN satisfaction_answers')
