"""Benchmark: the staff inquiry queue (/admin/inquiries/) at 200 000 inquiries.

Builds a fresh database (bulk inserts) with N inquiries over two years across the
catalogue's services (5 % not routed yet), a fifth of them still pending with due
times around now, and measures through the test client, in the same run, the
median and p95 over --requests requests of:

- the baseline ``/healthz``;
- a member of the library's staff: the default queue (pending, due soonest), the
  overdue filter, a text search;
- a manager: the default queue over every department, channel + newest first,
  resolved inquiries deep in the pages, one department due today, a number.

Target: p95 ≤ 200 ms for a filtered queue page on SQLite and PostgreSQL.

    python bench/inquiries_queue_bench.py                        # SQLite
    python bench/inquiries_queue_bench.py --database postgresql  # PORTAL_BENCH_DATABASE_URL

The queue reads no messages, so the thread (the full bench's 600 000 messages) is
left out. PostgreSQL: its schema is dropped and rebuilt — never point it at a
database the tests are using.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text

from bench.scoring_bench import ensure_database, reset
from portal.app import create_app
from portal.auth import sessions
from portal.auth.models import Role, User
from portal.extensions import db
from portal.inquiries.models import Inquiry
from portal.residents.models import Resident
from portal.services.catalogue import load_catalogue
from portal.services.models import Department, Service
from portal.timeutil import utcnow

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench"
BATCH = 20_000
STATUSES = [("new", 10), ("open", 8), ("waiting", 4), ("resolved", 60), ("closed", 18)]
CHANNELS = [("web", 50), ("phone", 20), ("counter", 10), ("letter", 3), ("email", 7),
            ("open311", 10)]
CATEGORIES = ["question", "request", "complaint", "problem"]
WORDS = ["貸出", "延長", "街灯", "ごみ", "予約", "証明書", "保育", "検診", "道路", "騒音"]


def populate(inquiries: int, residents: int, seed: int) -> None:
    rng = random.Random(seed)
    load_catalogue()
    db.session.commit()
    services = db.session.scalars(select(Service).order_by(Service.id)).all()
    db.session.execute(insert(Resident), [
        {"family_name": "佐藤", "given_name": f"花子{n}", "family_name_kana": "サトウ",
         "given_name_kana": "ハナコ", "external_id": f"B-{n}", "preferred_locale": "ja",
         "consent_outreach": True, "consent_profiling": True, "do_not_contact": False,
         "preferred_channels": [], "created_at": utcnow()} for n in range(residents)])
    resident_ids = db.session.scalars(select(Resident.id)).all()
    statuses = [s for s, w in STATUSES for _ in range(w)]
    channels = [c for c, w in CHANNELS for _ in range(w)]
    now = utcnow()
    rows = []
    for n in range(inquiries):
        service = None if rng.random() < 0.05 else rng.choice(services)
        created = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        status = rng.choice(statuses)
        pending = status in ("new", "open", "waiting")
        if pending:  # recent, due around now (some overdue, some today, most later)
            created = now - timedelta(minutes=rng.randrange(20 * 24 * 60))
        first_due = created + timedelta(days=1)
        resolution_due = created + timedelta(days=rng.choice((3, 5, 10)))
        due = (first_due if status == "new" else resolution_due) if pending else None
        rows.append({
            "resident_id": rng.choice(resident_ids) if rng.random() < 0.8 else None,
            "caller_name": None, "locale": "ja",
            "service_id": service.id if service else None,
            "department_id": service.department_id if service else None,
            "category": rng.choice(CATEGORIES), "channel": rng.choice(channels),
            "status": status,
            "subject": f"{rng.choice(WORDS)}について {n}",
            "description": f"{rng.choice(WORDS)}と{rng.choice(WORDS)}の件でお尋ねします。" * 3,
            "created_at": created,
            "updated_at": created + timedelta(hours=rng.randrange(1, 200)),
            "first_response_due_at": first_due, "resolution_due_at": resolution_due,
            "due_at": due, "reopen_count": 0,
            "resolved_at": created + timedelta(days=2) if not pending else None})
        if len(rows) == BATCH:
            db.session.execute(insert(Inquiry), rows)
            rows = []
    if rows:
        db.session.execute(insert(Inquiry), rows)
    db.session.commit()


def signed_in(app, login_id: str):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = login_id
        session["_fresh"] = True
    return client


def page_times(client, path: str, requests: int) -> tuple[float, float]:
    client.get(path)  # warm
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def bench(url: str, args) -> None:
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url,
                                 "INSTANCE_PATH": tempfile.mkdtemp()})
    reset(app)
    with app.app_context():
        started = time.perf_counter()
        populate(args.inquiries, args.residents, args.seed)
        print(f"populated {args.inquiries:,} inquiries in {time.perf_counter() - started:.1f} s")
        library = db.session.scalar(select(Department).where(Department.code == "library"))
        staff = User(email="staff@bench.example", display_name="Staff", role=Role.STAFF,
                     department_id=library.id, password_hash="!unusable",  # noqa: S106
                     active=True)
        manager = User(email="manager@bench.example", display_name="Manager",
                       role=Role.MANAGER, password_hash="!unusable", active=True)  # noqa: S106
        db.session.add_all([staff, manager])
        db.session.flush()
        number = db.session.scalar(select(Inquiry.id).order_by(Inquiry.id.desc()).limit(1))
        db.session.commit()  # outside a request every transaction holds the write lock
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        logins = []
        for user in (staff, manager):
            sessions.start(user, ip="127.0.0.1", user_agent="queue bench")
            logins.append(user.get_id())
        db.session.commit()
    staff_client, manager_client = signed_in(app, logins[0]), signed_in(app, logins[1])
    cases = [
        ("baseline /healthz", staff_client, "/healthz"),
        ("staff: default (pending, due)", staff_client, "/admin/inquiries/"),
        ("staff: sla=overdue", staff_client, "/admin/inquiries/?sla=overdue"),
        ("staff: q=延長", staff_client, "/admin/inquiries/?q=%E5%BB%B6%E9%95%B7"),
        ("manager: default (all departments)", manager_client, "/admin/inquiries/"),
        ("manager: channel=phone&sort=-created", manager_client,
         "/admin/inquiries/?channel=phone&sort=-created"),
        ("manager: status=resolved&sort=-updated&page=40", manager_client,
         "/admin/inquiries/?status=resolved&sort=-updated&page=40"),
        ("manager: department=health&sla=due_today", manager_client,
         "/admin/inquiries/?department=health&sla=due_today"),
        ("manager: status=all&q=<number>", manager_client,
         f"/admin/inquiries/?status=all&q={number}"),
        ("manager: status=all&q=延長 (every inquiry's text)", manager_client,
         "/admin/inquiries/?status=all&q=%E5%BB%B6%E9%95%B7"),
    ]
    print(f"{url.split(':')[0]}: "
          f"{args.requests} requests each (ms)")
    print(f"{'case':52} {'median':>8} {'p95':>8}")
    for label, client, path in cases:
        median, p95 = page_times(client, path, args.requests)
        print(f"{label:52} {median * 1000:8.1f} {p95 * 1000:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--inquiries", type=int, default=200_000)
    parser.add_argument("--residents", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    if args.database == "postgresql":
        url = os.environ.get("PORTAL_BENCH_DATABASE_URL", PG_DEFAULT)
        ensure_database(url)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/queue-bench.db"
    bench(url, args)


if __name__ == "__main__":
    main()
