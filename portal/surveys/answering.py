"""Answering a survey, in every way in: reading a posted form into answers, the
section-by-section flow of the resident form, drafts, and storing one response.

The form is not a WTForms class: its fields are the survey's questions, named
``q<question id>`` (so a posted answer to a question of *another* survey is seen
as such, and an answer to a hidden or closed one too), with scales whose ends
carry words. A small parser over the posted data keeps that exact: WTForms would
silently ignore the fields it does not know, which is what tampering looks like.
The CSRF token, the submission nonce and the section travel in a small
``portal.forms.Form``.

Limits (documented in docs/surveys.md): short text at most ``TEXT_LIMITS`` 200
characters, long text 5 000; longer text is refused with a message, never cut.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from portal.audit.recording import record
from portal.engagement.dashboards import AGE_BANDS
from portal.extensions import db
from portal.surveys import logic
from portal.surveys.models import (
    CHOICE,
    NUMERIC,
    TEXT,
    Answer,
    Invitation,
    Question,
    QuestionType,
    Response,
    ResponseChannel,
    Survey,
    SurveyDraft,
    SurveyStatus,
)
from portal.surveys.tokens import token_hash
from portal.timeutil import local_today, utcnow

TEXT_LIMITS = {QuestionType.SHORT_TEXT: 200, QuestionType.LONG_TEXT: 5000}
_FIELD = re.compile(r"^q(\d{1,18})$")
TOKEN_MAX = 100  # tokens are 43 characters; longer is not a token


class Tampered(Exception):
    """Posted data no honest form sends (a question of another survey, a hidden or
    closed question, a section that does not exist): a 400 page, nothing stored."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AlreadyAnswered(Exception):
    """The invitation was completed by another submit (another tab, another request)."""


def field_name(question: Question) -> str:
    return f"q{question.id}"


def new_submission_key() -> str:
    return secrets.token_urlsafe(24)


# -- reading the posted form --------------------------------------------------------------

def posted_ids(formdata: Mapping) -> set[int]:
    ids = set()
    for name in formdata:
        match = _FIELD.match(name)
        if match:
            ids.add(int(match.group(1)))
    return ids


def _values(formdata, question: Question) -> list[str]:
    getlist = getattr(formdata, "getlist", None)
    raw = getlist(field_name(question)) if getlist else [formdata.get(field_name(question))]
    return [str(v) for v in raw if v is not None]


def typed(survey: Survey, formdata) -> dict[int, list[str]]:
    """What was posted for each question, as typed: shown again with the errors."""
    return {q.id: _values(formdata, q) for q in survey.questions if _values(formdata, q)}


def _read_one(question: Question, values: list[str]) -> tuple[Any, str | None]:
    """``(answer or None, error message or None)`` for one question's posted values."""
    kind = question.type
    filled = [v for v in values if v.strip() != ""] if kind not in TEXT else values
    if kind in NUMERIC:
        if not filled:
            return None, None
        if len(filled) > 1:
            return None, _("Choose one answer only.")
        low, high = logic.scale(question)
        try:
            number = int(filled[0].strip())
        except ValueError:
            number = None
        if (number is None or not low <= number <= high) and kind == QuestionType.YES_NO:
            return None, _("Choose Yes or No.")
        if number is None or not low <= number <= high:
            return None, _("Choose an answer from %(low)s to %(high)s.", low=low, high=high)
        return number, None
    if kind in CHOICE:
        known = logic.option_values(question)
        if not filled:
            return ([] if kind == QuestionType.MULTIPLE else None), None
        unknown = [v for v in filled if v not in known]
        if unknown:
            return None, _("“%(value)s” is not one of the choices. Choose from the list.",
                           value=unknown[0][:40])
        if kind == QuestionType.SINGLE:
            if len(set(filled)) > 1:
                return None, _("Choose one answer only.")
            return filled[0], None
        return [v for v in known if v in set(filled)], None
    # text
    text = "\n".join(values).replace("\r\n", "\n").strip()
    limit = TEXT_LIMITS[QuestionType(kind)]
    if len(text) > limit:
        return None, _("Please shorten your answer to at most %(limit)s characters (it has "
                       "%(count)s).", limit=f"{limit:,}", count=f"{len(text):,}")
    return (text or None), None


