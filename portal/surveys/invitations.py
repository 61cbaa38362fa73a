"""A survey's audience, its invitations and the one reminder.

Audience
    ``audience(survey, criteria, actor=None)`` is a ``Select`` of resident ids: every
    criterion that is filled in must hold (users of a service in the last N days,
    optionally with an engagement band or trend for it; district; age band; language;
    a household with a child under N; external ids from an uploaded CSV). Erased
    (anonymised) residents are never in it.

Who may invite whom
    Managers and admins: any resident, for any survey. Staff: only for surveys of
    their own department, and only residents in scope of their department's services
    — residents who have used one of them, or who have an engagement score for one
    (the residents the recompute holds in scope: users and the eligible). A service
    criterion of another department is refused. ``audience`` applies the limit when
    it is given the ``actor``; ``count_audience`` and ``send_invitations`` always do.

Who is left out
    Without outreach consent, with do-not-contact, without an e-mail address, and
    those already invited to the survey (by e-mail or on My page): each resident is
    counted once, under the first of these reasons, and nobody is invited twice (the
    look-up leaves them out, and the unique (survey, resident) key refuses a second
    row even from two jobs at once). The reminder checks consent and do-not-contact
    again when it is sent.

The link and its token
    The token of an e-mailed invitation is **derived**, not stored: it is
    ``HMAC-SHA256(key, survey id, resident id, salt)`` (base64url, 43 characters),
    where ``key`` is derived from the app's ``SECRET_KEY`` and ``salt`` is 16 random
    bytes (``secrets``) per invitation stored in ``token_salt``. The database keeps only the salt
    (useless without the secret key) and ``token_hash`` = SHA-256 of the token, which
    is what the answer page looks the link up by. The reminder re-derives the same
    token, so the resident's first e-mail and the reminder carry the same working
    link and a half-answered survey resumes from either. (Rotating the token for the
    reminder instead would break the first e-mail's link and its saved answers.)
    Should the secret key change, a re-derived token no longer matches its hash: the
    reminder then gives that invitation a new salt and hash (the old link was
    unusable anyway). Tokens never reach a log or the audit log; the outbox keeps the
    e-mail's body only until it is delivered (``SENSITIVE_PURPOSES``).

Set-based
    The invitations and their outbox rows are written with ``COPY`` on PostgreSQL and
    batched ``executemany`` inserts on SQLite (``BATCH`` rows a statement); the
    subject and body are rendered once per language with place-holders, filled per
    row with the name and the link. The
    reminder marks its invitations with one ``UPDATE … WHERE id IN (…)`` per batch.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Select,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased

from portal.audit.recording import record
from portal.auth.models import Role, User
from portal.db_types import UTCDateTime
from portal.engagement.dashboards import AGE_BANDS
from portal.engagement.explain import BAND_LABELS, TREND_LABELS
from portal.engagement.models import EngagementScore
from portal.extensions import db
from portal.i18n import municipality_name
from portal.i18n_fields import localized
from portal.mail.models import MessageStatus, OutboundMessage
from portal.permissions import can_invite_to_surveys
from portal.residents.models import Resident
from portal.residents.naming import addressed, resident_name
from portal.security import absolute_url
from portal.services.models import Service, UsageEvent
from portal.surveys.models import Invitation, ResponseChannel, Survey, SurveyStatus
from portal.surveys.tokens import token_hash
from portal.timeutil import local_today, local_zone, utcnow

BATCH = 5000
PURPOSE = "survey_invitation"
REMINDER_PURPOSE = "survey_reminder"
MAX_DAYS = 3650
MAX_CSV_IDS = 100_000
MAX_LISTED_UNKNOWN = 50


class InvitationError(ValueError):
    """A request that cannot be carried out; ``str(error)`` is safe to show."""


# -- criteria ---------------------------------------------------------------------------

@dataclass
class Criteria:
    """A segment: every field that is set must hold. Serialisable (``as_dict``) so the
    count step can hand it to the send step and the job."""

    everyone: bool = False  # every resident (within the inviter's limits)
    service_id: int | None = None
    used_within_days: int | None = None  # with service_id; default 365
    band: str | None = None  # with service_id: the engagement band for it
    trend: str | None = None  # with service_id: the engagement trend for it
    district: str | None = None
    age_band: str | None = None
    locale: str | None = None
    child_under: int | None = None  # a household member younger than this
    external_ids: list[str] | None = None

    def is_empty(self) -> bool:
        return not any((self.everyone, self.service_id, self.district, self.age_band, self.locale,
                        self.child_under is not None, self.external_ids is not None))

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and v is not False}

    @classmethod
    def from_dict(cls, data: Any) -> Criteria:
        """Criteria from ``as_dict`` output; anything else raises ``InvitationError``."""
        if not isinstance(data, dict) or set(data) - set(cls.__dataclass_fields__):
            raise InvitationError(_("The audience could not be read. Count it again."))
        if data.get("everyone") not in (None, True, False):
            raise InvitationError(_("The audience could not be read. Count it again."))
        ints = ("service_id", "used_within_days", "child_under")
        texts = ("band", "trend", "district", "age_band", "locale")
        for name in ints:
            value = data.get(name)
            if value is not None and (type(value) is not int or not 0 <= value <= 10**9):
                raise InvitationError(_("The audience could not be read. Count it again."))
        for name in texts:
            value = data.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > 80):
                raise InvitationError(_("The audience could not be read. Count it again."))
        ids = data.get("external_ids")
        if ids is not None and (not isinstance(ids, list) or len(ids) > MAX_CSV_IDS
                                or not all(isinstance(i, str) and len(i) <= 64 for i in ids)):
            raise InvitationError(_("The audience could not be read. Count it again."))
        criteria = cls(**data)
        criteria.check()
        return criteria

    def check(self) -> None:
        if self.is_empty():
            raise InvitationError(_("Choose at least one criterion for the audience."))
        if (self.band or self.trend or self.used_within_days) and not self.service_id:
            raise InvitationError(_("A band, a trend or a number of days needs a service."))
        if self.band and self.band not in BAND_LABELS:
            raise InvitationError(_("Unknown band."))
        if self.trend and self.trend not in TREND_LABELS:
            raise InvitationError(_("Unknown trend."))
        if self.age_band and self.age_band not in {label for label, _lo, _hi in AGE_BANDS}:
            raise InvitationError(_("Unknown age band."))
        if self.used_within_days is not None and not 1 <= self.used_within_days <= MAX_DAYS:
            raise InvitationError(_("The number of days must be from 1 to %(max)s.",
                                    max=MAX_DAYS))
        if self.child_under is not None and not 1 <= self.child_under <= 18:
            raise InvitationError(_("The child's age must be from 1 to 18."))


DEFAULT_USED_WITHIN_DAYS = 365


def _in_department_scope(department_id: int | None):
    """Residents in scope of a department's services: users or scored (eligible)."""
    services = select(Service.id).where(Service.department_id == department_id)
    return or_(
        exists().where(UsageEvent.resident_id == Resident.id,
                       UsageEvent.service_id.in_(services)),
        exists().where(EngagementScore.resident_id == Resident.id,
                       EngagementScore.service_id.in_(services)),
    )


