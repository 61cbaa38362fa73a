"""A playbook in plain words: its trigger with its numbers, its conditions and its
steps (with the names of the records they point at, looked up once per kind), and
what changed from one version to the next."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from portal.auth.models import User
from portal.engagement.explain import BAND_LABELS
from portal.extensions import db
from portal.i18n import language_names
from portal.outreach.labels import SUPPRESSION_LABELS
from portal.outreach.models import MessageTemplate
from portal.playbooks.editing import FIELD_LABELS
from portal.playbooks.labels import (
    HELD_OUT_LABEL,
    LIFE_EVENT_LABELS,
    OUTCOME_LABELS,
    STATUS_LABELS,
    STEP_LABELS,
    TRIGGER_LABELS,
)
from portal.playbooks.models import Playbook
from portal.residents.districts import district_name
from portal.services.models import Department, Service
from portal.surveys.models import Survey

STATUS_BADGES = {"active": "badge--ok", "paused": "badge--warn", "archived": "badge--off"}


def labels() -> dict[str, Any]:
    return {"STATUS_LABELS": STATUS_LABELS, "STATUS_BADGES": STATUS_BADGES,
            "OUTCOME_LABELS": OUTCOME_LABELS, "SUPPRESSION_LABELS": SUPPRESSION_LABELS,
            "TRIGGER_LABELS": TRIGGER_LABELS, "STEP_LABELS": STEP_LABELS,
            "HELD_OUT_LABEL": HELD_OUT_LABEL,
            "SKIP_LABELS": {"already_open": _("A case is already open"),
                            "cooldown": _("In the cooldown after an earlier case")}}


def _service_name(playbook: Playbook) -> str:
    return playbook.service.name if playbook.service else _("the service")


def trigger_text(playbook: Playbook) -> str:
    """The trigger in one sentence with its numbers."""
    params = playbook.trigger_params or {}
    service = _service_name(playbook)
    code = playbook.trigger
    if code == "band":
        band = BAND_LABELS.get(params.get("band"), "")
        return _("The score for %(service)s enters the %(band)s band", service=service,
                 band=band)
    if code == "score_fall":
        return _("The score for %(service)s falls by %(points)s points or more within "
                 "%(days)s days", service=service, points=params.get("points"),
                 days=params.get("days"))
    if code == "no_use":
        if params.get("intervals"):
            return _("No use of %(service)s for more than %(k)s times its expected interval",
                     service=service, k=params["intervals"])
        return _("No use of %(service)s for %(days)s days", service=service,
                 days=params.get("days"))
    if code == "never_used":
        return _("Eligible for %(service)s and never used it", service=service)
    if code == "new_resident":
        return _("Registered or imported within the last %(days)s days",
                 days=params.get("days"))
    if code == "detractor":
        if playbook.service:
            return _("A detractor answer (0–6) about %(service)s within the last %(days)s days",
                     service=service, days=params.get("days"))
        return _("A detractor answer (0–6) within the last %(days)s days",
                 days=params.get("days"))
    if code == "inquiry_overdue":
        return _("An inquiry overdue by %(days)s days or more", days=params.get("days"))
    if code == "life_event":
        return _("%(event)s within the last %(days)s days",
                 event=LIFE_EVENT_LABELS.get(params.get("event"), ""), days=params.get("days"))
    if code == "manual":
        return _("Started by staff from the resident's 360° page")
    return str(TRIGGER_LABELS.get(code, ""))


def _names(model, ids, attribute: str = "name") -> dict[int, str]:
    ids = {i for i in ids if isinstance(i, int)}
    if not ids:
        return {}
    return {row.id: getattr(row, attribute) for row in db.session.scalars(
        select(model).where(model.id.in_(ids)))}


def condition_lines(conditions: dict[str, Any]) -> list[str]:
    services = _names(Service, [conditions.get("used_service"),
                                (conditions.get("other_band") or {}).get("service_id")])
    lines = []
    if conditions.get("districts"):
        lines.append(_("District: %(names)s", names=", ".join(
            district_name(code) or code for code in conditions["districts"])))
    if conditions.get("age_bands"):
        lines.append(_("Age band: %(bands)s", bands=", ".join(conditions["age_bands"])))
    if conditions.get("locales"):
        names = language_names(_config())
        lines.append(_("Language: %(names)s", names=", ".join(
            names.get(code, code) for code in conditions["locales"])))
    if conditions.get("child_under") is not None:
        lines.append(_("A child under %(years)s in the household",
                       years=conditions["child_under"]))
    if conditions.get("used_service") is not None:
        lines.append(_("Has used %(service)s", service=services.get(
            conditions["used_service"], "")))
    other = conditions.get("other_band")
    if other:
        lines.append(_("In the %(band)s band for %(service)s",
                       band=BAND_LABELS.get(other.get("band"), ""),
                       service=services.get(other.get("service_id"), "")))
    for flag, yes, no in (
            ("consent_profiling", _("Consents to profiling"),
             _("Does not consent to profiling")),
            ("consent_outreach", _("Consents to outreach"),
             _("Does not consent to outreach"))):
        if conditions.get(flag) is not None:
            lines.append(yes if conditions[flag] else no)
    return lines


def step_lines(playbook: Playbook) -> list[dict[str, Any]]:
    steps = playbook.steps or []
    users = _names(User, [s.get("user_id") for s in steps], "display_name")
    templates = _names(MessageTemplate, [s.get("template_id") for s in steps])
    surveys = _names(Survey, [s.get("survey_id") for s in steps], "title")
    department = playbook.department.name if playbook.department else ""
    out = []
    for step in steps:
        kind = step.get("kind")
        if kind == "task":
            title = step.get("title_" + _locale()) or step.get("title_ja") or ""
            assignee = step.get("assignee")
            if assignee == "user":
                whom = users.get(step.get("user_id"), _("a member of staff who has left"))
            elif assignee == "role":
                whom = (_("a manager of %(department)s", department=department)
                        if step.get("role") == "manager"
                        else _("a member of staff of %(department)s", department=department))
            else:
                whom = _("the queue of %(department)s", department=department)
            text = _("Task “%(title)s” for %(whom)s, due %(days)s days after it is made",
                     title=title, whom=whom, days=step.get("due_days"))
        elif kind == "message":
            text = _("Message “%(template)s” by e-mail or letter, as the resident prefers",
                     template=templates.get(step.get("template_id"), ""))
        elif kind == "survey":
            text = _("Invitation to the survey “%(survey)s”",
                     survey=surveys.get(step.get("survey_id"), ""))
        else:
            text = _("Wait: the next steps run only if the trigger still holds")
        out.append({"day": step.get("offset_days"), "kind": STEP_LABELS.get(kind, ""),
                    "text": text})
    return out


def describe(playbook: Playbook) -> dict[str, Any]:
    return {"trigger": trigger_text(playbook),
            "conditions": condition_lines(playbook.conditions or {}),
            "steps": step_lines(playbook)}


def version_changes(rows) -> list[list[str]]:
    """For each version (in order), what changed from the one before, in words."""
    departments = _names(Department, [r.snapshot.get("department_id") for r in rows])
    out = []
    before: dict[str, Any] | None = None
    for row in rows:
        after = row.snapshot or {}
        if before is None:
            out.append([_("First version")])
        else:
            lines = []
            for name, label in FIELD_LABELS.items():
                if before.get(name) == after.get(name):
                    continue
                if name == "status":
                    lines.append(_("Status: %(before)s → %(after)s",
                                   before=STATUS_LABELS.get(before.get(name), ""),
                                   after=STATUS_LABELS.get(after.get(name), "")))
                elif name in ("cooldown_days",):
                    lines.append(_("Cooldown: %(before)s → %(after)s days",
                                   before=before.get(name), after=after.get(name)))
                elif name == "holdout_percent":
                    lines.append(_("Holdout: %(before)s %% → %(after)s %%",
                                   before=before.get(name), after=after.get(name)))
                elif name == "department_id":
                    lines.append(_("Owner department: %(before)s → %(after)s",
                                   before=departments.get(before.get(name), ""),
                                   after=departments.get(after.get(name), "")))
                else:
                    lines.append(str(label))
            out.append(lines or [_("No change to the definition")])
        before = after
    return out


def _locale() -> str:
    from portal.i18n_fields import current_locale

    return "en" if current_locale() == "en" else "ja"


def _config():
    from flask import current_app

    return current_app.config