def _empty(answer: Any) -> bool:
    return answer is None or answer == [] or answer == ""


def parse(survey: Survey, visible_questions: Iterable[Question], formdata, *,
          enforce_required: bool = True) -> tuple[dict[str, Any], dict[int, str]]:
    """The answers to ``visible_questions`` (by question key) and the errors (by
    question id, a message each). Raises ``Tampered`` for an answer to a question
    that is not one of ``visible_questions``: of another survey, closed, or hidden."""
    visible_questions = list(visible_questions)
    by_id = {q.id: q for q in survey.questions}
    visible_ids = {q.id for q in visible_questions}
    for question_id in posted_ids(formdata):
        question = by_id.get(question_id)
        if question is None:
            raise Tampered(_("An answer was sent for a question that is not part of this "
                             "survey."))
        if question.closed:
            raise Tampered(_("An answer was sent for a question that is no longer asked."))
        if question_id not in visible_ids:
            raise Tampered(_("An answer was sent for a question that is not shown with the "
                             "answers given."))
    answers: dict[str, Any] = {}
    errors: dict[int, str] = {}
    for question in visible_questions:
        answer, error = _read_one(question, _values(formdata, question))
        if error:
            errors[question.id] = error
        elif _empty(answer):
            if question.required and enforce_required:
                errors[question.id] = _("Please answer this question.")
        else:
            answers[question.key] = answer
    return answers, errors


def lenient(survey: Survey, formdata) -> dict[str, Any]:
    """The valid answers posted, whatever else is wrong: for show-if on the server."""
    answers = {}
    for question in survey.questions:
        values = _values(formdata, question)
        if values:
            answer, error = _read_one(question, values)
            if not error and not _empty(answer):
                answers[question.key] = answer
    return answers


def only(formdata, questions: Iterable[Question]) -> MultiDict:
    """The posted data without the answers to questions other than ``questions``."""
    keep = {field_name(q) for q in questions}
    items = formdata.items(multi=True) if hasattr(formdata, "items") else []
    return MultiDict([(k, v) for k, v in items if not _FIELD.match(k) or k in keep])


def as_values(survey: Survey, answers: Mapping[str, Any]) -> dict[int, list[str]]:
    """Stored answers (a draft's) as the form's posted values."""
    values = {}
    for question in survey.questions:
        answer = answers.get(question.key)
        if _empty(answer):
            continue
        values[question.id] = [str(a) for a in answer] if isinstance(answer, list) \
            else [str(answer)]
    return values


def asked(survey: Survey) -> list[Question]:
    return [q for q in survey.questions if not q.closed]


# -- the section flow ---------------------------------------------------------------------

NEXT, BACK, UPDATE, SAVE = "next", "back", "update", "save"
ACTIONS = (NEXT, BACK, UPDATE, SAVE)


@dataclass
class Page:
    """One section of the resident form, ready to render."""

    section: int
    sections: list[int]
    questions: list[Question]  # the section's asked questions, hidden ones included
    visible_ids: set[int]
    values: dict[int, list[str]]
    carried: list[tuple[Question, list[str]]]  # other sections' answers, as hidden inputs
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def number(self) -> int:
        return self.sections.index(self.section) + 1 if self.section in self.sections else 1

    @property
    def last(self) -> bool:
        return not any(s > self.section for s in self.sections)

    @property
    def first(self) -> bool:
        return not any(s < self.section for s in self.sections)

    @property
    def shown(self) -> list[int]:
        return [q.id for q in self.questions] + [q.id for q, _ in self.carried]

    @property
    def reveals_here(self) -> bool:
        """Whether an answer on this page can show another question of this page
        (then the page offers "Update / show the next questions" without JavaScript)."""
        keys = {q.key for q in self.questions}
        return any(q.show_if and q.show_if.get("question") in keys for q in self.questions)


