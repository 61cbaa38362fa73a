"""Translated error pages (and JSON errors for the API)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.extensions import db

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please check what you "
                                 "entered and try again.")),
    403: (_l("Access denied"), _l("You do not have permission to open this page.")),
    404: (_l("Page not found"), _l("The page you asked for does not exist or has moved.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    413: (_l("File too large"), _l("What you sent is larger than the portal accepts. "
                                    "Please send a smaller file.")),
    429: (_l("Too many attempts"), _l("Too many requests in a short time. Please wait a "
                                       "minute and try again.")),
    500: (_l("Something went wrong"), _l("An unexpected error occurred. It has been logged; "
                                          "please try again later.")),
}
CSRF_MESSAGE = _l("This form has expired or was not sent from this site. Please go back, "
                  "reload the page and try again.")


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _bind_urls_to_base_address() -> None:
    """A request whose ``Host`` is not trusted gets no URL adapter from Flask, so the
    error page could not build its links (and failed as a bare 500): build them for
    the configured address instead of the one the request claimed."""
    if request_ctx.url_adapter is None:
        base = urlsplit(current_app.config.get("BASE_URL") or "http://localhost")
        request_ctx.url_adapter = current_app.url_map.bind(
            base.netloc or "localhost", script_name=base.path or "/",
            url_scheme=base.scheme or "http")


def render_error(code: int, message: str | None = None):
    _bind_urls_to_base_address()
    title, default_message = MESSAGES.get(code, MESSAGES[500])
    message = message or default_message
    if wants_json():
        return jsonify(error={"status": code, "title": str(title), "message": str(message)}), code
    return render_template("errors/error.html", code=code, title=title, message=message), code


def handle_http_error(error: HTTPException):
    code = error.code or 500
    if code in (301, 302, 303, 307, 308):  # routing redirects are not errors
        return error
    response = make_response(render_error(code if code in MESSAGES
                                          else 500 if code >= 500 else 400))
    # Keep the headers the error carries (RFC 9110: Allow on 405, WWW-Authenticate on
    # 401, Retry-After...); the body is ours, and so is its Content-Type.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_csrf_error(_error: CSRFError):
    return render_error(400, str(CSRF_MESSAGE))


def handle_unexpected(error: Exception):
    db.session.rollback()
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    return render_error(InternalServerError.code)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_unexpected)
