"""The resident's side: surveys waiting on My page, the answering form (signed in
or by an invitation link), the thank-you page; and staff entry of paper/phone
responses and the preview, which render the same form."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.audit.recording import record
from portal.database import writes
from portal.extensions import db
from portal.i18n_fields import current_locale
from portal.permissions import (
    can_build_surveys,
    can_enter_survey_responses,
    can_use_resident_portal,
    can_view_residents,
    can_view_survey_results,
    permission_required,
)
from portal.rendering import render_and_commit
from portal.residents import records
from portal.residents.models import Resident
from portal.surveys import admin_bp, answering, bp, logic
from portal.surveys.answer_forms import AnswerForm, EntryForm
from portal.surveys.labels import SCALE_ENDS, channel_label
from portal.surveys.models import QuestionType, ResponseChannel, Survey

# -- template helpers (also for My page and the resident's 360° page) ---------------------


@bp.app_template_global()
def survey_scale(question) -> dict | None:
    """The points of a scale question and the words at its ends."""
    ends = logic.scale(question)
    if ends is None or question.type == QuestionType.YES_NO:
        return None
    words = SCALE_ENDS.get(QuestionType(question.type), SCALE_ENDS[QuestionType.RATING])
    return {"points": list(range(ends[0], ends[1] + 1)), "low": words[0], "high": words[1]}


@bp.app_template_global()
def survey_option_label(option: dict) -> tuple[str, str]:
    """An option's label in the page language, with the language it is in."""
    locale = current_locale()
    order = dict.fromkeys([locale, current_app.config["DEFAULT_LOCALE"],
                           *current_app.config["LOCALES"]])
    for loc in order:
        if option.get(f"label_{loc}"):
            return option[f"label_{loc}"], loc
    return str(option.get("value", "")), locale


@bp.app_template_global()
def survey_text_limit(question) -> int | None:
    return answering.TEXT_LIMITS.get(question.type)


@bp.app_template_global()
def surveys_waiting(resident) -> list:
    """My page: the open surveys the resident is invited to and has not answered."""
    return answering.invitations_of(resident)[0] if resident is not None else []


@bp.app_template_global()
def survey_panel(resident) -> dict:
    """The resident's 360° page: responses to the identified surveys whose results
    the staff member may see, and the open identified surveys they may enter a
    response for."""
    return {"responses": [r for r in answering.identified_responses(resident)
                          if can_view_survey_results(current_user, r.survey)],
            "enterable": [s for s in answering.open_surveys(anonymous=False)
                          if can_enter_survey_responses(current_user, s)]}


@bp.app_template_filter("survey_channel")
def survey_channel(code: str) -> str:
    return channel_label(code)


# -- pages that explain why a survey cannot be answered -----------------------------------

def _unavailable(problem: str, survey: Survey | None = None, invitation=None):
    return render_template("surveys/unavailable.html", problem=problem, survey=survey,
                           invitation=invitation), answering.STATUS[problem]


def _refused(message: str):
    """A tampered POST: a 400 page with what was wrong; nothing was stored."""
    db.session.rollback()
    return render_template("surveys/refused.html", message=message), 400


# -- the resident form ----------------------------------------------------------------------

def _form_page(survey: Survey, *, post_url: str, channel: str, invitation=None, user=None,
               resident=None, preview: bool = False):
    """The resident form (and the preview): one section per page, show-if on the server."""
    form = AnswerForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _refused(_("The form is incomplete. Please go back, reload the page and "
                              "try again."))
        if form.survey.data != str(survey.id):
            return _refused(_("This form belongs to another survey."))
        try:
            outcome = answering.step(survey, request.form,
                                     request.form.get("action", answering.NEXT))
        except answering.Tampered as error:
            return _refused(error.message)
        if outcome.save is not None:
            if preview:
                flash(_("This is a preview: nothing was saved."), "info")
                page = answering.page(survey, outcome.save[1], answering.typed(survey,
                                                                               request.form))
            else:
                answers, section = outcome.save
                answering.save_draft(survey, answers, section, invitation=invitation,
                                     user=user)
                db.session.commit()
                flash(_("Your answers have been saved. Open the same link again to continue "
                        "where you left off."), "success")
                return redirect(post_url)
        elif outcome.submit is not None:
            if preview:
                return render_template("surveys/thanks.html", survey=survey, preview=True)
            try:
                answering.submit(survey, outcome.submit, channel=channel, resident=resident,
                                 invitation=invitation, user=user,
                                 submission_key=form.submission_key.data,
                                 locale=current_locale())
            except answering.AlreadyAnswered:
                db.session.rollback()
                return _unavailable(answering.ANSWERED, survey)
            db.session.commit()
            return redirect(url_for("surveys.thanks", survey_id=survey.id))
        else:
            page = outcome.page
    else:
        draft = None if preview else answering.load_draft(survey, invitation=invitation,
                                                          user=user)
        values = answering.as_values(survey, draft.answers) if draft else {}
        page = answering.page(survey, draft.section if draft else None, values)
        form.submission_key.data = answering.new_submission_key()
        form.survey.data = str(survey.id)
        if invitation is not None and not preview:
            answering.mark_started(invitation)
    form.section.data = str(page.section)
    return render_and_commit("surveys/answer.html", survey=survey, page=page, form=form,
                             post_url=post_url, preview=preview,
                             can_save=True)


def _answered_before(survey: Survey):
    """A second submit (double click, back button) of a form whose response is
    stored: the thank-you page, as for the first."""
    key = request.form.get("submission_key", "") if request.method == "POST" else ""
    if key and answering.by_submission_key(survey, key[:64]) is not None:
        return redirect(url_for("surveys.thanks", survey_id=survey.id))
    return None


