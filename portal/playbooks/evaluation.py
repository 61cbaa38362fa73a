"""The evaluation: playbooks open cases, their steps run, cases close, outcomes are
measured — set-based, a few statements per playbook and step, never a query per
resident.

``evaluate(now)``, per active playbook:

1. **open** — one ``INSERT INTO playbook_cases … SELECT … FROM selection.entering``
   with ``ON CONFLICT DO NOTHING``: the partial unique index ``uq_playbook_cases_open``
   (one open case per playbook, resident and service) makes a second run, or a
   second worker at the same moment, open nothing twice. Held-out cases open with
   no step due (no tasks, no messages);
2. **close** — with ``auto_close`` and a trigger that can clear
   (``triggers.RECOVERS``), open cases whose (resident, service) no longer meets the
   trigger close "recovered"; a case with no step left and no open task closes
   "expired" once its measuring window (``definition.MEASURE_DAYS``) has passed —
   that is how held-out cases end, so the cooldown can start. Closing cancels the
   case's open tasks;
3. **steps** (``run_due_steps``) — per playbook, version and step index, the open
   cases whose step is due: a task step is one ``INSERT … SELECT`` into ``tasks``, a
   message or survey step goes through ``portal.outreach.sending`` (its guards,
   budget and channel) case by case on cases loaded in batches, a "wait until" step
   stops the cases whose trigger has cleared. Each step is logged on the case (one
   ``INSERT … SELECT`` of notes) and the cases advance in one UPDATE. A case runs the
   steps of the version that opened it;
4. **measure** — the uplift's outcome: the service's score ``MEASURE_DAYS`` after
   opening, from the first score snapshot on or after that day, else the current
   score.

Paused playbooks open nothing, but their open cases go on (steps, closing): a case
staff started by hand on a paused playbook is worked to its end. Cases started by
hand are never closed or stopped by the trigger (staff chose to act on them).

On PostgreSQL the steps and closing of one playbook take a transaction-level
advisory lock, so two workers never run the same step twice; opening needs no
lock (the unique index decides).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.audit.recording import record
from portal.db_types import UTCDateTime
from portal.engagement.models import EngagementScore, ScoreSnapshot
from portal.extensions import db
from portal.playbooks import selection, triggers
from portal.playbooks.definition import MEASURE_DAYS, TRIGGERS
from portal.playbooks.models import (
    Case,
    CaseNote,
    CaseStatus,
    Outcome,
    Playbook,
    PlaybookStatus,
    PlaybookVersion,
)
from portal.residents.models import Resident
from portal.sql import plus_days
from portal.timeutil import local_zone, utcnow
from portal.work.models import Task, TaskStatus

log = logging.getLogger(__name__)

#: cases loaded at once for message and survey steps
BATCH = 500
#: cases opened at once after which PostgreSQL's statistics of the table are refreshed
ANALYZE_AFTER = 1000
#: the advisory lock's first key (the second is the playbook id)
_LOCK_SPACE = 727011


@dataclass
class PlaybookRun:
    """What one evaluation did (or, dry, would do) for one playbook."""

    playbook_id: int
    opened: int = 0  # cases opened, held-out ones included
    held_out: int = 0  # of which held out
    skipped: dict[str, int] = field(default_factory=dict)  # "already_open", "cooldown"
    closed: int = 0  # auto-closed "recovered"
    expired: int = 0  # closed "expired" (steps done, measuring window passed)
    steps: int = 0  # case steps run (one per case and step)
    failed: str | None = None  # what went wrong (the playbook's work was rolled back)


@dataclass
class DryRun:
    opens: int
    held_out: int
    skipped: dict[str, int]
    sample: list[Resident]
    messages: int
    suppressed: dict[str, int]
    closes: int = 0  # open cases auto-close would close now


class CaseError(Exception):
    """A manual start that cannot be done; ``message`` is for the reader."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- SQL that differs between the databases -------------------------------------------

def _insert(table):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _lock(playbook_id: int) -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:space, :id)"),
                           {"space": _LOCK_SPACE, "id": playbook_id})


def _at(moment: datetime):
    return literal(moment, UTCDateTime())


# -- opening ---------------------------------------------------------------------------

def _offset(steps: list[dict[str, Any]], index: int) -> int | None:
    return int(steps[index]["offset_days"]) if index < len(steps) else None


