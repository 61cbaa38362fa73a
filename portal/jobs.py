"""One small job interface.

``enqueue(func, *args)`` runs ``func`` in this process (the embedded default) or
puts it on an RQ queue in Redis when ``PORTAL_REDIS_URL`` is set; ``portal worker``
runs the worker. Job functions are entry points, like views: they commit their
own work. Call ``enqueue`` after the caller's commit, never before.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Any

from flask import Flask, current_app

from portal.extensions import db

log = logging.getLogger(__name__)


def job_path(func: Callable) -> str:
    return f"{func.__module__}:{func.__qualname__}"


def resolve(path: str) -> Callable:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def enqueue(func: Callable, *args: Any, **kwargs: Any) -> Any:
    app = current_app._get_current_object()
    if app.config["JOBS_INLINE"]:
        try:
            return func(*args, **kwargs)
        except Exception:
            # The job's own work is rolled back; the caller's (already committed) is not.
            db.session.rollback()
            log.exception("inline job %s failed", job_path(func))
            return None
    return queue(app).enqueue(run_job, job_path(func), args, kwargs)


def enqueue_in(delay: timedelta, func: Callable, *args: Any, **kwargs: Any) -> Any:
    """Run ``func`` later on the queue worker. Embedded: nothing is scheduled; the
    periodic work of ``portal worker`` (or ``portal outbox send`` from cron) picks it up."""
    app = current_app._get_current_object()
    if app.config["JOBS_INLINE"]:
        return None
    return queue(app).enqueue_in(delay, run_job, job_path(func), args, kwargs)


def queue(app: Flask):
    from redis import Redis
    from rq import Queue

    return Queue(app.config["RQ_QUEUE"], connection=Redis.from_url(app.config["REDIS_URL"]))


@cache
def _worker_app() -> Flask:
    from portal.app import create_app

    return create_app()


def run_job(path: str, args: tuple, kwargs: dict) -> Any:
    """What an RQ worker executes: the job inside an app context."""
    app = _worker_app()
    with app.app_context():
        try:
            return resolve(path)(*args, **kwargs)
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()