def page(survey: Survey, section: int | None, values: dict[int, list[str]],
         errors: dict[int, str] | None = None) -> Page:
    """The page of ``section`` (None: the first) given the answers so far."""
    answers = lenient(survey, _as_formdata(survey, values))
    visible = logic.visible(asked(survey), answers)
    visible_ids = {q.id for q in visible}
    sections = sorted({q.section for q in visible}) or [1]
    if section is None or section not in {q.section for q in asked(survey)}:
        section = sections[0]
    if section not in sections:
        sections = sorted({*sections, section})
    questions = [q for q in asked(survey) if q.section == section]
    carried = [(q, values[q.id]) for q in visible
               if q.section != section and values.get(q.id)]
    return Page(section=section, sections=sections, questions=questions,
                visible_ids=visible_ids, values=values, carried=carried, errors=errors or {})


def _as_formdata(survey: Survey, values: dict[int, list[str]]) -> MultiDict:
    by_id = {q.id: q for q in survey.questions}
    return MultiDict([(field_name(by_id[i]), v) for i, vs in values.items() if i in by_id
                      for v in vs])


@dataclass
class Step:
    """What a POST of the resident form comes to: a page to show again, a draft to
    save, or answers to submit."""

    page: Page | None = None
    save: tuple[dict[str, Any], int] | None = None
    submit: dict[str, Any] | None = None


def step(survey: Survey, formdata, action: str) -> Step:
    """One press of a button of the resident form (and of the preview). Raises
    ``Tampered`` for data no honest form sends."""
    if action not in ACTIONS:
        raise Tampered(_("The form was sent with a button it does not have."))
    try:
        section = int(formdata.get("section", ""))
    except ValueError:
        section = None
    if section not in {q.section for q in asked(survey)}:
        raise Tampered(_("The form was sent for a page this survey does not have."))
    formdata = _drop_changed_minds(survey, formdata)
    values = typed(survey, formdata)
    answers = lenient(survey, formdata)
    visible = logic.visible(asked(survey), answers)
    here = [q for q in visible if q.section == section]
    if action == UPDATE:
        return Step(page=page(survey, section, values))
    if action == BACK:
        earlier = [q.section for q in visible if q.section < section]
        return Step(page=page(survey, max(earlier) if earlier else section, values))
    if action == SAVE:
        answers, errors = parse(survey, visible, formdata, enforce_required=False)
        if errors:
            return Step(page=page(survey, _first_section(survey, errors, section), values,
                                  errors))
        return Step(save=(answers, section))
    errors = parse(survey, here, only(formdata, here))[1]
    if errors:
        return Step(page=page(survey, section, values, errors))
    later = [q.section for q in visible if q.section > section]
    if later:
        return Step(page=page(survey, min(later), values))
    answers, errors = parse(survey, visible, formdata)
    if errors:  # an earlier page's answer no longer holds: show that page
        return Step(page=page(survey, _first_section(survey, errors, section), values,
                              errors))
    return Step(submit=answers)


def _first_section(survey: Survey, errors: dict[int, str], default: int) -> int:
    sections = [q.section for q in survey.questions if q.id in errors]
    return min(sections) if sections else default


