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

``holding(playbook, now)`` is the same without the conditions: what auto-close and
"wait until" steps ask ("does the trigger still hold for this resident?"). Only a
trigger with ``RECOVERS[code]`` can clear by itself (a resident stays a new
resident, a detractor answer stays given).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, and_, literal, null, select

from portal.engagement.models import EngagementScore
from portal.playbooks.conditions import apply_conditions
from portal.playbooks.models import Playbook
from portal.residents.models import Resident

CANDIDATE_COLUMNS = ("resident_id", "service_id", "score", "band", "recency", "frequency",
                     "satisfaction", "friction", "trigger_value", "trigger_ref")

#: triggers that can clear by themselves (auto-close "recovered"; "wait until" stops)
RECOVERS = {"band": True, "score_fall": True, "no_use": True, "never_used": True,
            "new_resident": False, "detractor": False, "inquiry_overdue": True,
            "life_event": False, "manual": False}


def _score_columns(s, *, value=None, ref=None) -> list:
    return [s.c.resident_id.label("resident_id"), s.c.service_id.label("service_id"),
            s.c.score.label("score"), s.c.band.label("band"), s.c.recency.label("recency"),
            s.c.frequency.label("frequency"), s.c.satisfaction.label("satisfaction"),
            s.c.friction.label("friction"),
            (value if value is not None else null()).label("trigger_value"),
            (ref if ref is not None else null()).label("trigger_ref")]


def _scores(playbook: Playbook):
    """The playbook's service's current scores, of residents not erased."""
    s, r = EngagementScore.__table__, Resident.__table__
    return s, r, (s.join(r, r.c.id == s.c.resident_id)), and_(
        s.c.service_id == playbook.service_id, r.c.anonymised_at.is_(None))


def _band(playbook: Playbook, now: datetime) -> Select:
    s, _, joined, base = _scores(playbook)
    return (select(*_score_columns(s)).select_from(joined)
            .where(base, s.c.band == playbook.trigger_params["band"]))


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


def _not_yet(playbook: Playbook, now: datetime) -> Select:
    raise NotImplementedError(playbook.trigger)  # the "triggers" helper writes these


def _manual(playbook: Playbook, now: datetime) -> Select:
    """Nobody: a manual playbook's cases are started by staff only."""
    r = Resident.__table__
    return select(r.c.id.label("resident_id"), *(
        literal(None).label(name) for name in CANDIDATE_COLUMNS[1:])).where(literal(False))


TRIGGER_QUERIES = {
    "band": _band,
    "score_fall": _not_yet,
    "no_use": _no_use,
    "never_used": _never_used,
    "new_resident": _not_yet,
    "detractor": _not_yet,
    "inquiry_overdue": _not_yet,
    "life_event": _not_yet,
    "manual": _manual,
}


def holding(playbook: Playbook, now: datetime) -> Select:
    """Who meets the trigger now, whatever the conditions (``CANDIDATE_COLUMNS``)."""
    return TRIGGER_QUERIES[playbook.trigger](playbook, now)


def candidates(playbook: Playbook, now: datetime) -> Select:
    """Who meets the trigger and the conditions now (``CANDIDATE_COLUMNS``)."""
    return apply_conditions(holding(playbook, now), playbook.conditions or {}, now)
