"""Reading the public catalogue."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select

from portal.services.models import Department, Service

SEARCHED_FIELDS = ("name", "summary", "description", "audience", "how_to_use")


def catalogue_query(*, text: str | None = None, department_code: str | None = None) -> Select:
    """Active services matching every word of ``text`` in either language."""
    stmt = (select(Service).join(Service.department).where(Service.active.is_(True))
            .order_by(Department.code, Service.name_ja))
    if department_code:
        stmt = stmt.where(Department.code == department_code)
    for word in (text or "").split():
        like = f"%{word.lower()}%"
        columns = [getattr(Service, f"{field}_{loc}") for field in SEARCHED_FIELDS
                   for loc in ("ja", "en")]
        stmt = stmt.where(or_(*(func.lower(column).like(like) for column in columns),
                              func.lower(Department.name_ja).like(like),
                              func.lower(Department.name_en).like(like)))
    return stmt
