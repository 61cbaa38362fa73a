"""The portal command: seed, demo, create-user."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from portal.auth.models import Role, User
from portal.demo import generator
from portal.extensions import db
from portal.residents.models import Household, Resident
from portal.services.models import Department, Service, UsageEvent


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_loads_the_catalogue_and_is_repeatable(runner):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert count(Department) == 7 and count(Service) == 20
    second = runner.invoke(args=["seed"])
    assert "created 0, updated 20" in second.output
    assert count(Service) == 20
    library = db.session.scalar(select(Service).where(Service.slug == "library-loans"))
    assert library.name_ja and library.name_en and library.expected_interval_days > 0


def test_every_service_has_both_languages(runner):
    runner.invoke(args=["seed"])
    for service in db.session.scalars(select(Service)):
        for field in ("name", "summary", "description", "audience", "how_to_use",
                      "opening_hours"):
            assert getattr(service, f"{field}_ja"), (service.slug, field)
            assert getattr(service, f"{field}_en"), (service.slug, field)


def fingerprint() -> str:
    rows = db.session.execute(
        select(Resident.family_name, Resident.given_name, Resident.district,
               Resident.birth_year, func.count(UsageEvent.id))
        .outerjoin(UsageEvent, UsageEvent.resident_id == Resident.id)
        .group_by(Resident.id).order_by(Resident.external_id)).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_demo_is_deterministic_per_seed(app):
    outer = db.session.begin_nested()
    first = generator.generate(residents=60, months=3, seed=7)
    print_one = fingerprint()
    outer.rollback()

    outer = db.session.begin_nested()
    second = generator.generate(residents=60, months=3, seed=7)
    assert (second, fingerprint()) == (first, print_one)
    outer.rollback()

    generator.generate(residents=60, months=3, seed=8)
    assert fingerprint() != print_one


def test_demo_command_builds_a_municipality(runner):
    result = runner.invoke(args=["demo", "--residents", "120", "--months", "6", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert count(Resident) == 120
    assert count(Household) >= 30
    assert count(UsageEvent) > 120
    foreign = db.session.scalar(select(func.count()).select_from(Resident)
                                .where(Resident.preferred_locale == "en"))
    assert foreign > 0
    # one login per role, and a staff member per department
    roles = set(db.session.scalars(select(User.role).where(User.email.like("%@demo.example"))))
    assert roles == {r.value for r in Role}
    # one per role, staff per department, and the community's demo members
    from portal.community.demo import MEMBERS

    assert count(User) == 4 + 7 + len(MEMBERS)
    assert "Demo logins" in result.output and "admin@demo.example" in result.output
    demo_resident = db.session.scalar(select(Resident).join(User, Resident.user_id == User.id)
                                      .where(User.email == "resident@demo.example"))
    assert demo_resident is not None
    # the same person in every name form: English pages show the romanised name
    assert demo_resident.given_name == "さくら" and demo_resident.given_name_kana == "サクラ"
    assert demo_resident.name_latin.split(" ")[0] == "Sakura"

    again = runner.invoke(args=["demo", "--if-empty"])
    assert "left as it is" in again.output and count(Resident) == 120
    clash = runner.invoke(args=["demo", "--residents", "5", "--seed", "3"])
    assert clash.exit_code != 0 and "exists already" in clash.output


def test_demo_events_come_from_every_channel_and_stay_in_the_window(runner):
    runner.invoke(args=["demo", "--residents", "200", "--months", "2", "--seed", "11"])
    channels = set(db.session.scalars(select(UsageEvent.channel).distinct()))
    assert {"counter", "online", "mobile", "phone"} <= channels
    oldest, newest = db.session.execute(
        select(func.min(UsageEvent.occurred_at), func.max(UsageEvent.occurred_at))).one()
    assert (newest - oldest).days <= 62


def test_create_user_command(runner, catalogue):
    result = runner.invoke(args=["create-user", "--email", "chief@city.example", "--role",
                                 "admin", "--password", "a long enough passphrase"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "chief@city.example"))
    assert user.role == Role.ADMIN
    assert "a long enough passphrase" not in result.output


def test_create_user_refuses_bad_input(runner, catalogue):
    weak = runner.invoke(args=["create-user", "--email", "w@city.example", "--role", "admin",
                               "--password", "short"])
    assert weak.exit_code != 0 and "at least 10" in weak.output
    nodept = runner.invoke(args=["create-user", "--email", "s@city.example", "--role", "staff",
                                 "--password", "a long enough passphrase"])
    assert nodept.exit_code != 0 and "department" in nodept.output
    unknown = runner.invoke(args=["create-user", "--email", "s@city.example", "--role",
                                  "staff", "--department", "nope",
                                  "--password", "a long enough passphrase"])
    assert unknown.exit_code != 0 and "no department" in unknown.output
