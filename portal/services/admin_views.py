"""Console: departments and the service catalogue."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal.engagement import dashboards
from portal.extensions import db
from portal.permissions import can_access_console, can_manage_services, permission_required
from portal.services import admin_bp, management
from portal.services.forms import DepartmentForm, ServiceForm
from portal.services.models import Department, Service

SERVICE_VALUE_FIELDS = tuple(f for f in management.SERVICE_FIELDS if f != "eligibility")


@admin_bp.get("/services")
@permission_required(can_access_console)
def services():
    departments = db.session.scalars(select(Department).order_by(Department.code)).all()
    services = db.session.scalars(select(Service).order_by(Service.slug)).all()
    by_department = {d.id: [s for s in services if s.department_id == d.id] for d in departments}
    figures = dashboards.service_figures(dashboards.latest_day(), [s.id for s in services])
    return render_template("services/admin/services.html", departments=departments,
                           by_department=by_department, figures=figures)


def _service_values(form: ServiceForm) -> dict:
    values = {field: form[field].data for field in SERVICE_VALUE_FIELDS}
    values["eligibility"] = form.eligibility()
    return values


@admin_bp.route("/services/new", methods=["GET", "POST"])
@permission_required(can_manage_services)
def service_new():
    form = ServiceForm()
    if form.validate_on_submit():
        service = management.save_service(actor=current_user, service=None,
                                           values=_service_values(form))
        db.session.commit()
        flash(_("The service %(name)s has been created.", name=service.name), "success")
        return redirect(url_for("services_admin.services"))
    return render_template("services/admin/service_form.html", form=form, service=None)


@admin_bp.route("/services/<slug>/edit", methods=["GET", "POST"])
@permission_required(can_manage_services)
def service_edit(slug: str):
    service = db.first_or_404(select(Service).where(Service.slug == slug))
    form = ServiceForm(obj=service, service=service)
    if request.method == "GET":
        form.fill_eligibility(service.eligibility)
    if form.validate_on_submit():
        management.save_service(actor=current_user, service=service,
                                values=_service_values(form))
        db.session.commit()
        flash(_("The service %(name)s has been saved.", name=service.name), "success")
        return redirect(url_for("services_admin.services"))
    return render_template("services/admin/service_form.html", form=form, service=service)


@admin_bp.route("/departments/new", methods=["GET", "POST"])
@permission_required(can_manage_services)
def department_new():
    form = DepartmentForm()
    if form.validate_on_submit():
        department = management.save_department(actor=current_user, department=None, values={
            f: form[f].data for f in ("code", *management.DEPARTMENT_FIELDS)})
        db.session.commit()
        flash(_("The department %(name)s has been created.", name=department.name), "success")
        return redirect(url_for("services_admin.services"))
    return render_template("services/admin/department_form.html", form=form, department=None)


@admin_bp.route("/departments/<code>/edit", methods=["GET", "POST"])
@permission_required(can_manage_services)
def department_edit(code: str):
    department = db.first_or_404(select(Department).where(Department.code == code))
    form = DepartmentForm(obj=department, department=department)
    if form.validate_on_submit():
        management.save_department(actor=current_user, department=department, values={
            f: form[f].data or None if f in ("phone", "email") else form[f].data
            for f in management.DEPARTMENT_FIELDS})
        db.session.commit()
        flash(_("The department %(name)s has been saved.", name=department.name), "success")
        return redirect(url_for("services_admin.services"))
    services = db.session.scalar(select(func.count()).select_from(Service)
                                 .where(Service.department_id == department.id))
    return render_template("services/admin/department_form.html", form=form,
                           department=department, service_count=services)
