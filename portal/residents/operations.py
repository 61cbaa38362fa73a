"""Changing resident records: profile and preferences, erasure at the resident's
request, linking an account to the register and unlinking it, merging duplicates.
Every change is audited; the caller commits."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, delete, select, update

from portal.audit.models import AuditEntry
from portal.audit.recording import record
from portal.auth.models import Role, User
from portal.engagement.scoring import forget_resident
from portal.extensions import db
from portal.mail.models import OutboundMessage
from portal.residents.models import Resident
from portal.residents.names import normalise_field, resident_name
from portal.services.models import UsageEvent
from portal.timeutil import utcnow

PROFILE_FIELDS = (
    "family_name", "given_name", "family_name_kana", "given_name_kana", "name_latin", "email",
    "phone", "postal_code", "address", "district", "birth_year", "preferred_locale",
    "preferred_channels", "consent_outreach", "consent_profiling", "do_not_contact",
)
CONSENT_FIELDS = ("consent_outreach", "consent_profiling", "do_not_contact")
CONTACT_CHANNELS = ("email", "letter", "phone")
NAME_FIELDS = ("family_name", "given_name", "family_name_kana", "given_name_kana", "name_latin")
#: personal data a resident may supply; blanked on a register record when they leave
PERSONAL_FIELDS = (*NAME_FIELDS, "email", "phone", "postal_code", "address", "district",
                   "birth_year")
#: fields stored as NULL when left empty
NULLABLE_FIELDS = ("email", "phone", "postal_code", "address", "district")
#: how staff checked a resident's identity before linking their account
IDENTITY_CHECKS = ("my_number_card", "driving_licence", "passport", "residence_card", "other")
CONTACT_LABELS = {"email": _l("E-mail"), "letter": _l("Letter"), "phone": _l("Phone")}


class ResidentError(ValueError):
    """A request that cannot be carried out; ``str(error)`` is safe to show."""


def update_profile(*, actor: User, resident: Resident, values: dict[str, Any]) -> list[str]:
    """Apply the given fields; audit which changed (consents with old and new value).
    What the resident changes themselves is marked as theirs (``self_supplied``)."""
    changed, consents = [], {}
    for field in PROFILE_FIELDS:
        if field not in values:
            continue
        value = values[field]
        if isinstance(value, str):
            value = value.strip() or (None if field in NULLABLE_FIELDS else "")
        if field in NAME_FIELDS and isinstance(value, str):
            value = normalise_field(field, value)
        if getattr(resident, field) != value:
            if field in CONSENT_FIELDS:
                consents[field] = [getattr(resident, field), value]
            setattr(resident, field, value)
            changed.append(field)
    if changed:
        if resident.user_id is not None and actor.id == resident.user_id:
            resident.self_supplied = sorted({*resident.self_supplied, *changed})
        db.session.flush()
        if consents.get("consent_profiling") == [True, False]:
            forget_resident(resident.id)  # no scores without consent, old ones included
        record("resident.update", actor=actor, target=resident,
               summary=f"Changed {', '.join(changed)}",
               data={"fields": changed, "consents": consents or None})
    return changed


def erase(*, resident: Resident, user: User | None) -> None:
    """Delete the account and erase the resident's personal data.

    A register record (one with an external id) is the municipality's, not the
    account's: it stays, loses the account and only what the resident supplied
    (see ``_take_off_self_supplied``); the departments' usage records stay as they are.

    Any other record is erased. What stays, for statistics only: the anonymised
    record (district, birth decade) and its usage events without notes. The audit
    log keeps its entries but loses the e-mail address; messages to the resident are
    deleted.
    """
    resident_id = resident.id
    if resident.external_id is not None:
        fields = _take_off_self_supplied(resident)
        resident.user_id = resident.linked_by_id = resident.linked_at = None
        if user is not None:
            _delete_account(user)
        db.session.flush()
        record("resident.erase", actor=None, target=("residents", resident_id),
               summary="Account deleted; the register record lost the account and what the "
                       "resident supplied", data={"kept_register_record": True, "fields": fields})
        return
    resident.family_name = resident.given_name = ""
    resident.family_name_kana = resident.given_name_kana = resident.name_latin = ""
    resident.email = resident.phone = resident.external_id = None
    resident.postal_code = resident.address = None
    resident.birth_year = resident.birth_year // 10 * 10 if resident.birth_year else None
    resident.household_id = None
    resident.preferred_channels = []
    resident.consent_outreach = resident.consent_profiling = False
    resident.do_not_contact = True
    resident.user_id = None
    resident.self_supplied = []
    resident.anonymised_at = utcnow()
    # keys may carry the sender's own numbering (register numbers …): replace them
    db.session.execute(update(UsageEvent).where(UsageEvent.resident_id == resident_id)
                       .values(note=None, idempotency_key="erased-" + cast(UsageEvent.id,
                                                                           String)))
    forget_resident(resident_id)
    if user is not None:
        _delete_account(user)
    db.session.flush()
    record("resident.erase", actor=None, target=("residents", resident_id),
           summary="Account deleted and personal data erased at the resident's request")


def _delete_account(user: User) -> None:
    # only the account's own messages: a contact address is not proof of ownership
    db.session.execute(delete(OutboundMessage).where(OutboundMessage.user_id == user.id))
    db.session.execute(update(AuditEntry).where(AuditEntry.actor_id == user.id)
                       .values(actor_label="(deleted account)"))
    # failed sign-ins at this account keep the address that was tried
    db.session.execute(update(AuditEntry).where(
        AuditEntry.action == "auth.login_failed", AuditEntry.target_type == "users",
        AuditEntry.target_id == str(user.id)).values(data={"email": "(deleted)"}))
    db.session.delete(user)


def _take_off_self_supplied(resident: Resident) -> list[str]:
    """Remove from a register record what its account's owner supplied: the personal
    fields they gave (blanked; the next register import fills in the register's own
    values), their contact channels, and their consents to outreach and profiling
    (turned off, never left on by someone who is no longer there to withdraw them).
    Returns the personal fields blanked."""
    supplied = set(resident.self_supplied)
    fields = sorted(supplied & set(PERSONAL_FIELDS))
    for field in fields:
        setattr(resident, field, "" if field in NAME_FIELDS else None)
    if "preferred_channels" in supplied:
        resident.preferred_channels = []
    if supplied & {"consent_outreach", "consent_profiling"}:
        resident.consent_outreach = resident.consent_profiling = False
    resident.self_supplied = []
    if not resident.consent_profiling:
        forget_resident(resident.id)
    return fields


def _locked(resident: Resident) -> Resident:
    """The record re-read under a row lock (PostgreSQL), so two members of staff
    linking at once cannot both see it without an account."""
    return db.session.scalars(select(Resident).where(Resident.id == resident.id)
                              .with_for_update()
                              .execution_options(populate_existing=True)).one()


def link_account(*, actor: User, resident: Resident, user: User, identity_method: str,
                 identity_note: str = "") -> Resident:
    """Attach a resident's login to this register record, after staff checked the
    resident's identity (how goes into the audit entry). A self-registered record of
    the same account is merged into it (the resident's own preferences win)."""
    if identity_method not in IDENTITY_CHECKS:
        raise ResidentError(_("Say how you checked the resident's identity."))
    resident = _locked(resident)
    if resident.anonymised_at is not None:
        raise ResidentError(_("This record was erased at the resident's request."))
    if user.role != Role.RESIDENT:
        raise ResidentError(_("Only resident accounts can be linked to a resident record."))
    if resident.user_id == user.id:
        raise ResidentError(_("This account is already linked to this record."))
    if resident.user_id is not None:
        raise ResidentError(_("This record is already linked to another account."))
    current = db.session.scalar(select(Resident).where(Resident.user_id == user.id))
    if current is not None and current.external_id is not None:
        raise ResidentError(_("This account is already linked to register record %(id)s.",
                              id=current.external_id))
    if current is not None:
        _merge(actor=actor, keep=resident, drop=current, prefer_dropped_preferences=True)
        if not resident.consent_profiling:
            forget_resident(resident.id)  # the resident's own "no" applies to the record
    resident.user_id = user.id
    resident.linked_by_id = actor.id
    resident.linked_at = utcnow()
    db.session.flush()
    record("resident.link", actor=actor, target=resident,
           summary=f"Linked account {user.id} to resident {resident.id} after an identity "
                   f"check ({identity_method})",
           data={"user_id": user.id, "merged_record": current.id if current else None,
                 "identity_check": {"method": identity_method,
                                    "note": (identity_note or "").strip()}})
    return resident


def unlink_account(*, actor: User, resident: Resident, reason: str) -> Resident:
    """Take the account off a register record (a wrong link). The account gets a record
    of its own again holding what the resident supplied; the register record keeps the
    register's data and its usage history. Returns the account's new record."""
    resident = _locked(resident)
    if resident.user_id is None:
        raise ResidentError(_("No account is linked to this record."))
    if resident.external_id is None:
        raise ResidentError(_("This is the account's own record; it is not linked to a "
                              "register record."))
    user = resident.user
    supplied = set(resident.self_supplied)
    own = Resident(given_name=resident_name(user.display_name), email=user.email,
                   preferred_locale=user.locale or resident.preferred_locale,
                   preferred_channels=["email"], consent_outreach=False,
                   consent_profiling=False)
    for field in sorted(supplied & {*PERSONAL_FIELDS, "preferred_locale", "preferred_channels",
                                    *CONSENT_FIELDS}):
        setattr(own, field, getattr(resident, field))
    own.self_supplied = sorted(supplied | {"given_name", "email"})
    fields = _take_off_self_supplied(resident)
    resident.user_id = resident.linked_by_id = resident.linked_at = None
    db.session.flush()  # frees the account for its own record
    own.user_id = user.id
    db.session.add(own)
    db.session.flush()
    record("resident.unlink", actor=actor, target=resident,
           summary=f"Unlinked account {user.id} from resident {resident.id}",
           data={"user_id": user.id, "reason": reason.strip(), "own_record": own.id,
                 "fields": fields})
    return own


def merge(*, actor: User, keep: Resident, drop: Resident) -> Resident:
    """Merge the duplicate ``drop`` into ``keep`` and delete ``drop``."""
    if keep.id == drop.id:
        raise ResidentError(_("A record cannot be merged with itself."))
    if keep.anonymised_at is not None or drop.anonymised_at is not None:
        raise ResidentError(_("This record was erased at the resident's request."))
    if keep.user_id and drop.user_id:
        raise ResidentError(_("Both records are linked to accounts; unlink one first."))
    if keep.external_id and drop.external_id:
        raise ResidentError(_("Both records come from the municipal register (%(a)s and "
                              "%(b)s); correct the register instead.",
                              a=keep.external_id, b=drop.external_id))
    if (keep.user_id and drop.external_id) or (drop.user_id and keep.external_id):
        raise ResidentError(_("Merging would give a resident's account a register record. "
                              "Link the account instead (with an identity check)."))
    drop_id = drop.id
    _merge(actor=actor, keep=keep, drop=drop, prefer_dropped_preferences=False)
    record("resident.merge", actor=actor, target=keep,
           summary=f"Merged resident {drop_id} into {keep.id}", data={"merged": drop_id})
    return keep


def _merge(*, actor: User, keep: Resident, drop: Resident,
           prefer_dropped_preferences: bool) -> None:
    """Move history and fill gaps; one UPDATE for all the events."""
    db.session.execute(update(UsageEvent).where(UsageEvent.resident_id == drop.id)
                       .values(resident_id=keep.id))
    forget_resident(drop.id)  # its scores are recomputed under the kept record
    supplied = set(keep.self_supplied)
    for field in (*PERSONAL_FIELDS, "household_id"):
        if not getattr(keep, field) and getattr(drop, field):
            setattr(keep, field, getattr(drop, field))
            if field in drop.self_supplied:
                supplied.add(field)
    if prefer_dropped_preferences:
        for field in ("preferred_locale", "preferred_channels", *CONSENT_FIELDS):
            setattr(keep, field, getattr(drop, field))
            supplied.add(field)
    keep.self_supplied = sorted(supplied)
    user_id, external_id = drop.user_id, drop.external_id
    drop.user_id = None  # free the unique values before the kept record takes them
    drop.external_id = None
    db.session.flush()
    if keep.user_id is None and user_id is not None:
        keep.user_id = user_id
    if keep.external_id is None and external_id is not None:
        keep.external_id = external_id
    db.session.delete(drop)
    db.session.flush()
