"""residents: who linked an account, what the resident supplied, one form of names

Linking an account to a register record now records the member of staff and the
time (the identity check goes into the audit entry), and each record keeps the
names of the profile fields whose value came from the resident, so deleting the
account or unlinking it removes only those from a register record.

Existing register records that already have an account: a contact address equal to
the account's own address is marked as the resident's (linking copied it from the
account); nothing else is known, so nothing else is marked.

Names are now stored NFKC-normalised, kana readings in katakana (half-width kana
from register files were never found by a search); existing rows are brought to
that form here, in batches.

Revision ID: c4e7a1d2b9f0
Revises: 5e1f0c2a7b3d
Create Date: 2026-12-02 16:40:00

"""
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e7a1d2b9f0'
down_revision = '5e1f0c2a7b3d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('linked_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('linked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('self_supplied', sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))
        batch_op.create_foreign_key(batch_op.f('fk_residents_linked_by_id_users'), 'users',
                                    ['linked_by_id'], ['id'], ondelete='SET NULL')
    residents = sa.table('residents', sa.column('external_id', sa.String()),
                         sa.column('user_id', sa.Integer()), sa.column('email', sa.String()),
                         sa.column('self_supplied', sa.JSON()))
    users = sa.table('users', sa.column('id', sa.Integer()), sa.column('email', sa.String()))
    own_address = sa.select(users.c.id).where(users.c.id == residents.c.user_id,
                                              users.c.email == residents.c.email).exists()
    op.execute(residents.update().where(residents.c.external_id.is_not(None), own_address)
               .values(self_supplied=sa.literal_column("'[\"email\"]'")))
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.alter_column('self_supplied', server_default=None)
    _normalise_names()


NAMES = ('family_name', 'given_name', 'family_name_kana', 'given_name_kana', 'name_latin')
KANA = ('family_name_kana', 'given_name_kana')
HIRAGANA_TO_KATAKANA = {code: code + 0x60 for code in range(0x3041, 0x3097)}
BATCH = 1000


def _normal(field, text):
    """As portal.residents.names.normalise_field (copied: a migration does not change
    when the code does)."""
    text = ' '.join(unicodedata.normalize('NFKC', text or '').split())
    return text.translate(HIRAGANA_TO_KATAKANA) if field in KANA else text


def _normalise_names():
    residents = sa.table('residents', sa.column('id', sa.Integer()),
                         *(sa.column(name, sa.String()) for name in NAMES))
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(sa.select(residents).where(residents.c.id > last)
                            .order_by(residents.c.id).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1].id
        changes = []
        for row in rows:
            values = {name: _normal(name, getattr(row, name)) for name in NAMES}
            if any(values[name] != (getattr(row, name) or '') for name in NAMES):
                changes.append({'rid': row.id, **values})
        if changes:
            bind.execute(residents.update().where(residents.c.id == sa.bindparam('rid'))
                         .values({name: sa.bindparam(name) for name in NAMES}), changes)


def downgrade():
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_residents_linked_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('self_supplied')
        batch_op.drop_column('linked_at')
        batch_op.drop_column('linked_by_id')
