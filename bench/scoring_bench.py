"""Benchmark: the engagement recompute at municipal scale.

Builds a fresh database (SQLite file and/or PostgreSQL) with R residents, the 20
seeded services and E usage events, then measures, in the same run:

- the recompute of every score (median of --runs, each the next day's run, as the
  daily job makes them; and one month-start run, which also keeps a snapshot);
- two floors and the ratio to each: the *read floor*, one plain ``GROUP BY
  resident, service`` aggregate over the same events (no scorer can avoid reading
  the events once), and the *read + write floor*, the same aggregate stored with
  ``CREATE TABLE … AS`` (one row per pair, as many rows as the scores: the least
  any scorer that stores a row per pair must do). The target is the ratio to the
  read + write floor (≤ 2.0, stretch ≤ 1.5);
- the part of a run that does not depend on how the inputs per pair are got (so
  no incremental design can avoid it): storing today's rows (the scores copied
  with their key and indexes) and the aggregates worked out from them;
- the service engagement page and the resident 360° page: median and p95 over
  --requests requests, in process through the test client;
- the recompute's peak Python memory (tracemalloc) — it must not load the events.

    python bench/scoring_bench.py                      # 100 000 × 20, 5 000 000 events
    python bench/scoring_bench.py --residents 20000 --events 1000000 --database sqlite
    python bench/scoring_bench.py --database postgresql --scale 10   # + 10⁶ × 5·10⁷ run

``--scale N`` adds a PostgreSQL run with N times the residents and events after the
others and prints its recompute time per 100 000 residents against the first
PostgreSQL run's (target: linear, within 1.2×). It takes a long time (populating
5·10⁷ events alone takes minutes), so it is not run by default.

PostgreSQL: PORTAL_BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench,
created when missing; never point it at a database the tests use);
the schema there is dropped and rebuilt.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade
from sqlalchemy import MetaData, insert, select, text

from portal.app import create_app
from portal.auth import sessions
from portal.auth.models import Role, User
from portal.engagement.models import EngagementScore
from portal.engagement.scoring import recompute, rewrite_aggregates
from portal.extensions import db
from portal.residents.models import Resident
from portal.services.catalogue import load_catalogue
from portal.services.models import Service, UsageEvent
from portal.timeutil import local_today

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench"
DISTRICTS = ["中央", "北町", "南町", "東町", "西町", "桜ヶ丘", "川辺", "緑町"]


def ensure_database(url: str) -> None:
    """Create the PostgreSQL bench database when it does not exist."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    target = make_url(url)
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": target.database}).scalar():
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    server.dispose()


def reset(app) -> None:
    with app.app_context():
        metadata = MetaData()
        metadata.reflect(bind=db.engine)
        with db.engine.begin() as conn:
            for table in metadata.sorted_tables:
                if db.engine.dialect.name == "postgresql":
                    conn.execute(text(f'DROP TABLE IF EXISTS "{table.name}" CASCADE'))
        if db.engine.dialect.name != "postgresql":
            metadata.drop_all(bind=db.engine)
        upgrade()


def populate(residents: int, events: int, seed: int) -> None:
    rng = random.Random(seed)
    load_catalogue()
    db.session.commit()
    services = db.session.scalars(select(Service).order_by(Service.id)).all()
    year = local_today().year
    now = datetime.now(UTC).replace(microsecond=0)
    created = now - timedelta(days=800)
    rows = [{"external_id": f"B{n:07d}", "family_name": "山田", "given_name": f"{n}",
             "family_name_kana": "ヤマダ", "given_name_kana": "", "name_latin": "",
             "district": rng.choice(DISTRICTS), "birth_year": year - rng.randint(0, 95),
             "preferred_locale": "ja" if rng.random() < 0.9 else "en",
             "preferred_channels": ["email"], "consent_outreach": True,
             "consent_profiling": rng.random() < 0.95, "do_not_contact": False,
             "created_at": created, "updated_at": created} for n in range(residents)]
    for start in range(0, residents, 10_000):
        db.session.execute(insert(Resident), rows[start:start + 10_000])
    db.session.commit()
    ids = db.session.scalars(select(Resident.id).order_by(Resident.id)).all()
    # each resident uses ~8 services; events spread over 12 months
    plans = [(rid, rng.sample(services, 8)) for rid in ids]
    columns = ("resident_id", "service_id", "kind", "channel", "occurred_at", "source",
               "idempotency_key", "created_at")
    per_resident = events // residents
    connection = db.session.connection()
    dialect = connection.dialect.name
    batch = []
    key = 0
    for rid, chosen in plans:
        for _ in range(per_resident):
            service = rng.choice(chosen)
            moment = now - timedelta(seconds=rng.randint(0, 365 * 86400))
            key += 1
            batch.append((rid, service.id, "use", "counter", moment, "bench", f"b{key}",
                          moment))
        if len(batch) >= 200_000:
            _flush(connection, dialect, columns, batch)
            batch = []
    _flush(connection, dialect, columns, batch)
    db.session.commit()
    print(f"  populated {residents} residents, {key} events", flush=True)