def _drop_changed_minds(survey: Survey, formdata) -> MultiDict:
    """Answers to questions that the answers now hide: dropped when the question
    was on the page (the resident changed an earlier answer), refused otherwise."""
    by_id = {q.id: q for q in survey.questions}
    for question_id in posted_ids(formdata):
        question = by_id.get(question_id)
        if question is None:
            raise Tampered(_("An answer was sent for a question that is not part of this "
                             "survey."))
        if question.closed:
            raise Tampered(_("An answer was sent for a question that is no longer asked."))
    shown = set()
    for value in formdata.getlist("shown") if hasattr(formdata, "getlist") else []:
        if value.isdigit() and len(value) < 19:
            shown.add(int(value))
    visible_ids = {q.id for q in logic.visible(asked(survey), lenient(survey, formdata))}
    hidden = posted_ids(formdata) - visible_ids
    if hidden - shown:
        raise Tampered(_("An answer was sent for a question that is not shown with the "
                         "answers given."))
    return only(formdata, [q for q in survey.questions if q.id not in hidden])


def check_all(survey: Survey, formdata) -> tuple[dict[str, Any], dict[int, str]]:
    """Staff entry: every question on one page, show-if checked on submit. An answer
    to a question the other answers hide is an error on that question; required
    questions may stay empty (the resident may have left them blank on paper)."""
    by_id = {q.id: q for q in survey.questions}
    for question_id in posted_ids(formdata):
        if question_id not in by_id:
            raise Tampered(_("An answer was sent for a question that is not part of this "
                             "survey."))
        if by_id[question_id].closed:
            raise Tampered(_("An answer was sent for a question that is no longer asked."))
    visible = logic.visible(asked(survey), lenient(survey, formdata))
    visible_ids = {q.id for q in visible}
    errors = {q.id: _("This question is not asked with the answers given: leave it empty.")
              for q in asked(survey)
              if q.id not in visible_ids and any(v.strip() for v in _values(formdata, q))}
    answers, more = parse(survey, visible, only(formdata, visible), enforce_required=False)
    errors.update(more)
    if not errors and not answers and visible:
        errors[visible[0].id] = _("Enter at least one answer.")
    return answers, errors


# -- availability -------------------------------------------------------------------------

NOT_OPEN, CLOSED, ANSWERED, EXPIRED, UNKNOWN = "not_open", "closed", "answered", "expired", \
    "unknown"
STATUS = {NOT_OPEN: 404, UNKNOWN: 404, CLOSED: 410, ANSWERED: 410, EXPIRED: 410}


def survey_problem(survey: Survey) -> str | None:
    today = local_today()
    if survey.status == SurveyStatus.CLOSED or (survey.closes_on and survey.closes_on < today):
        return CLOSED
    if survey.status != SurveyStatus.OPEN or (survey.opens_on and survey.opens_on > today):
        return NOT_OPEN
    return None


def invitation_problem(invitation: Invitation | None, *, by_link: bool = True) -> str | None:
    """Why an invitation cannot be answered now, or None (the expiry date is the
    link's: signed in, the resident answers while the survey is open)."""
    if invitation is None:
        return UNKNOWN
    if invitation.completed_at is not None:
        return ANSWERED
    problem = survey_problem(invitation.survey)
    if problem:
        return problem
    if by_link and invitation.expires_at is not None and invitation.expires_at <= utcnow():
        return EXPIRED
    return None


def by_token(token: str) -> Invitation | None:
    if not token or len(token) > TOKEN_MAX:
        return None
    return db.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token)))


def invitation_for(survey: Survey, resident) -> Invitation | None:
    """The resident's invitation to the survey: the newest one not yet answered when
    there are several (inquiry follow-ups: one per inquiry), else the newest."""
    return db.session.scalar(
        select(Invitation).where(Invitation.survey_id == survey.id,
                                 Invitation.resident_id == resident.id)
        .order_by(Invitation.completed_at.is_not(None), Invitation.id.desc()).limit(1))


def mark_started(invitation: Invitation) -> None:
    if invitation.started_at is None:
        invitation.started_at = utcnow()
        db.session.flush()


# -- drafts ---------------------------------------------------------------------------------

def _draft_owner(invitation: Invitation | None, user) -> Any:
    if invitation is not None and user is None:
        return SurveyDraft.invitation_id == invitation.id
    return SurveyDraft.user_id == user.id


