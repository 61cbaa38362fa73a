"""Generate a synthetic municipality, deterministically per seed.

Households and residents with Japanese and foreign names, districts, preferred
languages and consents; the demo logins (one per role, plus staff per
department); and usage events of every service over the past months, with
regular, lapsing, late-starting and never-engaged residents so that scores and
at-risk lists have something to find. Rows go in by batched multi-row inserts.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select

from portal.auth import passwords
from portal.auth.models import Role, User
from portal.demo.names import DISTRICTS, FAMILY_NAMES, FOREIGN_NAMES, GIVEN_NAMES
from portal.extensions import db
from portal.residents.models import District, Household, Resident
from portal.services.catalogue import load_catalogue
from portal.services.eligibility import is_eligible
from portal.services.models import Channel, Department, EventSource, Service, UsageEvent
from portal.timeutil import utcnow

DEMO_PASSWORD = "sakura-demo-2026"  # noqa: S105 - printed on purpose: demo data only
DEMO_DOMAIN = "demo.example"
BATCH = 500  # residents per batch

KIND_BY_DEPARTMENT = {
    "library": "loan", "environment": "app-use", "citizens": "issuance", "health": "check-up",
    "childcare": "consultation", "welfare": "consultation", "sports": "booking",
}
CHANNELS_BY_DEPARTMENT: dict[str, list[tuple[str, float]]] = {
    "citizens": [(Channel.COUNTER, 0.6), (Channel.ONLINE, 0.3), (Channel.MAIL, 0.1)],
    "environment": [(Channel.MOBILE, 0.8), (Channel.ONLINE, 0.15), (Channel.PHONE, 0.05)],
    "library": [(Channel.COUNTER, 0.7), (Channel.ONLINE, 0.3)],
    "sports": [(Channel.ONLINE, 0.5), (Channel.COUNTER, 0.4), (Channel.PHONE, 0.1)],
    "health": [(Channel.COUNTER, 0.8), (Channel.PHONE, 0.2)],
    "welfare": [(Channel.COUNTER, 0.5), (Channel.PHONE, 0.4), (Channel.OUTREACH, 0.1)],
    "childcare": [(Channel.COUNTER, 0.6), (Channel.PHONE, 0.2), (Channel.ONLINE, 0.2)],
}
DEFAULT_CHANNELS = [(Channel.COUNTER, 0.5), (Channel.ONLINE, 0.5)]


def demo_accounts() -> list[dict[str, Any]]:
    """The printed demo logins, one per role, and one staff member per department."""
    accounts = [
        {"email": f"admin@{DEMO_DOMAIN}", "role": Role.ADMIN, "name": "管理者 太郎"},
        {"email": f"manager@{DEMO_DOMAIN}", "role": Role.MANAGER, "name": "課長 花子"},
        {"email": f"official@{DEMO_DOMAIN}", "role": Role.OFFICIAL, "name": "議員 一郎"},
        {"email": f"resident@{DEMO_DOMAIN}", "role": Role.RESIDENT, "name": "市民 さくら"},
    ]
    codes = db.session.scalars(select(Department.code).order_by(Department.code)).all()
    accounts += [{"email": f"staff.{code}@{DEMO_DOMAIN}", "role": Role.STAFF,
                  "name": f"{FAMILY_NAMES[i * 3][0]} {GIVEN_NAMES[i * 5][0]}",
                  "department": code} for i, code in enumerate(codes)]
    return accounts


def has_residents() -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(Resident)))


def logins_text() -> str:
    rows = [f"  {a['role']:<9} {a['email']}" for a in demo_accounts()]
    return "\n".join(["Demo logins (password for all: " + DEMO_PASSWORD + "):", *rows])


def _ensure_accounts(departments: dict[str, Department]) -> dict[str, User]:
    existing = {u.email: u for u in db.session.scalars(
        select(User).where(User.email.like(f"%@{DEMO_DOMAIN}")))}
    password_hash = passwords.hash_password(DEMO_PASSWORD)
    for account in demo_accounts():
        if account["email"] in existing:
            continue
        department = departments.get(account.get("department", ""))
        user = User(email=account["email"], display_name=account["name"], role=account["role"],
                    department_id=department.id if department else None,
                    password_hash=password_hash, active=True, locale=None)
        db.session.add(user)
        existing[user.email] = user
    db.session.flush()
    return existing


def _ensure_districts() -> list[str]:
    """The demo districts, with their English names (added when missing)."""
    have = set(db.session.scalars(select(District.code)))
    start = len(have)
    for n, (ja, en) in enumerate(DISTRICTS, start=start + 1):
        if ja not in have:
            db.session.add(District(code=ja, name_ja=ja, name_en=en, position=n))
    db.session.flush()
    return [ja for ja, _ in DISTRICTS]


def _weighted(rng: random.Random, options: list[tuple[str, float]]) -> str:
    values, weights = zip(*options, strict=True)
    return rng.choices(values, weights=weights)[0]


def _household_members(rng: random.Random, year: int) -> list[int]:
    """Birth years of one household's members."""
    kind = rng.random()
    if kind < 0.28:  # one adult
        return [year - rng.randint(19, 92)]
    if kind < 0.50:  # couple
        age = rng.randint(24, 80)
        return [year - age, year - max(18, age + rng.randint(-5, 5))]
    if kind < 0.85:  # family with children
        age = rng.randint(27, 50)
        parents = [year - age, year - max(20, age + rng.randint(-4, 4))]
        eldest = min(age - 20, 17)
        children = [year - rng.randint(0, max(0, eldest)) for _ in range(rng.randint(1, 3))]
        return parents + children
    age = rng.randint(65, 90)  # older couple, sometimes with a grown child
    members = [year - age, year - (age + rng.randint(-4, 4))]
    if rng.random() < 0.3:
        members.append(year - rng.randint(35, 60))
    return members


