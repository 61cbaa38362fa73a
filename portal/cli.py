"""The ``portal`` command: the Flask CLI for this app, plus the portal's own commands.

``portal run``, ``portal db upgrade``, ``portal seed``, ``portal demo``,
``portal create-user``, ``portal translate …``, ``portal outbox send`` and
``portal worker``. ``flask --app portal …`` offers the same commands.
"""

from __future__ import annotations

import copy
import functools
import os
import subprocess
import sys
import time

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask.cli import run_command as flask_run_command
from flask_babel import force_locale

from portal.config import PROJECT_ROOT
from portal.timeutil import local_today


def main() -> None:
    from portal.app import create_app

    cli = FlaskGroup(create_app=lambda: create_app(), help=__doc__)
    cli.add_command(served_run_command())
    cli.main(prog_name="portal")


def served_run_command() -> click.Command:
    """Flask's ``run`` that first tells the configuration where it serves (through
    Flask's own ``FLASK_RUN_HOST``/``FLASK_RUN_PORT``), so development e-mails link to
    that address when ``PORTAL_BASE_URL`` is unset — never to a request's Host header."""
    command = copy.copy(flask_run_command)
    serve = flask_run_command.callback

    @functools.wraps(serve)
    def callback(*args, **kwargs):
        os.environ["FLASK_RUN_HOST"] = str(kwargs["host"])
        os.environ["FLASK_RUN_PORT"] = str(kwargs["port"])
        return serve(*args, **kwargs)

    command.callback = callback
    return command


def register(app: Flask) -> None:
    app.cli.add_command(seed_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(translate)
    app.cli.add_command(outbox)
    app.cli.add_command(worker_command)
    from portal.engagement.cli import scores_group

    app.cli.add_command(scores_group)
    from portal.imports.cli import import_group

    app.cli.add_command(import_group)
    from portal.surveys.cli import surveys_group

    app.cli.add_command(surveys_group)
    from portal.open311.cli import open311_group

    app.cli.add_command(open311_group)
    from portal.community.cli import community_group
    from portal.playbooks.cli import playbooks_group

    app.cli.add_command(playbooks_group)
    from portal.faq.cli import faq_group

    app.cli.add_command(faq_group)
    app.cli.add_command(community_group)
    from portal.search.cli import search_group

    app.cli.add_command(search_group)


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Load reference data: departments, the service catalogue, the starter surveys
    (as drafts), the starter reply templates, the public-space service's Open311
    attributes and the starter playbooks with their message templates (paused; safe
    to repeat)."""
    from portal.extensions import db
    from portal.inquiries.starter import seed_reply_templates, seed_service_attributes
    from portal.playbooks.starter import seed_starter_playbooks
    from portal.services.catalogue import load_catalogue
    from portal.surveys.starter import seed_starter_surveys

    result = load_catalogue()
    surveys = seed_starter_surveys()
    templates = seed_reply_templates()
    attributes = seed_service_attributes()
    playbooks = seed_starter_playbooks()
    db.session.commit()
    click.echo(f"Departments: {result['departments']} · services: {result['services']} "
               f"(created {result['created']}, updated {result['updated']}) · "
               f"starter surveys added as drafts: {surveys} · reply templates added: "
               f"{templates} · Open311 attributes added: {attributes} · starter playbooks added "
               f"(paused): {playbooks['playbooks']} with {playbooks['templates']} message "
               "templates")


@click.command("demo")
@click.option("--residents", default=2000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--months", default=12, show_default=True, type=click.IntRange(1, 60))
@click.option("--seed", "seed_value", default=1, show_default=True, type=int,
              help="Random seed: the same seed gives the same municipality.")
@click.option("--if-empty", is_flag=True, help="Do nothing when residents exist already.")
@with_appcontext
def demo_command(residents: int, months: int, seed_value: int, if_empty: bool) -> None:
    """Generate a synthetic municipality: residents, households, staff, usage events,
    survey responses and inquiries."""
    from portal.demo import generator
    from portal.engagement.scoring import history_days, recompute
    from portal.extensions import db
    from portal.inquiries import starter as inquiry_starter
    from portal.playbooks import demo as playbook_demo
    from portal.surveys import starter

    if not current_app.config["DEMO_ALLOWED"]:
        raise click.ClickException("Demo data is refused in production "
                                   "(set PORTAL_ALLOW_DEMO=1 on a staging system).")
    if if_empty and generator.has_residents():
        click.echo("Residents exist already: demo data left as it is.")
    else:
        started = time.perf_counter()
        with click.progressbar(length=residents, label="Residents and their usage",
                               file=sys.stderr) as bar:
            try:
                summary = generator.generate(residents=residents, months=months,
                                             seed=seed_value, progress=bar.update)
            except ValueError as error:
                raise click.ClickException(str(error)) from error
        answered = starter.fill_demo(seed=seed_value, months=months)
        asked = inquiry_starter.fill_demo(seed=seed_value, months=months)
        db.session.commit()
        click.echo(f"Created {summary['residents']} residents in {summary['households']} "
                   f"households with {summary['events']} usage events over {months} months, "
                   f"{answered['responses']} survey responses to "
                   f"{answered['invitations']} invitations, {asked['inquiries']} inquiries "
                   f"with {asked['messages']} messages, "
                   f"in {time.perf_counter() - started:.1f} s.")
        started = time.perf_counter()
        days = history_days(months, local_today())
        with click.progressbar(days, label="Engagement scores, month by month",
                               file=sys.stderr) as bar:
            for day in bar:
                recompute(day)
                db.session.commit()
        click.echo(f"Scored {len(days)} days of history in {time.perf_counter() - started:.1f} s.")
        started = time.perf_counter()
        played = playbook_demo.fill_demo(seed=seed_value, months=months)
        db.session.commit()
        click.echo(f"Starter playbooks active with {played['cases']} cases, {played['tasks']} "
                   f"tasks, {played['messages']} messages and {played['life_events']} life "
                   f"events, in {time.perf_counter() - started:.1f} s.")
    from portal.community import demo as community_demo

    # after the residents and staff (official answers need the staff accounts); it adds
    # nothing when run again, so an existing demo database gets the community too
    community = community_demo.fill_demo()
    db.session.commit()
    if community["questions"] or community["faq"]:
        click.echo(f"Community: {community['questions']} questions with "
                   f"{community['answers']} answers, {community['faq']} FAQ entries.")
    click.echo(generator.logins_text())


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--role", required=True,
              type=click.Choice(["resident", "staff", "manager", "admin", "official"]))
@click.option("--department", help="Department code (required for staff).")
@click.option("--name", "display_name", help="Display name (defaults to the e-mail's name).")
@click.password_option(help="Asked for interactively when not given.")
@with_appcontext
def create_user_command(email: str, role: str, department: str | None,
                        display_name: str | None, password: str) -> None:
    """Create an account from the command line (for the first administrator)."""
    from sqlalchemy import select

    from portal.auth import accounts, passwords
    from portal.extensions import db
    from portal.services.models import Department

    dept = None
    if department:
        dept = db.session.scalar(select(Department).where(Department.code == department))
        if dept is None:
            raise click.BadParameter(f"no department with code {department!r}",
                                     param_hint="--department")
    with force_locale("en"):  # the command line speaks English, like its --help
        problem = passwords.password_problem(password, email=email)
        if problem:
            raise click.BadParameter(str(problem), param_hint="--password")
        if "@" not in email or " " in email.strip():
            raise click.BadParameter("not an e-mail address", param_hint="--email")
        try:
            user = accounts.create_account(actor=None, email=email, role=role, department=dept,
                                           display_name=display_name or email.split("@")[0],
                                           password=password)
        except accounts.AccountError as error:
            raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created {role} account {user.email} (id {user.id}).")


@click.group("translate")
def translate() -> None:
    """Manage the translation catalogues in translations/."""


def _pybabel(*args: str) -> None:
    command = [sys.executable, "-m", "babel.messages.frontend", *args]
    result = subprocess.run(command, cwd=PROJECT_ROOT, check=False)  # noqa: S603
    if result.returncode:
        raise click.ClickException(f"pybabel {args[0]} failed")


@translate.command("extract")
def translate_extract() -> None:
    """Extract messages from the code into translations/messages.pot."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_pgettext:1c,2",
             "--no-location", "--sort-output",
             "--project", "portal", "-o", "translations/messages.pot", "portal")


