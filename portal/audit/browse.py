"""Reading the audit log for the viewer and its CSV: filters, and list-view entries
shown one per resident, hidden, or grouped into one row per page view."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, func, literal, select, union_all

from portal.audit.labels import LIST_VIEW_ACTIONS
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.pagination import RowPage
from portal.timeutil import local_day_start


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None
    resident: int | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    list_views: str = "group"  # "group", "hide" or "show"


def conditions(filters: AuditFilters) -> list:
    found = []
    if filters.actor:
        found.append(func.lower(AuditEntry.actor_label)
                     .like(f"%{filters.actor.strip().lower()}%"))
    if filters.resident:
        found += [AuditEntry.target_type == "residents",
                  AuditEntry.target_id == str(filters.resident)]
    if filters.action:
        found.append(AuditEntry.action == filters.action)
    if filters.date_from:
        found.append(AuditEntry.occurred_at >= local_day_start(filters.date_from))
    if filters.date_to:
        found.append(AuditEntry.occurred_at < local_day_start(filters.date_to
                                                               + timedelta(days=1)))
    return found


def entries(filters: AuditFilters) -> Select:
    """Single entries, newest first: every one, or without the list views ("hide")."""
    stmt = select(AuditEntry).where(*conditions(filters))
    if filters.list_views == "hide":
        stmt = stmt.where(AuditEntry.action.not_in(LIST_VIEW_ACTIONS))
    return stmt.order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())


def hidden_count(filters: AuditFilters) -> int:
    if filters.list_views != "hide":
        return 0
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        *conditions(filters), AuditEntry.action.in_(LIST_VIEW_ACTIONS)))


def grouped_page(filters: AuditFilters, page: int, per_page: int) -> RowPage:
    """Entries with the list views of one page view (one actor, one action, one
    moment: ``record_many`` writes them together) as one row with their count
    (two queries)."""
    where = conditions(filters)
    single = select(
        AuditEntry.id, AuditEntry.occurred_at, AuditEntry.actor_label, AuditEntry.action,
        AuditEntry.target_type, AuditEntry.target_id, AuditEntry.summary, AuditEntry.ip,
        literal(1).label("n"),
    ).where(*where, AuditEntry.action.not_in(LIST_VIEW_ACTIONS))
    n = func.count()
    grouped = select(
        func.max(AuditEntry.id), AuditEntry.occurred_at, AuditEntry.actor_label,
        AuditEntry.action, func.min(AuditEntry.target_type),
        func.min(AuditEntry.target_id), func.min(AuditEntry.summary),
        func.min(AuditEntry.ip), n.label("n"),
    ).where(*where, AuditEntry.action.in_(LIST_VIEW_ACTIONS)).group_by(
        AuditEntry.occurred_at, AuditEntry.actor_label, AuditEntry.action)
    rows = union_all(single, grouped).subquery()
    total = db.session.scalar(select(func.count()).select_from(rows))
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    items = db.session.execute(
        select(rows).order_by(rows.c.occurred_at.desc(), rows.c.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    return RowPage(items=list(items), page=page, per_page=per_page, total=total)

