"""Benchmark: ``GET /open311/v2/requests.{json,xml}`` with a date filter that returns
1000 requests, among 200 000 inquiries (target p95 ≤ 300 ms).

The inquiries are spread over two years; one in ten came in through Open311 (the
only ones GET requests lists), a third of those on public-space services (their
answer carries the location, description and media link too). Each format is
asked 50 times (after 3 unmeasured warm-up requests) through the Flask test
client, so the figure includes routing, the query, serialising and the response;
median and p95 are printed.

    python bench/open311_bench.py                      # SQLite temp file
    python bench/open311_bench.py --database postgresql
    python bench/open311_bench.py --inquiries 50000

PostgreSQL: ``PORTAL_BENCH_OPEN311_DATABASE_URL`` (default the wt_open311 database);
its schema is dropped and rebuilt.
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

from sqlalchemy import insert, select

from portal.extensions import db
from portal.timeutil import utcnow

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/wt_open311"
REQUESTS = 50
BATCH = 5000


def build(url: str, inquiries: int, instance: str):
    from flask_migrate import upgrade

    from portal.app import create_app
    from portal.inquiries.models import Inquiry
    from portal.services.catalogue import load_catalogue
    from portal.services.models import Service

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": instance})
    with app.app_context():
        if url.startswith("postgresql"):
            from tests.conftest import reset_schema

            reset_schema()
        upgrade()
        load_catalogue()
        db.session.flush()
        services = db.session.execute(select(Service.id, Service.department_id,
                                             Service.slug)).all()
        public = {"bulky-waste-collection", "recycling-station"}
        db.session.execute(Service.__table__.update().where(Service.slug.in_(public))
                           .values(public_space=True))
        db.session.commit()
        rng = random.Random(311)
        now = utcnow()
        rows = []
        statuses = ["new", "open", "waiting", "resolved", "closed"]
        started = time.perf_counter()
        for n in range(inquiries):
            service_id, department_id, _ = rng.choice(services)
            open311 = rng.random() < 0.1
            if open311 and rng.random() < 0.34:
                service_id, department_id, _ = rng.choice(
                    [s for s in services if s[2] in public])
            created = now - timedelta(seconds=rng.randrange(730 * 86400))
            status = rng.choice(statuses)
            rows.append({
                "service_id": service_id, "department_id": department_id,
                "category": "problem" if open311 else "question",
                "channel": "open311" if open311 else rng.choice(["web", "phone", "counter"]),
                "status": status, "subject": f"Inquiry {n}",
                "description": "歩道に粗大ごみが置かれています。" * 3,
                "address": "桜川市中央1-2-3" if open311 else None,
                "latitude": 35.6 + rng.random() / 10 if open311 else None,
                "longitude": 139.6 + rng.random() / 10 if open311 else None,
                "media_url": "https://example.org/p.jpg" if open311 else None,
                "caller_name": "山田 太郎" if open311 else None,
                "caller_email": "taro@example.org" if open311 else None,
                "locale": "ja", "created_at": created, "updated_at": created,
                "first_response_due_at": created + timedelta(days=2),
                "resolution_due_at": created + timedelta(days=10),
                "due_at": None if status in ("resolved", "closed") else created
                + timedelta(days=2),
                "resolved_at": created + timedelta(days=5)
                if status in ("resolved", "closed") else None,
                "closed_at": created + timedelta(days=6) if status == "closed" else None,
                "reopen_count": 0,
            })
            if len(rows) == BATCH:
                db.session.execute(insert(Inquiry), rows)
                rows = []
        if rows:
            db.session.execute(insert(Inquiry), rows)
        db.session.commit()
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        print(f"built {inquiries} inquiries in {time.perf_counter() - started:.1f} s")
    return app


def measure(app) -> dict:
    now = utcnow()
    start = (now - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    client = app.test_client()
    results = {}
    for fmt in ("json", "xml"):
        path = f"/open311/v2/requests.{fmt}?start_date={start}&end_date={end}"
        for _ in range(3):
            response = client.get(path)
        assert response.status_code == 200, response.data[:500]
        count = (len(response.get_json()) if fmt == "json"
                 else response.data.count(b"<request>"))
        times = []
        for _ in range(REQUESTS):
            began = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200
        times.sort()
        results[fmt] = {"returned": count, "median_ms": round(statistics.median(times), 1),
                        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
                        "bytes": len(response.data)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--inquiries", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        if args.database == "sqlite":
            url = f"sqlite:///{instance}/bench.db"
        else:
            url = os.environ.get("PORTAL_BENCH_OPEN311_DATABASE_URL", PG_DEFAULT)
        app = build(url, args.inquiries, instance)
        for fmt, figures in measure(app).items():
            print(f"{args.database} {fmt}: {figures}")


if __name__ == "__main__":
    main()