@translate.command("update")
def translate_update() -> None:
    """Extract, then merge new messages into every catalogue."""
    translate_extract.callback()
    _pybabel("update", "-i", "translations/messages.pot", "-d", "translations",
             "--no-fuzzy-matching", "--ignore-obsolete")


@translate.command("compile")
def translate_compile() -> None:
    """Compile the catalogues into .mo files."""
    _pybabel("compile", "-d", "translations", "--statistics")


@click.group("outbox")
def outbox() -> None:
    """The outgoing message queue."""


@outbox.command("send")
@with_appcontext
def outbox_send() -> None:
    """Send every queued message that is due now (for cron in the embedded set-up)."""
    from portal.mail.outbox import send_due_messages

    counts = send_due_messages()
    click.echo(f"sent {counts['sent']}, to retry {counts['retry']}, failed {counts['failed']}")


@click.command("worker")
@click.option("--interval", default=30, show_default=True, type=click.IntRange(1, 3600),
              help="Seconds between two looks for periodic work.")
@click.option("--burst", is_flag=True, help="Do what is due now, then exit.")
@with_appcontext
def worker_command(interval: int, burst: bool) -> None:
    """Run the job worker and the periodic work (outbox sweep, daily recompute).

    With PORTAL_REDIS_URL: an RQ worker, plus a thread that queues periodic jobs
    (claimed in Redis, so several workers queue each one once). Without: a loop that
    runs them in this process."""
    import threading

    from portal import periodic
    from portal.jobs import resolve, run_job

    app = current_app._get_current_object()
    if app.config["REDIS_URL"]:
        from redis import Redis
        from rq import Queue, Worker

        connection = Redis.from_url(app.config["REDIS_URL"])
        queue = Queue(app.config["RQ_QUEUE"], connection=connection)
        claims = periodic.RedisClaims(connection)

        def queue_job(path: str) -> None:
            queue.enqueue(run_job, path, (), {})

        def schedule() -> None:
            while True:
                periodic.run_due(app, claims, queue_job)
                time.sleep(interval)

        periodic.run_due(app, claims, queue_job)
        if not burst:
            threading.Thread(target=schedule, daemon=True, name="periodic").start()
        click.echo(f"RQ worker on queue {queue.name!r}")
        Worker([queue], connection=connection).work(burst=burst, with_scheduler=not burst)
        return

    claims = periodic.MemoryClaims()
    click.echo(f"Embedded worker: periodic work every {interval} s (Ctrl+C to stop)")
    while True:
        started = periodic.run_due(app, claims, lambda path: resolve(path)())
        if started:
            click.echo(f"ran: {', '.join(started)}")
        if burst:
            return
        time.sleep(interval)
