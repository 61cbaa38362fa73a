"""survey invitations: a per-invitation salt to re-derive the link's token

The token of an e-mailed invitation is an HMAC of the app's secret key over the
invitation's survey, resident and this random salt: the reminder can carry the
same working link although neither the token nor anything that yields it without
the secret key is stored (only its SHA-256, in ``token_hash``).

Revision ID: 5a1c0e7b9d42
Revises: eb3f8e8aa37f
Create Date: 2026-12-03 18:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a1c0e7b9d42'
down_revision = 'eb3f8e8aa37f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('survey_invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_salt', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('survey_invitations', schema=None) as batch_op:
        batch_op.drop_column('token_salt')
