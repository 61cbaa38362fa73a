"""Every route × every role → the expected status. Grows with every feature.

``None`` is an anonymous visitor. 302 for anonymous on protected pages is the
redirect to the sign-in page.
"""

from __future__ import annotations

import pytest

from portal.app import create_app

ROLES = [None, "resident", "staff", "manager", "admin", "official"]
CONSOLE = {None: 302, "resident": 403, "staff": 200, "manager": 200, "admin": 200,
           "official": 200}
ADMIN_ONLY = {None: 302, "resident": 403, "staff": 403, "manager": 403, "admin": 200,
              "official": 403}
PUBLIC = dict.fromkeys(ROLES, 200)
SIGNED_IN = {None: 302, "resident": 200, "staff": 200, "manager": 200, "admin": 200,
             "official": 200}
# the public home page sends console users on to the console
HOME = {**PUBLIC, "staff": 302, "manager": 302, "admin": 302, "official": 302}
# signed-in visitors are sent on from the sign-in and registration pages
GUEST_ONLY = {None: 200, "resident": 302, "staff": 302, "manager": 302, "admin": 302,
              "official": 302}

TABLE: list[tuple[str, str, dict]] = [
    ("GET", "/", HOME),
    ("GET", "/healthz", PUBLIC),
    ("GET", "/account/login", GUEST_ONLY),
    ("GET", "/account/register", GUEST_ONLY),
    ("GET", "/account/forgot-password", PUBLIC),
    ("GET", "/account/settings", SIGNED_IN),
    ("GET", "/admin/", CONSOLE),
    ("GET", "/admin/accounts", ADMIN_ONLY),
    ("GET", "/admin/accounts/new", ADMIN_ONLY),
    ("GET", "/admin/accounts/{staff_id}", ADMIN_ONLY),
    ("POST", "/admin/accounts/new", ADMIN_ONLY),
    ("GET", "/admin/audit", ADMIN_ONLY),
]


def expand(path: str, users) -> str:
    return path.format(staff_id=users["staff"].id)


@pytest.mark.parametrize("method, path, expected", TABLE,
                         ids=[f"{m} {p}" for m, p, _ in TABLE])
@pytest.mark.parametrize("role", ROLES, ids=[r or "anonymous" for r in ROLES])
def test_route_access(role_client, users, method, path, expected, role):
    client = role_client(role)
    response = client.open(expand(path, users), method=method)
    assert response.status_code == expected[role]


def test_every_route_is_in_the_table(app):
    """A new route without a row here fails this test."""
    covered = {path.split("{")[0].rstrip("/") or "/" for _, path, _ in TABLE}
    extra = {"/static", "/language", "/account/logout", "/account/reset-password",
             "/account/invitation"}  # tested in their own modules (POST or token URLs)
    missing = []
    for rule in app.url_map.iter_rules():
        base = rule.rule.split("<")[0].rstrip("/") or "/"
        if base not in covered and base not in extra:
            missing.append(rule.rule)
    assert missing == []


def test_console_pages_share_the_access_rule(tmp_path):
    """The permission that guards a route also hides its link (same function)."""
    from portal.permissions import REGISTRY

    assert {"access_console", "manage_accounts", "view_audit_log"} <= set(REGISTRY)
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://",
                                 "INSTANCE_PATH": str(tmp_path)})
    assert app.jinja_env.globals["can"].__module__ == "portal.permissions"
