"""Templates and letters (/admin/outreach/): the "outreach" helper writes it."""

from portal.outreach import admin_bp
from portal.permissions import can_manage_outreach_templates, permission_required


@admin_bp.get("/templates")
@permission_required(can_manage_outreach_templates)
def templates():
    return ""