def _name(rng: random.Random, foreign: bool, family: tuple | None) -> dict[str, Any]:
    if foreign:
        fam, given, kana, locale = rng.choice(FOREIGN_NAMES)
        kana_family, _, kana_given = kana.partition(" ")
        return {"family_name": fam, "given_name": given, "family_name_kana": kana_family,
                "given_name_kana": kana_given, "name_latin": f"{given} {fam}",
                "preferred_locale": locale}
    fam = family or rng.choice(FAMILY_NAMES)
    given = rng.choice(GIVEN_NAMES)
    return {"family_name": fam[0], "given_name": given[0], "family_name_kana": fam[1],
            "given_name_kana": given[1], "name_latin": f"{given[2]} {fam[2]}",
            "preferred_locale": "en" if rng.random() < 0.03 else "ja"}


#: the first five digits of each demo district's postal codes (〒300-12xx …)
POSTAL_PREFIX = {ja: f"300-1{2 + n // 5}{n % 5 * 2}" for n, (ja, _) in enumerate(DISTRICTS)}


def _postal_address(rng: random.Random, district: str, city: str) -> tuple[str | None, str | None]:
    """A Japanese-style postal code and address in ``district`` (None for about one
    household in twelve: the register has no address for letters)."""
    if rng.random() < 0.08:
        return None, None
    prefix = POSTAL_PREFIX.get(district, "300-120")
    code = f"{prefix}{rng.randint(0, 9)}"
    address = f"{city}{district}{rng.randint(1, 5)}丁目{rng.randint(1, 30)}-{rng.randint(1, 20)}"
    if rng.random() < 0.25:
        address += f" {rng.choice(['さくら荘', 'メゾン川辺', 'グリーンハイツ', 'コーポ桜'])}" \
                   f"{rng.randint(1, 3)}0{rng.randint(1, 8)}"
    return code, address


def _events_for(rng: random.Random, *, service: Service, department: str, resident_id: int,
                start, end, seed: int, counter: list[int]) -> list[dict[str, Any]]:
    """Usage of one service by one resident: a profile, then a renewal process."""
    profile = rng.random()
    if profile < 0.30:
        return []  # eligible, never used
    interval = service.expected_interval_days
    span = (end - start).days
    first = start + timedelta(days=rng.uniform(0, min(span, interval)))
    stop = end
    pace = rng.uniform(0.7, 1.6)  # >1: less often than expected
    if profile < 0.45:  # lapsing: stops part-way
        stop = start + timedelta(days=rng.uniform(0.3, 0.9) * span)
    elif profile < 0.55:  # newcomer: starts late
        first = start + timedelta(days=rng.uniform(0.5, 0.95) * span)
    elif profile > 0.9:  # very engaged
        pace = rng.uniform(0.45, 0.8)
    channels = CHANNELS_BY_DEPARTMENT.get(department, DEFAULT_CHANNELS)
    kind = KIND_BY_DEPARTMENT.get(department, "use")
    rows = []
    moment = first
    while moment < stop:
        counter[0] += 1
        rows.append({
            "resident_id": resident_id, "service_id": service.id, "kind": kind,
            "channel": _weighted(rng, channels), "occurred_at": moment,
            "source": EventSource.DEMO, "idempotency_key": f"demo-{seed}-{counter[0]}",
            "created_at": moment,
        })
        moment += timedelta(days=max(1.0, rng.expovariate(1 / (interval * pace))),
                            hours=rng.uniform(-3, 3))
    return rows


