"""Test fixtures.

The schema is built once per session by running the migrations; every test then
runs inside an outer transaction on one connection that is rolled back at the
end, so tests never see each other's data. SQLite by default; PostgreSQL when
``PORTAL_TEST_DATABASE_URL`` is set (``postgresql+psycopg://…``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import MetaData, event, select, text

from portal.app import create_app
from portal.auth import passwords, sessions
from portal.auth.models import Role, User
from portal.extensions import Session, db, limiter
from portal.services.catalogue import load_catalogue
from portal.services.models import Department

TEST_PASSWORD = "correct horse battery staple"
IN_CI = os.environ.get("CI", "").lower() == "true"


def database_url(tmp_path_factory) -> str:
    url = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def reset_schema() -> None:
    """Drop whatever an earlier run left behind (including alembic_version)."""
    engine = db.engine
    metadata = MetaData()
    metadata.reflect(bind=engine)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in metadata.sorted_tables:
                conn.execute(text(f'DROP TABLE IF EXISTS "{table.name}" CASCADE'))
    else:
        metadata.drop_all(bind=engine)


class RequestClient(FlaskClient):
    """Each request gets a fresh app context (fresh ``g``, fresh session), as in
    production, even while the test itself holds one."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(tmp_path_factory) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    app = create_app("testing", {
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path_factory),
        "INSTANCE_PATH": str(instance),
        "MAIL_SINK_DIR": str(instance / "mail"),
    })
    app.test_client_class = RequestClient
    with app.app_context():
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            message = f"test database unreachable: {exc}"
            if IN_CI:
                pytest.exit(message, returncode=3)
            raise
        reset_schema()
        upgrade()
    yield app


@pytest.fixture(autouse=True)
def _transaction(request, app) -> Iterator[None]:
    """Run the test in a transaction that is rolled back afterwards (not for tests
    that serve the portal to another thread or process: they need committed data)."""
    if request.node.get_closest_marker("browser") or request.node.get_closest_marker("live"):
        yield
        return
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"class_": Session, "bind": connection, "join_transaction_mode": "create_savepoint"})
        limiter.reset()
        try:
            yield
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def csrf_on(app) -> Iterator[None]:
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def catalogue(app) -> dict[str, Department]:
    load_catalogue()
    db.session.commit()
    return {d.code: d for d in db.session.scalars(select(Department))}


@pytest.fixture
def make_user(app):
    counter = {"n": 0}

    def make(role: str = Role.RESIDENT, *, department: Department | None = None,
             email: str | None = None, password: str = TEST_PASSWORD, locale: str | None = None,
             active: bool = True) -> User:
        counter["n"] += 1
        user = User(email=email or f"{role}{counter['n']}@example.org",
                    display_name=f"{role.title()} {counter['n']}", role=role,
                    department_id=department.id if department else None,
                    password_hash=passwords.hash_password(password), locale=locale,
                    active=active)
        db.session.add(user)
        db.session.commit()
        return user

    return make


def sign_in(client: FlaskClient, user: User, *, ip: str = "127.0.0.1",
            user_agent: str = "Werkzeug test client") -> FlaskClient:
    """``client`` signed in as ``user`` on a sign-in (``UserSession``) of its own."""
    sessions.start(user, ip=ip, user_agent=user_agent)
    login_id = user.get_id()
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = login_id
        session["_fresh"] = True
    return client


def register(client: FlaskClient, *, display_name: str, email: str, password: str,
             locale: str = "en"):
    """Register as a resident does, through the link the registration e-mail carries
    (as if it had arrived), and stay signed in on ``client``."""
    from portal.auth import tokens

    with client.application.test_request_context():
        token = tokens.make_registration_token(tokens.Registration(
            email=email, display_name=display_name, locale=locale))
    return client.post(f"/account/register/finish/{token}",
                       data={"password": password, "confirm": password})


@pytest.fixture
def users(catalogue, make_user) -> dict[str, User]:
    """One user per role; the staff member works in the library."""
    return {
        "resident": make_user(Role.RESIDENT),
        "staff": make_user(Role.STAFF, department=catalogue["library"]),
        "manager": make_user(Role.MANAGER),
        "admin": make_user(Role.ADMIN),
        "official": make_user(Role.OFFICIAL),
    }


def _client_for(app, user):
    return sign_in(app.test_client(), user)


@pytest.fixture
def resident_client(app, users):
    return _client_for(app, users["resident"])


@pytest.fixture
def staff_client(app, users):
    return _client_for(app, users["staff"])


@pytest.fixture
def manager_client(app, users):
    return _client_for(app, users["manager"])


@pytest.fixture
def admin_client(app, users):
    return _client_for(app, users["admin"])


@pytest.fixture
def official_client(app, users):
    return _client_for(app, users["official"])


@pytest.fixture
def role_client(app, users):
    """``role_client("staff")`` → a client signed in with that role (None: anonymous)."""

    def make(role: str | None) -> FlaskClient:
        client = app.test_client()
        return sign_in(client, users[role]) if role else client

    return make


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if statement.strip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            return
        self.count += 1
        self.statements.append(statement)


@pytest.fixture
def count_queries(app):
    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)

    return counting


@pytest.fixture
def outbox_dir(app, tmp_path) -> Iterator[Path]:
    """The file sink of this test only."""
    original = app.config["MAIL_SINK_DIR"]
    app.config["MAIL_SINK_DIR"] = str(tmp_path / "mail")
    yield tmp_path / "mail"
    app.config["MAIL_SINK_DIR"] = original
