"""Concurrent staff use of the console under a real multi-threaded server.

Counter staff all open resident pages at 9:00: on SQLite a read that then wrote its
audit entry inside the same transaction was refused ("database is locked") as soon
as another request was writing. Here a threaded Werkzeug server serves the portal
from its own database — a SQLite file, or a PostgreSQL database of its own next to
the suite's when ``PORTAL_TEST_DATABASE_URL`` is set — and 60 requests arrive at
once: resident list, 360° page, service engagement page and counter entries. None
may fail, and every one of them leaves its audit entries.

The server needs committed data, so these tests run outside the suite's per-test
transaction (marker ``live``) and build, and then drop, a database of their own.
"""

from __future__ import annotations

import http.client
import os
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from portal.app import create_app
from portal.audit.models import AuditEntry
from portal.audit.recording import record, record_many
from portal.database import UndeclaredWrite, writes
from portal.demo import generator
from portal.engagement.scoring import recompute
from portal.extensions import db
from portal.residents.models import Resident
from portal.services.models import Service, UsageEvent
from portal.timeutil import local_today

pytestmark = pytest.mark.live  # each test serves a database of its own

PER_KIND = 15  # × 4 kinds of request = 60 requests at once
PAGE_SIZE = 25


@dataclass
class LivePortal:
    app: Flask
    host: str
    port: int


def own_live_app(tmp_path, **overrides) -> Iterator[Flask]:
    """An app on a database of its own (``_own_database_url``), migrated; the database
    is dropped afterwards (for a fixture: ``yield from own_live_app(tmp_path)``)."""
    urls = _own_database_url(tmp_path)
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": next(urls),
                                 "INSTANCE_PATH": str(tmp_path), **overrides})
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    for _ in urls:  # drops the database
        pass