def limited_to_department(actor: User | None) -> bool:
    return actor is not None and actor.role not in (Role.MANAGER, Role.ADMIN)


def audience(survey: Survey, criteria: Criteria, actor: User | None = None, *,
             now: datetime | None = None) -> Select:
    """The resident ids of the segment (erased residents never; staff limited to
    their department's when ``actor`` is given)."""
    now = now or utcnow()
    stmt = select(Resident.id).where(Resident.anonymised_at.is_(None))
    if criteria.service_id:
        days = criteria.used_within_days or DEFAULT_USED_WITHIN_DAYS
        stmt = stmt.where(exists().where(
            UsageEvent.resident_id == Resident.id,
            UsageEvent.service_id == criteria.service_id,
            UsageEvent.occurred_at >= now - timedelta(days=days)))
        if criteria.band or criteria.trend:
            score = [EngagementScore.resident_id == Resident.id,
                     EngagementScore.service_id == criteria.service_id]
            if criteria.band:
                score.append(EngagementScore.band == criteria.band)
            if criteria.trend:
                score.append(EngagementScore.trend == criteria.trend)
            stmt = stmt.where(exists().where(*score))
    if criteria.district:
        stmt = stmt.where(Resident.district == criteria.district)
    if criteria.age_band:
        year = now.astimezone(local_zone()).year
        low, high = next((lo, hi) for label, lo, hi in AGE_BANDS if label == criteria.age_band)
        # age = year - birth_year, as the dashboards count it
        stmt = stmt.where(Resident.birth_year.between(year - high, year - low))
    if criteria.locale:
        stmt = stmt.where(Resident.preferred_locale == criteria.locale)
    if criteria.child_under is not None:
        year = now.astimezone(local_zone()).year
        child = aliased(Resident)
        stmt = stmt.where(Resident.household_id.is_not(None), exists().where(
            child.household_id == Resident.household_id, child.anonymised_at.is_(None),
            child.birth_year > year - criteria.child_under))
    if criteria.external_ids is not None:
        stmt = stmt.where(Resident.external_id.in_(criteria.external_ids or [""]))
    if limited_to_department(actor):
        stmt = stmt.where(_in_department_scope(actor.department_id))
    return stmt


