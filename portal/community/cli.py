"""``portal community send-digests``: the follow-up e-mails now (the worker sends
them daily)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("community")
def community_group() -> None:
    """Community Q&A: follow-up e-mails."""


@community_group.command("send-digests")
@with_appcontext
def send_digests_command() -> None:
    """Queue today's digest e-mails to followers of questions with new answers (at
    most one per person a day) and send the outbox."""
    from portal.community.digest import send_digests

    queued = send_digests()
    click.echo(f"Digest e-mails queued: {queued}")
