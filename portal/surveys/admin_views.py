"""Console: building surveys (list, edit, questions, status, JSON export/import)."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.audit.recording import record
from portal.auth.models import Role
from portal.extensions import db
from portal.forms import EmptyForm, filter_values
from portal.permissions import can_build_surveys, can_view_survey_results, permission_required
from portal.services.models import Service
from portal.surveys import admin_bp, building, definition
from portal.surveys.forms import (
    CloseSurveyForm,
    ImportForm,
    QuestionForm,
    SurveyFilterForm,
    SurveyForm,
)
from portal.surveys.models import Question, Survey, SurveyStatus


def _labels() -> dict:
    return {"STATUS_LABELS": building.STATUS_LABELS, "STATUS_BADGES": building.STATUS_BADGES,
            "TYPE_LABELS": building.TYPE_LABELS}


def _scoped(stmt, user):
    """Staff see their department's surveys; managers, admins and officials all."""
    if user.role == Role.STAFF:
        return stmt.where(Survey.department_id == user.department_id)
    return stmt


@admin_bp.get("/")
@permission_required(can_view_survey_results)
def index():
    services_stmt = select(Service).order_by(Service.slug)
    if current_user.role == Role.STAFF:
        services_stmt = services_stmt.where(Service.department_id == current_user.department_id)
    services = db.session.scalars(services_stmt).all()
    form = SurveyFilterForm(request.args, services=services)
    wanted = filter_values(form)
    stmt = _scoped(select(Survey), current_user)
    if wanted.get("status"):
        stmt = stmt.where(Survey.status == wanted["status"])
    if wanted.get("service"):
        stmt = stmt.join(Service, Service.id == Survey.service_id).where(
            Service.slug == wanted["service"])
    page = db.paginate(stmt.order_by(Survey.created_at.desc(), Survey.id.desc()),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    ids = [s.id for s in page.items]
    return render_template("surveys/admin/index.html", form=form, page=page,
                           responses=building.response_counts(ids),
                           questions=building.question_counts(ids), **_labels())


def _survey_or_403(survey_id: int, check=can_build_surveys) -> Survey:
    survey = db.get_or_404(Survey, survey_id)
    if not check(current_user, survey):
        abort(403)
    return survey


def _refused(error: building.BuildRefused) -> None:
    for message in error.messages:
        flash(message, "error")


@admin_bp.route("/new", methods=["GET", "POST"])
@permission_required(can_build_surveys)
def new():
    form = SurveyForm(user=current_user)
    if request.method == "GET" and current_user.role == Role.STAFF:
        form.department_id.data = current_user.department_id
    if form.validate_on_submit():
        values = form.values()
        if not can_build_surveys(current_user, values.get("department_id")):
            abort(403)
        try:
            survey = building.create_survey(actor=current_user, values=values)
        except building.BuildRefused as error:
            db.session.rollback()
            return render_template("surveys/admin/survey_form.html", form=form, survey=None,
                                   refusals=error.messages), 400
        db.session.commit()
        flash(_("The survey has been created. Now add its questions."), "success")
        return redirect(url_for("surveys_admin.detail", survey_id=survey.id))
    return render_template("surveys/admin/survey_form.html", form=form, survey=None,
                           refusals=[])


@admin_bp.route("/<int:survey_id>/edit", methods=["GET", "POST"])
@permission_required(can_build_surveys)
def edit(survey_id: int):
    survey = _survey_or_403(survey_id)
    locked = building.has_responses(survey)
    form = SurveyForm(obj=survey, user=current_user, survey=survey, locked=locked)
    if form.validate_on_submit():
        values = form.values()
        if not can_build_surveys(current_user, values.get("department_id")):
            abort(403)
        try:
            building.update_survey(actor=current_user, survey=survey, values=values)
        except building.BuildRefused as error:
            db.session.rollback()
            return render_template("surveys/admin/survey_form.html", form=form, survey=survey,
                                   refusals=error.messages), 400
        db.session.commit()
        flash(_("The survey has been saved."), "success")
        return redirect(url_for("surveys_admin.detail", survey_id=survey.id))
    return render_template("surveys/admin/survey_form.html", form=form, survey=survey,
                           refusals=[])


@admin_bp.get("/<int:survey_id>")
@permission_required(can_view_survey_results)
def detail(survey_id: int):
    survey = _survey_or_403(survey_id, can_view_survey_results)
    responses = building.response_counts([survey.id]).get(survey.id, 0)
    counts = building.answer_counts(survey) if responses else {}
    questions = list(survey.questions)
    return render_template(
        "surveys/admin/detail.html", survey=survey, questions=questions, responses=responses,
        answers=counts, lock_reason=lambda q: building.lock_reason(survey, q, counts, responses),
        describe=lambda q: building.describe_condition(q.show_if, questions),
        opening_problems=building.opening_problems(survey)
        if survey.status == SurveyStatus.DRAFT else [], option_label=building.option_label,
        close_form=CloseSurveyForm(formdata=None), **_labels())


def _question_form_page(survey: Survey, form: QuestionForm, question: Question | None,
                        problems: list[str], status: int = 200):
    responses = building.response_counts([survey.id]).get(survey.id, 0)
    counts = building.answer_counts(survey) if responses else {}
    reason = building.lock_reason(survey, question, counts, responses)
    return render_template("surveys/admin/question_form.html", survey=survey, form=form,
                           question=question, problems=problems, lock_reason=reason,
                           locked=bool(responses) and question is not None,
                           **_labels()), status


@admin_bp.route("/<int:survey_id>/questions/new", methods=["GET", "POST"])
@permission_required(can_build_surveys)
def question_new(survey_id: int):
    survey = _survey_or_403(survey_id)
    form = QuestionForm(earlier=list(survey.questions))
    if request.method == "GET":
        form.key.data = building.suggest_key(survey)
        form.section.data = max((q.section for q in survey.questions), default=1)
    if form.validate_on_submit():
        try:
            building.add_question(actor=current_user, survey=survey, values=form.values())
        except building.BuildRefused as error:
            db.session.rollback()
            return _question_form_page(survey, form, None, error.messages, 400)
        db.session.commit()
        flash(_("The question has been added."), "success")
        return redirect(url_for("surveys_admin.detail", survey_id=survey.id))
    return _question_form_page(survey, form, None, [])


def _question_or_404(survey: Survey, question_id: int) -> Question:
    question = db.get_or_404(Question, question_id)
    if question.survey_id != survey.id:
        abort(404)
    return question


@admin_bp.route("/<int:survey_id>/questions/<int:question_id>/edit", methods=["GET", "POST"])
@permission_required(can_build_surveys)
def question_edit(survey_id: int, question_id: int):
    survey = _survey_or_403(survey_id)
    question = _question_or_404(survey, question_id)
    earlier = [q for q in survey.questions if q.position < question.position]
    form = QuestionForm(obj=question, earlier=earlier)
    if request.method == "GET":
        form.fill(question)
    if form.validate_on_submit():
        try:
            building.edit_question(actor=current_user, question=question, values=form.values())
        except building.BuildRefused as error:
            db.session.rollback()
            return _question_form_page(survey, form, question, error.messages, 400)
        db.session.commit()
        flash(_("The question has been saved."), "success")
        return redirect(url_for("surveys_admin.detail", survey_id=survey.id))
    return _question_form_page(survey, form, question, [])


def _act(survey_id: int, question_id: int | None, action, success: str, form_class=EmptyForm):
    """A POST button: check the token, act, commit or say why not, back to the page."""
    survey = _survey_or_403(survey_id)
    question = _question_or_404(survey, question_id) if question_id is not None else None
    form = form_class()
    if not form.validate_on_submit():
        if form.errors.get("csrf_token") or form_class is EmptyForm:
            abort(400)
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(url_for("surveys_admin.detail", survey_id=survey_id))
    try:
        action(survey, question)
    except building.BuildRefused as error:
        db.session.rollback()
        _refused(error)
    else:
        db.session.commit()
        flash(success, "success")
    return redirect(url_for("surveys_admin.detail", survey_id=survey_id))


@admin_bp.post("/<int:survey_id>/questions/<int:question_id>/move")
@permission_required(can_build_surveys)
def question_move(survey_id: int, question_id: int):
    _question_or_404(_survey_or_403(survey_id), question_id)
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400)
    return _act(survey_id, question_id, lambda s, q: building.move_question(
        actor=current_user, question=q, direction=direction), _("The question has been moved."))


