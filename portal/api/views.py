"""The JSON API (``/api/v1``): bearer tokens, no cookies, no CSRF; every answer,
errors included, is JSON."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, jsonify, request
from flask_babel import gettext as _

from portal.api import bp, events, life_events, openapi, tokens
from portal.extensions import db, limiter

REALM = 'Bearer realm="api"'


def api_rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT", "120 per minute")


def auth_failure_limit() -> str:
    return current_app.config["API_AUTH_FAILURE_LIMIT"]


def auth_failure_key() -> str:
    return "api-auth-failure:" + (request.remote_addr or "unknown")


def failed_authentication(response) -> bool:
    return response.status_code == 401


def api_rate_key() -> str:
    return tokens.rate_limit_key(tokens.bearer_token(request.headers.get("Authorization")),
                                 request.remote_addr)


def error_response(status: int, title: str, message: str):
    response = jsonify(error={"status": status, "title": str(title), "message": str(message)})
    response.status_code = status
    return response


def unauthorized(message: str, *, invalid_token: bool):
    response = error_response(401, _("Authentication required"), message)
    response.headers["WWW-Authenticate"] = \
        REALM + (', error="invalid_token"' if invalid_token else "")
    return response


def token_required(view: Callable) -> Callable:
    """Authenticate ``Authorization: Bearer <token>``; the token is in ``g.api_token``."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any):
        value = tokens.bearer_token(request.headers.get("Authorization"))
        if value is None:
            return unauthorized(_("Send an API token in the header "
                                  "Authorization: Bearer <token>."), invalid_token=False)
        token = tokens.find_active_token(value)
        if token is None:
            return unauthorized(_("The API token is not valid or has been revoked."),
                                invalid_token=True)
        tokens.note_use(token)
        g.api_token = token
        return view(*args, **kwargs)

    return wrapped


@bp.post("/events")
# Guessing tokens: failed authentications count per client address, and once over
# the limit every request from it is refused, whatever token it carries.
@limiter.limit(auth_failure_limit, key_func=auth_failure_key, deduct_when=failed_authentication)
@limiter.limit(api_rate_limit, key_func=api_rate_key)
@token_required
def post_events():
    try:
        batch = events.read_batch(is_json=request.is_json, body=request.get_data(cache=False))
    except events.BatchError as error:
        db.session.commit()  # the token's last use
        return error_response(error.status, error.title, error.message)
    outcome = events.ingest_events(token=g.api_token, events=batch)
    db.session.commit()
    return jsonify(outcome)


@bp.post("/life-events")
@limiter.limit(auth_failure_limit, key_func=auth_failure_key, deduct_when=failed_authentication)
@limiter.limit(api_rate_limit, key_func=api_rate_key)
@token_required
def post_life_events():
    if not life_events.may_send(g.api_token):
        db.session.commit()  # the token's last use
        return error_response(life_events.FORBIDDEN_STATUS, _("Not allowed"), _(
            "Only a token of the resident register's department may send life events."))
    try:
        items = life_events.read_batch(is_json=request.is_json,
                                       body=request.get_data(cache=False))
    except events.BatchError as error:
        db.session.commit()
        return error_response(error.status, error.title, error.message)
    outcome = life_events.ingest_life_events(token=g.api_token, items=items)
    db.session.commit()
    return jsonify(outcome)


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.document(rate_limit=api_rate_limit(),
                                    auth_failure_limit=auth_failure_limit()))
