"""Periodic work: each slot is claimed once, across restarts and across workers."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import func, select

from portal import periodic
from portal.engagement.models import ScoreRun
from portal.extensions import db


def test_memory_claims_run_each_slot_once(app, catalogue):
    claims, started = periodic.MemoryClaims(), []
    periodic.run_due(app, claims, started.append)
    periodic.run_due(app, claims, started.append)
    assert started == ["portal.mail.outbox:send_due_messages",
                       "portal.engagement.jobs:recompute_yesterday",
                       "portal.surveys.jobs:send_due_reminders",
                       "portal.faq.jobs:create_review_tasks",
                       "portal.community.digest:send_digests"]


def test_daily_recompute_is_not_repeated_after_a_restart(app, catalogue, runner):
    assert runner.invoke(args=["worker", "--burst"]).exit_code == 0
    assert runner.invoke(args=["worker", "--burst"]).output.count("scores") == 0
    assert db.session.scalar(select(func.count()).select_from(ScoreRun)) == 1


def test_a_failing_task_does_not_stop_the_others(app, catalogue):
    def start(path):
        if "outbox" in path:
            raise RuntimeError("smtp exploded")

    assert periodic.run_due(app, periodic.MemoryClaims(), start) == [
        "scores", "survey_reminders", "faq_review_tasks", "community_digests"]


def test_redis_claims_are_shared_between_workers(app):
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(os.environ.get("PORTAL_TEST_REDIS_URL",
                                                     "redis://127.0.0.1:6379/15"))
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("no Redis on this machine")
    slot = uuid.uuid4().hex
    first, second = periodic.RedisClaims(connection), periodic.RedisClaims(connection)
    try:
        assert first.claim("scores", slot) is True
        assert second.claim("scores", slot) is False
    finally:
        connection.delete(f"portal:periodic:scores:{slot}")


def test_a_failed_task_is_tried_again_at_the_next_look(app, catalogue):
    claims, calls = periodic.MemoryClaims(), []

    def start(path):
        calls.append(path)
        if "outbox" in path and len(calls) == 1:
            raise RuntimeError("queue down")

    periodic.run_due(app, claims, start)
    periodic.run_due(app, claims, start)
    assert calls.count("portal.mail.outbox:send_due_messages") == 2
    assert calls.count("portal.engagement.jobs:recompute_yesterday") == 1


def test_the_daily_run_scores_the_day_that_ended(app, catalogue, runner):
    from datetime import timedelta

    from portal.timeutil import local_today

    runner.invoke(args=["worker", "--burst"])
    assert db.session.scalar(select(ScoreRun.as_of)) == local_today() - timedelta(days=1)