def _authorise(survey: Survey, criteria: Criteria, actor: User | None) -> None:
    if actor is not None and not can_invite_to_surveys(actor, survey):
        raise InvitationError(_("You may invite only to your department's surveys."))
    if limited_to_department(actor) and criteria.service_id:
        department = db.session.scalar(select(Service.department_id)
                                       .where(Service.id == criteria.service_id))
        if department != actor.department_id:
            raise InvitationError(_("You may choose only your department's services."))


def closed_reason(survey: Survey, today=None) -> str | None:
    """Why invitations cannot be sent now (None: they can)."""
    today = today or local_today()
    if survey.status != SurveyStatus.OPEN:
        return _("Invitations can be sent only while the survey is open. Open it first.")
    if survey.closes_on is not None and survey.closes_on < today:
        return _("The survey's closing date has passed.")
    if survey.opens_on is not None and survey.opens_on > today:
        return _("The survey opens on %(date)s; invitations can be sent from then.",
                 date=format_date(survey.opens_on))
    return None


# -- the count step ---------------------------------------------------------------------

@dataclass
class AudienceCount:
    matched: int = 0
    no_consent: int = 0
    do_not_contact: int = 0
    no_email: int = 0
    already_invited: int = 0
    to_invite: int = 0
    unknown_ids: list[str] = field(default_factory=list)
    unknown_count: int = 0


def _has_email():
    return and_(Resident.email.is_not(None), Resident.email != "")


def _already_invited(survey_id: int):
    return exists().where(Invitation.survey_id == survey_id,
                          Invitation.resident_id == Resident.id)


def _reachable():
    return and_(Resident.consent_outreach.is_(True), Resident.do_not_contact.is_(False),
                _has_email(), Resident.anonymised_at.is_(None))


def count_audience(survey: Survey, criteria: Criteria, *, actor: User | None,
                   now: datetime | None = None) -> AudienceCount:
    """The segment's size and what leaves whom out (one query, plus one for unknown
    CSV ids). Each resident is counted once, under the first reason."""
    criteria.check()
    _authorise(survey, criteria, actor)
    ids = audience(survey, criteria, actor, now=now).subquery()
    reason = case(
        (Resident.consent_outreach.is_not(True), "no_consent"),
        (Resident.do_not_contact.is_(True), "do_not_contact"),
        (~_has_email(), "no_email"),
        (_already_invited(survey.id), "already_invited"),
        else_="to_invite")
    rows = db.session.execute(
        select(reason, func.count()).select_from(Resident)
        .where(Resident.id.in_(select(ids.c.id))).group_by(reason)).all()
    result = AudienceCount(**dict(rows))
    result.matched = sum(n for _key, n in rows)
    if criteria.external_ids:
        known = set(db.session.scalars(select(Resident.external_id).where(
            Resident.external_id.in_(criteria.external_ids),
            Resident.anonymised_at.is_(None))))
        unknown = [i for i in criteria.external_ids if i not in known]
        result.unknown_count = len(unknown)
        result.unknown_ids = unknown[:MAX_LISTED_UNKNOWN]
    return result