_COPIED = ("service_id", "score_at_open", "band_at_open", "recency_at_open",
           "frequency_at_open", "satisfaction_at_open", "friction_at_open", "trigger_value",
           "trigger_ref")


def _open_cases(playbook: Playbook, now: datetime) -> tuple[int, int]:
    """One INSERT … SELECT: (cases opened, of which held out)."""
    c = Case.__table__
    entering = selection.entering(playbook, now).subquery("entering")
    first = _offset(playbook.steps or [], 0)
    due = _at(now + timedelta(days=first)) if first is not None else null()
    columns = {
        "playbook_id": literal(playbook.id, Integer), "playbook_version":
        literal(playbook.version, Integer), "resident_id": entering.c.resident_id,
        "service_id": entering.c.service_id, "service_key": entering.c.service_key,
        "held_out": entering.c.held_out, "status": literal(CaseStatus.OPEN.value, String),
        "outcome_note": literal("", String), "opened_at": _at(now),
        "next_step": literal(0, Integer),
        "next_step_at": case((entering.c.held_out.is_(True), null()), else_=due),
        "score_at_open": entering.c.score, "band_at_open": entering.c.band,
        "recency_at_open": entering.c.recency, "frequency_at_open": entering.c.frequency,
        "satisfaction_at_open": entering.c.satisfaction,
        "friction_at_open": entering.c.friction, "trigger_value": entering.c.trigger_value,
        "trigger_ref": entering.c.trigger_ref,
    }
    # a trigger's NULL figures have no type of their own: give them the column's
    columns = {name: cast(value, c.c[name].type) if name in _COPIED else value
               for name, value in columns.items()}
    # The sort (on a computed column, so no index can hand the rows over in order)
    # makes PostgreSQL find every entering resident before the first row goes in:
    # otherwise each look-up for an open case wades through the index entries this
    # very statement has just added (invisible to it, but visited), and a playbook
    # that opens 20 000 cases takes minutes instead of a second. The WHERE keeps
    # SQLite's parser from reading ON CONFLICT as a join's ON.
    source = (select(*columns.values()).select_from(entering).where(true())
              .order_by(entering.c.held_out, entering.c.resident_id))
    statement = _insert(c).from_select(list(columns), source).on_conflict_do_nothing()
    db.session.execute(statement)
    row = db.session.execute(select(func.count(), func.count().filter(c.c.held_out.is_(True)))
                             .where(c.c.playbook_id == playbook.id, c.c.opened_at == now,
                                    c.c.started_by_id.is_(None))).one()
    if (row[0] or 0) >= ANALYZE_AFTER and db.session.get_bind().dialect.name == "postgresql":
        # fresh statistics, or the next look-ups plan for the table as it was
        db.session.execute(text("ANALYZE playbook_cases"))
    return row[0] or 0, row[1] or 0


# -- closing ---------------------------------------------------------------------------

def _cleared(playbook: Playbook, now: datetime):
    """A condition on ``playbook_cases``: its trigger no longer holds (only for
    triggers that can clear, and never for a case staff started)."""
    c = Case.__table__
    holding = triggers.holding(playbook, now).subquery("holding")
    still = exists().where(holding.c.resident_id == c.c.resident_id,
                           func.coalesce(holding.c.service_id, 0) == c.c.service_key)
    return and_(c.c.started_by_id.is_(None), ~still)


def _can_clear(playbook: Playbook) -> bool:
    return bool(triggers.RECOVERS.get(playbook.trigger)) and TRIGGERS[playbook.trigger].evaluated


def _open_of(playbook: Playbook):
    c = Case.__table__
    return and_(c.c.playbook_id == playbook.id, c.c.closed_at.is_(None))


def _close_values(outcome: str, now: datetime) -> dict[str, Any]:
    return {"status": CaseStatus.CLOSED.value, "outcome": outcome, "closed_at": now,
            "next_step_at": None}


def cancel_open_tasks(playbook: Playbook, now: datetime) -> int:
    """Cancel the open tasks of the playbook's cases closed at ``now`` (one UPDATE)."""
    c, t = Case.__table__, Task.__table__
    closed = select(c.c.id).where(c.c.playbook_id == playbook.id, c.c.closed_at == now)
    result = db.session.execute(update(t).where(
        t.c.status == TaskStatus.OPEN.value, t.c.case_id.in_(closed))
        .values(status=TaskStatus.CANCELLED.value, updated_at=now))
    return result.rowcount or 0


