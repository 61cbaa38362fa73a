"""Engine set-up that depends on the database in use, and who takes the write lock.

Concurrency on the embedded default (SQLite in WAL mode)
--------------------------------------------------------
Readers never block each other or a writer, but there is one writer at a time, and
a transaction that has already read cannot become the writer while another writer
holds the lock or has committed since it began: SQLite refuses that upgrade at once
(``database is locked``) without waiting for the busy timeout. So a request must
either take the write lock when its transaction begins or not write at all:

- **Requests that change something** (POST, PUT, PATCH, DELETE, and any GET view
  marked ``@writes``) begin with ``BEGIN IMMEDIATE``: they queue for the write lock
  within the busy timeout, and whatever they read afterwards is current.
- **Reads** (GET, HEAD, OPTIONS) begin with a plain ``BEGIN`` and take no lock. The
  audit entries of what a read showed are not written inside it:
  ``portal.audit.recording`` keeps them aside and writes them after the view, in a
  short transaction of their own that takes the write lock up front (see there).
- **A short write of its own inside a read** (the audit entries above, a sign-in's
  last-seen time) ends the read's transaction first and runs under ``short_write()``.
- **Outside a request** (CLI commands, job workers, tests' set-up) transactions take
  the write lock up front too: those are writers by nature.

A read request that writes anything else is a mistake that shows only under load,
so it is caught as soon as it runs: the statement is refused while testing and
logged otherwise. PostgreSQL needs none of this (row locks, no database-wide writer),
but the same rules hold there so that both databases run the same code.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from portal.extensions import db

log = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITE_STATEMENT = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
_warned: set[str] = set()


class UndeclaredWrite(RuntimeError):
    """A read request tried to write (raised while testing; logged in production)."""


def writes(view: Callable) -> Callable:
    """Mark a GET view that writes besides its audit entries (e.g. an API call that
    notes the token's last use): its transaction takes the write lock at BEGIN."""
    view.writes_database = True
    return view


@contextmanager
def short_write() -> Iterator[None]:
    """A write of its own inside a read request (the read's audit entries, a sign-in's
    last-seen time): the caller has ended the read's transaction; the next BEGIN
    takes the write lock, and the guard lets its statements through."""
    g.short_write = True
    try:
        yield
    finally:
        g.pop("short_write", None)


def request_writes() -> bool:
    """True when the current request's transactions take the write lock up front."""
    if not has_request_context():
        return True
    if g.get("short_write"):
        return True
    if request.method not in READ_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return bool(getattr(view, "writes_database", False))


def is_read_request() -> bool:
    """A request (not a test set-up or a CLI command) that must not write."""
    return has_request_context() and not request_writes()


def configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and transactions SQLAlchemy controls.

    pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; with
    ``isolation_level = None`` and an explicit BEGIN, SQLite behaves like the
    other databases (and the test-suite can roll back each test). The BEGIN is
    ``IMMEDIATE`` for whatever will write (see the module's docstring).
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 5000")
        if not _in_memory(engine):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if request_writes() else "BEGIN")


def guard_read_requests(engine: Engine) -> None:
    """Refuse (testing) or log (otherwise) a write made by a read request."""

    @event.listens_for(engine, "before_cursor_execute")
    def on_execute(_conn, _cursor, statement: str, _parameters: Any, _context, _many):
        if not _WRITE_STATEMENT.match(statement) or not is_read_request():
            return
        where = f"{request.method} {request.endpoint or request.path}"
        message = (f"{where} writes to the database in a read request; mark the view "
                   "@portal.database.writes (audit entries go through "
                   "portal.audit.recording, which handles reads)")
        if current_app.testing:
            raise UndeclaredWrite(message)
        if where not in _warned:
            _warned.add(where)
            log.warning("%s: on SQLite this fails under concurrent use", message)


def _in_memory(engine: Engine) -> bool:
    database = engine.url.database
    return not database or database == ":memory:" or database.startswith("file::memory:")


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            configure_sqlite(engine)
        guard_read_requests(engine)
