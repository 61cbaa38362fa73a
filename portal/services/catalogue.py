"""The reference service catalogue shipped with the portal (``portal seed``)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from portal.extensions import db
from portal.services.models import Department, Service

CATALOGUE_FILE = Path(__file__).parent / "data" / "catalogue.json"

DEPARTMENT_FIELDS = ("name_ja", "name_en", "phone", "email")
SERVICE_FIELDS = (
    "service_code", "name_ja", "name_en", "summary_ja", "summary_en", "description_ja",
    "description_en", "audience_ja", "audience_en", "how_to_use_ja", "how_to_use_en",
    "location_ja", "location_en", "opening_hours_ja", "opening_hours_en", "contact_phone",
    "contact_email", "expected_interval_days", "eligibility",
)


def load_catalogue(path: Path = CATALOGUE_FILE) -> dict[str, int]:
    """Create or update departments and services by code and slug (idempotent, one
    query per table). Staff edits to services not in the file are left alone."""
    data = json.loads(path.read_text(encoding="utf-8"))
    departments = {d.code: d for d in db.session.scalars(select(Department))}
    for item in data["departments"]:
        department = departments.get(item["code"])
        if department is None:
            department = departments[item["code"]] = Department(code=item["code"])
            db.session.add(department)
        for field in DEPARTMENT_FIELDS:
            setattr(department, field, item.get(field))
    db.session.flush()

    services = {s.slug: s for s in db.session.scalars(select(Service))}
    created = updated = 0
    for item in data["services"]:
        service = services.get(item["slug"])
        if service is None:
            service = Service(slug=item["slug"], active=True)
            db.session.add(service)
            created += 1
        else:
            updated += 1
        service.department_id = departments[item["department"]].id
        for field in SERVICE_FIELDS:
            setattr(service, field, item.get(field))
        # reports about a place anyone may see (Open311 may show their address)
        service.public_space = bool(item.get("public_space", False))
    db.session.flush()
    return {"departments": len(data["departments"]), "services": len(data["services"]),
            "created": created, "updated": updated}