# -- CSV of external ids ----------------------------------------------------------------

@dataclass
class CsvProblem:
    row: int  # the line number; the header is row 1
    message: str


class CsvRejected(InvitationError):
    def __init__(self, problems: list[CsvProblem]) -> None:
        super().__init__("; ".join(f"{p.row}: {p.message}" for p in problems))
        self.problems = problems


def read_external_ids(content: bytes) -> list[str]:
    """The ids of a CSV with one column ``external_id`` (UTF-8 with or without BOM,
    or Shift_JIS), in file order without repeats; ``CsvRejected`` lists every bad row."""
    text = None
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise CsvRejected([CsvProblem(1, _("the file is not UTF-8 or Shift_JIS text"))])
    if "\x00" in text:
        raise CsvRejected([CsvProblem(1, _("the file contains NUL characters"))])
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise CsvRejected([CsvProblem(1, _("the file is empty"))])
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise CsvRejected([CsvProblem(1, _("the file cannot be read as CSV: %(detail)s",
                                           detail=str(exc)))]) from exc
    header = [h.strip() for h in rows[0]]
    if header != ["external_id"]:
        raise CsvRejected([CsvProblem(1, _(
            "the first row must be the single column name external_id (found: %(found)s)",
            found=", ".join(header) or "—"))])
    problems: list[CsvProblem] = []
    ids: dict[str, None] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not row or all(not v.strip() for v in row):
            if len(row) > 1:
                problems.append(CsvProblem(number, _("the row has no external id")))
            continue  # a blank line
        if len(row) > 1:
            problems.append(CsvProblem(number, _(
                "the row has %(found)s values; only one (the external id) is expected",
                found=len(row))))
            continue
        value = row[0].strip()
        if not value:
            problems.append(CsvProblem(number, _("the row has no external id")))
        elif len(value) > 64:
            problems.append(CsvProblem(number, _("the external id is longer than 64 "
                                                 "characters")))
        else:
            ids.setdefault(value)
    if not problems and not ids:
        problems.append(CsvProblem(1, _("the file has a header but no ids")))
    if len(ids) > MAX_CSV_IDS:
        problems.append(CsvProblem(1, _("the file has more than %(max)s ids",
                                        max=MAX_CSV_IDS)))
    if problems:
        raise CsvRejected(problems)
    return list(ids)


# -- links and tokens -------------------------------------------------------------------

def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, b"portal.surveys.invitation-token", hashlib.sha256).digest()


def new_salt() -> str:
    """16 random bytes, as 32 hex digits."""
    return secrets.token_hex(16)


def new_salts(n: int) -> list[str]:
    """``n`` salts from one call to the system's random source."""
    pool = secrets.token_hex(16 * n)
    return [pool[i:i + 32] for i in range(0, 32 * n, 32)]


def invitation_token(survey_id: int, resident_id: int, salt: str, key: bytes | None = None) -> str:
    """The link's token, re-derivable with the secret key (see the module docstring)."""
    message = f"survey-invitation\x00{survey_id}\x00{resident_id}\x00{salt}".encode()
    digest = hmac.digest(key or _key(), message, "sha256")
    return base64.urlsafe_b64encode(digest)[:43].decode()


def invitation_url(token: str) -> str:
    """The absolute link of an invitation, on ``PORTAL_BASE_URL`` (as password-reset
    links are), to the answer page ``surveys.by_invitation`` (``/surveys/i/<token>``)."""
    return absolute_url("surveys.by_invitation", token=token)


def _link_prefix() -> tuple[str, str]:
    """The link with a marker where the token goes: built once per run."""
    marker = "TOKEN0MARKER"
    url = invitation_url(marker)
    before, _marker, after = url.partition(marker)
    return before, after


# -- rendering, once per language -------------------------------------------------------

NAME = "\x00name\x00"
LINK = "\x00link\x00"