def load_draft(survey: Survey, *, invitation: Invitation | None = None,
               user=None) -> SurveyDraft | None:
    return db.session.scalar(select(SurveyDraft).where(SurveyDraft.survey_id == survey.id,
                                                       _draft_owner(invitation, user)))


def save_draft(survey: Survey, answers: dict[str, Any], section: int, *,
               invitation: Invitation | None = None, user=None) -> SurveyDraft:
    """Keep the answers so far (a token link: by the invitation; signed in: by the
    account), to resume from the same link."""
    draft = load_draft(survey, invitation=invitation, user=user)
    if draft is None:
        draft = SurveyDraft(survey_id=survey.id,
                            invitation_id=invitation.id if user is None else None,
                            user_id=user.id if user is not None else None)
        db.session.add(draft)
    draft.answers = dict(answers)
    draft.section = section
    draft.updated_at = utcnow()
    if invitation is not None:
        mark_started(invitation)
    db.session.flush()
    return draft


# -- storing a response -------------------------------------------------------------------

def age_band(birth_year: int | None, year: int | None = None) -> str | None:
    """The age band (``AGE_BANDS``) of someone born in ``birth_year``, in ``year``
    (this year by default)."""
    if not birth_year:
        return None
    age = (year or local_today().year) - birth_year
    for label, low, high in AGE_BANDS:
        if low <= age <= high:
            return label
    return None


def is_detractor(questions: Iterable[Question], answers: Mapping[str, Any]) -> bool:
    for question in questions:
        value = answers.get(question.key)
        if not isinstance(value, int) or isinstance(value, bool):
            continue
        if (question.type == QuestionType.NPS and value <= 6) or \
                (question.type in (QuestionType.CSAT, QuestionType.CES) and value <= 2):
            return True
    return False


def submit(survey: Survey, answers: Mapping[str, Any], *, channel: str, resident=None,
           invitation: Invitation | None = None, user=None, entered_by=None,
           submission_key: str, locale: str | None = None) -> Response:
    """Store one response in the caller's transaction (flushes, audits staff entry,
    never commits). The same ``submission_key`` again returns the stored response
    (a double click, the back button). An invitation is completed by one
    conditional UPDATE: of two concurrent submits, one wins and the other raises
    ``AlreadyAnswered`` (or gets the winner's response when it carried the same key).
    Anonymous surveys: no resident, nothing that leads to the invitation, the time
    as a date (midnight UTC of the local date)."""
    channel = ResponseChannel(channel).value
    existing = by_submission_key(survey, submission_key)
    if existing is not None:
        return existing
    if invitation is None and resident is not None and (user is not None
                                                        or entered_by is not None):
        invitation = _found_or_created(survey, resident, channel, entered_by)
    now = utcnow()
    if invitation is not None:
        if resident is None:
            resident = invitation.resident
        done = db.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation.id, Invitation.completed_at.is_(None))
            .values(completed_at=now)
            .execution_options(synchronize_session=False))
        if done.rowcount != 1:
            db.session.expire(invitation)
            existing = by_submission_key(survey, submission_key)
            if existing is not None:
                return existing
            raise AlreadyAnswered()
        if invitation.started_at is None:
            db.session.execute(update(Invitation).where(Invitation.id == invitation.id)
                               .values(started_at=now)
                               .execution_options(synchronize_session=False))
        db.session.expire(invitation)
    questions = {q.key: q for q in survey.questions}
    response = Response(
        survey_id=survey.id, channel=channel, submission_key=submission_key,
        resident_id=None if survey.anonymous or resident is None else resident.id,
        submitted_at=(datetime.combine(local_today(), time.min, tzinfo=UTC)
                      if survey.anonymous else now),
        district=resident.district if resident is not None else None,
        age_band=age_band(resident.birth_year) if resident is not None else None,
        locale=locale, detractor=is_detractor(questions.values(), answers),
        entered_by_id=entered_by.id if entered_by is not None else None)
    for key, value in answers.items():
        question = questions[key]
        for item in value if isinstance(value, list) else [value]:
            row = Answer(question_id=question.id)
            if question.type in NUMERIC:
                row.number = int(item)
            elif question.type in CHOICE:
                row.choice = str(item)
            else:
                row.text = str(item)
            response.answers.append(row)
    try:
        with db.session.begin_nested():
            db.session.add(response)
            db.session.flush()
    except IntegrityError:  # the same key, committed by a concurrent request meanwhile
        existing = by_submission_key(survey, submission_key)
        if existing is None:
            raise
        return existing
    owners = []
    if invitation is not None:
        owners.append(SurveyDraft.invitation_id == invitation.id)
    if user is not None:
        owners.append(SurveyDraft.user_id == user.id)
    if owners:
        db.session.execute(delete(SurveyDraft).where(SurveyDraft.survey_id == survey.id,
                                                     or_(*owners)))
    if entered_by is not None:
        _audit_entry(survey, response, resident, entered_by)
    return response


