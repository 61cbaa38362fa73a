"""Response headers and redirect-target checks shared by every blueprint."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, has_request_context, request, url_for
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.config import served_address

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if current_user and current_user.is_authenticated and request.endpoint != "static":
        # personal pages and downloads must not linger in shared browsers' or proxies'
        # caches (send_file's own "no-cache" still lets them store the file)
        headers["Cache-Control"] = "no-store"
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    return response


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a same-site relative path (one leading ``/``), else ``default``."""
    if not target:
        return default
    target = target.strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in target):
        return default
    return target


def absolute_url(endpoint: str, **values) -> str:
    """An absolute link for e-mails, built on ``PORTAL_BASE_URL`` (in development: the
    served address), never on the request's Host header, so a forged Host cannot send a
    reset link to another site."""
    base = current_app.config.get("BASE_URL") or served_address()
    if has_request_context():
        path = url_for(endpoint, **values)
    else:  # a job (queue worker, scheduler): no request, the path from the URL map
        path = current_app.url_map.bind("localhost").build(endpoint, values)
    return base.rstrip("/") + path


def init_app(app: Flask) -> None:
    app.after_request(set_security_headers)
    if app.config.get("PROXY_COUNT"):
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)
