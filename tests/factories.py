"""Small builders for test data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.residents.models import Household, Resident
from portal.services.models import Service, UsageEvent
from portal.timeutil import utcnow


def service(slug: str) -> Service:
    return db.session.scalar(select(Service).where(Service.slug == slug))


def resident(**values) -> Resident:
    values.setdefault("family_name", "佐藤")
    values.setdefault("given_name", "花子")
    values.setdefault("family_name_kana", "サトウ")
    values.setdefault("given_name_kana", "ハナコ")
    values.setdefault("external_id", f"R-{uuid.uuid4().hex[:8]}")
    values.setdefault("district", "中央")
    values.setdefault("birth_year", 1980)
    values.setdefault("consent_profiling", True)
    values.setdefault("created_at", datetime(2020, 1, 1, tzinfo=UTC))
    item = Resident(**values)
    db.session.add(item)
    db.session.flush()
    return item


def household(*members: Resident, district: str = "中央") -> Household:
    item = Household(external_id=f"H-{uuid.uuid4().hex[:8]}", district=district)
    db.session.add(item)
    db.session.flush()
    for member in members:
        member.household_id = item.id
    db.session.flush()
    return item


def events(who: Resident, slug: str, count: int = 1, *, days_ago: int = 1,
           channel: str = "counter", source: str = "staff", note: str | None = None):
    target = service(slug)
    rows = [UsageEvent(resident_id=who.id, service_id=target.id, kind="use", channel=channel,
                       occurred_at=utcnow() - timedelta(days=days_ago + n), source=source,
                       idempotency_key=uuid.uuid4().hex, note=note) for n in range(count)]
    db.session.add_all(rows)
    db.session.flush()
    return rows
