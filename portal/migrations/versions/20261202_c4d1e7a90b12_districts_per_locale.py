"""districts with a name per locale

District names were a configured list of Japanese names. They become a table
with a Japanese and an English name (staff edit them in the console), keyed by
the code residents, households and eligibility rules already store, so no
resident row changes. The municipality's eight districts get their English
names; any other district already in use is kept with its stored name.

Revision ID: c4d1e7a90b12
Revises: c7d2a9e4f1b6
Create Date: 2026-12-02 17:00:00

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d1e7a90b12'
down_revision = "c7d2a9e4f1b6"
branch_labels = None
depends_on = None

DEFAULT_DISTRICTS = (
    ('中央', 'Chuo'), ('北町', 'Kitamachi'), ('南町', 'Minamimachi'),
    ('東町', 'Higashimachi'), ('西町', 'Nishimachi'), ('桜ヶ丘', 'Sakuragaoka'),
    ('川辺', 'Kawabe'), ('緑町', 'Midorimachi'),
)


def upgrade():
    districts = op.create_table('districts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('name_ja', sa.String(length=80), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_districts')),
    sa.UniqueConstraint('code', name=op.f('uq_districts_code'))
    )
    now = datetime.now(timezone.utc)
    rows = [{'code': ja, 'name_ja': ja, 'name_en': en, 'position': n, 'created_at': now}
            for n, (ja, en) in enumerate(DEFAULT_DISTRICTS, start=1)]
    bind = op.get_bind()
    known = {ja for ja, _ in DEFAULT_DISTRICTS}
    in_use = set()
    for table in ('residents', 'households'):
        in_use.update(bind.execute(sa.text(
            f'SELECT DISTINCT district FROM {table} WHERE district IS NOT NULL')).scalars())
    for n, code in enumerate(sorted(in_use - known), start=len(rows) + 1):
        rows.append({'code': code, 'name_ja': code[:80], 'name_en': '', 'position': n,
                     'created_at': now})
    op.bulk_insert(districts, rows)


def downgrade():
    op.drop_table('districts')
