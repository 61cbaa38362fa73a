"""Console: a survey's audience, invitations and reminder.

The page shows the invitations so far and the segment form; "Count" shows who the
segment holds and who is left out, before anything is sent; "Send N invitations"
and "Send reminders now" only enqueue a job (run inline in the embedded default).
"""

from __future__ import annotations

import json

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal.extensions import db
from portal.i18n_fields import localized_pair
from portal.jobs import enqueue
from portal.permissions import can_invite_to_surveys, permission_required
from portal.surveys import admin_bp, invitations, jobs
from portal.surveys.invitation_forms import RemindForm, SegmentForm, SendForm
from portal.surveys.models import Survey


def _load(survey_id: int) -> Survey:
    survey = db.get_or_404(Survey, survey_id)
    if not can_invite_to_surveys(current_user, survey):
        abort(403)
    return survey


def _page(survey: Survey, form: SegmentForm, *, count=None, send_form=None,
          csv_problems=None, status: int = 200):
    title, title_lang = localized_pair(survey, "title")
    return render_template(
        "surveys/invitations.html", survey=survey, title=title, title_lang=title_lang,
        form=form, count=count,
        send_form=send_form, csv_problems=csv_problems or [],
        remind_form=RemindForm(formdata=None),
        counts=invitations.invitation_counts(survey),
        count_labels=invitations.COUNT_LABELS,
        closed_reason=invitations.closed_reason(survey),
        limited=invitations.limited_to_department(current_user)), status


def _segment_form() -> SegmentForm:
    return SegmentForm(services=invitations.department_services(current_user))


@admin_bp.get("/<int:survey_id>/invitations", endpoint="invitations")
@permission_required(can_invite_to_surveys)
def invitations_page(survey_id: int):
    survey = _load(survey_id)
    return _page(survey, _segment_form())


@admin_bp.post("/<int:survey_id>/invitations/count")
@permission_required(can_invite_to_surveys)
def count_invitations(survey_id: int):
    survey = _load(survey_id)
    form = _segment_form()
    if not form.validate_on_submit():
        return _page(survey, form, status=400)
    external_ids = None
    if form.file.data and getattr(form.file.data, "filename", ""):
        try:
            external_ids = invitations.read_external_ids(form.file.data.read())
        except invitations.CsvRejected as rejected:
            form.file.errors = [_("The file has problems; nothing was counted.")]
            return _page(survey, form, csv_problems=rejected.problems, status=400)
    criteria = form.criteria(external_ids)
    try:
        count = invitations.count_audience(survey, criteria, actor=current_user)
    except invitations.InvitationError as error:
        flash(str(error), "error")
        return _page(survey, form, status=400)
    send_form = SendForm(formdata=None, criteria=json.dumps(criteria.as_dict()),
                         expected=str(count.to_invite))
    return _page(survey, form, count=count, send_form=send_form)


@admin_bp.post("/<int:survey_id>/invitations/send")
@permission_required(can_invite_to_surveys)
def send_invitations(survey_id: int):
    survey = _load(survey_id)
    form = SendForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        criteria = invitations.Criteria.from_dict(json.loads(form.criteria.data or "null"))
    except (ValueError, TypeError):  # InvitationError is a ValueError, as is bad JSON
        abort(400)
    reason = invitations.closed_reason(survey)
    if reason:
        flash(reason, "error")
        return redirect(url_for("surveys_admin.invitations", survey_id=survey.id))
    result = enqueue(jobs.create_invitations, survey.id, criteria.as_dict(), current_user.id)
    if isinstance(result, int):
        flash(ngettext("%(num)s invitation was queued for sending.",
                       "%(num)s invitations were queued for sending.", result), "success")
    elif result is None and current_app.config["JOBS_INLINE"]:
        flash(_("The invitations could not be created. Please try again."), "error")
    else:
        flash(_("The invitations are being created; the figures below fill in shortly."),
              "info")
    return redirect(url_for("surveys_admin.invitations", survey_id=survey.id))


@admin_bp.post("/<int:survey_id>/invitations/remind")
@permission_required(can_invite_to_surveys)
def remind_now(survey_id: int):
    survey = _load(survey_id)
    if not RemindForm().validate_on_submit():
        abort(400)
    if not survey.reminder_after_days:
        flash(_("This survey has no reminder set."), "error")
        return redirect(url_for("surveys_admin.invitations", survey_id=survey.id))
    result = enqueue(jobs.remind, survey.id, current_user.id)
    if isinstance(result, int):
        flash(ngettext("%(num)s reminder was queued for sending.",
                       "%(num)s reminders were queued for sending.", result), "success")
    elif result is None and current_app.config["JOBS_INLINE"]:
        flash(_("The reminders could not be sent. Please try again."), "error")
    else:
        flash(_("The reminders are being sent."), "info")
    return redirect(url_for("surveys_admin.invitations", survey_id=survey.id))