def _close_cases(playbook: Playbook, now: datetime) -> tuple[int, int]:
    """(closed recovered, closed expired)."""
    c, t = Case.__table__, Task.__table__
    recovered = 0
    if playbook.auto_close and _can_clear(playbook):
        recovered = db.session.execute(update(c).where(
            _open_of(playbook), _cleared(playbook, now))
            .values(**_close_values(Outcome.RECOVERED.value, now))).rowcount or 0
    open_task = exists().where(t.c.case_id == c.c.id, t.c.status == TaskStatus.OPEN.value)
    expired = db.session.execute(update(c).where(
        _open_of(playbook), c.c.next_step_at.is_(None),
        c.c.opened_at <= now - timedelta(days=MEASURE_DAYS), ~open_task)
        .values(**_close_values(Outcome.EXPIRED.value, now))).rowcount or 0
    if recovered:
        cancel_open_tasks(playbook, now)
    return recovered, expired


# -- steps -----------------------------------------------------------------------------

def _versions(playbook: Playbook) -> dict[int, list[dict[str, Any]]]:
    rows = db.session.execute(select(PlaybookVersion.version, PlaybookVersion.snapshot)
                              .where(PlaybookVersion.playbook_id == playbook.id)).all()
    steps = {version: list((snapshot or {}).get("steps") or []) for version, snapshot in rows}
    steps.setdefault(playbook.version, list(playbook.steps or []))
    return steps


def _due(playbook: Playbook, version: int, index: int, now: datetime,
         case_ids: Iterable[int] | None = None):
    c = Case.__table__
    clauses = [c.c.playbook_id == playbook.id, c.c.playbook_version == version,
               c.c.next_step == index, c.c.closed_at.is_(None), c.c.held_out.is_(False),
               c.c.next_step_at <= now]
    if case_ids is not None:
        clauses.append(c.c.id.in_(list(case_ids)))
    return and_(*clauses)


def _note(where, index: int, kind: str, now: datetime, event: str = "step") -> None:
    """A CaseNote per case that ``where`` selects (one INSERT … SELECT)."""
    c, n = Case.__table__, CaseNote.__table__
    data = n.c.data.type
    source = select(c.c.id, literal(event, String), literal("", String),
                    literal({"step": index, "kind": kind}, data), _at(now)).where(where)
    db.session.execute(n.insert().from_select(
        ["case_id", "event", "body", "data", "created_at"], source))


def _advance(where, steps: list[dict[str, Any]], index: int) -> int:
    c = Case.__table__
    following = _offset(steps, index + 1)
    result = db.session.execute(update(c).where(where).values(
        next_step=index + 1,
        next_step_at=plus_days(c.c.opened_at, literal(following, Integer))
        if following is not None else None))
    return result.rowcount or 0


def _task_step(playbook: Playbook, step: dict[str, Any], index: int, where,
               now: datetime) -> None:
    from portal.auth.models import User

    c, t = Case.__table__, Task.__table__
    assignee_id = role = None
    if step.get("assignee") == "user":
        user = db.session.get(User, int(step["user_id"])) if step.get("user_id") else None
        # a user who has left: the task goes to the department's queue
        assignee_id = user.id if user is not None and user.is_active else None
    elif step.get("assignee") == "role":
        role = step.get("role")
    due_on = (now.astimezone(local_zone()).date()
              + timedelta(days=int(step.get("due_days") or 0)))
    columns = {
        "case_id": c.c.id, "step": literal(index, Integer), "resident_id": c.c.resident_id,
        "department_id": literal(playbook.department_id, Integer),
        "assignee_id": literal(assignee_id, Integer), "assignee_role": literal(role, String),
        "title_ja": literal(step.get("title_ja") or "", String),
        "title_en": literal(step.get("title_en") or "", String),
        "due_on": literal(due_on, Date), "status": literal(TaskStatus.OPEN.value, String),
        "note": literal("", String), "created_at": _at(now), "updated_at": _at(now),
    }
    db.session.execute(t.insert().from_select(list(columns),
                                              select(*columns.values()).where(where)))


