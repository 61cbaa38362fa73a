"""Outbox e-mail: stored first, sent by a job, kept and retried on failure."""

from __future__ import annotations

import os
import smtplib
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import jobs
from portal.extensions import db
from portal.mail.models import MessageStatus, OutboundMessage
from portal.mail.outbox import queue_email, send_due_messages
from portal.timeutil import utcnow


def queue(n: int = 1) -> list[OutboundMessage]:
    return [queue_email(to=f"r{i}@example.org", subject="件名", body="本文", locale="ja",
                        purpose="test") for i in range(n)]


def test_file_sink_writes_an_eml_per_message(app, outbox_dir):
    [message] = queue()
    counts = send_due_messages()
    assert counts == {"sent": 1, "retry": 0, "failed": 0}
    assert message.status == MessageStatus.SENT and message.sent_at is not None
    files = list(outbox_dir.glob(f"*-{message.id}.eml"))
    assert len(files) == 1
    assert b"Subject: =?utf-8?" in files[0].read_bytes()


class RefusingSMTP:
    def __init__(self, *args, **kwargs):
        raise ConnectionRefusedError("SMTP server down")


class RecordingSMTP:
    sent: list = []

    def __init__(self, host, port, timeout):
        self.host = host

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        pass

    def login(self, user, password):
        pass

    def send_message(self, email):
        RecordingSMTP.sent.append(email)


@pytest.fixture
def smtp_configured(app):
    app.config["SMTP_HOST"] = "smtp.city.example"
    yield
    app.config["SMTP_HOST"] = None


@pytest.mark.usefixtures("smtp_configured")
def test_smtp_down_keeps_the_message_and_retries_later(monkeypatch):
    monkeypatch.setattr(smtplib, "SMTP", RefusingSMTP)
    [message] = queue()
    counts = send_due_messages()
    assert counts == {"sent": 0, "retry": 1, "failed": 0}
    db.session.refresh(message)
    assert message.status == MessageStatus.QUEUED
    assert message.attempts == 1
    assert "SMTP server down" in message.last_error
    assert message.next_attempt_at > utcnow()
    # not due yet: a second round leaves it alone
    assert send_due_messages() == {"sent": 0, "retry": 0, "failed": 0}

    # SMTP is back and the retry time has come
    RecordingSMTP.sent = []
    monkeypatch.setattr(smtplib, "SMTP", RecordingSMTP)
    message.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert send_due_messages()["sent"] == 1
    db.session.refresh(message)
    assert message.status == MessageStatus.SENT and message.last_error is None
    assert RecordingSMTP.sent[0]["To"] == "r0@example.org"


@pytest.mark.usefixtures("smtp_configured")
def test_message_fails_for_good_after_the_last_attempt(app, monkeypatch):
    monkeypatch.setattr(smtplib, "SMTP", RefusingSMTP)
    [message] = queue()
    for _ in range(app.config["MAIL_MAX_ATTEMPTS"]):
        message.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        send_due_messages()
        db.session.refresh(message)
    assert message.status == MessageStatus.FAILED
    assert message.attempts == app.config["MAIL_MAX_ATTEMPTS"]
    assert db.session.scalar(select(OutboundMessage.last_error)).startswith(
        "ConnectionRefusedError")


def test_outbox_send_command(runner):
    queue(3)
    db.session.commit()
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 3" in result.output


def redis_url() -> str:
    return os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def test_jobs_go_to_rq_when_redis_is_configured(app, monkeypatch):
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(redis_url())
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("no Redis on this machine")
    queue_name = f"portal-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url())
    monkeypatch.setitem(app.config, "RQ_QUEUE", queue_name)
    try:
        job = jobs.enqueue(send_due_messages, 50)
        assert job.func_name == "portal.jobs.run_job"
        assert job.args == ("portal.mail.outbox:send_due_messages", (50,), {})
        assert jobs.resolve(job.args[0]) is send_due_messages
    finally:
        connection.delete(f"rq:queue:{queue_name}")


def test_embedded_worker_sends_due_mail_in_burst_mode(runner):
    queue(2)
    db.session.commit()
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert "Embedded worker" in result.output and "ran: outbox, scores" in result.output
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage).where(
        OutboundMessage.status == MessageStatus.SENT)) == 2


def test_sign_in_links_are_removed_from_the_outbox_after_delivery(outbox_dir):
    message = queue_email(to="r@example.org", subject="s", body="link: https://x/reset/abc",
                          locale="en", purpose="password_reset")
    other = queue_email(to="r@example.org", subject="s", body="keep me", locale="en",
                        purpose="notice")
    send_due_messages()
    assert "https://x/reset/abc" not in message.body_text
    assert other.body_text == "keep me"
    assert b"https://x/reset/abc" in next(outbox_dir.glob(f"*-{message.id}.eml")).read_bytes()


def test_queue_mode_schedules_the_next_round_when_the_earliest_retry_is_due(
        app, monkeypatch, smtp_configured):
    monkeypatch.setattr(smtplib, "SMTP", RefusingSMTP)
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    scheduled = []
    monkeypatch.setattr("portal.mail.outbox.enqueue_in",
                        lambda delay, func: scheduled.append(delay))
    message = queue()[0]
    message.attempts = 3  # the next delay is 8 minutes
    db.session.commit()
    send_due_messages()
    assert len(scheduled) == 1
    assert timedelta(minutes=7) < scheduled[0] <= timedelta(minutes=8)


def test_dispatch_survives_an_unreachable_queue(app, monkeypatch):
    from portal.mail.outbox import dispatch

    def broken(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr("portal.mail.outbox.enqueue", broken)
    dispatch()  # logs, does not raise