@bp.route("/i/<token>", methods=["GET", "POST"])
@writes
def by_invitation(token: str):
    invitation = answering.by_token(token)
    problem = answering.invitation_problem(invitation)
    if problem == answering.ANSWERED:
        return _answered_before(invitation.survey) or _unavailable(problem, invitation.survey)
    if problem:
        return _unavailable(problem, invitation.survey if invitation else None, invitation)
    return _form_page(invitation.survey, invitation=invitation, resident=invitation.resident,
                      channel=ResponseChannel.EMAIL,
                      post_url=url_for("surveys.by_invitation", token=token))


@bp.route("/<int:survey_id>", methods=["GET", "POST"])
@permission_required(can_use_resident_portal)
@writes
def answer(survey_id: int):
    survey = db.get_or_404(Survey, survey_id)
    resident = records.resident_for_user(current_user)
    invitation = answering.invitation_for(survey, resident) if resident else None
    if invitation is None:
        abort(404)
    problem = answering.invitation_problem(invitation, by_link=False)
    if problem == answering.ANSWERED:
        return _answered_before(survey) or _unavailable(problem, survey)
    if problem:
        return _unavailable(problem, survey, invitation)
    return _form_page(survey, invitation=invitation, resident=resident,
                      user=current_user._get_current_object(), channel=ResponseChannel.WEB,
                      post_url=url_for("surveys.answer", survey_id=survey.id))


@bp.get("/<int:survey_id>/thanks")
def thanks(survey_id: int):
    survey = db.get_or_404(Survey, survey_id)
    if answering.survey_problem(survey) == answering.NOT_OPEN:
        abort(404)
    return render_template("surveys/thanks.html", survey=survey, preview=False)


@bp.get("/")
@permission_required(can_use_resident_portal)
def index():
    resident = records.resident_for_user(current_user)
    waiting, answered = answering.invitations_of(resident) if resident else ([], [])
    return render_template("surveys/index.html", waiting=waiting, answered=answered)


# -- the console: preview and staff entry ---------------------------------------------------

@admin_bp.route("/<int:survey_id>/preview", methods=["GET", "POST"])
@permission_required(can_build_surveys)
def preview(survey_id: int):
    survey = db.get_or_404(Survey, survey_id)
    if not can_build_surveys(current_user, survey):
        abort(403)
    lang = request.args.get("lang", "")
    if lang not in current_app.config["LOCALES"]:
        lang = current_locale()
    with force_locale(lang):
        return _form_page(survey, preview=True, channel=ResponseChannel.WEB,
                          post_url=url_for("surveys_admin.preview", survey_id=survey.id,
                                           lang=lang))


def _entry_resident(survey: Survey) -> Resident | None:
    """The resident of a staff entry (identified surveys only), viewable by the
    staff member as on the 360° page."""
    if survey.anonymous:
        return None
    raw = request.args.get("resident", "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12 or not can_view_residents(current_user):
        abort(404)
    resident = db.get_or_404(Resident, int(raw))
    if resident.anonymised_at is not None:
        abort(404)
    return resident


@admin_bp.route("/<int:survey_id>/responses/new", methods=["GET", "POST"])
@permission_required(can_enter_survey_responses)
def enter_response(survey_id: int):
    wanted = request.args.get("survey", "")
    if request.method == "GET" and wanted.isdigit() and len(wanted) < 12 \
            and int(wanted) != survey_id:
        # the resident page's survey select (works without JavaScript)
        return redirect(url_for("surveys_admin.enter_response", survey_id=int(wanted),
                                resident=request.args.get("resident") or None))
    survey = db.get_or_404(Survey, survey_id)
    if not can_enter_survey_responses(current_user, survey):
        abort(403)
    problem = answering.survey_problem(survey)
    if problem:
        return _unavailable(problem, survey)
    resident = _entry_resident(survey)
    invitation = answering.invitation_for(survey, resident) if resident else None
    form = EntryForm()
    values, errors, status = {}, {}, 200
    if request.method == "POST":
        if not form.validate_on_submit() or form.survey.data != str(survey.id):
            return _refused(_("The form is incomplete or belongs to another survey. Please "
                              "reload the page and try again."))
        if not survey.anonymous and resident is None:
            return _refused(_("An identified survey's response needs the resident: open the "
                              "form from the resident's page."))
        try:
            answers, errors = answering.check_all(survey, request.form)
        except answering.Tampered as error:
            return _refused(error.message)
        if not errors:
            try:
                answering.submit(survey, answers, channel=form.channel.data,
                                 resident=resident, invitation=invitation,
                                 entered_by=current_user._get_current_object(),
                                 submission_key=form.submission_key.data,
                                 locale=resident.preferred_locale if resident else None)
            except answering.AlreadyAnswered:
                db.session.rollback()
                flash(_("This resident has already answered this survey."), "error")
            else:
                db.session.commit()
                flash(_("The response was stored."), "success")
                if resident is not None:
                    return redirect(url_for("residents_admin.resident",
                                            resident_id=resident.id))
                return redirect(url_for("surveys_admin.enter_response", survey_id=survey.id))
        values, status = answering.typed(survey, request.form), 400
    else:
        form.submission_key.data = answering.new_submission_key()
        form.survey.data = str(survey.id)
    if resident is not None:
        record("resident.view", actor=current_user, target=resident,
               summary="Opened a survey response entry form for the resident",
               data={"survey_id": survey.id})
    questions = answering.asked(survey)
    return render_and_commit(
        "surveys/enter.html", survey=survey, form=form, resident=resident,
        questions=questions, values=values, errors=errors,
        visible_ids={q.id for q in questions},
        answered=invitation is not None and invitation.completed_at is not None), status