def _send_step(step: dict[str, Any], index: int, where, now: datetime) -> None:
    """Message and survey steps: through the outreach guards, case by case, on cases
    loaded in batches with their residents."""
    from portal.outreach import sending
    from portal.outreach.models import MessageTemplate

    if step["kind"] == "message":
        target = db.session.get(MessageTemplate, int(step["template_id"]))
        send = sending.send_message
    else:
        from portal.surveys.models import Survey

        target = db.session.get(Survey, int(step["survey_id"]))
        send = sending.send_survey
    if target is None:
        log.warning("step %s names a %s that no longer exists", index, step["kind"])
        return
    ids = db.session.scalars(select(Case.id).where(where).order_by(Case.id)).all()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        cases = db.session.scalars(select(Case).where(Case.id.in_(chunk)).order_by(Case.id)
                                   .options(selectinload(Case.resident),
                                            selectinload(Case.service))).all()
        if step["kind"] == "message":
            sending.send_messages(cases, index, target, now)  # a batch: two flushes
            continue
        for item in cases:
            send(item, index, target, now)


def _wait_step(playbook: Playbook, where, index: int, now: datetime) -> int:
    """Cases whose trigger has cleared stop here (and close, with auto-close);
    returns how many stopped."""
    if not _can_clear(playbook):
        return 0
    c = Case.__table__
    stopped = and_(where, _cleared(playbook, now))
    _note(stopped, index, "wait", now, event="wait_stopped")
    values: dict[str, Any] = {"stopped_at_step": index, "next_step": index + 1,
                              "next_step_at": None}
    if playbook.auto_close:
        values.update(_close_values(Outcome.RECOVERED.value, now))
    count = db.session.execute(update(c).where(stopped).values(**values)).rowcount or 0
    if playbook.auto_close and count:
        cancel_open_tasks(playbook, now)
    return count


def _run_step(playbook: Playbook, steps: list[dict[str, Any]], version: int, index: int,
              now: datetime, case_ids: Iterable[int] | None = None) -> int:
    step = steps[index]
    where = _due(playbook, version, index, now, case_ids)
    _note(where, index, step["kind"], now)
    if step["kind"] == "task":
        _task_step(playbook, step, index, where, now)
    elif step["kind"] in ("message", "survey"):
        _send_step(step, index, where, now)
    stopped = 0
    if step["kind"] == "wait":
        stopped = _wait_step(playbook, where, index, now)  # the others go on
    return _advance(where, steps, index) + stopped


def _playbook_steps(playbook: Playbook, now: datetime,
                    case_ids: Iterable[int] | None = None) -> int:
    """Every due step of the playbook's open cases, until none is due (a step whose
    offset equals the one before runs in the same pass)."""
    _lock(playbook.id)
    c = Case.__table__
    versions = _versions(playbook)
    ids = list(case_ids) if case_ids is not None else None
    ran = 0
    while True:
        query = (select(c.c.playbook_version, c.c.next_step).distinct()
                 .where(c.c.playbook_id == playbook.id, c.c.closed_at.is_(None),
                        c.c.held_out.is_(False), c.c.next_step_at <= now))
        if ids is not None:
            query = query.where(c.c.id.in_(ids))
        groups = db.session.execute(query).all()
        groups = [(v, i) for v, i in groups if i < len(versions.get(v, []))]
        if not groups:
            return ran
        for version, index in sorted(groups):
            ran += _run_step(playbook, versions[version], version, index, now, ids)


def _maintained(playbooks: Iterable[Playbook] | None) -> list[Playbook]:
    if playbooks is not None:
        return list(playbooks)
    return db.session.scalars(select(Playbook).where(Playbook.status.in_(
        [PlaybookStatus.ACTIVE.value, PlaybookStatus.PAUSED.value])).order_by(Playbook.id)).all()


def run_due_steps(now: datetime | None = None, *, playbooks: Iterable[Playbook] | None = None
                  ) -> int:
    """Run every due step of open cases of active and paused playbooks (or the
    given ones); returns the case steps run. Flushes; the caller commits."""
    now = now or utcnow()
    return sum(_playbook_steps(playbook, now) for playbook in _maintained(playbooks))


# -- measuring ---------------------------------------------------------------------------

