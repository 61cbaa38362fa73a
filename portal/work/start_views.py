"""The manual start of a case (POST /admin/work/start), from the resident's 360°
page: staff choose one of their department's active or paused playbooks — any
trigger — and the case opens at once, without holdout, with its due steps run."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.extensions import db
from portal.permissions import can_view_residents, can_work_cases, permission_required
from portal.playbooks.evaluation import CaseError, start_case
from portal.playbooks.models import Playbook, PlaybookStatus
from portal.residents.models import Resident
from portal.services.models import Service
from portal.services.scope import scope_services
from portal.work import bp
from portal.work.start_forms import StartCaseForm


def _playbooks(user) -> list[Playbook]:
    """Active and paused playbooks ``user`` may work, by name (one query)."""
    from portal.auth.models import Role

    stmt = select(Playbook).where(Playbook.status.in_(
        [PlaybookStatus.ACTIVE.value, PlaybookStatus.PAUSED.value]))
    if user.role == Role.STAFF:
        stmt = stmt.where(Playbook.department_id == user.department_id)
    return [p for p in db.session.scalars(stmt.order_by(Playbook.name_en, Playbook.id))
            if can_work_cases(user, p)]


def _services(user) -> list[Service]:
    return db.session.scalars(scope_services(
        select(Service).where(Service.active.is_(True)).order_by(Service.slug), user)).all()


def _form(user, formdata=None) -> StartCaseForm:
    playbooks = _playbooks(user)
    services = _services(user) if any(p.service_id is None for p in playbooks) else []
    return StartCaseForm(formdata=formdata, playbooks=playbooks, services=services)


@bp.app_template_global()
def start_case_form(resident: Resident) -> StartCaseForm | None:
    """The form for the 360° page, or None when the viewer may start no case."""
    if not (can_view_residents(current_user) and can_work_cases(current_user)):
        return None
    form = _form(current_user)
    if len(form.playbook_id.choices) <= 1:
        return None
    form.resident_id.data = resident.id
    return form


@bp.post("/start", endpoint="start_case")
@permission_required(can_work_cases)
def start_case_view():
    try:
        resident_id = int(request.form.get("resident_id", ""))
    except ValueError:
        abort(404)
    resident = db.get_or_404(Resident, resident_id)
    if resident.anonymised_at is not None or not can_view_residents(current_user):
        abort(404)
    back = redirect(url_for("residents_admin.resident", resident_id=resident.id))
    form = _form(current_user, formdata=request.form)
    if not form.validate_on_submit():
        messages = [m for field in (form.playbook_id, form.service_id, form.note)
                    for m in field.errors]
        flash(_("The case was not started: %(reason)s", reason=" ".join(
            str(m) for m in messages) or _("please try again.")), "error")
        return back
    playbook = db.session.get(Playbook, form.playbook_id.data)
    if playbook is None or not can_work_cases(current_user, playbook):
        abort(404)
    service = None
    if playbook.service_id is None and form.service_id.data:
        service = db.session.get(Service, form.service_id.data)
        if service is None:
            abort(404)
    try:
        case = start_case(playbook, resident, service, current_user, note=form.note.data or "")
    except CaseError as error:
        db.session.rollback()
        flash(_("The case was not started: %(reason)s", reason=error.message), "error")
        return back
    db.session.commit()
    if any(step.get("kind") in ("message", "survey") for step in playbook.steps or []):
        from portal.mail.outbox import dispatch

        dispatch()
    flash(_("Case started: %(playbook)s (case %(number)s).", playbook=playbook.name,
            number=case.id), "success")
    return back
