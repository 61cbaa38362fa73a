"""The playbooks console (/admin/playbooks/): the list, a playbook in plain words,
new and edit (the steps editor works without JavaScript), status, versions, the dry
run, "evaluate now" and the effectiveness page.

Managers and admins see and change every playbook; staff read their department's
(another department's playbook is a 404 to them, as if it did not exist).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import jobs
from portal.audit.recording import record, record_many
from portal.auth.models import Role
from portal.charts import render_svg, table_rows
from portal.extensions import db
from portal.forms import EmptyForm, filter_values
from portal.permissions import can_manage_playbooks, can_view_playbooks, permission_required
from portal.playbooks import admin_bp, charts, describing, editing, effectiveness
from portal.playbooks.forms import (
    PeriodForm,
    PlaybookFilterForm,
    PlaybookForm,
    StatusForm,
    form_data,
)
from portal.playbooks.models import Playbook, PlaybookStatus, PlaybookVersion
from portal.rendering import render_and_commit
from portal.services.models import Department
from portal.timeutil import utcnow

CHART_WIDTH = 640


def _playbook(playbook_id: int) -> Playbook:
    playbook = db.get_or_404(Playbook, playbook_id)
    if not can_view_playbooks(current_user, playbook):
        abort(404)
    return playbook


def _context() -> dict:
    return describing.labels()


@admin_bp.get("/")
@permission_required(can_view_playbooks)
def index():
    staff = current_user.role == Role.STAFF
    departments = db.session.scalars(select(Department).order_by(Department.code)).all()
    if staff:
        departments = [x for x in departments if x.id == current_user.department_id]
    form = PlaybookFilterForm(request.args, departments=departments)
    wanted = filter_values(form)
    stmt = select(Playbook)
    if staff:
        stmt = stmt.where(Playbook.department_id == current_user.department_id)
    if wanted.get("status"):
        stmt = stmt.where(Playbook.status == wanted["status"])
    if wanted.get("department"):
        stmt = stmt.join(Department, Department.id == Playbook.department_id).where(
            Department.code == wanted["department"])
    playbooks = db.session.scalars(stmt.order_by(Playbook.status, Playbook.id)).unique().all()
    figures = effectiveness.list_figures([p.id for p in playbooks], utcnow())
    return render_template("playbooks/index.html", form=form, playbooks=playbooks,
                           figures=figures, evaluate_form=EmptyForm(formdata=None),
                           describe=describing.trigger_text, **_context())


@admin_bp.post("/evaluate")
@permission_required(can_manage_playbooks)
def evaluate():
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    record("playbook.evaluate", actor=current_user, summary="Started the playbook evaluation")
    db.session.commit()
    from portal.playbooks.jobs import evaluate_job  # the engine's; loaded when used

    jobs.enqueue(evaluate_job, actor_id=current_user.id)
    flash(_("The evaluation of the active playbooks has started. The figures below update "
            "when it has finished."), "success")
    return redirect(url_for("playbooks.index"))


@admin_bp.get("/<int:playbook_id>")
@permission_required(can_view_playbooks)
def view(playbook_id: int):
    playbook = _playbook(playbook_id)
    figures = effectiveness.list_figures([playbook.id], utcnow())[playbook.id]
    return render_template("playbooks/view.html", playbook=playbook, figures=figures,
                           words=describing.describe(playbook),
                           status_form=StatusForm(formdata=None), **_context())


@admin_bp.get("/<int:playbook_id>/versions")
@permission_required(can_view_playbooks)
def versions(playbook_id: int):
    playbook = _playbook(playbook_id)
    rows = db.session.scalars(select(PlaybookVersion).where(
        PlaybookVersion.playbook_id == playbook.id).order_by(PlaybookVersion.version)).all()
    changes = describing.version_changes(rows)
    return render_template("playbooks/versions.html", playbook=playbook,
                           versions=list(reversed(list(zip(rows, changes, strict=True)))),
                           **_context())


def _form_page(form: PlaybookForm, playbook: Playbook | None, status: int = 200,
               refusal: str | None = None):
    if not form.summary:
        form.collect_errors()
    return render_template("playbooks/form.html", form=form, playbook=playbook,
                           refusal=refusal, **_context()), status


def _save(form: PlaybookForm, playbook: Playbook | None):
    if form.add_step.data:
        form.add_empty_step()
        return _form_page(form, playbook)
    if not form.validate():
        return _form_page(form, playbook, 400)
    data, kept = form.definition()
    try:
        if playbook is None:
            playbook = editing.create_playbook(actor=current_user, data=data)
            message = _("The playbook has been created, paused. Try a dry run before you "
                        "activate it.")
        else:
            changed = editing.update_playbook(actor=current_user, playbook=playbook, data=data,
                                              opened_version=form.version.data)
            message = (_("The playbook has been saved as version %(version)s.",
                         version=playbook.version) if changed
                       else _("Nothing had changed: the playbook is as it was."))
    except editing.Invalid as error:
        db.session.rollback()
        form.show(error.problems, kept)
        return _form_page(form, playbook, 400)
    except editing.Refused as error:
        db.session.rollback()
        return _form_page(form, playbook, 409, refusal=str(error))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("playbooks.view", playbook_id=playbook.id))


@admin_bp.route("/new", methods=["GET", "POST"])
@permission_required(can_manage_playbooks)
def new():
    form = PlaybookForm()
    if form.is_submitted():
        return _save(form, None)
    return _form_page(form, None)


@admin_bp.route("/<int:playbook_id>/edit", methods=["GET", "POST"])
@permission_required(can_manage_playbooks)
def edit(playbook_id: int):
    playbook = _playbook(playbook_id)
    if request.method == "POST":
        return _save(PlaybookForm(), playbook)
    if playbook.status == PlaybookStatus.ARCHIVED:
        flash(_("This playbook is archived: it can no longer be changed or activated."),
              "error")
        return redirect(url_for("playbooks.view", playbook_id=playbook.id))
    return _form_page(PlaybookForm(formdata=None, data=form_data(playbook)), playbook)


@admin_bp.post("/<int:playbook_id>/status")
@permission_required(can_manage_playbooks)
def status(playbook_id: int):
    playbook = _playbook(playbook_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        editing.change_status(actor=current_user, playbook=playbook, status=form.status.data)
    except editing.Refused as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("playbooks.view", playbook_id=playbook.id))
    db.session.commit()
    flash({PlaybookStatus.ACTIVE: _("The playbook is active: the next evaluation opens its "
                                    "cases."),
           PlaybookStatus.PAUSED: _("The playbook is paused: it opens no new cases. Open "
                                    "cases go on."),
           PlaybookStatus.ARCHIVED: _("The playbook is archived.")}[playbook.status], "success")
    return redirect(url_for("playbooks.view", playbook_id=playbook.id))


@admin_bp.get("/<int:playbook_id>/dry-run")
@permission_required(can_view_playbooks)
def dry_run(playbook_id: int):
    playbook = _playbook(playbook_id)
    from portal.playbooks import evaluation  # the engine's; loaded when used

    result = evaluation.dry_run(playbook, current_user)
    record("playbook.dry_run", actor=current_user, target=playbook,
           summary=f"Dry run of playbook {playbook.name_en}",
           data={"opens": result.opens, "held_out": result.held_out})
    record_many("playbook.dry_run_view", actor=current_user, target_type="residents",
                target_ids=[resident.id for resident in result.sample],
                summary="Saw the resident in a playbook's dry run",
                data={"playbook_id": playbook.id})
    return render_and_commit("playbooks/dry_run.html", playbook=playbook, result=result,
                             status_form=StatusForm(formdata=None), **_context())


@admin_bp.get("/<int:playbook_id>/effectiveness", endpoint="effectiveness")
@permission_required(can_view_playbooks)
def effectiveness_page(playbook_id: int):
    playbook = _playbook(playbook_id)
    form = PeriodForm(request.args)
    form.period.choices = effectiveness.period_choices()
    chosen = effectiveness.period(form.period.data)
    form.period.data = chosen.value
    found = effectiveness.report(playbook.id, chosen)
    specs = {"months": charts.cases_per_month(found), "uplift": charts.uplift_chart(found.uplift)}
    drawn = {name: {"svg": render_svg(spec, width=CHART_WIDTH, height=260,
                                      id_prefix=f"chart-{name}"),
                    "rows": table_rows(spec), "spec": spec} for name, spec in specs.items()}
    return render_template("playbooks/effectiveness.html", playbook=playbook, form=form,
                           report=found, charts=drawn, **_context())

