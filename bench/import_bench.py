"""Speed of the usage-events CSV import against a raw bulk insert of the same rows.

A script, not a test. It builds its own fresh database (SQLite in a temporary
folder; PostgreSQL at PORTAL_BENCH_DATABASE_URL, whose schema it DROPS and
recreates), seeds the service catalogue and a few thousand residents, writes a CSV
of N usage events, then alternately

* imports the file with the portal's importer (``portal import events``: parse,
  check, stage, set-based checks, one INSERT … SELECT), commit included, and
* inserts the same rows, already resolved to ids, the raw way: one ``executemany``
  of INSERT on SQLite, ``COPY`` on PostgreSQL, commit included,

each into an empty ``usage_events`` table, ``--runs`` times, and prints the
medians in rows per second and the ratio importer / raw (target ≥ 0.5).

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--database both]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade
from sqlalchemy import insert, select, text

from portal.app import create_app
from portal.extensions import db
from portal.imports import importing
from portal.residents.models import Resident
from portal.services.catalogue import load_catalogue
from portal.services.models import Service
from portal.services.usage import CHANNELS

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench"
COLUMNS = ("resident_id", "service_id", "kind", "channel", "occurred_at", "source",
           "idempotency_key", "note", "recorded_by_id", "created_at")
NOTES = ("窓口で受付", "予約本の受け取り", "follow-up call", "")


def make_app(url: str, instance: Path):
    return create_app("development", {
        "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "bench-secret-key-not-for-production-use-000000",
    })


def fresh_schema(dialect: str) -> None:
    if dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade()


def seed(residents: int) -> tuple[dict[str, int], dict[str, int]]:
    load_catalogue()
    now = datetime.now(UTC)
    rows = [{"external_id": f"BR{i:06d}", "family_name": "試験", "given_name": f"{i}",
             "district": "中央", "birth_year": 1950 + i % 60, "preferred_locale": "ja",
             "preferred_channels": [], "consent_outreach": True, "consent_profiling": True,
             "do_not_contact": False, "created_at": now, "updated_at": now}
            for i in range(residents)]
    db.session.execute(insert(Resident), rows)
    db.session.commit()
    resident_ids = dict(db.session.execute(select(Resident.external_id, Resident.id)).all())
    services = db.session.execute(select(Service.slug, Service.service_code, Service.id)).all()
    service_ids = {slug: sid for slug, _, sid in services}
    service_ids.update({code: sid for _, code, sid in services if code})
    return resident_ids, service_ids


def write_csv(path: Path, rows: int, resident_ids: dict[str, int],
              service_ids: dict[str, int], zone: ZoneInfo) -> list[tuple]:
    """The CSV file, and the same events resolved for the raw insert
    (occurred_at as an aware UTC datetime)."""
    rng = random.Random(20261122)
    residents = sorted(resident_ids)
    services = sorted(service_ids)
    now = datetime.now(zone).replace(microsecond=0)
    resolved = []
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event_id", "resident_external_id", "service", "occurred_at",
                         "channel", "kind", "note"])
        for number in range(rows):
            resident = rng.choice(residents)
            service = rng.choice(services)
            moment = now - timedelta(seconds=rng.randrange(1, 365 * 86400))
            stamp = (moment.isoformat() if number % 2 else
                     moment.strftime("%Y-%m-%d %H:%M:%S"))
            channel = rng.choice(CHANNELS)
            note = NOTES[number % len(NOTES)] if number % 10 == 0 else ""
            key = f"BENCH-{number:08d}"
            writer.writerow([key, resident, service, stamp, channel, "use", note])
            resolved.append((resident_ids[resident], service_ids[service], "use", channel,
                             moment.astimezone(UTC), "import", key, note or None))
    return resolved


def clear_events() -> None:
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE usage_events"))
    else:
        db.session.execute(text("DELETE FROM usage_events"))
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE usage_events"))


def run_importer(path: Path, rows: int) -> float:
    clear_events()
    started = time.perf_counter()
    result = importing.import_file("events", path.read_bytes(), filename=path.name)
    db.session.commit()
    elapsed = time.perf_counter() - started
    if not result.applied or result.counts["created"] != rows:
        raise SystemExit(f"importer did not import every row: {result.counts}, "
                         f"{result.problem_dicts()[:5]}")
    return elapsed


def run_raw(resolved: list[tuple]) -> float:
    clear_events()
    dialect = db.engine.dialect.name
    created = datetime.now(UTC)
    started = time.perf_counter()
    driver = db.session.connection().connection.driver_connection
    if dialect == "postgresql":
        with driver.cursor() as cursor, cursor.copy(
                f"COPY usage_events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in resolved:
                copy.write_row((*row, None, created))
    else:
        created_text = created.replace(tzinfo=None).isoformat(" ", "microseconds")
        cursor = driver.cursor()
        cursor.executemany(
            f"INSERT INTO usage_events ({', '.join(COLUMNS)}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((r[0], r[1], r[2], r[3],
              r[4].replace(tzinfo=None).isoformat(" ", "microseconds"),
              r[5], r[6], r[7], None, created_text) for r in resolved))
        cursor.close()
    db.session.commit()
    return time.perf_counter() - started


def bench(database: str, rows: int, runs: int, residents: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as folder:
        folder_path = Path(folder)
        if database == "sqlite":
            url = f"sqlite:///{folder_path / 'bench.db'}"
        else:
            url = os.environ.get("PORTAL_BENCH_DATABASE_URL", PG_DEFAULT)
        app = make_app(url, folder_path)
        with app.app_context():
            fresh_schema(db.engine.dialect.name)
            resident_ids, service_ids = seed(residents)
            path = folder_path / "events.csv"
            started = time.perf_counter()
            resolved = write_csv(path, rows, resident_ids, service_ids,
                                 ZoneInfo(app.config["TIME_ZONE"]))
            print(f"[{database}] {rows:,} events for {residents:,} residents and "
                  f"{len(set(service_ids.values()))} services: "
                  f"{path.stat().st_size / 1e6:.1f} MB CSV written in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
            importer_times, raw_times = [], []
            for run in range(1, runs + 1):
                importer_times.append(run_importer(path, rows))
                raw_times.append(run_raw(resolved))
                print(f"[{database}] run {run}: importer {importer_times[-1]:.2f} s, "
                      f"raw {raw_times[-1]:.2f} s", flush=True)
            clear_events()
            db.session.remove()
            db.engine.dispose()
    importer = statistics.median(importer_times)
    raw = statistics.median(raw_times)
    return {"importer_s": importer, "raw_s": raw, "importer_rps": rows / importer,
            "raw_rps": rows / raw, "ratio": raw / importer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--residents", type=int, default=3000)
    args = parser.parse_args()
    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    figures = {db_name: bench(db_name, args.rows, args.runs, args.residents)
               for db_name in databases}
    raw_label = {"sqlite": "executemany INSERT", "postgresql": "COPY"}
    print(f"\nMedians of {args.runs} runs, {args.rows:,} usage events:")
    for name, f in figures.items():
        verdict = "meets" if f["ratio"] >= 0.5 else "MISSES"
        print(f"  {name:<10} importer {f['importer_rps']:>9,.0f} rows/s ({f['importer_s']:.2f} s)"
              f" · raw {raw_label[name]} {f['raw_rps']:>9,.0f} rows/s ({f['raw_s']:.2f} s)"
              f" · ratio {f['ratio']:.2f} ({verdict} the 0.5 target)")


if __name__ == "__main__":
    main()
