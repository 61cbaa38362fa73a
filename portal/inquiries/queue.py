"""The staff queue: which inquiries a member of staff works on, filtered, sorted
and paged in a fixed number of queries however many inquiries there are.

Scope: staff see their department's inquiries and the unrouted ones (no
department yet: someone must route them); managers and admins see all, and may
narrow to one department. The SLA filters read ``Inquiry.due_at`` (NULL once
resolved or closed), so "overdue" is one range on ``ix_inquiries_due``.

The page's total is counted up to ``COUNT_CAP`` rows only: past that the page says
"more than 10,000" rather than scanning every match for an exact figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from portal.auth.models import Role, User
from portal.extensions import db
from portal.inquiries.models import Inquiry, InquiryStatus
from portal.inquiries.sla import SlaState, end_of_local_day
from portal.pagination import RowPage
from portal.timeutil import local_zone

PAGE_SIZE = 25
COUNT_CAP = 10_000
#: the status filter's values besides the stored statuses
PENDING, ALL = "pending", "all"
SORTS = ("due", "-due", "created", "-created", "updated", "-updated")
UNROUTED = "unrouted"  # the department filter's value for "no department yet"


@dataclass
class QueueFilters:
    """What the queue shows; every field already checked (see ``admin_forms``)."""

    status: str = PENDING
    channel: str | None = None
    service_id: int | None = None
    category: str | None = None
    assignee: str | int | None = None  # "me", "none" or a user id
    sla: str | None = None
    q: str | None = None
    sort: str = "due"
    department_id: int | str | None = None  # an id, or UNROUTED (managers and admins)
    extra: dict[str, Any] = field(default_factory=dict)


def scoped(stmt: Select, user: User) -> Select:
    """``stmt`` over ``Inquiry`` narrowed to the inquiries ``user`` may work."""
    if user.role in (Role.MANAGER, Role.ADMIN):
        return stmt
    if user.department_id is None:
        return stmt.where(False)
    return stmt.where(or_(Inquiry.department_id == user.department_id,
                          Inquiry.department_id.is_(None)))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def number_in(text: str) -> int | None:
    """The inquiry number in what staff typed ("123", "No. 123", "#123"), or None."""
    cleaned = text.strip().lower().removeprefix("no.").removeprefix("no").strip()
    cleaned = cleaned.removeprefix("#").removeprefix("＃").strip()
    if cleaned.isascii() and cleaned.isdigit() and len(cleaned) <= 12:
        return int(cleaned)
    return None


def conditions(filters: QueueFilters, user: User, now: datetime) -> list:
    found: list = []
    if filters.status == PENDING:
        found.append(Inquiry.status.in_([str(s) for s in InquiryStatus.pending()]))
    elif filters.status != ALL:
        found.append(Inquiry.status == filters.status)
    if filters.channel:
        found.append(Inquiry.channel == filters.channel)
    if filters.service_id:
        found.append(Inquiry.service_id == filters.service_id)
    if filters.category:
        found.append(Inquiry.category == filters.category)
    if filters.assignee == "me":
        found.append(Inquiry.assignee_id == user.id)
    elif filters.assignee == "none":
        found.append(Inquiry.assignee_id.is_(None))
    elif isinstance(filters.assignee, int):
        found.append(Inquiry.assignee_id == filters.assignee)
    if filters.sla:
        today_end = end_of_local_day(now.astimezone(local_zone()).date())
        if filters.sla == SlaState.OVERDUE:
            found.append(Inquiry.due_at <= now)
        elif filters.sla == SlaState.DUE_TODAY:
            found += [Inquiry.due_at > now, Inquiry.due_at <= today_end]
        elif filters.sla == SlaState.ON_TIME:
            found.append(Inquiry.due_at > today_end)
    if filters.q:
        number = number_in(filters.q)
        if number is not None:  # "123", "No. 123": that inquiry (its primary key)
            found.append(Inquiry.id == number)
        else:
            pattern = _like(filters.q.lower())
            found.append(or_(func.lower(Inquiry.subject).like(pattern, escape="\\"),
                             func.lower(Inquiry.description).like(pattern, escape="\\")))
    if filters.department_id == UNROUTED:
        found.append(Inquiry.department_id.is_(None))
    elif filters.department_id:
        found.append(Inquiry.department_id == filters.department_id)
    return found


def _order(filters: QueueFilters) -> list:
    column = {"due": Inquiry.due_at, "created": Inquiry.created_at,
              "updated": Inquiry.updated_at}[filters.sort.lstrip("-")]
    descending = filters.sort.startswith("-")
    ordered = column.desc() if descending else column.asc()
    if column is Inquiry.due_at and filters.status not in (PENDING, *InquiryStatus.pending()):
        # resolved and closed inquiries have nothing due: after the rest, on both databases
        ordered = ordered.nulls_last()
    return [ordered, Inquiry.id.desc() if descending else Inquiry.id.asc()]


def _matching(filters: QueueFilters, user: User, now: datetime) -> Select:
    return scoped(select(Inquiry), user).where(*conditions(filters, user, now))


def queue_statement(filters: QueueFilters, user: User, now: datetime) -> Select:
    """The inquiries of the queue, in order (no loading options)."""
    stmt = _matching(filters, user, now)
    if filters.sort.lstrip("-") == "due" and not filters.sla \
            and filters.status in (PENDING, *InquiryStatus.pending()):
        # always true of a pending inquiry (``due_at`` is set until it is resolved), and
        # what lets "due soonest" start ``ix_inquiries_due`` past the resolved ones'
        # NULLs, which SQLite sorts first (an SLA filter's range does the same)
        stmt = stmt.where(Inquiry.due_at.is_not(None))
    return stmt.order_by(*_order(filters))


def with_related(stmt: Select) -> Select:
    """What a queue row or an export line shows, one query per relation."""
    return stmt.options(selectinload(Inquiry.service), selectinload(Inquiry.department),
                        selectinload(Inquiry.assignee), selectinload(Inquiry.resident))


@dataclass
class QueuePage(RowPage):
    """A queue page; ``total`` counted up to ``COUNT_CAP`` (``capped``: there are more)."""

    capped: bool = False


def queue_page(filters: QueueFilters, user: User, now: datetime, page: int,
               per_page: int = PAGE_SIZE) -> QueuePage:
    """One page of the queue: a bounded count, the rows, their relations."""
    stmt = queue_statement(filters, user, now)
    ids = (_matching(filters, user, now).with_only_columns(Inquiry.id)
           .limit(COUNT_CAP + 1).subquery())
    total = db.session.scalar(select(func.count()).select_from(ids)) or 0
    capped = total > COUNT_CAP
    total = min(total, COUNT_CAP)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    items = list(db.session.scalars(with_related(stmt).limit(per_page)
                                    .offset((page - 1) * per_page))) if total else []
    return QueuePage(items=items, page=page, per_page=per_page, total=total, capped=capped)
