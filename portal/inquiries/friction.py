"""What the engagement score reads from inquiries (STYLE.md 5b): the conditions and
selectables behind the *friction* measure, which the recompute and the calibration
compose into their own statements. Nothing here runs a query by itself.

An inquiry counts against a resident's friction with a service at a time X when it
is theirs, about that service, was received in the scoring window before X
(X − W ≤ received < X, W = max(90, i) days: the window frequency counts uses in),
was not merged into another (a duplicate is closed and counts once, as the
inquiry it was merged into) and was **pending at X**:

- its status is new, open or waiting for the resident, or
- it was resolved or closed at X or later (``resolved_at``; ``closed_at`` when
  there is no resolution time).

It is **overdue at X** when its due time then had passed: the first-response due
time while no staff reply had been sent by X (``first_response_at`` unset or at X
or later), else the resolution due time — before X.

For a run whose T is not in the past (today's scores), that is exactly "status
new/open/waiting, ``due_at`` < T": a resolved inquiry has its resolution time
before now, and ``due_at`` is the first-response due time until the first reply,
then the resolution one. For T in the past (the day that just ended, a filled-in
day, the score of 30 days ago, the calibration's S) it is the state at T as the
stored times tell it. What they cannot tell: an inquiry reopened after X that was
already resolved at X counts as pending at X (only its last resolution is kept),
and its resolution due time then is the one set when it was reopened. The
Python twin is ``pending_at`` / ``overdue_at`` below.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, and_, case, func, literal, or_, select

from portal.db_types import UTCDateTime
from portal.inquiries.models import Inquiry, InquiryStatus

PENDING = tuple(s.value for s in InquiryStatus.pending())


def _at(moment: datetime):
    return literal(moment, UTCDateTime)


def pending_condition(i, moment: datetime):
    """SQL: the inquiry (columns of ``inquiries`` as ``i``) was pending at ``moment``."""
    return or_(i.c.status.in_(PENDING),
               func.coalesce(i.c.resolved_at, i.c.closed_at) >= _at(moment))


def overdue_condition(i, moment: datetime):
    """SQL: the inquiry's due time at ``moment`` was before it (pending or not: combine
    with ``pending_condition``)."""
    due = case((or_(i.c.first_response_at.is_(None), i.c.first_response_at >= _at(moment)),
                i.c.first_response_due_at), else_=i.c.resolution_due_at)
    return due < _at(moment)


def received_in(i, moment: datetime, window_days: int | dict[int, int]):
    """SQL: received in the window before ``moment``; ``window_days`` one number, or a
    window per service id (one pass for services of different windows)."""
    if isinstance(window_days, dict):
        start = case(*((i.c.service_id == service_id, _at(moment - timedelta(days=days)))
                       for service_id, days in window_days.items()))
    else:
        start = _at(moment - timedelta(days=window_days))
    return and_(i.c.created_at >= start, i.c.created_at < _at(moment))


def friction_counts(service_ids: list[int] | dict[int, int], window_days: int | None,
                    now: datetime, then: datetime | None = None) -> Select:
    """Per (service, resident) of ``service_ids`` (services with the window
    ``window_days``; or a dict service id → its window, ``window_days`` None): the
    inquiries pending at ``now`` and those of them overdue (columns ``service_id``,
    ``resident_id``, ``pending``, ``overdue``), and — with ``then`` (earlier than
    ``now``) — the same at ``then`` (``pending_then``, ``overdue_then``). One grouped
    pass over the inquiries received in the windows; only pairs with a pending
    inquiry at either time come back."""
    i = Inquiry.__table__
    if isinstance(service_ids, dict):
        windows, ids, longest = service_ids, list(service_ids), max(service_ids.values())
    else:
        windows, ids, longest = window_days, list(service_ids), window_days
    earliest = min(now, then or now)
    pending_now = and_(received_in(i, now, windows), pending_condition(i, now))
    columns = [i.c.service_id, i.c.resident_id,
               func.count().filter(pending_now).label("pending"),
               func.count().filter(and_(pending_now, overdue_condition(i, now)))
               .label("overdue")]
    anything = [pending_now]
    if then is not None:
        pending_then = and_(received_in(i, then, windows), pending_condition(i, then))
        columns += [func.count().filter(pending_then).label("pending_then"),
                    func.count().filter(and_(pending_then, overdue_condition(i, then)))
                    .label("overdue_then")]
        anything.append(pending_then)
    return (select(*columns)
            .where(i.c.service_id.in_(ids), i.c.resident_id.is_not(None),
                   i.c.merged_into_id.is_(None),
                   i.c.created_at >= _at(earliest - timedelta(days=longest)),
                   i.c.created_at < _at(now),
                   # resolved before the earlier cut: pending at neither
                   pending_condition(i, earliest))
            .group_by(i.c.service_id, i.c.resident_id)
            .having(or_(*(func.count().filter(c) > 0 for c in anything))))


# -- the Python twins (the tests' reference model) ---------------------------------------

def pending_at(inquiry, moment: datetime, window_days: int) -> bool:
    """Whether ``inquiry`` counts against friction at ``moment`` (see the module)."""
    if inquiry.merged_into_id is not None or inquiry.resident_id is None:
        return False
    if not moment - timedelta(days=window_days) <= inquiry.created_at < moment:
        return False
    if inquiry.status in PENDING:
        return True
    finished = inquiry.resolved_at or inquiry.closed_at
    return finished is not None and finished >= moment


def overdue_at(inquiry, moment: datetime) -> bool:
    if inquiry.first_response_at is None or inquiry.first_response_at >= moment:
        return inquiry.first_response_due_at < moment
    return inquiry.resolution_due_at < moment
