"""Who meets a playbook's trigger now: one selectable per playbook, which the
evaluation composes into its INSERT … SELECT (never a query per resident).

``candidates(playbook, now)`` has one row per (resident, service) that meets the
trigger *and* the playbook's conditions, with the columns ``CANDIDATE_COLUMNS``:

- ``resident_id``; ``service_id`` (NULL for a playbook without a service);
- ``score``, ``band``, ``recency``, ``frequency``, ``satisfaction``, ``friction``:
  the service's current score and its measures (NULL where the resident has none);
- ``trigger_value``: the trigger's own figure — points fallen, days without use,
  days overdue, days since the event or registration (NULL when it has none);
- ``trigger_ref``: the record behind it — an inquiry id, a survey response id, a
  life event id (NULL when none).

Rows are distinct per (resident_id, service_id). Erased (anonymised) residents are
never candidates. Consent to outreach and do-not-contact are *not* conditions here:
message steps honour them (``portal.outreach.guards``), so a held-out or a
task-only case still opens for a resident who wants no messages.

The triggers (``definition.TRIGGERS``), each a single set-based SELECT:

- ``band`` {band}: the service's current score is in the band. One pass over the
  service's rows of ``engagement_scores`` (its key starts with ``service_id``),
  erased residents taken out by an anti-join on the residents' key.
- ``score_fall`` {points, days}: the current score is at least ``points`` below the
  resident's score on the snapshot day D = the latest day with snapshots on or
  before the local today − ``days`` (``score_snapshots`` keeps a month's first day
  and the days a run filled in, see ``portal.engagement.scoring``; a run writes every
  active service's snapshots on its day, so D is found by one seek on the key;
  ``score_30d_ago`` is a re-computation with the same model for the 30-day at-risk
  flag and ``previous_score`` only the day before, so neither answers "D days ago").
  No snapshot that old: nobody; a resident (or a service) without a snapshot on D:
  not a candidate. Snapshots are joined by their key (as_of, service_id, resident_id).
  ``trigger_value``: the points fallen.
- ``no_use`` {days} or {intervals}: used the service before, and the days since
  the last use (as of the score's day) are ≥ ``days``, or more than ``intervals`` ×
  the service's expected interval. ``trigger_value``: the days since the last use.
- ``never_used``: the scoring's "eligible, never used" reason.
- ``new_resident`` {days}: ``residents.created_at`` (registered or imported) within
  the last ``days`` × 24 h. ``service_id``: the playbook's service (or NULL), the
  score columns from its current score when there is one. ``trigger_value``: whole
  days since the record was made.
- ``detractor`` {days}: ``portal.surveys.signals.detractors`` submitted within
  ``days`` × 24 h, about the playbook's service when it has one (a survey's
  service), else about anything; one row per resident — the latest answer.
  ``trigger_ref``: that survey response's id; ``trigger_value``: NULL.
- ``inquiry_overdue`` {days}: ``portal.inquiries.signals.overdue_inquiries`` whose
  due time passed at least ``days`` × 24 h ago, about the playbook's service when it
  has one; one row per resident — the most overdue inquiry: ``trigger_ref`` its id,
  ``trigger_value`` its whole days overdue.
- ``life_event`` {event, days}: a ``life_events`` row of that kind that happened on
  a local day from today − ``days`` to today. One row per resident — the latest:
  ``trigger_ref`` the event's id, ``trigger_value`` the days since it.
- ``manual``: nobody (staff start these cases by hand).

The triggers that are not about a service's scores take the playbook's service's
current score (an outer join by key) for the score columns, as ``new_resident``.

``holding(playbook, now)`` is the same without the conditions: what auto-close and
"wait until" steps ask ("does the trigger still hold for this resident?"). Only a
trigger with ``RECOVERS[code]`` can clear by itself:

- ``band``, ``score_fall``, ``no_use``, ``never_used``: the next recompute moves the
  score, the band or the last use — the resident *recovered*;
- ``inquiry_overdue``: the inquiry was answered or resolved — the friction cleared;
- ``new_resident``, ``detractor``, ``life_event``: they only age out of their window
  (a resident stays registered, an answer stays given, a child stays born), which is
  not a recovery; ``manual``: nothing to clear.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import (
    Float,
    Integer,
    Select,
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    null,
    select,
)

from portal.db_types import UTCDateTime
from portal.engagement.models import EngagementScore, ScoreSnapshot
from portal.playbooks.conditions import apply_conditions
from portal.playbooks.models import Playbook
from portal.residents.models import LifeEvent, Resident
from portal.sql import days_between, days_since_day, round_float, whole_days
from portal.timeutil import local_zone

CANDIDATE_COLUMNS = ("resident_id", "service_id", "score", "band", "recency", "frequency",
                     "satisfaction", "friction", "trigger_value", "trigger_ref")
SCORE_COLUMNS = ("score", "band", "recency", "frequency", "satisfaction", "friction")

#: triggers that can clear by themselves (auto-close "recovered"; "wait until" stops)
RECOVERS = {"band": True, "score_fall": True, "no_use": True, "never_used": True,
            "new_resident": False, "detractor": False, "inquiry_overdue": True,
            "life_event": False, "manual": False}


def _today(now: datetime):
    return now.astimezone(local_zone()).date()


def _int_param(playbook: Playbook, name: str) -> int:
    return int(playbook.trigger_params[name])


def _typed_null(name: str):
    return cast(null(), EngagementScore.__table__.c[name].type)


def _score_columns(s, *, value=None, ref=None) -> list:
    return [s.c.resident_id.label("resident_id"), s.c.service_id.label("service_id"),
            *(s.c[name].label(name) for name in SCORE_COLUMNS),
            (value if value is not None else cast(null(), Float)).label("trigger_value"),
            (ref if ref is not None else cast(null(), Integer)).label("trigger_ref")]


def _scores(playbook: Playbook):
    """The playbook's service's current scores, of residents not erased.

    Erased residents are taken out by an anti-join (NOT EXISTS an erased record of
    that id) rather than a join: PostgreSQL then hashes only the few erased records,
    not every resident, and SQLite looks each one up by the key either way."""
    s, r = EngagementScore.__table__, Resident.__table__
    erased = exists().where(r.c.id == s.c.resident_id, r.c.anonymised_at.is_not(None))
    return s, r, s, and_(s.c.service_id == playbook.service_id, ~erased)


def _with_scores(playbook: Playbook, rows, *, value=None, ref=None) -> Select:
    """``rows`` (a subquery with ``resident_id``, one row per resident) with the
    playbook's service as ``service_id`` and that service's current score, if any,
    by the scores' key; no service: NULL everywhere."""
    service_id = playbook.service_id
    value = cast(value, Float) if value is not None else cast(null(), Float)
    ref = cast(ref, Integer) if ref is not None else cast(null(), Integer)
    if service_id is None:
        return select(rows.c.resident_id.label("resident_id"),
                      cast(null(), Integer).label("service_id"),
                      *(_typed_null(name).label(name) for name in SCORE_COLUMNS),
                      value.label("trigger_value"), ref.label("trigger_ref"))
    s = EngagementScore.__table__
    joined = rows.outerjoin(s, and_(s.c.service_id == service_id,
                                    s.c.resident_id == rows.c.resident_id))
    return (select(rows.c.resident_id.label("resident_id"),
                   literal(service_id, Integer).label("service_id"),
                   *(s.c[name].label(name) for name in SCORE_COLUMNS),
                   value.label("trigger_value"), ref.label("trigger_ref"))
            .select_from(joined))


