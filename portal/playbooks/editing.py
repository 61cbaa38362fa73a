"""Creating and changing playbooks: every save is checked by ``definition.problems``
(plus the records a step names belonging to the owner department), bumps
``version``, keeps the full snapshot in ``playbook_versions`` with a summary of
the fields that changed, and writes the audit entry. Plain arguments in, flush,
no commit (the view commits).

Refusals: an archived playbook is final (no edit, no activation); a save made on
a form opened at an older version (someone else saved meanwhile) is refused so
neither person's work is silently overwritten.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.audit.recording import record
from portal.auth.models import User
from portal.extensions import db
from portal.outreach.models import MessageTemplate
from portal.playbooks import definition
from portal.playbooks.definition import Problem
from portal.playbooks.models import Playbook, PlaybookStatus, PlaybookVersion
from portal.surveys.models import Survey
from portal.timeutil import utcnow

EDITABLE = ("name_ja", "name_en", "description_ja", "description_en", "department_id",
            "service_id", "trigger", "trigger_params", "conditions", "steps", "cooldown_days",
            "auto_close", "holdout_percent")

#: the words for the snapshot's fields on the versions page
FIELD_LABELS = {
    "name_ja": _l("Name (Japanese)"), "name_en": _l("Name (English)"),
    "description_ja": _l("Description (Japanese)"),
    "description_en": _l("Description (English)"),
    "department_id": _l("Owner department"), "service_id": _l("Service"),
    "trigger": _l("Trigger"), "trigger_params": _l("Trigger's numbers"),
    "conditions": _l("Conditions"), "steps": _l("Steps"), "cooldown_days": _l("Cooldown"),
    "auto_close": _l("Auto-close"), "holdout_percent": _l("Holdout"),
    "status": _l("Status"),
}

#: the status changes a manager may make (archived is final)
TRANSITIONS = {
    PlaybookStatus.ACTIVE: {PlaybookStatus.PAUSED, PlaybookStatus.ARCHIVED},
    PlaybookStatus.PAUSED: {PlaybookStatus.ACTIVE, PlaybookStatus.ARCHIVED},
    PlaybookStatus.ARCHIVED: set(),
}


class Invalid(Exception):
    """The definition has problems; nothing was saved."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class Refused(Exception):
    """The change may not be made (archived, stale version ...): a message to show."""


def check(data: dict[str, Any]) -> list[Problem]:
    """``definition.problems`` and what it does not know: a message step's template
    and a survey step's survey belong to the owner department."""
    found = definition.problems(data)
    department = data.get("department_id")
    for n, step in enumerate(data.get("steps") or []):
        if step.get("kind") == "survey" and isinstance(step.get("survey_id"), int):
            survey = db.session.get(Survey, step["survey_id"])
            if survey is not None and survey.department_id not in (None, department):
                found.append(Problem(f"steps.{n}.survey_id",
                                     _("Choose a survey of the owner department.")))
        if step.get("kind") != "message" or not isinstance(step.get("template_id"), int):
            continue
        item = db.session.get(MessageTemplate, step["template_id"])
        if item is not None and item.department_id != department:
            found.append(Problem(f"steps.{n}.template_id",
                                 _("Choose a template of the owner department.")))
    return found


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [name for name in (*EDITABLE, "status") if before.get(name) != after.get(name)]


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    return {name: data.get(name) for name in EDITABLE}


def _version(playbook: Playbook, actor: User | None, summary: str) -> PlaybookVersion:
    row = PlaybookVersion(playbook_id=playbook.id, version=playbook.version,
                          snapshot=playbook.snapshot(), summary=summary[:300],
                          created_by_id=actor.id if actor else None)
    db.session.add(row)
    return row


def create_playbook(*, actor: User | None, data: dict[str, Any]) -> Playbook:
    problems = check(data)
    if problems:
        raise Invalid(problems)
    playbook = Playbook(**_clean(data), status=PlaybookStatus.PAUSED, version=1,
                        created_by_id=actor.id if actor else None)
    db.session.add(playbook)
    db.session.flush()
    _version(playbook, actor, "created")
    record("playbook.create", actor=actor, target=playbook,
           summary=f"Created playbook {playbook.name_en}", data={"version": 1})
    db.session.flush()
    return playbook


def _not_archived(playbook: Playbook) -> None:
    if playbook.status == PlaybookStatus.ARCHIVED:
        raise Refused(_("This playbook is archived: it can no longer be changed or "
                        "activated. Make a new playbook instead."))


def _current(playbook: Playbook, opened_version: Any) -> None:
    if str(opened_version) != str(playbook.version):
        raise Refused(_("Someone else saved this playbook while you were editing it (it is "
                        "now version %(version)s). Your changes have not been saved; they "
                        "are still in the form below. Open the playbook again in another "
                        "tab to see theirs, then save what you want to keep.",
                        version=playbook.version))


def update_playbook(*, actor: User | None, playbook: Playbook, data: dict[str, Any],
                    opened_version: Any) -> list[str]:
    """Save ``data`` over ``playbook``; returns the fields that changed (none: no new
    version)."""
    _not_archived(playbook)
    _current(playbook, opened_version)
    problems = check(data)
    if problems:
        raise Invalid(problems)
    before = playbook.snapshot()
    for name, value in _clean(data).items():
        setattr(playbook, name, value)
    changed = changed_fields(before, playbook.snapshot())
    if not changed:
        return []
    playbook.version += 1
    playbook.updated_at = utcnow()
    db.session.flush()
    summary = "changed: " + ", ".join(changed)
    _version(playbook, actor, summary)
    record("playbook.update", actor=actor, target=playbook, summary=summary,
           data={"version": playbook.version, "fields": changed})
    db.session.flush()
    return changed


def change_status(*, actor: User | None, playbook: Playbook, status: str) -> None:
    """Pause, activate or archive. The same status again (a replayed POST) is refused
    with a message that says it is already so."""
    _not_archived(playbook)
    try:
        wanted = PlaybookStatus(status)
    except ValueError:
        raise Refused(_("Choose activate, pause or archive.")) from None
    if wanted == playbook.status:
        raise Refused(_("This playbook is already active.") if wanted == PlaybookStatus.ACTIVE
                      else _("This playbook is already paused."))
    if wanted not in TRANSITIONS[PlaybookStatus(playbook.status)]:
        raise Refused(_("Choose activate, pause or archive."))
    before = playbook.status
    playbook.status = wanted
    playbook.version += 1
    playbook.updated_at = utcnow()
    db.session.flush()
    summary = f"status: {before} → {wanted.value}"
    _version(playbook, actor, summary)
    record("playbook.status", actor=actor, target=playbook, summary=summary,
           data={"from": before, "to": wanted.value, "version": playbook.version})
    db.session.flush()