def generate(*, residents: int, months: int, seed: int,
             progress: Callable[[int], Any] | None = None) -> dict[str, int]:
    rng = random.Random(seed)
    # addresses from a stream of their own: the rest of the municipality stays as it was
    address_rng = random.Random(seed * 7919 + 17)
    city = current_app.config.get("MUNICIPALITY_NAME_JA", "桜川市")
    if not db.session.scalar(select(func.count()).select_from(Service)):
        load_catalogue()
    departments = {d.code: d for d in db.session.scalars(select(Department))}
    services = db.session.scalars(select(Service).where(Service.active.is_(True))
                                  .order_by(Service.id)).all()
    department_code = {d.id: d.code for d in departments.values()}
    accounts = _ensure_accounts(departments)
    district_codes = _ensure_districts()

    prefix = f"D{seed}-"
    if db.session.scalar(select(func.count()).select_from(Household)
                         .where(Household.external_id.like(f"{prefix}%"))):
        raise ValueError(f"demo data for seed {seed} exists already; use another --seed "
                         "or a fresh database")

    end = utcnow().replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=round(months * 30.44))
    year = end.year
    made = {"residents": 0, "households": 0, "events": 0}
    counter = [0]
    demo_resident_user = accounts.get(f"resident@{DEMO_DOMAIN}")
    link_demo_user = demo_resident_user is not None and not db.session.scalar(
        select(func.count()).select_from(Resident)
        .where(Resident.user_id == demo_resident_user.id))

    while made["residents"] < residents:
        # one batch of households and their members
        household_rows, member_plan, addresses = [], [], []
        while made["residents"] + len(member_plan) < residents and len(member_plan) < BATCH:
            made["households"] += 1
            district = rng.choice(district_codes)
            foreign = rng.random() < 0.08
            family = None if foreign else rng.choice(FAMILY_NAMES)
            household_rows.append({"external_id": f"{prefix}H{made['households']:07d}",
                                   "district": district, "created_at": start})
            addresses.append(_postal_address(address_rng, district, city))
            births = _household_members(rng, year)
            room = residents - made["residents"] - len(member_plan)
            for birth_year in births[:room]:
                member_plan.append((len(household_rows) - 1, birth_year, births, district,
                                    foreign, family))
        household_ids = db.session.scalars(
            insert(Household).returning(Household.id, sort_by_parameter_order=True),
            household_rows).all()

        resident_rows = []
        for index, birth_year, births, district, foreign, family in member_plan:
            number = made["residents"] + len(resident_rows) + 1
            row = _name(rng, foreign, family)
            adult = year - birth_year >= 18
            row.update({
                "external_id": f"{prefix}R{number:07d}",
                "email": f"resident{seed}-{number}@mail.{DEMO_DOMAIN}" if adult
                and rng.random() < 0.7 else None,
                "phone": f"0297-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}" if adult
                else None,
                "district": district, "birth_year": birth_year,
                "household_id": household_ids[index],
                "postal_code": addresses[index][0], "address": addresses[index][1],
                "preferred_channels": rng.sample(["email", "letter", "phone"],
                                                 k=rng.randint(1, 2)) if adult else [],
                "consent_outreach": adult and rng.random() < 0.75,
                "consent_profiling": rng.random() < 0.95,
                "do_not_contact": adult and rng.random() < 0.02,
                "created_at": start, "updated_at": start,
                "user_id": None, "self_supplied": [],
            })
            if link_demo_user and adult and not foreign and len(births) > 2:
                row.update(user_id=demo_resident_user.id, email=demo_resident_user.email,
                           given_name="さくら", given_name_kana="サクラ",
                           name_latin="Sakura " + row["name_latin"].rsplit(" ", 1)[-1],
                           consent_outreach=True, consent_profiling=True,
                           self_supplied=["consent_outreach", "consent_profiling", "email"])
                link_demo_user = False
            resident_rows.append(row)
        resident_ids = db.session.scalars(
            insert(Resident).returning(Resident.id, sort_by_parameter_order=True),
            resident_rows).all()

        event_rows: list[dict[str, Any]] = []
        for resident_id, (_, birth_year, births, district, _f, _fam) in zip(
                resident_ids, member_plan, strict=True):
            for service in services:
                if not is_eligible(service.eligibility, year=year, birth_year=birth_year,
                                   district=district, household_birth_years=births):
                    continue
                if service.eligibility is None and (year - birth_year < 12
                                                    or rng.random() < 0.55):
                    continue  # open services: not everybody uses them, young children not
                event_rows += _events_for(rng, service=service,
                                          department=department_code[service.department_id],
                                          resident_id=resident_id, start=start, end=end,
                                          seed=seed, counter=counter)
        for offset in range(0, len(event_rows), 5000):
            db.session.execute(insert(UsageEvent), event_rows[offset:offset + 5000])
        made["residents"] += len(resident_rows)
        made["events"] += len(event_rows)
        if progress:
            progress(len(resident_rows))
    db.session.flush()
    return made