def _locale_of(value: str | None) -> str:
    locales = current_app.config["LOCALES"]
    if value in locales:
        return value
    language = (value or "").split("_", 1)[0].split("-", 1)[0]
    return language if language in locales else current_app.config["DEFAULT_LOCALE"]


def _templates(survey: Survey, locale: str, expires_at: datetime, *,
               reminder: bool) -> tuple[str, str, str]:
    """(subject, body, addressed name) of one language, with NAME and LINK markers."""
    with force_locale(locale):
        city = municipality_name(locale)
        title = localized(survey, "title", locale) or _("Survey")
        until = format_date(expires_at.astimezone(local_zone()).date(), "long")
        if reminder:
            subject = _("Reminder: %(title)s", title=title)
            body = _(
                "%(name)s\n\nA few days ago %(city)s asked for your opinion in the survey "
                "“%(title)s”. If you have not had time yet, you can still answer with "
                "this link until %(date)s:\n\n%(link)s\n\nIt takes a few minutes. If you "
                "have already answered, thank you, and please ignore this e-mail.\n\n"
                "This is the only reminder. You can stop e-mails like this in your "
                "contact preferences on the resident portal.\n",
                name=NAME, city=city, title=title, date=until, link=LINK)
        else:
            subject = _("%(city)s would like your opinion: %(title)s", city=city, title=title)
            body = _(
                "%(name)s\n\n%(city)s invites you to answer the survey “%(title)s”. "
                "Your answers help us improve our services.\n\nAnswer with this "
                "personal link until %(date)s:\n\n%(link)s\n\nThe link is for you only; "
                "please do not forward it. You can save your answers and continue later "
                "with the same link.\n\nYou can stop e-mails like this in your contact "
                "preferences on the resident portal.\n",
                name=NAME, city=city, title=title, date=until, link=LINK)
        greeting = addressed(NAME)
    return subject, body, greeting


class _Renderer:
    """Subject and body rendered once per language (and expiry), split around the
    name and the link, then joined per row."""

    def __init__(self, survey: Survey, *, reminder: bool) -> None:
        self.survey = survey
        self.reminder = reminder
        self.cache: dict[tuple[str | None, datetime], tuple] = {}
        self.before, self.after = _link_prefix()

    def _parts(self, preferred: str | None, expires_at: datetime) -> tuple:
        locale = _locale_of(preferred)
        subject, body, greeting = _templates(self.survey, locale, expires_at,
                                             reminder=self.reminder)
        head, rest = body.split(NAME, 1)
        middle, tail = rest.split(LINK, 1)
        g_head, g_tail = greeting.split(NAME, 1)
        return (locale, subject, head, middle + self.before, self.after + tail, g_head, g_tail)

    def message(self, row: Any, token: str, expires_at: datetime) -> dict[str, Any]:
        key = (row.preferred_locale, expires_at)
        parts = self.cache.get(key)
        if parts is None:
            parts = self.cache[key] = self._parts(row.preferred_locale, expires_at)
        locale, subject, head, middle, tail, g_head, g_tail = parts
        name = resident_name(row, locale)
        text = (head + g_head + name + g_tail + middle + token + tail if name
                else (head + middle + token + tail).lstrip("\n"))
        return {"locale": locale, "subject": subject, "body_text": text}


def _outbox_row(rendered: dict[str, Any], to: str, purpose: str, user_id: int | None,
                now: Any) -> dict[str, Any]:
    return {"channel": "email", "to_address": to, "subject": rendered["subject"][:300],
            "body_text": rendered["body_text"], "locale": rendered["locale"],
            "purpose": purpose, "user_id": user_id, "status": MessageStatus.QUEUED.value,
            "attempts": 0, "next_attempt_at": now, "created_at": now}


def _db_time(value: datetime) -> Any:
    """``value`` as the database driver takes it (converted once, not once a row)."""
    dialect = db.session.get_bind().dialect
    # the full chain: UTCDateTime's own step, then the dialect's (SQLite: the string)
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process else value


