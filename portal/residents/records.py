"""Reading resident records: My page, the 360° view, search. Set-based: a page's
query count does not grow with the resident's history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, String, cast, func, literal, null, or_, select, union_all

from portal.auth.models import User
from portal.extensions import db
from portal.residents.models import LifeEvent, Resident
from portal.residents.names import normalise_query
from portal.services.eligibility import is_eligible
from portal.services.models import Service, UsageEvent
from portal.services.scope import scope_usage
from portal.timeutil import local_day_start, local_today


def resident_for_user(user: User) -> Resident | None:
    return db.session.scalar(select(Resident).where(Resident.user_id == user.id))


def name_conditions(text: str | None, *, contact: bool = True) -> list:
    """One condition per search word: the word appears in a name (kanji, kana, either
    order of family and given name, Latin letters), the register number or, with
    ``contact``, the e-mail address or phone number."""
    columns = [
        Resident.family_name, Resident.given_name, Resident.family_name_kana,
        Resident.given_name_kana, Resident.name_latin, Resident.external_id,
        Resident.family_name + Resident.given_name,
        Resident.family_name_kana + Resident.given_name_kana,
    ]
    if contact:
        columns += [Resident.email, Resident.phone]
    return [or_(*(func.lower(column).like(f"%{word}%") for column in columns))
            for word in normalise_query(text or "")]


def search_residents(text: str | None = None, district: str | None = None) -> Select:
    stmt = select(Resident).where(Resident.anonymised_at.is_(None), *name_conditions(text))
    if district:
        stmt = stmt.where(Resident.district == district)
    return stmt.order_by(Resident.family_name_kana, Resident.given_name_kana, Resident.id)


@dataclass(frozen=True)
class ServiceUse:
    service: Service
    last_used: datetime
    uses_last_year: int
    uses_total: int


def services_used(resident: Resident, viewer: User | None = None) -> list[ServiceUse]:
    """Every service the resident used, most recent first (one aggregate query)."""
    year_ago = local_day_start(local_today() - timedelta(days=365))
    stmt = (select(UsageEvent.service_id, func.max(UsageEvent.occurred_at),
                   func.count(UsageEvent.id),
                   func.count(UsageEvent.id).filter(UsageEvent.occurred_at >= year_ago))
            .where(UsageEvent.resident_id == resident.id).group_by(UsageEvent.service_id))
    if viewer is not None:
        stmt = scope_usage(stmt, viewer)
    rows = db.session.execute(stmt).all()
    services = {s.id: s for s in db.session.scalars(
        select(Service).where(Service.id.in_([row[0] for row in rows])))} if rows else {}
    uses = [ServiceUse(services[sid], last, year, total) for sid, last, total, year in rows]
    return sorted(uses, key=lambda use: use.last_used, reverse=True)


def timeline(resident: Resident, *, viewer: User | None = None, service_id: int | None = None,
             channel: str | None = None) -> Select:
    stmt = select(UsageEvent).where(UsageEvent.resident_id == resident.id)
    if viewer is not None:
        stmt = scope_usage(stmt, viewer)
    if service_id:
        stmt = stmt.where(UsageEvent.service_id == service_id)
    if channel:
        stmt = stmt.where(UsageEvent.channel == channel)
    return stmt.order_by(UsageEvent.occurred_at.desc(), UsageEvent.id.desc())


#: an inquiry's channel as the usage channel it is (the timeline's channel filter)
INQUIRY_CHANNELS = {"web": "online", "phone": "phone", "counter": "counter", "letter": "mail",
                    "email": "online", "open311": "mobile"}


def staff_timeline(resident: Resident, viewer: User, *, service_id: int | None = None,
                   channel: str | None = None) -> Select:
    """The 360° page's timeline: the resident's uses of services and their inquiries
    (those ``viewer`` may work on), newest first, as rows of ``row`` ('use' or
    'inquiry'), ``id``, ``at``, ``service_id``, ``kind`` (a use's kind, an inquiry's
    category), ``channel`` (an inquiry's own), ``source``, ``note`` (an inquiry's
    subject) and ``status``. An inquiry counts under the usage channel it is
    (``INQUIRY_CHANNELS``) for the filter: every way of reaching the city counts.

    The third part (``row`` 'touchpoint') is staff working the resident's cases (a
    call, a home visit, a reassignment ...) that ``viewer`` may see — their
    department's; managers and admins all: ``kind`` is the action, ``channel`` how
    the resident was reached ('' when they were not), ``note`` the note, ``status``
    the outcome and ``source`` the case's id."""
    from portal.inquiries.models import Inquiry
    from portal.inquiries.queue import scoped
    from portal.permissions import can_work_inquiries

    uses = select(literal("use").label("row"), UsageEvent.id.label("id"),
                  UsageEvent.occurred_at.label("at"), UsageEvent.service_id.label("service_id"),
                  UsageEvent.kind.label("kind"), UsageEvent.channel.label("channel"),
                  UsageEvent.source.label("source"), UsageEvent.note.label("note"),
                  null().label("status")).where(UsageEvent.resident_id == resident.id)
    uses = scope_usage(uses, viewer)
    if service_id:
        uses = uses.where(UsageEvent.service_id == service_id)
    if channel:
        uses = uses.where(UsageEvent.channel == channel)
    parts = [uses]
    if can_work_inquiries(viewer):
        inquiries = scoped(select(
            literal("inquiry").label("row"), Inquiry.id.label("id"),
            Inquiry.created_at.label("at"), Inquiry.service_id.label("service_id"),
            Inquiry.category.label("kind"), Inquiry.channel.label("channel"),
            null().label("source"), Inquiry.subject.label("note"),
            Inquiry.status.label("status")).where(Inquiry.resident_id == resident.id), viewer)
        if service_id:
            inquiries = inquiries.where(Inquiry.service_id == service_id)
        if channel:
            inquiries = inquiries.where(Inquiry.channel.in_(
                [c for c, usage in INQUIRY_CHANNELS.items() if usage == channel]))
        parts.append(inquiries)
    touchpoints = _touchpoints(resident, viewer, service_id=service_id, channel=channel)
    if touchpoints is not None:
        parts.append(touchpoints)
    rows = union_all(*parts).subquery("timeline")
    return select(rows).order_by(rows.c.at.desc(), rows.c.row, rows.c.id.desc())


