"""What other features read from inquiries (STYLE.md 5b): selectables, which the
playbooks (issue 11) compose into their own statements. Nothing here runs a query
by itself.

``overdue_inquiries`` is the playbooks' "overdue inquiry" trigger input.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select

from portal.inquiries.models import Inquiry, InquiryStatus
from portal.residents.models import Resident
from portal.timeutil import utcnow


def overdue_inquiries(now: datetime | None = None) -> Select:
    """One row per inquiry that is still pending (new, open or waiting for the
    resident), has a resident and whose next due time (``Inquiry.due_at``: the first
    response until there is one, then the resolution) has passed: columns
    ``inquiry_id``, ``resident_id``, ``service_id`` (NULL while nobody has routed an
    "I don't know" inquiry), ``department_id``, ``due_at`` and ``overdue_since``
    (the same instant as ``due_at``: the moment it became overdue, for a trigger
    that waits N hours after it).

    Merged duplicates are closed, so never here; erased (anonymised) residents are
    left out. Consent to outreach is for the playbook's message step to check, as
    for every other trigger. Reads the indexed ``due_at`` column only."""
    i, r = Inquiry.__table__, Resident.__table__
    now = now or utcnow()
    return (select(i.c.id.label("inquiry_id"), i.c.resident_id.label("resident_id"),
                   i.c.service_id.label("service_id"), i.c.department_id.label("department_id"),
                   i.c.due_at.label("due_at"), i.c.due_at.label("overdue_since"))
            .select_from(i.join(r, r.c.id == i.c.resident_id))
            .where(i.c.status.in_([s.value for s in InquiryStatus.pending()]),
                   i.c.due_at.is_not(None), i.c.due_at < now, r.c.anonymised_at.is_(None)))