def _band(playbook: Playbook, now: datetime) -> Select:
    s, _, joined, base = _scores(playbook)
    return (select(*_score_columns(s)).select_from(joined)
            .where(base, s.c.band == playbook.trigger_params["band"]))


def _score_fall(playbook: Playbook, now: datetime) -> Select:
    s, _, joined, base = _scores(playbook)
    snap = ScoreSnapshot.__table__
    points, days = _int_param(playbook, "points"), _int_param(playbook, "days")
    # the snapshot day: one seek on the snapshots' key, which starts with the day (a
    # walk back to the service's own latest day would read every other service's
    # rows of the day first — the key's second column — or, for a service without
    # one, all the older history)
    day = (select(snap.c.as_of).where(snap.c.as_of <= _today(now) - timedelta(days=days))
           .order_by(snap.c.as_of.desc()).limit(1).scalar_subquery())
    then = snap.alias("then")
    fallen = then.c.score - s.c.score
    return (select(*_score_columns(s, value=round_float(fallen, 4))).select_from(
        joined.join(then, and_(then.c.as_of == day, then.c.service_id == s.c.service_id,
                               then.c.resident_id == s.c.resident_id)))
            .where(base, fallen >= points))


def _no_use(playbook: Playbook, now: datetime) -> Select:
    s, _, joined, base = _scores(playbook)
    params = playbook.trigger_params
    days = s.c.days_since_last_use
    if params.get("days") not in (None, ""):
        over = days >= int(params["days"])
    else:
        over = days > int(params["intervals"]) * s.c.interval_days
    return (select(*_score_columns(s, value=days)).select_from(joined)
            .where(base, s.c.last_use_at.is_not(None), over))