def _flush(connection, dialect, columns, batch) -> None:
    if not batch:
        return
    if dialect == "postgresql":
        raw = connection.connection.driver_connection
        with raw.cursor().copy(f"COPY usage_events ({', '.join(columns)}) FROM STDIN") as copy:
            for row in batch:
                copy.write_row(row)
    else:
        table = UsageEvent.__table__
        connection.execute(insert(table), [dict(zip(columns, row, strict=True))
                                           for row in batch])


def timed(function, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def page_times(app, path: str, requests: int) -> tuple[float, float]:
    client = app.test_client()
    with app.app_context():
        manager = db.session.scalar(select(User).where(User.role == Role.MANAGER))
        sessions.start(manager, ip="127.0.0.1", user_agent="scoring bench")
        login_id = manager.get_id()
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = login_id
        session["_fresh"] = True
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def bench(url: str, args) -> dict:
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url,
                                 "INSTANCE_PATH": tempfile.mkdtemp()})
    reset(app)
    results = {}
    with app.app_context():
        started = time.perf_counter()
        populate(args.residents, args.events, args.seed)
        results["populate_s"] = time.perf_counter() - started
        db.session.add(User(email="manager@bench.example", display_name="Bench", role="manager",
                            password_hash="!unusable", active=True))  # noqa: S106
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # steady state, as autovacuum leaves it: visibility map set, statistics fresh
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))

        def floor():
            with db.engine.connect() as conn:
                conn.execute(text(
                    "SELECT count(*) FROM (SELECT resident_id, service_id, count(*), "
                    "max(occurred_at) FROM usage_events GROUP BY resident_id, service_id) g"
                )).scalar()

        def write_floor():
            # stored in its own transaction and committed, as the recompute is
            with db.engine.begin() as conn:
                conn.execute(text(
                    "CREATE TABLE bench_floor AS SELECT resident_id, service_id, "
                    "count(*) AS uses, max(occurred_at) AS last_use FROM usage_events "
                    "GROUP BY resident_id, service_id"))

        def drop_write_floor():
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS bench_floor"))

        today = local_today()
        days = iter(today - timedelta(days=n) for n in range(args.runs + 2, 0, -1))

        def scorer():
            # each run scores the next day, as the daily job does: it replaces the
            # current scores and compares with the day before
            recompute(next(days))
            db.session.commit()

        def rows_floor():
            # the stored rows alone: today's scores copied with their key and indexes
            # (the least any way of getting the inputs must still write)
            scores = EngagementScore.__table__
            names = ", ".join(c.name for c in scores.columns)
            with db.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text(f"CREATE TABLE bench_rows AS SELECT {names} "
                                      "FROM engagement_scores"))
                    conn.execute(text("ALTER TABLE bench_rows ADD PRIMARY KEY "
                                      "(service_id, resident_id)"))
                else:
                    ddl = conn.execute(text("SELECT sql FROM sqlite_master "
                                            "WHERE name = 'engagement_scores'")).scalar()
                    conn.execute(text(ddl.replace("engagement_scores", "bench_rows", 1)
                                      .replace("pk_engagement_scores", "pk_bench_rows")))
                    conn.execute(text(f"INSERT INTO bench_rows ({names}) SELECT {names} "
                                      "FROM engagement_scores ORDER BY service_id, resident_id"))
                for index in scores.indexes:
                    columns = ", ".join(c.name for c in index.columns)
                    conn.execute(text(f"CREATE INDEX {index.name}_bench ON bench_rows "
                                      f"({columns})"))
                conn.execute(text("DROP TABLE bench_rows"))

        def aggregates_alone():
            rewrite_aggregates(today)
            db.session.rollback()

        floor()  # warm the cache for all three
        drop_write_floor()
        write_floor()
        drop_write_floor()
        scorer()
        floor_times, write_floor_times, score_times = [], [], []
        rows_times, aggregate_times = [], []
        for _ in range(args.runs):  # interleaved: the machine's noise hits all alike
            floor_times += timed(floor, 1)
            write_floor_times += timed(write_floor, 1)
            drop_write_floor()  # not timed
            score_times += timed(scorer, 1)
            rows_times += timed(rows_floor, 1)
            aggregate_times += timed(aggregates_alone, 1)
        tracemalloc.start()  # a separate run: tracing slows Python down
        scorer()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        month_start = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        started = time.perf_counter()
        recompute(month_start)  # a month's first day also keeps the monthly snapshot
        db.session.commit()
        results.update(
            recompute_s=statistics.median(score_times), floor_s=statistics.median(floor_times),
            write_floor_s=statistics.median(write_floor_times),
            rows_floor_s=statistics.median(rows_times),
            aggregates_s=statistics.median(aggregate_times),
            floor_rows=db.session.execute(text(
                "SELECT count(*) FROM (SELECT 1 FROM usage_events "
                "GROUP BY resident_id, service_id) g")).scalar(),
            month_start_s=time.perf_counter() - started, peak_python_mb=peak / 2**20,
            scores=db.session.execute(text("SELECT count(*) FROM engagement_scores")).scalar())
        results["ratio"] = results["recompute_s"] / results["floor_s"]
        results["write_ratio"] = results["recompute_s"] / results["write_floor_s"]
        resident_id = db.session.scalar(text(
            "SELECT resident_id FROM engagement_scores GROUP BY resident_id "
            "ORDER BY count(*) DESC LIMIT 1"))
    service_path = "/admin/services/library-loans/engagement?band="
    results["service_page"] = page_times(app, service_path, args.requests)
    results["resident_page"] = page_times(app, f"/admin/residents/{resident_id}",
                                          args.requests)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--scale", type=int, default=0, metavar="N",
                        help="also run PostgreSQL with N × the residents and events "
                             "(10: 10⁶ residents, 5·10⁷ events; slow)")
    args = parser.parse_args()
    pg_url = os.environ.get("PORTAL_BENCH_DATABASE_URL", PG_DEFAULT)
    targets = []
    if args.database in ("sqlite", "both"):
        targets.append(("SQLite", f"sqlite:///{tempfile.mkdtemp()}/bench.db", args))
    if args.database in ("postgresql", "both") or args.scale:
        targets.append(("PostgreSQL", pg_url, args))
    if args.scale:
        scaled = argparse.Namespace(**{**vars(args), "residents": args.residents * args.scale,
                                       "events": args.events * args.scale,
                                       "runs": min(args.runs, 2)})
        targets.append((f"PostgreSQL × {args.scale}", pg_url, scaled))
    print(f"{args.residents} residents × 20 services, {args.events} events; "
          f"medians of {args.runs} runs, pages over {args.requests} requests")
    per_100k = {}
    for name, url, run_args in targets:
        print(f"{name}: {run_args.residents} residents, {run_args.events} events", flush=True)
        if url.startswith("postgresql"):
            ensure_database(url)
        r = bench(url, run_args)
        if url.startswith("postgresql"):
            per_100k[name] = r["recompute_s"] / (run_args.residents / 100_000)
        print(f"  recompute        {r['recompute_s']:8.2f} s  ({r['scores']} scores)")
        print(f"  read floor       {r['floor_s']:8.2f} s  (GROUP BY resident, service)")
        print(f"  read+write floor {r['write_floor_s']:8.2f} s  "
              f"(CREATE TABLE … AS the same, {r['floor_rows']} rows)")
        print(f"  ratio to read    {r['ratio']:8.2f}")
        print(f"  ratio to r+w     {r['write_ratio']:8.2f}   (target ≤ 2.0, stretch ≤ 1.5)")
        fixed = r["rows_floor_s"] + r["aggregates_s"]
        print(f"  of a run, the part no way of getting the inputs avoids: "
              f"{fixed:.2f} s = {fixed / r['write_floor_s']:.2f} × r+w")
        print(f"    storing the rows {r['rows_floor_s']:8.2f} s  "
              "(today's scores copied with key and indexes)")
        print(f"    aggregates       {r['aggregates_s']:8.2f} s  (from the stored scores)")
        print(f"  month-start run  {r['month_start_s']:8.2f} s  (also keeps the monthly snapshot)")
        print(f"  peak Python heap {r['peak_python_mb']:8.1f} MiB during recompute")
        for label, key in (("service page", "service_page"), ("resident 360", "resident_page")):
            median, p95 = r[key]
            print(f"  {label:<16} median {median * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms")
        print(f"  (populating took {r['populate_s']:.0f} s)", flush=True)
    if args.scale and len(per_100k) == 2:
        base, big = per_100k["PostgreSQL"], per_100k[f"PostgreSQL × {args.scale}"]
        print(f"PostgreSQL recompute per 100 000 residents: {base:.2f} s at 1×, "
              f"{big:.2f} s at {args.scale}×, ratio {big / base:.2f} (target ≤ 1.2: linear)")


if __name__ == "__main__":
    main()
