"""search index: the documents, SQLite's FTS5 table, PostgreSQL's tsvector + GIN

One row per searchable document (question, answer, FAQ entry per language) in
``search_documents``. The tokens (portal.search.tokenize: bigrams for Japanese,
words for the rest) are searched with FTS5 on SQLite (``search_fts``, rowid = the
document's id, the ``ascii`` tokenizer: it only splits at the spaces between our
tokens) and with a GIN index over ``search_documents.tsv`` on PostgreSQL. Without
FTS5 in the SQLite build the table is not created and the search falls back to
LIKE (a warning here and at search time). ``portal search reindex`` fills both.

Revision ID: 1d3273685166
Revises: d0ab78a98532
Create Date: 2026-12-04 18:46:41.743442

"""
import logging

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '1d3273685166'
down_revision = 'd0ab78a98532'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')


def upgrade():
    op.create_table('search_documents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('post_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('question_id', sa.Integer(), nullable=True),
    sa.Column('faq_id', sa.Integer(), nullable=True),
    sa.Column('lang', sa.String(length=10), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('tsv', sa.Text().with_variant(postgresql.TSVECTOR(), 'postgresql'), nullable=True),
    sa.Column('title_tsv', sa.Text().with_variant(postgresql.TSVECTOR(), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['faq_id'], ['faq_entries.id'], name=op.f('fk_search_documents_faq_id_faq_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_id'], ['community_posts.id'], name=op.f('fk_search_documents_post_id_community_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_documents')),
    sa.UniqueConstraint('faq_id', 'lang', name='uq_search_documents_faq'),
    sa.UniqueConstraint('post_id', name='uq_search_documents_post')
    )
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.create_index('ix_search_documents_question', ['question_id'], unique=False)

    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute('CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)')
        op.execute('CREATE INDEX ix_search_documents_title_tsv ON search_documents '
                   'USING gin (title_tsv)')
    elif dialect == 'sqlite':
        try:
            op.execute("CREATE VIRTUAL TABLE search_fts USING fts5(title, body, tokenize='ascii')")
        except sa.exc.OperationalError as exc:
            log.warning('SQLite without FTS5 (%s): the search falls back to LIKE', exc)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_search_documents_tsv')
        op.execute('DROP INDEX IF EXISTS ix_search_documents_title_tsv')
    elif dialect == 'sqlite':
        op.execute('DROP TABLE IF EXISTS search_fts')
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_search_documents_question')

    op.drop_table('search_documents')