def _never_used(playbook: Playbook, now: datetime) -> Select:
    from portal.engagement.scoring import NEVER_USED

    s, _, joined, base = _scores(playbook)
    return (select(*_score_columns(s)).select_from(joined)
            .where(base, s.c.reason == NEVER_USED))


def _new_resident(playbook: Playbook, now: datetime) -> Select:
    r = Resident.__table__
    since = now - timedelta(days=_int_param(playbook, "days"))
    rows = (select(r.c.id.label("resident_id"),
                   whole_days(days_between(literal(now, UTCDateTime), r.c.created_at))
                   .label("days"))
            .where(r.c.created_at >= since, r.c.created_at <= now,
                   r.c.anonymised_at.is_(None))
            .subquery("new_resident"))
    return _with_scores(playbook, rows, value=rows.c.days)


def _latest(rows, order_by, name: str):
    """``rows`` (a selectable with ``resident_id``) cut to the first row per
    resident in ``order_by``."""
    sub = rows.add_columns(func.row_number().over(
        partition_by=rows.selected_columns.resident_id, order_by=order_by)
        .label("n")).subquery(name)
    return select(*(c for c in sub.c if c.name != "n")).where(sub.c.n == 1).subquery(
        f"{name}_latest")


def _detractor(playbook: Playbook, now: datetime) -> Select:
    from portal.surveys.signals import detractors

    rows = detractors(now - timedelta(days=_int_param(playbook, "days")), now)
    if playbook.service_id is not None:
        rows = rows.where(rows.selected_columns.service_id == playbook.service_id)
    cols = rows.selected_columns
    latest = _latest(rows, (cols.submitted_at.desc(), cols.response_id.desc()), "detractor")
    return _with_scores(playbook, latest, ref=latest.c.response_id)


def _inquiry_overdue(playbook: Playbook, now: datetime) -> Select:
    from portal.inquiries.signals import overdue_inquiries

    rows = overdue_inquiries(now)
    cols = rows.selected_columns
    rows = rows.where(cols.due_at <= now - timedelta(days=_int_param(playbook, "days")))
    if playbook.service_id is not None:
        rows = rows.where(cols.service_id == playbook.service_id)
    latest = _latest(rows, (cols.due_at.asc(), cols.inquiry_id.asc()), "overdue")
    return _with_scores(playbook, latest, ref=latest.c.inquiry_id, value=whole_days(
        days_between(literal(now, UTCDateTime), latest.c.due_at)))


def _life_event(playbook: Playbook, now: datetime) -> Select:
    e, r = LifeEvent.__table__, Resident.__table__
    today = _today(now)
    rows = (select(e.c.resident_id.label("resident_id"), e.c.id.label("event_id"),
                   e.c.occurred_on.label("occurred_on"))
            .select_from(e.join(r, r.c.id == e.c.resident_id))
            .where(e.c.kind == playbook.trigger_params["event"],
                   e.c.occurred_on >= today - timedelta(days=_int_param(playbook, "days")),
                   e.c.occurred_on <= today, r.c.anonymised_at.is_(None)))
    cols = rows.selected_columns
    latest = _latest(rows, (cols.occurred_on.desc(), cols.event_id.desc()), "life_event")
    return _with_scores(playbook, latest, ref=latest.c.event_id,
                        value=days_since_day(literal(today), latest.c.occurred_on))


def _manual(playbook: Playbook, now: datetime) -> Select:
    """Nobody: a manual playbook's cases are started by staff only."""
    r = Resident.__table__
    nobody = select(r.c.id.label("resident_id")).where(false()).subquery("nobody")
    return _with_scores(playbook, nobody)


TRIGGER_QUERIES = {
    "band": _band,
    "score_fall": _score_fall,
    "no_use": _no_use,
    "never_used": _never_used,
    "new_resident": _new_resident,
    "detractor": _detractor,
    "inquiry_overdue": _inquiry_overdue,
    "life_event": _life_event,
    "manual": _manual,
}


def holding(playbook: Playbook, now: datetime) -> Select:
    """Who meets the trigger now, whatever the conditions (``CANDIDATE_COLUMNS``)."""
    return TRIGGER_QUERIES[playbook.trigger](playbook, now)


def candidates(playbook: Playbook, now: datetime) -> Select:
    """Who meets the trigger and the conditions now (``CANDIDATE_COLUMNS``)."""
    return apply_conditions(holding(playbook, now), playbook.conditions or {}, now)
