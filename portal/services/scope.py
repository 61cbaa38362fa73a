"""Department scoping: which services' usage a member of staff may see."""

from __future__ import annotations

from sqlalchemy import Select, select

from portal.auth.models import User
from portal.permissions import can_view_all_usage
from portal.services.models import Service, UsageEvent


def visible_service_ids(user: User) -> Select | None:
    """None when ``user`` sees every service's usage; otherwise a subquery of the
    ids of their department's services (a staff member without a department: none)."""
    if can_view_all_usage(user):
        return None
    return select(Service.id).where(Service.department_id == user.department_id)


def scope_usage(stmt: Select, user: User) -> Select:
    """Restrict a statement over ``UsageEvent`` to what ``user`` may see."""
    ids = visible_service_ids(user)
    return stmt if ids is None else stmt.where(UsageEvent.service_id.in_(ids))


def scope_services(stmt: Select, user: User) -> Select:
    """Restrict a statement over ``Service`` to what ``user`` may see."""
    ids = visible_service_ids(user)
    return stmt if ids is None else stmt.where(Service.id.in_(ids))