@admin_bp.post("/<int:survey_id>/questions/<int:question_id>/close")
@permission_required(can_build_surveys)
def question_close(survey_id: int, question_id: int):
    return _act(survey_id, question_id, lambda s, q: building.close_question(
        actor=current_user, question=q), _("The question is closed: it is no longer asked."))


@admin_bp.post("/<int:survey_id>/questions/<int:question_id>/delete")
@permission_required(can_build_surveys)
def question_delete(survey_id: int, question_id: int):
    return _act(survey_id, question_id, lambda s, q: building.delete_question(
        actor=current_user, question=q), _("The question has been deleted."))


@admin_bp.post("/<int:survey_id>/open")
@permission_required(can_build_surveys)
def open_survey(survey_id: int):
    return _act(survey_id, None, lambda s, q: building.open_survey(actor=current_user, survey=s),
                _("The survey is open."))


@admin_bp.post("/<int:survey_id>/close")
@permission_required(can_build_surveys)
def close_survey(survey_id: int):
    return _act(survey_id, None, lambda s, q: building.close_survey(actor=current_user,
                                                                    survey=s),
                _("The survey is closed."), CloseSurveyForm)


@admin_bp.get("/<int:survey_id>/definition.json")
@permission_required(can_build_surveys)
def export_definition(survey_id: int):
    survey = _survey_or_403(survey_id)
    body = definition.to_json(survey)
    record("survey.export", actor=current_user, target=survey,
           summary=f"Exported the definition of survey {survey.id}")
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="survey-{survey.id}.json"'})


@admin_bp.route("/import", methods=["GET", "POST"])
@permission_required(can_build_surveys)
def import_definition():
    form = ImportForm(user=current_user)
    errors: list[tuple[str, str]] = []
    if form.validate_on_submit():
        content = form.content()
        if len(content) > definition.MAX_BYTES:
            errors = [("", _("The definition is larger than %(size)s KB.",
                             size=definition.MAX_BYTES // 1024))]
        else:
            try:
                survey = definition.import_text(content, actor=current_user,
                                                department_id=form.department_id.data)
            except definition.DefinitionError as error:
                db.session.rollback()
                errors = error.errors
            else:
                db.session.commit()
                flash(_("The definition has been imported as a new draft."), "success")
                return redirect(url_for("surveys_admin.detail", survey_id=survey.id))
    status = 400 if errors else 200
    return render_template("surveys/admin/import.html", form=form, errors=errors,
                           max_kb=definition.MAX_BYTES // 1024), status
