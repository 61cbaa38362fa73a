"""Reading the FAQ: the public lists (by service, by department), the entries of one
service (its service page), and an answer's rendering. Each list is a fixed number
of queries, however many entries there are."""

from __future__ import annotations

from collections import defaultdict

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.community import markdown
from portal.extensions import db
from portal.faq.models import EntryStatus, FaqEntry, FaqEntryService
from portal.services.models import Department, Service

SERVICE_PAGE_MAX = 5


def render(text: str) -> Markup:
    """An answer (Markdown) as safe HTML, through the community's sanitising renderer."""
    return markdown.render(text)


def _published():
    return FaqEntry.status == EntryStatus.PUBLISHED


def public_entries(*, service_id: int | None = None,
                   department_id: int | None = None) -> list[FaqEntry]:
    query = (select(FaqEntry).where(_published())
             .options(joinedload(FaqEntry.department))
             .order_by(FaqEntry.department_id, FaqEntry.id))
    if service_id is not None:
        query = query.where(FaqEntry.id.in_(select(FaqEntryService.entry_id).where(
            FaqEntryService.service_id == service_id)))
    if department_id is not None:
        query = query.where(FaqEntry.department_id == department_id)
    return list(db.session.scalars(query).unique())


def services_of(entry_ids: list[int]) -> dict[int, list[Service]]:
    """``{entry id: [its services]}`` in one query."""
    found: dict[int, list[Service]] = defaultdict(list)
    if not entry_ids:
        return found
    rows = db.session.execute(
        select(FaqEntryService.entry_id, Service).join(
            Service, Service.id == FaqEntryService.service_id)
        .where(FaqEntryService.entry_id.in_(entry_ids)).order_by(Service.slug))
    for entry_id, service in rows:
        found[entry_id].append(service)
    return found


def service_counts() -> list[tuple[Service, int]]:
    """The services that have published entries, with how many."""
    rows = db.session.execute(
        select(Service, func.count(FaqEntryService.entry_id))
        .join(FaqEntryService, FaqEntryService.service_id == Service.id)
        .join(FaqEntry, FaqEntry.id == FaqEntryService.entry_id)
        .where(_published()).group_by(Service.id).order_by(Service.department_id, Service.slug))
    return [(service, count) for service, count in rows]


def department_counts() -> list[tuple[Department, int]]:
    rows = db.session.execute(
        select(Department, func.count(FaqEntry.id))
        .join(FaqEntry, FaqEntry.department_id == Department.id)
        .where(_published()).group_by(Department.id).order_by(Department.code))
    return [(department, count) for department, count in rows]


def service_entries(service_id: int, limit: int = SERVICE_PAGE_MAX) -> tuple[list[FaqEntry], int]:
    """A service's published entries (the most viewed first, up to ``limit``) and
    how many it has: the service page's "Frequently asked" section."""
    tagged = FaqEntry.id.in_(select(FaqEntryService.entry_id).where(
        FaqEntryService.service_id == service_id))
    total = db.session.scalar(select(func.count()).select_from(FaqEntry)
                              .where(_published(), tagged)) or 0
    if not total:
        return [], 0
    entries = list(db.session.scalars(
        select(FaqEntry).where(_published(), tagged)
        .order_by(FaqEntry.view_count.desc(), FaqEntry.id).limit(limit)))
    return entries, total
