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
  Besides: the other shapes of the queue an office uses (the default page, overdue,
  phone newest first, resolved deep in the pages, one department due today, a
  number, a search over every inquiry's text) and ``/healthz`` as the baseline;
- **open311** (b): ``GET /open311/v2/requests.json?start_date=…&end_date=…`` over a
  date range ending now for which it returns 1000 requests (the spec's most: the
  range of the newest 1000 Open311 inquiries, widened up to 90 days if the
  endpoint lists fewer), p95 over --requests requests (target ≤ 300 ms), and the
  same in XML;
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

from urllib.parse import quote

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
PENDING = ["new", "open", "open", "waiting"]
DONE = ["resolved"] * 3 + ["closed"]
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
    public = [pair for pair in pairs if services[pair[1]].public_space]
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
        # street-level reports are frequent: one inquiry in ten about a public-space service
        chosen = public if public and rng.random() < 0.1 else pairs
        resident_id, service_id = chosen[rng.randrange(len(chosen))]
        service = services[service_id]
        category = rng.choice(CATEGORIES)
        received = now - timedelta(seconds=rng.randint(0, 730 * 86400))
        first_days, resolution_days = sla.DEFAULT_TARGETS[category]
        first_due = sla.due_after(received, first_days, calendar)
        resolution_due = sla.due_after(received, resolution_days, calendar)
        # a backlog as a working office has it: of the last 60 days' inquiries a half is
        # still pending, of older ones 3 in 100
        pending = rng.random() < (0.5 if received >= now - timedelta(days=60) else 0.03)
        status = rng.choice(PENDING) if pending else rng.choice(DONE)
        answered = None if status == "new" else received + timedelta(
            hours=rng.uniform(1, 24 * (first_days + 2)))
        resolved = closed = None
        if status in ("resolved", "closed"):
            resolved = answered + timedelta(hours=rng.uniform(1, 24 * (resolution_days + 3)))
            if status == "closed":
                closed = resolved + timedelta(days=rng.uniform(0, 14))
        due = None if status in ("resolved", "closed") else (
            first_due if answered is None else resolution_due)
        channel = "open311" if service.public_space and rng.random() < 0.9 \
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
    """The issue's filter and a text search for both roles, then the other shapes of
    the queue a busy office uses (default page, overdue, newest by channel, deep in
    the resolved ones, one department due today, a number, every inquiry's text)."""
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.email == "staff@bench.example"))
        slug = db.session.scalar(select(Service.slug).where(
            Service.department_id == staff.department_id).order_by(Service.id).limit(1))
        number = db.session.scalar(select(func.max(Inquiry.id)))
    search = quote(SEARCH)
    cases = {
        Role.STAFF: {"filter": f"/admin/inquiries/?status=pending&service={slug}&sla=overdue",
                     "search": f"/admin/inquiries/?q={search}",
                     "default (pending, due soonest)": "/admin/inquiries/",
                     "overdue": "/admin/inquiries/?sla=overdue"},
        Role.MANAGER: {"filter": f"/admin/inquiries/?status=pending&service={slug}&sla=overdue",
                       "search": f"/admin/inquiries/?q={search}",
                       "default, every department": "/admin/inquiries/",
                       "phone, newest first": "/admin/inquiries/?channel=phone&sort=-created",
                       "resolved, page 40": "/admin/inquiries/?status=resolved&sort=-updated"
                                            "&page=40",
                       "one department due today": "/admin/inquiries/?department=health"
                                                   "&sla=due_today",
                       "a number": f"/admin/inquiries/?status=all&q={number}",
                       "every inquiry's text": f"/admin/inquiries/?status=all&q={search}"}}
    figures = {}
    for role, paths in cases.items():
        client = signed_in_client(app, role)
        figures[(str(role), "baseline")] = summary(page_times(client, "/healthz", requests))
        for name, path in paths.items():
            page_times(client, path, 3)  # warm up
            figures[(str(role), name)] = summary(page_times(client, path, requests))
    return {"paths": {**cases[Role.MANAGER], **cases[Role.STAFF], "baseline": "/healthz"},
            "figures": figures}


def open311_part(app, requests: int) -> dict:
    """A date range ending now for which the endpoint returns 1000 requests (the spec's
    most): it starts at the newest 1000 inquiries received through Open311 and is
    widened (doubled, at most to the spec's 90 days) until the answer has 1000."""
    with app.app_context():
        i = Inquiry.__table__
        newest = db.session.scalars(select(i.c.created_at).where(i.c.channel == "open311")
                                    .order_by(i.c.created_at.desc()).limit(1000)).all()
    if not newest:
        raise SystemExit("FAILED: no Open311 inquiries to list")
    end_at = datetime.now(UTC) + timedelta(minutes=5)
    span = end_at - newest[-1] + timedelta(seconds=1)
    client = app.test_client()
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    while True:
        path = (f"/open311/v2/requests.json?start_date={(end_at - span).strftime(fmt)}"
                f"&end_date={end_at.strftime(fmt)}")
        first = client.get(path)
        if first.status_code != 200:
            raise SystemExit(f"FAILED: GET {path} answered {first.status_code}, not 200")
        returned = len(first.get_json())
        if returned >= 1000 or span >= timedelta(days=90):
            break
        span = min(span * 2, timedelta(days=90))
    if returned != 1000:
        raise SystemExit(f"FAILED: GET {path} returned {returned} requests, not 1000")
    xml = path.replace("requests.json", "requests.xml")
    page_times(client, path, 3)
    page_times(client, xml, 3)
    return {"path": path, "returned": returned,
            "figures": summary(page_times(client, path, requests)),
            "xml": summary(page_times(client, xml, requests))}


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
    parser.add_argument("--rounds", type=int, default=5)
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
                target = "" if kind == "baseline" else " (target p95 ≤ 200 ms)"
                print(f"  queue, {kind} ({result['paths'][kind]}) as {role}: "
                      f"median {median:.1f} ms, p95 {p95:.1f} ms{target}", flush=True)
        if args.part in ("all", "open311"):
            result = open311_part(app, args.requests)
            for fmt, (median, p95) in (("json", result["figures"]), ("xml", result["xml"])):
                print(f"  Open311 requests.{fmt}, {result['returned']} requests: median "
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
