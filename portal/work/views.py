"""My work (/admin/work/): the "work" helper writes it."""

from portal.permissions import can_work_cases, permission_required
from portal.work import bp


@bp.get("/")
@permission_required(can_work_cases)
def my_work():
    return ""
