"""Everything the portal holds about one resident, as a ZIP of JSON and CSV."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select

from portal import csvsafe
from portal.audit.models import AuditEntry
from portal.audit.recording import record
from portal.auth.models import User
from portal.extensions import db
from portal.i18n_fields import localized
from portal.mail.models import OutboundMessage
from portal.residents.models import Resident
from portal.services.models import Service, UsageEvent
from portal.timeutil import local_zone, utcnow

RESIDENT_FIELDS = (
    "external_id", "family_name", "given_name", "family_name_kana", "given_name_kana",
    "name_latin", "email", "phone", "postal_code", "address", "district", "birth_year",
    "preferred_locale", "preferred_channels", "consent_outreach", "consent_profiling",
    "do_not_contact",
)


def _local(moment) -> str | None:
    return moment.astimezone(local_zone()).isoformat() if moment else None


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: opens right in Excel


def build_export(*, resident: Resident, user: User) -> bytes:
    """The ZIP file; writes an audit entry (the resident read their own data)."""
    locale = resident.preferred_locale or user.locale or current_app.config["DEFAULT_LOCALE"]
    services = {s.id: s for s in db.session.scalars(select(Service))}
    events = db.session.scalars(select(UsageEvent).where(UsageEvent.resident_id == resident.id)
                                .order_by(UsageEvent.occurred_at)).all()
    messages = db.session.scalars(select(OutboundMessage).where(
        OutboundMessage.user_id == user.id).order_by(OutboundMessage.created_at)).all()
    accesses = db.session.scalars(select(AuditEntry).where(or_(
        (AuditEntry.target_type == "residents") & (AuditEntry.target_id == str(resident.id)),
        (AuditEntry.target_type == "users") & (AuditEntry.target_id == str(user.id))))
        .order_by(AuditEntry.occurred_at)).all()
    household_size = 0
    if resident.household_id is not None:
        household_size = len(db.session.scalars(select(Resident.id).where(
            Resident.household_id == resident.household_id)).all())

    profile = {
        "exported_at": _local(utcnow()),
        "account": {"email": user.email, "display_name": user.display_name,
                    "language": user.locale, "created_at": _local(user.created_at),
                    "last_login_at": _local(user.last_login_at)},
        "resident": {field: getattr(resident, field) for field in RESIDENT_FIELDS},
        "household": {"members": household_size} if household_size else None,
    }
    with force_locale(locale):
        event_rows = [[_local(e.occurred_at), services[e.service_id].slug,
                       localized(services[e.service_id], "name", locale), e.kind, e.channel,
                       e.source, e.note or ""] for e in events]
        readme = _(
            "Your data from the resident portal\n\n"
            "profile.json - your account, your resident record, your preferences and "
            "consents.\nusage_events.csv and usage_events.json - every recorded use of a "
            "city service.\nmessages.csv - e-mails the portal sent you.\naccess_log.csv - "
            "when your record was viewed or changed, and by which role.\n\n"
            "Times are in the time zone %(zone)s.\n", zone=str(local_zone()))
    message_rows = [[_local(m.created_at), m.subject, m.status, _local(m.sent_at)]
                    for m in messages]
    access_rows = [[_local(a.occurred_at), a.action, a.summary,
                    "staff" if a.actor_id and a.actor_id != user.id else
                    ("you" if a.actor_id == user.id else "system")] for a in accesses]

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme)
        archive.writestr("profile.json", json.dumps(profile, ensure_ascii=False, indent=2))
        header = ["occurred_at", "service", "service_name", "kind", "channel", "source", "note"]
        archive.writestr("usage_events.csv", _csv(header, event_rows))
        archive.writestr("usage_events.json", json.dumps(
            [dict(zip(header, row, strict=True)) for row in event_rows], ensure_ascii=False,
            indent=2))
        archive.writestr("messages.csv", _csv(["created_at", "subject", "status", "sent_at"],
                                              message_rows))
        archive.writestr("access_log.csv", _csv(["time", "action", "summary", "by"],
                                                access_rows))
    record("resident.export", actor=user, target=resident, summary="Resident downloaded their data",
           data={"events": len(events)})
    return buffer.getvalue()
