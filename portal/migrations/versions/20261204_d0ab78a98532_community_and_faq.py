"""Community Q&A and the FAQ: posts (questions and answers), votes, flags, revisions,
follows, digest notifications, members, moderation, topics; FAQ entries with their
services and versions; the search's synonym list; users.community_moderator.

Revision ID: d0ab78a98532
Revises: b7d2e4a91c05
Create Date: 2026-12-04 18:35:34.992900

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd0ab78a98532'
down_revision = 'b7d2e4a91c05'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('community_topics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('name_ja', sa.String(length=80), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_topics')),
    sa.UniqueConstraint('slug', name=op.f('uq_community_topics_slug'))
    )
    op.create_table('community_members',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('public_name', sa.String(length=60), nullable=True),
    sa.Column('show_own_name', sa.Boolean(), nullable=False),
    sa.Column('trusted', sa.Boolean(), nullable=False),
    sa.Column('silenced_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('silence_reason', sa.Text(), nullable=False),
    sa.Column('last_digest_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_community_members')),
    sa.UniqueConstraint('public_name', name=op.f('uq_community_members_public_name'))
    )
    op.create_table('community_posts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('question_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('lang', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('moderation_reason', sa.Text(), nullable=False),
    sa.Column('official', sa.Boolean(), nullable=False),
    sa.Column('official_department_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_answer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('up_votes', sa.Integer(), nullable=False),
    sa.Column('down_votes', sa.Integer(), nullable=False),
    sa.Column('answer_count', sa.Integer(), nullable=False),
    sa.Column('view_count', sa.Integer(), nullable=False),
    sa.Column('flag_count', sa.Integer(), nullable=False),
    sa.Column('first_answer_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_official_answer_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submission_key', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(kind = 'question') = (question_id IS NULL)", name=op.f('ck_community_posts_answer_has_question')),
    sa.CheckConstraint("kind IN ('question', 'answer')", name=op.f('ck_community_posts_kind_known')),
    sa.CheckConstraint("status IN ('pending', 'published', 'hidden', 'deleted')", name=op.f('ck_community_posts_status_known')),
    sa.ForeignKeyConstraint(['accepted_answer_id'], ['community_posts.id'], name=op.f('fk_community_posts_accepted_answer_id_community_posts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_community_posts_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['official_department_id'], ['departments.id'], name=op.f('fk_community_posts_official_department_id_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['question_id'], ['community_posts.id'], name=op.f('fk_community_posts_question_id_community_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_posts')),
    sa.UniqueConstraint('author_id', 'submission_key', name='uq_community_posts_submission')
    )
    with op.batch_alter_table('community_posts', schema=None) as batch_op:
        batch_op.create_index('ix_community_posts_author', ['author_id', 'created_at'], unique=False)
        batch_op.create_index('ix_community_posts_list', ['kind', 'status', 'created_at'], unique=False)
        batch_op.create_index('ix_community_posts_question', ['question_id', 'status'], unique=False)
        batch_op.create_index('ix_community_posts_votes', ['kind', 'status', 'score'], unique=False)

    op.create_table('search_synonyms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_search_synonyms_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_synonyms'))
    )
    op.create_table('community_flags',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('post_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("reason IN ('spam', 'offensive', 'personal_data', 'off_topic')", name=op.f('ck_community_flags_reason_known')),
    sa.ForeignKeyConstraint(['post_id'], ['community_posts.id'], name=op.f('fk_community_flags_post_id_community_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_community_flags_resolved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_flags_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_flags')),
    sa.UniqueConstraint('post_id', 'user_id', name='uq_community_flags_once')
    )
    with op.batch_alter_table('community_flags', schema=None) as batch_op:
        batch_op.create_index('ix_community_flags_open', ['resolved_at', 'post_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_flags_user_id'), ['user_id'], unique=False)

    op.create_table('community_follows',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('question_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['community_posts.id'], name=op.f('fk_community_follows_question_id_community_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_follows_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_follows')),
    sa.UniqueConstraint('question_id', 'user_id', name='uq_community_follows')
    )
    with op.batch_alter_table('community_follows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_follows_user_id'), ['user_id'], unique=False)

    op.create_table('community_moderation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('post_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('moderator_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['moderator_id'], ['users.id'], name=op.f('fk_community_moderation_moderator_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['post_id'], ['community_posts.id'], name=op.f('fk_community_moderation_post_id_community_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_moderation_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_moderation'))
    )
    with op.batch_alter_table('community_moderation', schema=None) as batch_op:
        batch_op.create_index('ix_community_moderation_post', ['post_id', 'created_at'], unique=False)
        batch_op.create_index('ix_community_moderation_user', ['user_id', 'created_at'], unique=False)

    op.create_table('community_notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('answer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('digested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outbound_message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['answer_id'], ['community_posts.id'], name=op.f('fk_community_notifications_answer_id_community_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['outbound_message_id'], ['outbound_messages.id'], name=op.f('fk_community_notifications_outbound_message_id_outbound_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['question_id'], ['community_posts.id'], name=op.f('fk_community_notifications_question_id_community_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_notifications')),
    sa.UniqueConstraint('user_id', 'answer_id', name='uq_community_notifications')
    )
    with op.batch_alter_table('community_notifications', schema=None) as batch_op:
        batch_op.create_index('ix_community_notifications_due', ['digested_at', 'user_id'], unique=False)

    op.create_table('community_question_services',
    sa.Column('question_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['community_posts.id'], name=op.f('fk_community_question_services_question_id_community_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_community_question_services_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('question_id', 'service_id', name=op.f('pk_community_question_services'))
    )
    with op.batch_alter_table('community_question_services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_question_services_service_id'), ['service_id'], unique=False)

    op.create_table('community_question_topics',
    sa.Column('question_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['community_posts.id'], name=op.f('fk_community_question_topics_question_id_community_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['topic_id'], ['community_topics.id'], name=op.f('fk_community_question_topics_topic_id_community_topics'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('question_id', 'topic_id', name=op.f('pk_community_question_topics'))
    )
    with op.batch_alter_table('community_question_topics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_question_topics_topic_id'), ['topic_id'], unique=False)

    op.create_table('community_revisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('post_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('edited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['edited_by_id'], ['users.id'], name=op.f('fk_community_revisions_edited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['post_id'], ['community_posts.id'], name=op.f('fk_community_revisions_post_id_community_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_revisions')),
    sa.UniqueConstraint('post_id', 'number', name='uq_community_revisions')
    )
    op.create_table('community_votes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('post_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.SmallInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('value IN (-1, 1)', name=op.f('ck_community_votes_value_known')),
    sa.ForeignKeyConstraint(['post_id'], ['community_posts.id'], name=op.f('fk_community_votes_post_id_community_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_votes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_votes')),
    sa.UniqueConstraint('post_id', 'user_id', name='uq_community_votes_once')
    )
    with op.batch_alter_table('community_votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_votes_user_id'), ['user_id'], unique=False)

    op.create_table('faq_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_ja', sa.String(length=300), nullable=False),
    sa.Column('question_en', sa.String(length=300), nullable=False),
    sa.Column('answer_ja', sa.Text(), nullable=False),
    sa.Column('answer_en', sa.Text(), nullable=False),
    sa.Column('draft_ja', sa.Boolean(), nullable=False),
    sa.Column('draft_en', sa.Boolean(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('review_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('source_post_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('view_count', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('published', 'archived')", name=op.f('ck_faq_entries_status_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_faq_entries_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_faq_entries_department_id_departments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['source_post_id'], ['community_posts.id'], name=op.f('fk_faq_entries_source_post_id_community_posts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_faq_entries_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_entries'))
    )
    with op.batch_alter_table('faq_entries', schema=None) as batch_op:
        batch_op.create_index('ix_faq_entries_department', ['department_id', 'status'], unique=False)
        batch_op.create_index('ix_faq_entries_review', ['status', 'review_on'], unique=False)

    op.create_table('faq_entry_services',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['faq_entries.id'], name=op.f('fk_faq_entry_services_entry_id_faq_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_faq_entry_services_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('entry_id', 'service_id', name=op.f('pk_faq_entry_services'))
    )
    with op.batch_alter_table('faq_entry_services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_faq_entry_services_service_id'), ['service_id'], unique=False)

    op.create_table('faq_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_faq_versions_changed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['entry_id'], ['faq_entries.id'], name=op.f('fk_faq_versions_entry_id_faq_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_versions')),
    sa.UniqueConstraint('entry_id', 'version', name='uq_faq_versions')
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('community_moderator', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('community_moderator')

    op.drop_table('faq_versions')
    with op.batch_alter_table('faq_entry_services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_faq_entry_services_service_id'))

    op.drop_table('faq_entry_services')
    with op.batch_alter_table('faq_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_faq_entries_review')
        batch_op.drop_index('ix_faq_entries_department')

    op.drop_table('faq_entries')
    with op.batch_alter_table('community_votes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_votes_user_id'))

    op.drop_table('community_votes')
    op.drop_table('community_revisions')
    with op.batch_alter_table('community_question_topics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_question_topics_topic_id'))

    op.drop_table('community_question_topics')
    with op.batch_alter_table('community_question_services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_question_services_service_id'))

    op.drop_table('community_question_services')
    with op.batch_alter_table('community_notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_community_notifications_due')

    op.drop_table('community_notifications')
    with op.batch_alter_table('community_moderation', schema=None) as batch_op:
        batch_op.drop_index('ix_community_moderation_user')
        batch_op.drop_index('ix_community_moderation_post')

    op.drop_table('community_moderation')
    with op.batch_alter_table('community_follows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_follows_user_id'))

    op.drop_table('community_follows')
    with op.batch_alter_table('community_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_flags_user_id'))
        batch_op.drop_index('ix_community_flags_open')

    op.drop_table('community_flags')
    op.drop_table('search_synonyms')
    with op.batch_alter_table('community_posts', schema=None) as batch_op:
        batch_op.drop_index('ix_community_posts_votes')
        batch_op.drop_index('ix_community_posts_question')
        batch_op.drop_index('ix_community_posts_list')
        batch_op.drop_index('ix_community_posts_author')

    op.drop_table('community_posts')
    op.drop_table('community_members')
    op.drop_table('community_topics')
