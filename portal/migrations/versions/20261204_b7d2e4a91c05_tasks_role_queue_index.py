"""Tasks: an index for the role queues (assignee_role, status, due_on)

My work shows managers the tasks for the role "manager" of every department, due
soonest first: one ordered range of this index instead of every department's open
tasks sorted (``ix_tasks_department_status_due`` leads with the department).

Revision ID: b7d2e4a91c05
Revises: 4f6bb74eecec
Create Date: 2026-12-04 04:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7d2e4a91c05'
down_revision = '4f6bb74eecec'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_role_status_due', ['assignee_role', 'status', 'due_on'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_role_status_due')
