"""Managing departments and services (console). The caller commits."""

from __future__ import annotations

from typing import Any

from portal.audit.recording import record
from portal.auth.models import User
from portal.extensions import db
from portal.services.models import Department, Service

DEPARTMENT_FIELDS = ("name_ja", "name_en", "phone", "email")
SERVICE_FIELDS = (
    "slug", "department_id", "service_code", "name_ja", "name_en", "summary_ja", "summary_en",
    "description_ja", "description_en", "audience_ja", "audience_en", "how_to_use_ja",
    "how_to_use_en", "location_ja", "location_en", "opening_hours_ja", "opening_hours_en",
    "contact_phone", "contact_email", "expected_interval_days", "eligibility", "active",
    "public_space",
)


def _apply(obj: Any, values: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    changed = []
    for field in fields:
        if field in values and getattr(obj, field) != values[field]:
            setattr(obj, field, values[field])
            changed.append(field)
    return changed


def save_department(*, actor: User, department: Department | None,
                    values: dict[str, Any]) -> Department:
    creating = department is None
    if creating:
        department = Department(code=values["code"])
        db.session.add(department)
    changed = _apply(department, values, DEPARTMENT_FIELDS)
    db.session.flush()
    if creating or changed:
        record("department.create" if creating else "department.update", actor=actor,
               target=department, summary=f"{'Created' if creating else 'Updated'} department "
               f"{department.code}", data={"fields": changed})
    return department


def save_service(*, actor: User, service: Service | None, values: dict[str, Any]) -> Service:
    creating = service is None
    if creating:
        service = Service()
        db.session.add(service)
    changed = _apply(service, values, SERVICE_FIELDS)
    db.session.flush()
    if creating or changed:
        record("service.create" if creating else "service.update", actor=actor, target=service,
               summary=f"{'Created' if creating else 'Updated'} service {service.slug}",
               data={"fields": changed})
    return service