def measure(now: datetime | None = None) -> int:
    """Fill ``score_after``/``measured_at`` of cases opened ``MEASURE_DAYS`` or more
    ago (with a service, not yet measured): the first snapshot on or after the day
    ``MEASURE_DAYS`` after opening, else the current score. One UPDATE per local day
    of opening among the cases waiting; returns the cases measured."""
    now = now or utcnow()
    c, s, e = Case.__table__, ScoreSnapshot.__table__, EngagementScore.__table__
    waiting = and_(c.c.service_id.is_not(None), c.c.score_after.is_(None),
                   c.c.opened_at <= now - timedelta(days=MEASURE_DAYS))
    zone = local_zone()
    days = {moment.astimezone(zone).date() for moment in db.session.scalars(
        select(c.c.opened_at).distinct().where(waiting))}
    measured = 0
    for day in sorted(days):
        start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
        target = day + timedelta(days=MEASURE_DAYS)
        snapshot = (select(s.c.score).where(s.c.resident_id == c.c.resident_id,
                                            s.c.service_id == c.c.service_id,
                                            s.c.as_of >= target)
                    .order_by(s.c.as_of).limit(1).scalar_subquery())
        current = (select(e.c.score).where(e.c.resident_id == c.c.resident_id,
                                           e.c.service_id == c.c.service_id)
                   .scalar_subquery())
        value = func.coalesce(snapshot, current)
        measured += db.session.execute(update(c).where(
            waiting, c.c.opened_at >= start, c.c.opened_at < start + timedelta(days=1),
            value.is_not(None)).values(score_after=value, measured_at=now)).rowcount or 0
    return measured


# -- the evaluation ----------------------------------------------------------------------

def _active(playbooks: Iterable[Playbook] | None) -> list[Playbook]:
    if playbooks is not None:
        return list(playbooks)
    return db.session.scalars(select(Playbook).where(
        Playbook.status == PlaybookStatus.ACTIVE.value).order_by(Playbook.id)).all()


def _would_close(playbook: Playbook, now: datetime) -> int:
    if not (playbook.auto_close and _can_clear(playbook)):
        return 0
    c = Case.__table__
    return db.session.scalar(select(func.count()).select_from(c).where(
        _open_of(playbook), _cleared(playbook, now))) or 0


def _entering_counts(playbook: Playbook, now: datetime) -> tuple[int, int]:
    sub = selection.entering(playbook, now).subquery("entering")
    row = db.session.execute(select(func.count(), func.count().filter(
        sub.c.held_out.is_(True))).select_from(sub)).one()
    return row[0] or 0, row[1] or 0


def _evaluated(playbook: Playbook) -> bool:
    return TRIGGERS[playbook.trigger].evaluated


def _evaluate_one(playbook: Playbook, now: datetime, dry_run: bool) -> PlaybookRun:
    run = PlaybookRun(playbook.id)
    if _evaluated(playbook) and playbook.status == PlaybookStatus.ACTIVE:
        run.skipped = selection.skipped(playbook, now)
        if dry_run:
            run.opened, run.held_out = _entering_counts(playbook, now)
        else:
            run.opened, run.held_out = _open_cases(playbook, now)
    else:
        run.skipped = {"already_open": 0, "cooldown": 0}
    if dry_run:
        run.closed = _would_close(playbook, now)
    elif playbook.status != PlaybookStatus.ARCHIVED:
        run.closed, run.expired = _close_cases(playbook, now)
        run.steps = _playbook_steps(playbook, now)
        playbook.evaluated_at = now
    return run


def _isolated(playbook_id: int, work) -> tuple[Any, str | None]:
    """Run ``work(playbook)`` and commit; a failure is rolled back and logged, and
    the other playbooks go on. Returns (its result, what went wrong or None)."""
    try:
        result = work(db.session.get(Playbook, playbook_id))
        db.session.commit()
    except Exception as error:  # noqa: BLE001 - logged with its traceback, reported
        db.session.rollback()
        what = _described(error)
        log.error("evaluating playbook %s failed: %s\n%s", playbook_id, what,
                  "".join(traceback.format_tb(error.__traceback__)))
        return None, what
    return result, None