def _insert_many(table: Table, rows: list[dict[str, Any]]) -> None:
    """Batched ``executemany`` INSERTs (``BATCH`` rows a statement) of rows whose
    values are already in the form the driver takes (``_db_time``), handed to the
    driver as tuples: no per-row type conversion, defaults or parameter dictionaries,
    which at 50 000 rows cost more than the database's own work."""
    if not rows:
        return
    # the names are our own and must be the table's columns (a KeyError otherwise)
    columns = [table.c[name].name for name in rows[0]]
    mark = "?" if db.session.get_bind().dialect.paramstyle == "qmark" else "%s"
    statement = (f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608
                 f"VALUES ({', '.join([mark] * len(columns))})")
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # COPY, in the session's transaction, as the events importer does: about a
        # third of the time of batched INSERTs for 50 000 invitations and e-mails
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(
                f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row.values()))
        return
    for batch in _batches(rows):
        connection.exec_driver_sql(statement, [tuple(row.values()) for row in batch])


def _batches(rows: list[dict[str, Any]], size: int = BATCH) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _lock(survey: Survey) -> None:
    """Serialise invitation work on one survey (PostgreSQL: a row lock until commit;
    SQLite has a single writer)."""
    db.session.execute(select(Survey.id).where(Survey.id == survey.id).with_for_update())


# -- sending ----------------------------------------------------------------------------

@dataclass
class SendResult:
    invited: int
    count: AudienceCount | None = None


def send_invitations(survey: Survey, criteria: Criteria, *, actor: User | None,
                     now: datetime | None = None) -> SendResult:
    """Invite every reachable, not yet invited resident of the segment by e-mail:
    invitations and outbox rows in batches. Flushes and audits; the caller commits
    (and then dispatches the outbox)."""
    now = now or utcnow()
    criteria.check()
    _authorise(survey, criteria, actor)
    reason = closed_reason(survey, now.astimezone(local_zone()).date())
    if reason:
        raise InvitationError(reason)
    _lock(survey)
    ids = audience(survey, criteria, actor, now=now).subquery()
    # Core rows (no ORM loading step): 50 000 of them are read in one go
    rows = db.session.connection().execute(
        select(Resident.id, Resident.user_id, Resident.email, Resident.preferred_locale,
               Resident.family_name, Resident.given_name, Resident.name_latin)
        .where(Resident.id.in_(select(ids.c.id)), _reachable(),
               ~_already_invited(survey.id))
        .order_by(Resident.id)).all()
    expires_at = now + timedelta(days=survey.invitation_valid_days or 30)
    key = _key()
    renderer = _Renderer(survey, reminder=False)
    actor_id = actor.id if actor else None
    stamp, until = _db_time(now), _db_time(expires_at)
    channel = ResponseChannel.EMAIL.value
    invitations, messages = [], []
    for row, salt in zip(rows, new_salts(len(rows)), strict=True):
        token = invitation_token(survey.id, row.id, salt, key)
        invitations.append({
            "survey_id": survey.id, "resident_id": row.id, "token_hash": token_hash(token),
            "token_salt": salt, "channel": channel, "expires_at": until,
            "created_at": stamp, "created_by_id": actor_id, "sent_at": stamp})
        messages.append(_outbox_row(renderer.message(row, token, expires_at), row.email,
                                    PURPOSE, row.user_id, stamp))
    db.session.flush()
    _insert_many(Invitation.__table__, invitations)
    _insert_many(OutboundMessage.__table__, messages)
    record("survey.invitations_sent", actor=actor, target=survey,
           summary="Survey invitations sent",
           data={"invited": len(invitations), "criteria": _audit_criteria(criteria)})
    return SendResult(invited=len(invitations))


def _audit_criteria(criteria: Criteria) -> dict[str, Any]:
    data = criteria.as_dict()
    if "external_ids" in data:  # the list may be long: its size says enough
        data["external_ids"] = len(data["external_ids"])
    return data


# -- the reminder -----------------------------------------------------------------------

