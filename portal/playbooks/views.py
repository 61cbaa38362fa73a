"""The playbooks console (/admin/playbooks/): the "console" helper writes it."""

from portal.permissions import can_view_playbooks, permission_required
from portal.playbooks import admin_bp


@admin_bp.get("/")
@permission_required(can_view_playbooks)
def index():
    return ""