def _own_database_url(tmp_path) -> Iterator[str]:
    """A SQLite file, or a fresh PostgreSQL database beside the suite's, dropped after."""
    base = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'live.db'}"
        return
    url = make_url(base)
    name = f"{url.database}_live"
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture
def sqlite_app(tmp_path) -> Iterator[Flask]:
    """A portal on a SQLite file of its own, with a few routes of the kinds that matter,
    and the BEGIN statements its requests issue."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}",
                                 "INSTANCE_PATH": str(tmp_path)})
    app.begins = []

    @app.get("/probe/read")
    def plain_read():
        return {"services": db.session.scalar(select(func.count()).select_from(Service))}

    @app.get("/probe/audited-read")
    def audited_read():
        count = db.session.scalar(select(func.count()).select_from(Service))
        record("probe.read", actor=None, summary="read")
        record_many("probe.read_many", actor=None, target_type="services",
                    target_ids=[1, 2], summary="read")
        return {"services": count}

    @app.get("/probe/undeclared-write")
    def undeclared_write():
        db.session.execute(insert(AuditEntry).values(action="probe.sneaky", summary=""))
        db.session.commit()
        return {}

    @app.get("/probe/declared-write")
    @writes
    def declared_write():
        db.session.execute(insert(AuditEntry).values(action="probe.declared", summary=""))
        db.session.commit()
        return {}

    @app.post("/probe/change")
    def change():
        record("probe.change", actor=None, summary="change")
        db.session.commit()
        return {}

    with app.app_context():
        upgrade()
        event.listen(db.engine, "before_cursor_execute",
                     lambda _c, _cu, statement, *_: statement.startswith("BEGIN")
                     and app.begins.append(statement))
    yield app
    with app.app_context():
        db.engine.dispose()


def _actions(app: Flask) -> list[str]:
    with app.app_context():
        return db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()


def test_reads_begin_without_a_lock_and_writes_take_it_up_front(sqlite_app):
    client = sqlite_app.test_client()
    sqlite_app.begins.clear()
    assert client.get("/probe/read").status_code == 200
    assert sqlite_app.begins == ["BEGIN"]

    sqlite_app.begins.clear()
    assert client.get("/probe/audited-read").status_code == 200
    # the read, then its audit entries in a short transaction of their own
    assert sqlite_app.begins == ["BEGIN", "BEGIN IMMEDIATE"]
    assert _actions(sqlite_app) == ["probe.read", "probe.read_many", "probe.read_many"]

    sqlite_app.begins.clear()
    assert client.post("/probe/change").status_code == 200
    assert client.get("/probe/declared-write").status_code == 200
    assert sqlite_app.begins == ["BEGIN IMMEDIATE", "BEGIN IMMEDIATE"]
    assert _actions(sqlite_app)[-2:] == ["probe.change", "probe.declared"]


def test_a_read_that_writes_without_saying_so_is_refused_while_testing(sqlite_app):
    with pytest.raises(UndeclaredWrite, match="undeclared_write"):
        sqlite_app.test_client().get("/probe/undeclared-write")
    assert "probe.sneaky" not in _actions(sqlite_app)


@pytest.fixture
def live_portal(tmp_path) -> Iterator[LivePortal]:
    for url in _own_database_url(tmp_path):
        app = create_app("testing", {
            "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(tmp_path),
            "MAIL_SINK_DIR": str(tmp_path / "mail"), "LOGIN_RATE_LIMIT": "100 per minute"})
        with app.app_context():
            upgrade()
            generator.generate(residents=60, months=2, seed=8)
            db.session.commit()
            recompute(local_today())
            db.session.commit()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield LivePortal(app, "127.0.0.1", server.server_port)
        finally:
            server.shutdown()
            thread.join(timeout=10)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def _request(portal: LivePortal, method: str, path: str, *, cookie: str = "",
             form: dict | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(portal.host, portal.port, timeout=60)
    headers = {"Accept-Language": "en", "Cookie": cookie}
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def _sign_in(portal: LivePortal) -> str:
    response = _request(portal, "POST", "/account/login", form={
        "email": f"manager@{generator.DEMO_DOMAIN}", "password": generator.DEMO_PASSWORD})
    assert response.status == 302, response.status
    cookie = response.getheader("Set-Cookie")
    return cookie.split(";", 1)[0]


def _count(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == action))


def test_concurrent_reads_that_audit_and_writes_all_succeed(live_portal):
    portal = live_portal
    cookie = _sign_in(portal)
    with portal.app.app_context():
        residents = db.session.scalars(select(Resident.id).order_by(Resident.id)).all()
        service = db.session.scalars(select(Service).join(UsageEvent)
                                     .order_by(Service.slug).limit(1)).one()
        slug, service_id = service.slug, service.id
        events_before = db.session.scalar(select(func.count()).select_from(UsageEvent))
    assert len(residents) >= PAGE_SIZE

    kinds = {
        "list": ("GET", "/admin/residents/", None),
        "360": ("GET", f"/admin/residents/{residents[0]}", None),
        "engagement": ("GET", f"/admin/services/{slug}/engagement", None),
        "counter": ("POST", f"/admin/residents/{residents[0]}/usage",
                    {"service_id": service_id, "channel": "counter", "kind": "visit",
                     "note": "counter entry"}),
    }
    actions = {"list": "resident.list_view", "360": "resident.view",
               "engagement": "engagement.list_view", "counter": "usage.record"}
    # one of each first, one after the other: what each request writes to the log
    for method, path, form in kinds.values():
        assert _request(portal, method, path, cookie=cookie, form=form).status < 400
    with portal.app.app_context():
        per_request = {kind: _count(action) for kind, action in actions.items()}
    assert per_request == {"list": PAGE_SIZE, "360": 1,
                           "engagement": per_request["engagement"], "counter": 1}
    assert per_request["engagement"] > 0

    burst = [spec for spec in kinds.values() for _ in range(PER_KIND)]
    start = threading.Barrier(len(burst))

    def fire(spec):
        method, path, form = spec
        start.wait(timeout=60)
        return method, path, _request(portal, method, path, cookie=cookie, form=form).status

    with ThreadPoolExecutor(max_workers=len(burst)) as pool:
        results = list(pool.map(fire, burst))

    statuses = Counter((method, status) for method, _, status in results)
    assert [result for result in results if result[2] >= 500] == [], statuses
    assert statuses == {("GET", 200): 3 * PER_KIND, ("POST", 302): PER_KIND}

    with portal.app.app_context():
        # every request left its audit entries: one per resident shown or changed
        assert {kind: _count(action) for kind, action in actions.items()} == {
            kind: count * (PER_KIND + 1) for kind, count in per_request.items()}
        assert db.session.scalar(select(func.count()).select_from(UsageEvent)) == (
            events_before + PER_KIND + 1)
