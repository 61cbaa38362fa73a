"""A case in words: its trigger and the numbers it saw at opening (the score's
explanation rebuilt from the stored ``*_at_open`` measures with the scoring model
in force then), the record behind it, and its steps done and to come."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext, pgettext
from sqlalchemy import select

from portal.engagement.explain import BAND_LABELS, Explanation, explain
from portal.extensions import db
from portal.i18n_fields import localized
from portal.playbooks.labels import LIFE_EVENT_LABELS, STEP_LABELS, TRIGGER_LABELS
from portal.playbooks.models import Case, CaseNote, CaseStatus
from portal.work.models import Task


@dataclass
class TriggerWords:
    label: str
    rule: str  # the trigger's parameters in words
    value: str | None  # trigger_value with its meaning
    ref: dict[str, Any] | None = None  # the record behind it: kind, text, link args


def _n(value: float | None) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def trigger_words(case: Case, snapshot: dict[str, Any]) -> TriggerWords:
    code = snapshot.get("trigger") or case.playbook.trigger
    params = snapshot.get("trigger_params") or {}
    label = str(TRIGGER_LABELS.get(code, _("Unknown trigger")))
    rule = _rule(code, params)
    value = None if case.trigger_value is None else _value(code, case.trigger_value)
    return TriggerWords(label, rule, value, _ref(code, case))


def _rule(code: str, params: dict[str, Any]) -> str:
    if code == "band":
        band = BAND_LABELS.get(params.get("band"))
        return _("The service's score is in the band %(band)s.", band=band) if band else ""
    if code == "score_fall":
        return _("The score fell by %(points)s points or more within %(days)s days.",
                 points=params.get("points"), days=params.get("days"))
    if code == "no_use":
        if params.get("days") not in (None, ""):
            return _("No use of the service for %(days)s days or more.", days=params["days"])
        return _("No use of the service for more than %(n)s times its expected interval.",
                 n=params.get("intervals"))
    if code == "never_used":
        return _("The resident is eligible for the service and has never used it.")
    if code == "new_resident":
        return _("Registered or imported within %(days)s days.", days=params.get("days"))
    if code == "detractor":
        return _("Answered a survey as a detractor (0–6 of 10) within %(days)s days.",
                 days=params.get("days"))
    if code == "inquiry_overdue":
        return _("An inquiry overdue by %(days)s days or more.", days=params.get("days"))
    if code == "life_event":
        event = LIFE_EVENT_LABELS.get(params.get("event"), _("a life event"))
        return _("%(event)s within %(days)s days.", event=event, days=params.get("days"))
    if code == "manual":
        return _("Started by a member of staff.")
    return ""


def _value(code: str, value: float) -> str:
    number = _n(value)
    if code == "score_fall":
        return _("The score had fallen by %(n)s points.", n=number)
    if code == "no_use":
        return _("%(n)s days without a use when the case opened.", n=number)
    if code == "new_resident":
        return _("Registered %(n)s days before the case opened.", n=number)
    if code == "detractor":
        return _("Answered %(n)s days before the case opened.", n=number)
    if code == "inquiry_overdue":
        return _("The inquiry was %(n)s days overdue.", n=number)
    if code == "life_event":
        return _("The event was %(n)s days before the case opened.", n=number)
    return _("The trigger's figure at opening: %(n)s.", n=number)


def _ref(code: str, case: Case) -> dict[str, Any] | None:
    if case.trigger_ref is None:
        return None
    if code == "inquiry_overdue":
        from portal.inquiries.models import Inquiry

        inquiry = db.session.get(Inquiry, case.trigger_ref)
        if inquiry is None:
            return {"kind": "gone", "text": _("The inquiry is no longer on record.")}
        return {"kind": "inquiry", "id": inquiry.id,
                "text": _("Inquiry No. %(n)s: %(subject)s", n=inquiry.id,
                          subject=inquiry.subject)}
    if code == "life_event":
        from portal.residents.models import LifeEvent

        event = db.session.get(LifeEvent, case.trigger_ref)
        if event is None:
            return {"kind": "gone", "text": _("The life event is no longer on record.")}
        return {"kind": "life_event", "text": str(LIFE_EVENT_LABELS.get(
            event.kind, _("Life event"))), "date": event.occurred_on}
    if code == "detractor":
        from portal.surveys.models import Response, Survey

        row = db.session.execute(select(Response.submitted_at, Survey.title_ja, Survey.title_en)
                                 .join(Survey, Survey.id == Response.survey_id)
                                 .where(Response.id == case.trigger_ref)).first()
        if row is None:
            return {"kind": "gone", "text": _("The survey response is no longer on record.")}
        title = localized(row, "title")
        return {"kind": "response", "text": _("Survey response to “%(title)s”", title=title),
                "at": row.submitted_at}
    return None


@dataclass
class ScoreAtOpen:
    score: float
    band: str | None
    explanation: Explanation | None
    model_version: int | None


def score_at_open(case: Case, model) -> ScoreAtOpen | None:
    """The score and band at opening with its four measures, explained by the same
    code as the 360° page (``engagement.explain``) over the stored values."""
    if case.score_at_open is None:
        return None
    explanation = None
    if model is not None:
        stored = SimpleNamespace(model=model, recency=case.recency_at_open,
                                 frequency=case.frequency_at_open,
                                 satisfaction=case.satisfaction_at_open,
                                 friction=case.friction_at_open)
        explanation = explain(stored)  # type: ignore[arg-type]
    return ScoreAtOpen(case.score_at_open, case.band_at_open, explanation,
                       model.version if model is not None else None)


@dataclass
class StepLine:
    index: int
    kind: str
    kind_label: str
    text: str
    due_at: datetime
    state: str  # "done", "next", "to_come", "skipped", "held_out", "not_run"
    ran_at: datetime | None = None
    tasks: list[Task] = field(default_factory=list)
    messages: list = field(default_factory=list)


STEP_STATE_LABELS = {
    "done": lambda: pgettext("case step", "Done"),
    "next": lambda: pgettext("case step", "Next"),
    "to_come": lambda: _("To come"),
    "skipped": lambda: _("Not run: the trigger had cleared"),
    "held_out": lambda: _("Not run: held out"),
    "not_run": lambda: _("Not run: the case closed"),
}


def step_state_label(state: str) -> str:
    return STEP_STATE_LABELS[state]()


def steps(case: Case, snapshot: dict[str, Any], tasks: list[Task], messages: list,
          notes: list[CaseNote], names: dict[str, dict[int, str]]) -> list[StepLine]:
    ran = {}
    for note in notes:
        if note.event == "step" and isinstance(note.data, dict) and "step" in note.data:
            ran.setdefault(note.data["step"], note.created_at)
    lines = []
    for index, step in enumerate(snapshot.get("steps") or []):
        kind = step.get("kind", "")
        due_at = case.opened_at + timedelta(days=int(step.get("offset_days") or 0))
        if index < case.next_step or index in ran:
            state = "done"
        elif case.stopped_at_step is not None and index > case.stopped_at_step:
            state = "skipped"
        elif case.held_out and kind in ("task", "message", "survey"):
            state = "held_out"
        elif case.status == CaseStatus.CLOSED:
            state = "not_run"
        elif index == case.next_step:
            state = "next"
        else:
            state = "to_come"
        lines.append(StepLine(
            index, kind, str(STEP_LABELS.get(kind, _("Step"))), _step_text(step, names),
            due_at, state, ran.get(index), [t for t in tasks if t.step == index],
            [m for m in messages if m.step == index]))
    return lines


def _step_text(step: dict[str, Any], names: dict[str, dict[int, str]]) -> str:
    kind = step.get("kind")
    if kind == "task":
        title = localized(SimpleNamespace(title_ja=step.get("title_ja") or "",
                                          title_en=step.get("title_en") or ""), "title")
        return ngettext("%(title)s (due %(num)d day after it is made)",
                        "%(title)s (due %(num)d days after it is made)",
                        int(step.get("due_days") or 0), title=title)
    if kind == "message":
        return names["templates"].get(step.get("template_id"), _("A message template"))
    if kind == "survey":
        return names["surveys"].get(step.get("survey_id"), _("A survey"))
    if kind == "wait":
        return _("The next steps run only if the trigger still holds.")
    return ""


def step_names(snapshot: dict[str, Any]) -> dict[str, dict[int, str]]:
    """The templates and surveys the steps name, looked up once (two queries)."""
    from portal.outreach.models import MessageTemplate
    from portal.surveys.models import Survey

    template_ids = {s.get("template_id") for s in snapshot.get("steps") or []
                    if s.get("kind") == "message"} - {None}
    survey_ids = {s.get("survey_id") for s in snapshot.get("steps") or []
                  if s.get("kind") == "survey"} - {None}
    templates = {t.id: t.name for t in db.session.scalars(
        select(MessageTemplate).where(MessageTemplate.id.in_(template_ids)))} \
        if template_ids else {}
    surveys = {}
    if survey_ids:
        for survey in db.session.scalars(select(Survey).where(Survey.id.in_(survey_ids))):
            surveys[survey.id] = survey.title
    return {"templates": templates, "surveys": surveys}