def send_reminders(survey: Survey, *, actor: User | None = None,
                   now: datetime | None = None) -> int:
    """One reminder, with the same link, to the e-mailed invitations of ``survey``
    not completed, not expired, sent at least ``reminder_after_days`` days ago and not
    reminded yet, whose resident still consents and may be contacted. Flushes and
    audits (when any is sent); the caller commits. Returns how many were sent."""
    now = now or utcnow()
    if not survey.reminder_after_days or closed_reason(
            survey, now.astimezone(local_zone()).date()):
        return 0
    _lock(survey)
    rows = db.session.execute(
        select(Invitation.id, Invitation.resident_id, Invitation.token_salt,
               Invitation.token_hash, Invitation.expires_at, Resident.user_id,
               Resident.email, Resident.preferred_locale, Resident.family_name,
               Resident.given_name, Resident.name_latin)
        .join(Resident, Resident.id == Invitation.resident_id)
        .where(Invitation.survey_id == survey.id, Invitation.completed_at.is_(None),
               Invitation.reminded_at.is_(None), Invitation.token_salt.is_not(None),
               Invitation.sent_at <= now - timedelta(days=survey.reminder_after_days),
               or_(Invitation.expires_at.is_(None), Invitation.expires_at > now),
               _reachable())
        .order_by(Invitation.id)).all()
    if not rows:
        return 0
    key = _key()
    renderer = _Renderer(survey, reminder=True)
    stamp = _db_time(now)
    messages, rotated = [], []
    for row in rows:
        token = invitation_token(survey.id, row.resident_id, row.token_salt, key)
        if token_hash(token) != row.token_hash:  # the secret key changed since
            salt = new_salt()
            token = invitation_token(survey.id, row.resident_id, salt, key)
            rotated.append({"b_id": row.id, "salt": salt, "hash": token_hash(token)})
        expires_at = row.expires_at or now + timedelta(days=survey.invitation_valid_days)
        messages.append(_outbox_row(renderer.message(row, token, expires_at), row.email,
                                    REMINDER_PURPOSE, row.user_id, stamp))
    if rotated:
        table = Invitation.__table__
        db.session.execute(
            update(table).where(table.c.id == bindparam("b_id"))
            .values(token_salt=bindparam("salt"), token_hash=bindparam("hash"))
            .execution_options(synchronize_session=False), rotated)
    ids = [row.id for row in rows]
    for start in range(0, len(ids), BATCH):
        db.session.execute(update(Invitation).where(Invitation.id.in_(ids[start:start + BATCH]))
                           .values(reminded_at=now).execution_options(
                               synchronize_session=False))
    _insert_many(OutboundMessage.__table__, messages)
    record("survey.reminders_sent", actor=actor, target=survey,
           summary="Survey reminders sent", data={"reminded": len(rows)})
    return len(rows)


def surveys_due_for_reminders(now: datetime | None = None) -> list[int]:
    """Open surveys with a reminder set (the daily job visits each)."""
    return list(db.session.scalars(select(Survey.id).where(
        Survey.status == SurveyStatus.OPEN, Survey.reminder_after_days.is_not(None))
        .order_by(Survey.id)))


# -- the figures of the page ------------------------------------------------------------

COUNT_LABELS = {
    "invited": _l("Invited"),
    "sent": _l("E-mails sent"),
    "reminded": _l("Reminded"),
    "started": _l("Started"),
    "completed": _l("Completed"),
    "expired": _l("Expired"),
}


def invitation_counts(survey: Survey, now: datetime | None = None) -> dict[str, int]:
    """The invitations so far (one query). ``expired``: past expiry, not completed."""
    now = now or utcnow()
    row = db.session.execute(select(
        func.count(),
        func.count(Invitation.sent_at),
        func.count(Invitation.reminded_at),
        func.count(Invitation.started_at),
        func.count(Invitation.completed_at),
        func.coalesce(func.sum(case((and_(Invitation.completed_at.is_(None),
                                          Invitation.expires_at <= now), 1), else_=0)), 0),
    ).where(Invitation.survey_id == survey.id)).one()
    return dict(zip(COUNT_LABELS, (int(n or 0) for n in row), strict=True))


def department_services(actor: User) -> list[Service]:
    """The services an inviter may choose from."""
    stmt = select(Service).order_by(Service.slug)
    if limited_to_department(actor):
        stmt = stmt.where(Service.department_id == actor.department_id)
    return list(db.session.scalars(stmt))

