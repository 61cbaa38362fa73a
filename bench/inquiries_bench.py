"""Benchmark: inquiries at municipal scale.

Builds a fresh database (SQLite file by default, PostgreSQL with ``--postgres``)
with ``bench/scoring_bench.py``'s populate (R residents, the seeded services, E
usage events), then N inquiries (default 200 000) with three messages each (600 000:
the resident's message, a staff reply or an internal note, and a status event) by
residents about services they use, received over the last two years in every
channel and status, with their stored due times — bulk inserts (COPY on
PostgreSQL, executemany on SQLite), never the ORM one by one. Then, in the same run:

- **queue** (a): the staff queue with a filter,
  ``/admin/inquiries/?status=pending&service=<slug>&sla=overdue``, and a text
  search (``?q=…``), median and p95 over --requests requests each through the test
  client, signed in as a staff member of the service's department and as a
  manager (target p95 ≤ 200 ms);
- **open311** (b): ``GET /open311/v2/requests.json?start_date=…&end_date=…`` over a
  date range that holds at least 1000 requests (the spec's most), p95 over
  --requests requests (target ≤ 300 ms);
- **recompute** (c): the daily recompute with the friction measure against the
  same recompute without it (``recompute(…, friction=False)``, a switch that
  exists for this bench only), interleaved rounds, each the next day's run;
  medians and their ratio (target ≤ 1.2×).

Every request must answer 200: any other status stops the bench with the path and
the status (an endpoint that is missing or broken is never timed as fast).

    python bench/inquiries_bench.py              # SQLite, 20 000 residents, 200 000 inquiries
    python bench/inquiries_bench.py --postgres   # PostgreSQL (see below)
    python bench/inquiries_bench.py --part recompute --database both

PostgreSQL: PORTAL_BENCH_DATABASE_URL (default the ``portal_bench`` database,
created when missing, as ``bench/scoring_bench.py``); its schema is dropped and
rebuilt — never point it at a database the tests are using.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text

from bench.scoring_bench import PG_DEFAULT, ensure_database, populate, reset
from portal.app import create_app
from portal.auth import sessions
from portal.auth.models import Role, User
from portal.engagement.models import EngagementScore
from portal.engagement.scoring import recompute
from portal.extensions import db
from portal.inquiries import sla
from portal.inquiries.models import Inquiry, InquiryMessage
from portal.services.models import Service
from portal.timeutil import local_today

CHANNELS = ["web"] * 5 + ["phone"] * 2 + ["counter", "email", "letter"]
CATEGORIES = ["question"] * 4 + ["request"] * 3 + ["complaint", "problem"]
# status shares: most inquiries of two years are done; the pending ones are recent
STATUSES = ["resolved"] * 6 + ["closed"] * 2 + ["new", "open", "waiting"]
SUBJECTS = ["貸出期間について", "予約の変更", "証明書の受け取り", "街灯が消えている",
            "道路の穴", "ごみの収集日", "施設の利用時間", "申請書の書き方"]
SEARCH = "街灯"
BATCH = 50_000


def add_inquiries(inquiries: int, seed: int) -> dict:
    """``inquiries`` inquiries with three messages each, by residents about services
    they use (pairs from the usage events), received over 730 days."""
    rng = random.Random(seed)
    services = {s.id: s for s in db.session.scalars(select(Service))}
    pairs = db.session.execute(text(
        "SELECT resident_id, service_id FROM usage_events GROUP BY resident_id, service_id"
    )).all()
    staff = User(email="staff@bench.example", display_name="Bench staff", role=Role.STAFF,
                 password_hash="!unusable", active=True,  # noqa: S106
                 department_id=services[pairs[0][1]].department_id)
    manager = User(email="manager@bench.example", display_name="Bench manager",
                   role=Role.MANAGER, password_hash="!unusable", active=True)  # noqa: S106
    db.session.add_all([staff, manager])
    db.session.commit()
    calendar = sla.load_calendar()
    now = datetime.now(UTC).replace(microsecond=0)
    first_id = (db.session.scalar(select(func.max(Inquiry.id))) or 0) + 1
    columns = ("id", "resident_id", "service_id", "department_id", "category", "channel",
               "status", "subject", "description", "locale", "created_at", "updated_at",
               "first_response_due_at", "resolution_due_at", "due_at", "first_response_at",
               "resolved_at", "closed_at", "reopen_count", "latitude", "longitude")
    message_columns = ("inquiry_id", "kind", "event", "public", "body", "author_id",
                       "created_at")
    rows, messages = [], []
    counts = {"inquiries": 0, "messages": 0}

    def flush() -> None:
        _bulk(Inquiry.__table__, columns, rows)
        _bulk(InquiryMessage.__table__, message_columns, messages)
        counts["inquiries"] += len(rows)
        counts["messages"] += len(messages)
        rows.clear()
        messages.clear()

    for n in range(inquiries):
        iid = first_id + n
        resident_id, service_id = pairs[rng.randrange(len(pairs))]
        service = services[service_id]
        category = rng.choice(CATEGORIES)
        received = now - timedelta(seconds=rng.randint(0, 730 * 86400))
        first_days, resolution_days = sla.DEFAULT_TARGETS[category]
        first_due = sla.due_after(received, first_days, calendar)
        resolution_due = sla.due_after(received, resolution_days, calendar)
        # recent inquiries are still pending more often
        status = rng.choice(STATUSES) if received < now - timedelta(days=60) or \
            rng.random() < 0.5 else rng.choice(["new", "open", "waiting"])
        answered = None if status == "new" else received + timedelta(
            hours=rng.uniform(1, 24 * (first_days + 2)))
        resolved = closed = None
        if status in ("resolved", "closed"):
            resolved = answered + timedelta(hours=rng.uniform(1, 24 * (resolution_days + 3)))
            if status == "closed":
                closed = resolved + timedelta(days=rng.uniform(0, 14))
        due = None if status in ("resolved", "closed") else (
            first_due if answered is None else resolution_due)
        channel = "open311" if service.public_space and rng.random() < 0.5 \
            else rng.choice(CHANNELS)
        point = (35.68 + rng.uniform(-0.05, 0.05), 139.76 + rng.uniform(-0.05, 0.05)) \
            if channel == "open311" else (None, None)
        last = closed or resolved or answered or received
        rows.append((iid, resident_id, service_id, service.department_id, category, channel,
                     status, rng.choice(SUBJECTS), "詳しくは添付のとおりです。" * 3,
                     "ja" if rng.random() < 0.9 else "en", received, last, first_due,
                     resolution_due, due, answered, resolved, closed, 0, *point))
        messages.append((iid, "resident", None, True, "よろしくお願いします。", None, received))
        if answered is not None:
            messages.append((iid, "reply", None, True, "お問い合わせありがとうございます。",
                             staff.id, answered))
        else:
            messages.append((iid, "note", None, False, "担当を確認中", staff.id,
                             received + timedelta(minutes=30)))
        messages.append((iid, "event", "status", True, "", staff.id, last))
        if len(rows) >= BATCH:
            flush()
    flush()
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        for table in ("inquiries", "inquiry_messages"):
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))"))
    db.session.commit()
    return counts


def _bulk(table, columns, rows) -> None:
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        with raw.cursor().copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        for start in range(0, len(rows), BATCH):
            connection.execute(insert(table), [dict(zip(columns, row, strict=True))
                                               for row in rows[start:start + BATCH]])


def analyse() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def build(url: str, args) -> tuple:
    if url.startswith("postgresql"):
        ensure_database(url)
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url,
                                 "INSTANCE_PATH": tempfile.mkdtemp()})
    reset(app)
    with app.app_context():
        started = time.perf_counter()
        populate(args.residents, args.events, args.seed)
        made = add_inquiries(args.inquiries, args.seed)
        analyse()
        made["populate_s"] = time.perf_counter() - started
    print(f"  populated {made['inquiries']} inquiries, {made['messages']} messages "
          f"in {made['populate_s']:.1f} s", flush=True)
    return app, made


def signed_in_client(app, role: str):
    client = app.test_client()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.role == role,
                                                    User.email.like("%@bench.example")))
        sessions.start(user, ip="127.0.0.1", user_agent="inquiries bench")
        login_id = user.get_id()
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = login_id
        session["_fresh"] = True
    return client


def page_times(client, path: str, requests: int) -> list[float]:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"FAILED: GET {path} answered {response.status_code}, not 200")
    return sorted(times)


def summary(times: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    return (statistics.median(times) * 1000,
            times[max(0, int(len(times) * 0.95 + 0.5) - 1)] * 1000)


def queue_part(app, requests: int) -> dict:
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.email == "staff@bench.example"))
        slug = db.session.scalar(select(Service.slug).where(
            Service.department_id == staff.department_id).order_by(Service.id).limit(1))
    paths = {"filter": f"/admin/inquiries/?status=pending&service={slug}&sla=overdue",
             "search": f"/admin/inquiries/?q={SEARCH}"}
    figures = {}
    for role in (Role.STAFF, Role.MANAGER):
        client = signed_in_client(app, role)
        page_times(client, "/healthz", 5)
        for name, path in paths.items():
            page_times(client, path, 3)  # warm up
            figures[(str(role), name)] = summary(page_times(client, path, requests))
    return {"paths": paths, "figures": figures}


def open311_part(app, requests: int) -> dict:
    """A date range ending now that holds at least 1000 Open311-visible requests."""
    with app.app_context():
        i = Inquiry.__table__
        newest = db.session.scalars(select(i.c.created_at).where(i.c.service_id.in_(
            select(Service.id).where(Service.service_code.is_not(None))))
            .order_by(i.c.created_at.desc()).limit(1000)).all()
    if len(newest) < 1000:
        raise SystemExit(f"FAILED: only {len(newest)} inquiries about services with a "
                         "service_code: the Open311 part needs 1000")
    start = (newest[-1] - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = f"/open311/v2/requests.json?start_date={start}&end_date={end}"
    client = app.test_client()
    first = client.get(path)
    if first.status_code != 200:
        raise SystemExit(f"FAILED: GET {path} answered {first.status_code}, not 200")
    returned = len(first.get_json())
    if returned != 1000:
        raise SystemExit(f"FAILED: GET {path} returned {returned} requests, not 1000")
    page_times(client, path, 3)
    return {"path": path, "returned": returned, "figures": summary(
        page_times(client, path, requests))}


def recompute_part(app, rounds: int) -> dict:
    """Interleaved rounds of the daily recompute without and with friction."""
    with app.app_context():
        today = local_today()
        days = iter(today - timedelta(days=n) for n in range(2 * rounds + 2, 0, -1))

        def scorer(friction: bool) -> float:
            started = time.perf_counter()
            recompute(next(days), friction=friction)
            db.session.commit()
            return time.perf_counter() - started

        scorer(False)  # warm both
        scorer(True)
        without, with_ = [], []
        for _ in range(rounds):
            without.append(scorer(False))
            with_.append(scorer(True))
        scores = EngagementScore.__table__
        counted = db.session.execute(select(
            func.count(), func.count().filter(scores.c.inquiries_pending > 0))).one()
    return {"with": with_, "without": without, "scores": counted[0],
            "with_friction": counted[1],
            "ratio": statistics.median(with_) / statistics.median(without)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--inquiries", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"],
                        default="sqlite")
    parser.add_argument("--postgres", action="store_true",
                        help="PostgreSQL (the same as --database postgresql)")
    parser.add_argument("--part", choices=["all", "queue", "open311", "recompute"],
                        default="all")
    args = parser.parse_args()
    if args.postgres:
        args.database = "postgresql"
    targets = []
    if args.database in ("sqlite", "both"):
        targets.append(("SQLite", f"sqlite:///{tempfile.mkdtemp()}/bench.db"))
    if args.database in ("postgresql", "both"):
        targets.append(("PostgreSQL", os.environ.get("PORTAL_BENCH_DATABASE_URL", PG_DEFAULT)))
    for name, url in targets:
        print(f"{name}: {args.residents} residents, {args.events} events, "
              f"{args.inquiries} inquiries", flush=True)
        app, _ = build(url, args)
        if args.part in ("all", "queue"):
            result = queue_part(app, args.requests)
            for (role, kind), (median, p95) in result["figures"].items():
                print(f"  queue, {kind} ({result['paths'][kind]}) as {role}: "
                      f"median {median:.1f} ms, p95 {p95:.1f} ms (target p95 ≤ 200 ms)",
                      flush=True)
        if args.part in ("all", "open311"):
            result = open311_part(app, args.requests)
            median, p95 = result["figures"]
            print(f"  Open311 requests.json, {result['returned']} requests: median "
                  f"{median:.1f} ms, p95 {p95:.1f} ms (target p95 ≤ 300 ms)", flush=True)
        if args.part in ("all", "recompute"):
            r = recompute_part(app, args.rounds)
            print(f"  recompute with friction    {statistics.median(r['with']):7.2f} s "
                  f"({r['with_friction']} of {r['scores']} scores with pending inquiries)\n"
                  f"  recompute without friction {statistics.median(r['without']):7.2f} s\n"
                  f"  ratio {r['ratio']:.2f} (target ≤ 1.2); rounds with "
                  f"{', '.join(f'{t:.2f}' for t in r['with'])}; without "
                  f"{', '.join(f'{t:.2f}' for t in r['without'])}", flush=True)


if __name__ == "__main__":
    main()