def _touchpoints(resident: Resident, viewer: User, *, service_id: int | None,
                 channel: str | None) -> Select | None:
    from portal.auth.models import Role
    from portal.outreach.models import Touchpoint
    from portal.permissions import can_work_cases

    if not can_work_cases(viewer):
        return None
    stmt = select(literal("touchpoint").label("row"), Touchpoint.id.label("id"),
                  Touchpoint.at.label("at"), Touchpoint.service_id.label("service_id"),
                  Touchpoint.action.label("kind"), Touchpoint.channel.label("channel"),
                  cast(Touchpoint.case_id, String).label("source"),
                  Touchpoint.note.label("note"), Touchpoint.outcome.label("status")
                  ).where(Touchpoint.resident_id == resident.id)
    if viewer.role not in (Role.MANAGER, Role.ADMIN):
        stmt = stmt.where(Touchpoint.department_id == viewer.department_id)
    if service_id:
        stmt = stmt.where(Touchpoint.service_id == service_id)
    if channel:
        stmt = stmt.where(Touchpoint.channel == channel)
    return stmt


def household_members(resident: Resident) -> list[Resident]:
    if resident.household_id is None:
        return []
    return list(db.session.scalars(
        select(Resident).where(Resident.household_id == resident.household_id,
                               Resident.id != resident.id, Resident.anonymised_at.is_(None))
        .order_by(Resident.birth_year)))


def eligible_unused_services(resident: Resident, used_ids: set[int]) -> list[Service]:
    """Services whose eligibility rule the resident meets and has not used yet:
    the proactive list. Services without a rule are for everyone and not suggested."""
    year = local_today().year
    household_births = [resident.birth_year]
    if resident.household_id is not None:
        household_births = list(db.session.scalars(
            select(Resident.birth_year).where(Resident.household_id == resident.household_id)))
    services = db.session.scalars(
        select(Service).where(Service.active.is_(True), Service.eligibility.is_not(None))
        .order_by(Service.slug)).all()
    return [s for s in services if s.id not in used_ids and s.eligibility and is_eligible(
        s.eligibility, year=year, birth_year=resident.birth_year, district=resident.district,
        household_birth_years=household_births)]


LIFE_EVENTS_SHOWN = 10


def life_events(resident: Resident, limit: int = LIFE_EVENTS_SHOWN) -> list[LifeEvent]:
    """The resident's latest life events (one query), newest first."""
    return list(db.session.scalars(
        select(LifeEvent).where(LifeEvent.resident_id == resident.id)
        .order_by(LifeEvent.occurred_on.desc(), LifeEvent.id.desc()).limit(limit)))
