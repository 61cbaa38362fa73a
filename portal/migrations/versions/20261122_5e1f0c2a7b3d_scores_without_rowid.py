"""engagement scores: a WITHOUT ROWID table on SQLite

The recompute now writes the scores into a fresh table, in key order, and swaps
it in; on SQLite that table is keyed by (service, resident) alone, without the
hidden rowid and the separate key index a rowid table needs. This brings an
existing database's table to the same form (PostgreSQL: nothing to do).

Revision ID: 5e1f0c2a7b3d
Revises: 8bc93b6895ab
Create Date: 2026-11-22 16:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1f0c2a7b3d'
down_revision = '8bc93b6895ab'
branch_labels = None
depends_on = None

COLUMNS = (
    ('service_id', sa.Integer(), False), ('resident_id', sa.Integer(), False),
    ('as_of', sa.Date(), False), ('model_id', sa.Integer(), False),
    ('score', sa.Float(), False), ('band', sa.String(length=10), False),
    ('reason', sa.String(length=30), True), ('recency', sa.Float(), True),
    ('frequency', sa.Float(), True), ('satisfaction', sa.Float(), True),
    ('friction', sa.Float(), True), ('last_use_at', sa.DateTime(timezone=True), True),
    ('days_since_last_use', sa.Float(), True), ('uses_in_window', sa.Integer(), False),
    ('window_days', sa.Integer(), False), ('interval_days', sa.Integer(), False),
    ('previous_score', sa.Float(), True), ('score_30d_ago', sa.Float(), True),
    ('trend', sa.String(length=10), False), ('computed_at', sa.DateTime(timezone=True), False),
)


def _rebuild(with_rowid: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    op.drop_index('ix_engagement_scores_resident_id', table_name='engagement_scores')
    op.rename_table('engagement_scores', '_engagement_scores_old')
    op.create_table(
        'engagement_scores',
        *(sa.Column(name, type_, nullable=nullable) for name, type_, nullable in COLUMNS),
        sa.PrimaryKeyConstraint('service_id', 'resident_id', name='pk_engagement_scores'),
        sqlite_with_rowid=with_rowid,
    )
    names = ', '.join(name for name, _, _ in COLUMNS)
    op.execute(f'INSERT INTO engagement_scores ({names}) SELECT {names} '
               f'FROM _engagement_scores_old ORDER BY service_id, resident_id')
    op.drop_table('_engagement_scores_old')
    op.create_index('ix_engagement_scores_resident_id', 'engagement_scores', ['resident_id'])


def upgrade():
    _rebuild(with_rowid=False)


def downgrade():
    _rebuild(with_rowid=True)
