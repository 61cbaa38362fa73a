"""survey invitations: an occasion, so each inquiry gets its own follow-up

An invitation was unique per (survey, resident), so the follow-up survey of a
service could ask a resident about their first inquiry only. Ordinary
invitations keep an empty occasion (still one per resident and survey); an
inquiry's follow-up has ``inquiry:<id>``. Downgrading keeps each resident's first
invitation per survey and deletes the later follow-ups.

Revision ID: 5dac09111970
Revises: c3117e0a9b21
Create Date: 2026-12-04 01:50:17.556689

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5dac09111970'
down_revision = 'c3117e0a9b21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('survey_invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('occasion', sa.String(length=40), server_default='', nullable=False))
        batch_op.drop_constraint(batch_op.f('uq_survey_invitations_survey_id_resident_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_survey_invitations_survey_id_resident_id_occasion'), ['survey_id', 'resident_id', 'occasion'])



def downgrade():
    op.execute("DELETE FROM survey_invitations WHERE occasion <> '' AND id NOT IN "
               "(SELECT MIN(id) FROM survey_invitations GROUP BY survey_id, resident_id)")
    with op.batch_alter_table('survey_invitations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_survey_invitations_survey_id_resident_id_occasion'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_survey_invitations_survey_id_resident_id'), ['survey_id', 'resident_id'])
        batch_op.drop_column('occasion')