def by_submission_key(survey: Survey, key: str) -> Response | None:
    return db.session.scalar(select(Response).where(Response.survey_id == survey.id,
                                                    Response.submission_key == key))


def _found_or_created(survey: Survey, resident, channel: str, entered_by) -> Invitation:
    """Every way in counts the same: a signed-in answer or a staff entry for a
    resident gets (or uses) the resident's invitation to the survey."""
    invitation = invitation_for(survey, resident)
    if invitation is None:
        try:
            with db.session.begin_nested():
                invitation = Invitation(survey_id=survey.id, resident_id=resident.id,
                                        channel=channel, started_at=utcnow(),
                                        created_by_id=entered_by.id if entered_by else None)
                db.session.add(invitation)
                db.session.flush()
        except IntegrityError:  # created by a concurrent request
            invitation = invitation_for(survey, resident)
    return invitation


def _audit_entry(survey: Survey, response: Response, resident, entered_by) -> None:
    if survey.anonymous:
        # an anonymous paper form: the survey, never a resident
        record("survey_response.enter", actor=entered_by, target=("surveys", survey.id),
               summary="Entered an anonymous survey response",
               data={"channel": response.channel})
    else:
        record("survey_response.enter", actor=entered_by, target=("residents", resident.id),
               summary="Entered a survey response for the resident",
               data={"survey_id": survey.id, "response_id": response.id,
                     "channel": response.channel})


# -- lists ------------------------------------------------------------------------------------

def invitations_of(resident) -> tuple[list[Invitation], list[Invitation]]:
    """A resident's surveys: (waiting — open and not answered, answered)."""
    rows = db.session.scalars(
        select(Invitation).join(Survey, Survey.id == Invitation.survey_id)
        .options(selectinload(Invitation.survey))
        .where(Invitation.resident_id == resident.id,
               Survey.status.in_([SurveyStatus.OPEN, SurveyStatus.CLOSED]))
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())).all()
    waiting = [i for i in rows if i.completed_at is None and survey_problem(i.survey) is None]
    answered = [i for i in rows if i.completed_at is not None]
    return waiting, answered


def identified_responses(resident) -> list[Response]:
    return db.session.scalars(
        select(Response).join(Survey, Survey.id == Response.survey_id)
        .options(selectinload(Response.survey))
        .where(Response.resident_id == resident.id, Survey.anonymous.is_(False))
        .order_by(Response.submitted_at.desc()).limit(50)).all()


def open_surveys(*, anonymous: bool | None = None) -> list[Survey]:
    stmt = select(Survey).where(Survey.status == SurveyStatus.OPEN).order_by(Survey.id)
    if anonymous is not None:
        stmt = stmt.where(Survey.anonymous.is_(anonymous))
    return [s for s in db.session.scalars(stmt) if survey_problem(s) is None]
