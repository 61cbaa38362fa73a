"""Rendering helpers shared by the views."""

from __future__ import annotations

from flask import render_template

from portal.extensions import db


def render_and_commit(template: str, **context) -> str:
    """Render, then commit what the request wrote (in a read, nothing: its audit
    entries follow in their own transaction, see ``portal.audit.recording``).
    Committing first would expire every object the page is about to show and
    reload each one with its own query."""
    page = render_template(template, **context)
    db.session.commit()
    return page