def _described(error: Exception) -> str:
    """What went wrong, fit for a log and the CLI: a database error by its class and
    SQLSTATE only — its text carries the statement's parameters, which can be
    residents' data."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, DBAPIError):
        code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "sqlite_errorname",
                                                                None)
        return f"{type(error).__name__} ({code})" if code else type(error).__name__
    return f"{type(error).__name__}: {error}"[:200]


def evaluate(now: datetime | None = None, *, dry_run: bool = False,
             playbooks: Iterable[Playbook] | None = None) -> list[PlaybookRun]:
    """Evaluate every active playbook (or the given ones): open, close, run the due
    steps; then the steps and closing of paused playbooks' open cases, and measure.
    Commits after each playbook (a playbook that fails is rolled back, logged and
    reported in its run's ``failed``; the others go on) unless ``dry_run``, which
    writes nothing and counts what would open and close."""
    now = now or utcnow()
    chosen = playbooks is not None
    targets = _active(playbooks)
    if dry_run:
        return [_evaluate_one(playbook, now, True) for playbook in targets]
    runs: list[PlaybookRun] = []
    for playbook_id in [playbook.id for playbook in targets]:
        run, failed = _isolated(playbook_id,
                                lambda playbook: _evaluate_one(playbook, now, False))
        runs.append(run or PlaybookRun(playbook_id, failed=failed))
    if not chosen:  # paused playbooks: their cases go on
        for playbook_id in db.session.scalars(select(Playbook.id).where(
                Playbook.status == PlaybookStatus.PAUSED.value).order_by(Playbook.id)).all():
            _isolated(playbook_id, lambda playbook: (_close_cases(playbook, now),
                                                     _playbook_steps(playbook, now)))
    measure(now)
    db.session.commit()
    if any(_sends(playbook) for playbook in db.session.scalars(select(Playbook).where(
            Playbook.status.in_([PlaybookStatus.ACTIVE.value, PlaybookStatus.PAUSED.value])))):
        from portal.mail.outbox import dispatch

        dispatch()
    return runs


def _sends(playbook: Playbook) -> bool:
    return any(step.get("kind") in ("message", "survey") for step in playbook.steps or [])


# -- the dry run -------------------------------------------------------------------------

def visible_residents(viewer) -> Any:
    """None when ``viewer`` may see every resident; else a selectable of the ids of
    residents with a use or a score for the viewer's department's services."""
    from portal.permissions import can_view_all_usage
    from portal.services.models import Service, UsageEvent

    if can_view_all_usage(viewer):
        return None
    services = select(Service.id).where(Service.department_id == viewer.department_id)
    used = select(UsageEvent.resident_id).where(UsageEvent.service_id.in_(services))
    scored = select(EngagementScore.resident_id).where(
        EngagementScore.service_id.in_(services))
    return used.union(scored)


def dry_run(playbook: Playbook, viewer, now: datetime | None = None,
            sample_size: int = 20) -> DryRun:
    """What the playbook would do now, without writing anything: cases it would
    open (and hold out), skipped by reason, a sample of the residents (those
    ``viewer`` may see), and of the messages of its first message or survey step
    how many would be sent (``messages``) and how many the guards would suppress,
    by reason (``suppressed``)."""
    now = now or utcnow()
    if not _evaluated(playbook):
        empty = {"already_open": 0, "cooldown": 0}
        return DryRun(0, 0, empty, [], 0, {}, 0)
    opens, held = _entering_counts(playbook, now)
    entering = selection.entering(playbook, now).subquery("entering")
    sample = select(Resident).where(Resident.id.in_(select(entering.c.resident_id)))
    visible = visible_residents(viewer)
    if visible is not None:
        sample = sample.where(Resident.id.in_(visible))
    residents = db.session.scalars(sample.order_by(Resident.id).limit(sample_size)).all()
    messages, suppressed = 0, {}
    if _sends(playbook):
        from portal.outreach.guards import suppression_counts

        counts = suppression_counts(select(entering.c.resident_id).where(
            entering.c.held_out.is_(False)), now)
        messages = counts.pop("ok", 0)  # would be sent; the rest would not, by reason
        suppressed = counts
    return DryRun(opens, held, selection.skipped(playbook, now), residents, messages,
                  suppressed, _would_close(playbook, now))


# -- the manual start ----------------------------------------------------------------------

def start_case(playbook: Playbook, resident: Resident, service, actor, note: str = "",
               now: datetime | None = None) -> Case:
    """Open a case by hand (any playbook that is not archived, whatever its trigger),
    never held out — staff chose to act —, run its due steps at once, log a note, a
    touchpoint and an audit entry. Flushes; the caller commits (and dispatches mail).
    Raises ``CaseError`` with a message for the reader."""
    from portal.outreach.models import Touchpoint
    from portal.services.models import Channel

    now = now or utcnow()
    if playbook.status == PlaybookStatus.ARCHIVED:
        raise CaseError(_("This playbook is archived: no case can be started from it."))
    if resident.anonymised_at is not None:
        raise CaseError(_("This resident's record has been erased."))
    service_id = playbook.service_id or (service.id if service is not None else None)
    if service_id is None and TRIGGERS[playbook.trigger].needs_service:
        raise CaseError(_("Choose the service the case is about."))
    key = service_id or 0
    mine = select(Case).where(Case.playbook_id == playbook.id, Case.resident_id == resident.id,
                              Case.service_key == key)
    if db.session.scalar(mine.where(Case.closed_at.is_(None)).limit(1)) is not None:
        raise CaseError(_("This resident already has an open case in this playbook."))
    last = db.session.scalar(select(func.max(Case.closed_at)).where(
        Case.playbook_id == playbook.id, Case.resident_id == resident.id,
        Case.service_key == key))
    if last is not None and last > now - timedelta(days=playbook.cooldown_days):
        until = (last + timedelta(days=playbook.cooldown_days)).astimezone(local_zone()).date()
        raise CaseError(_("This resident's last case in this playbook closed recently: a new "
                          "one can start from %(date)s (cooldown).", date=until.isoformat()))
    score = (db.session.get(EngagementScore, (service_id, resident.id))
             if service_id is not None else None)
    first = _offset(playbook.steps or [], 0)
    item = Case(playbook_id=playbook.id, playbook_version=playbook.version,
                resident_id=resident.id, service_id=service_id, service_key=key,
                held_out=False, status=CaseStatus.OPEN, opened_at=now,
                started_by_id=actor.id if actor is not None else None, next_step=0,
                next_step_at=now + timedelta(days=first) if first is not None else None,
                **({"score_at_open": score.score, "band_at_open": score.band,
                    "recency_at_open": score.recency, "frequency_at_open": score.frequency,
                    "satisfaction_at_open": score.satisfaction,
                    "friction_at_open": score.friction} if score is not None else {}))
    try:
        with db.session.begin_nested():
            db.session.add(item)
            db.session.flush()
    except IntegrityError:  # another start at the same moment
        raise CaseError(_("This resident already has an open case in this playbook.")) from None
    db.session.add(CaseNote(case_id=item.id, event="started", body=note.strip(),
                            data={"manual": True, "holdout": False},
                            author_id=actor.id if actor is not None else None, created_at=now))
    db.session.add(Touchpoint(resident_id=resident.id, service_id=service_id,
                              department_id=playbook.department_id, case_id=item.id,
                              channel=Channel.OUTREACH.value, action="case_started",
                              note=note.strip(), by_id=actor.id if actor is not None else None,
                              at=now))
    record("case.start", actor=actor, target=item,
           summary="Started a case by hand (no holdout)",
           data={"playbook_id": playbook.id, "resident_id": resident.id,
                 "service_id": service_id, "version": playbook.version})
    db.session.flush()
    _playbook_steps(playbook, now, case_ids=[item.id])
    db.session.flush()
    db.session.refresh(item)
    return item


def summary_line(run: PlaybookRun, playbook: Playbook | None = None) -> str:
    """One line for the CLI and the job's log."""
    name = f"#{run.playbook_id}" + (f" {playbook.name_en or playbook.name_ja}" if playbook else "")
    skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(run.skipped.items()))
    return (f"{name}: opened {run.opened} (held out {run.held_out}), skipped: "
            f"{skipped or 'none'}, closed {run.closed}, expired {run.expired}, "
            f"steps {run.steps}" + (f" — FAILED ({run.failed})" if run.failed else ""))


__all__ = ["BATCH", "CaseError", "DryRun", "PlaybookRun", "cancel_open_tasks", "dry_run",
           "evaluate", "measure", "run_due_steps", "start_case", "summary_line",
           "visible_residents"]
