"""engagement KPIs: retention, lapse and uptake among the eligible

Each score keeps the inputs of the KPIs (whether the resident used the service
in the 30 days before the last 30, the same for 90 days, and the uses in the
three intervals before the last three); each
day's aggregates keep the KPI counts, so the 12-month trends read stored rows.
Existing rows get zeros; the next recompute fills them in.

Revision ID: c7d2e9a41f05
Revises: c4d1e7a90b12
Create Date: 2026-12-02 16:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7d2e9a41f05'
down_revision = "c4d1e7a90b12"
branch_labels = None
depends_on = None

SCORE_COLUMNS = ('used_prev_30', 'used_prev_90', 'uses_prev_3i')
AGGREGATE_COLUMNS = ('prev_users_30', 'retained_30', 'prev_users_90', 'retained_90',
                     'regular_users', 'lapsed', 'eligible', 'eligible_users')


def upgrade():
    # NOT NULL columns on tables that may hold rows: a server default of 0 fills them
    # (on SQLite an ADD COLUMN, no rebuild of the WITHOUT ROWID table)
    for table, columns in (('engagement_scores', SCORE_COLUMNS),
                           ('score_aggregates', AGGREGATE_COLUMNS)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in columns:
                batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False,
                                              server_default='0'))


def downgrade():
    # a plain DROP COLUMN (SQLite ≥ 3.35 has it): a batch rebuild would lose the
    # scores table's WITHOUT ROWID form
    for table, columns in (('score_aggregates', AGGREGATE_COLUMNS),
                           ('engagement_scores', SCORE_COLUMNS)):
        for name in reversed(columns):
            op.execute(f'ALTER TABLE {table} DROP COLUMN {name}')
