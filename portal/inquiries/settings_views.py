"""The console's inquiry settings (service levels, closure days, reply templates)
and the KPI page, under /admin/inquiries/."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

import jpholiday
from babel.dates import format_date, format_skeleton
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.routing import BuildError

from portal.audit.recording import record
from portal.charts import LineChart, Series, render_svg, table_rows
from portal.extensions import db, page_locale
from portal.forms import options
from portal.i18n import _number
from portal.i18n_fields import localized
from portal.inquiries import admin_bp, kpis, replies, sla
from portal.inquiries.labels import CATEGORY_LABELS, CHANNEL_LABELS
from portal.inquiries.models import ClosureDay, InquiryCategory, ReplyTemplate, SlaPolicy
from portal.inquiries.settings_forms import (
    ClosureForm,
    OverrideForm,
    TargetsForm,
    TemplateForm,
)
from portal.permissions import (
    can_manage_inquiry_settings,
    can_view_inquiry_kpis,
    permission_required,
)
from portal.services.models import Department, Service
from portal.timeutil import local_today, utcnow

UPCOMING = 10
CHART_WIDTH = 640


# -- service levels and closure days ---------------------------------------------------------

def _category_policies() -> dict[str, SlaPolicy]:
    return {p.category: p for p in db.session.scalars(
        select(SlaPolicy).where(SlaPolicy.service_id.is_(None)))}


def _targets_form(formdata=None) -> TargetsForm:
    form = TargetsForm(formdata)
    if formdata is None:
        policies = _category_policies()
        for category in InquiryCategory:
            policy = policies.get(category.value)
            first, resolution = ((policy.first_response_days, policy.resolution_days)
                                 if policy else sla.DEFAULT_TARGETS[category])
            form.pair(category)[0].data, form.pair(category)[1].data = first, resolution
    return form


def _services() -> list[Service]:
    return list(db.session.scalars(select(Service).order_by(Service.department_id,
                                                             Service.name_ja)))


def _override_form(formdata=None) -> OverrideForm:
    form = OverrideForm(formdata)
    form.service_id.choices = options([(0, _("Choose a service"))] + [
        (s.id, localized(s, "name")) for s in _services()])
    return form


def non_business_days(start: date, count: int = UPCOMING) -> list[dict]:
    """The next ``count`` days from ``start`` on which the offices are closed, each
    with why (weekend, public holiday by its Japanese name, closure day)."""
    calendar = sla.load_calendar()
    closures = {}
    for row in db.session.scalars(select(ClosureDay)):
        closures[(row.year, row.month, row.day)] = row
    out, day = [], start
    while len(out) < count and day < start + timedelta(days=400):
        if not calendar.is_business_day(day):
            holiday = jpholiday.is_holiday_name(day)
            closure = closures.get((day.year, day.month, day.day)) or closures.get(
                (None, day.month, day.day))
            out.append({"day": day, "weekend": day.weekday() >= 5, "holiday": holiday,
                        "closure": closure,
                        "weekday": format_date(day, "EEE", locale=page_locale())})
        day += timedelta(days=1)
    return out


def _settings_page(targets=None, override=None, closure=None, status=200):
    policies = _category_policies()
    overrides = db.session.scalars(
        select(SlaPolicy).join(Service, Service.id == SlaPolicy.service_id)
        .order_by(Service.name_ja, SlaPolicy.category)).all()
    closures = db.session.scalars(select(ClosureDay).order_by(
        ClosureDay.year.is_not(None), ClosureDay.year, ClosureDay.month, ClosureDay.day)).all()
    return render_template(
        "inquiries/settings/settings.html",
        targets=targets or _targets_form(), override=override or _override_form(),
        closure=closure or ClosureForm(), policies=policies, overrides=overrides,
        closures=closures, upcoming=non_business_days(local_today()),
        categories=list(InquiryCategory), CATEGORY_LABELS=CATEGORY_LABELS), status


@admin_bp.get("/settings")
@permission_required(can_manage_inquiry_settings)
def settings():
    return _settings_page()


@admin_bp.post("/settings/targets")
@permission_required(can_manage_inquiry_settings)
def settings_targets():
    form = _targets_form(request.form)
    if not form.validate():
        return _settings_page(targets=form)
    policies = _category_policies()
    changed = {}
    for category in InquiryCategory:
        first, resolution = (f.data for f in form.pair(category))
        policy = policies.get(category.value)
        if policy is None:
            policy = SlaPolicy(category=category.value, service_id=None)
            db.session.add(policy)
        elif (policy.first_response_days, policy.resolution_days) == (first, resolution):
            continue
        policy.first_response_days, policy.resolution_days = first, resolution
        changed[category.value] = [first, resolution]
    if changed:
        db.session.flush()
        record("inquiry.sla_targets", actor=current_user, summary="Changed inquiry service levels",
               data={"targets": changed})
        db.session.commit()
        flash(_("Service levels saved. They apply to inquiries received from now on."),
              "success")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("inquiries_admin.settings"))


@admin_bp.post("/settings/overrides")
@permission_required(can_manage_inquiry_settings)
def settings_override():
    form = _override_form(request.form)
    if not form.validate():
        return _settings_page(override=form)
    service = db.session.get(Service, form.service_id.data)
    if service is None:
        form.service_id.errors.append(_("Choose a service."))
        return _settings_page(override=form)
    policy = db.session.scalar(select(SlaPolicy).where(
        SlaPolicy.service_id == service.id, SlaPolicy.category == form.category.data))
    if policy is None:
        policy = SlaPolicy(service_id=service.id, category=form.category.data)
        db.session.add(policy)
    policy.first_response_days = form.first_response_days.data
    policy.resolution_days = form.resolution_days.data
    db.session.flush()
    record("inquiry.sla_override", actor=current_user, target=policy,
           summary="Set a service-level override",
           data={"service_id": service.id, "category": policy.category,
                 "first_response_days": policy.first_response_days,
                 "resolution_days": policy.resolution_days})
    db.session.commit()
    flash(_("Override for %(service)s saved. It applies to inquiries received from now on.",
            service=localized(service, "name")), "success")
    return redirect(url_for("inquiries_admin.settings", _anchor="overrides-title"))


@admin_bp.post("/settings/overrides/<int:policy_id>/delete")
@permission_required(can_manage_inquiry_settings)
def settings_override_delete(policy_id: int):
    policy = db.session.get(SlaPolicy, policy_id)
    if policy is None or policy.service_id is None:
        abort(404)
    record("inquiry.sla_override_removed", actor=current_user, target=policy,
           summary="Removed a service-level override",
           data={"service_id": policy.service_id, "category": policy.category})
    db.session.delete(policy)
    db.session.commit()
    flash(_("Override removed."), "success")
    return redirect(url_for("inquiries_admin.settings", _anchor="overrides-title"))


@admin_bp.post("/settings/closures")
@permission_required(can_manage_inquiry_settings)
def settings_closure():
    form = ClosureForm(request.form)
    if not form.validate():
        return _settings_page(closure=form)
    year, month, day = form.year.data, form.month.data, form.day.data
    if db.session.scalar(select(ClosureDay.id).where(
            ClosureDay.year.is_(None) if year is None else ClosureDay.year == year,
            ClosureDay.month == month, ClosureDay.day == day)) is not None:
        form.day.errors.append(_("This day is already a closure day."))
        return _settings_page(closure=form)
    closure = ClosureDay(year=year, month=month, day=day,
                         label_ja=(form.label_ja.data or "").strip(),
                         label_en=(form.label_en.data or "").strip())
    db.session.add(closure)
    db.session.flush()
    record("inquiry.closure_added", actor=current_user, target=closure,
           summary="Added a closure day", data={"year": year, "month": month, "day": day})
    db.session.commit()
    flash(_("Closure day added. Due times of inquiries received from now on count it."),
          "success")
    return redirect(url_for("inquiries_admin.settings", _anchor="closures-title"))


@admin_bp.post("/settings/closures/<int:closure_id>/delete")
@permission_required(can_manage_inquiry_settings)
def settings_closure_delete(closure_id: int):
    closure = db.get_or_404(ClosureDay, closure_id)
    record("inquiry.closure_removed", actor=current_user, target=closure,
           summary="Removed a closure day",
           data={"year": closure.year, "month": closure.month, "day": closure.day})
    db.session.delete(closure)
    db.session.commit()
    flash(_("Closure day removed."), "success")
    return redirect(url_for("inquiries_admin.settings", _anchor="closures-title"))


# -- reply templates ---------------------------------------------------------------------------

#: what the placeholders become in the editor's preview
def sample_values(locale: str) -> dict[str, str]:
    with force_locale(locale):
        from portal.i18n import municipality_name

        if locale == "ja":
            name, subject, service, department = ("山田 花子", "図書の貸出期間について",
                                                  "図書の貸出", "中央図書館")
        else:
            name, subject, service, department = ("Hanako Yamada", "Loan periods",
                                                  "Library loans", "Central Library")
        due = local_today() + timedelta(days=5)
        from flask_babel import format_date

        return {"name": name, "number": "123", "subject": subject, "service": service,
                "department": department, "due": format_date(due, "long"),
                "city": municipality_name(locale)}


def preview(text: str, locale: str) -> str:
    known = sample_values(locale)
    return replies._PLACEHOLDER.sub(lambda m: known.get(m.group(1), m.group(0)), text or "")


def _template_form(template: ReplyTemplate | None = None, formdata=None) -> TemplateForm:
    form = TemplateForm(formdata, obj=template if formdata is None else None)
    form.department_id.choices = options([(0, _("All departments"))] + [
        (d.id, localized(d, "name"))
        for d in db.session.scalars(select(Department).order_by(Department.code))])
    if formdata is None and template is not None:
        form.department_id.data = template.department_id or 0
    return form


@admin_bp.get("/templates")
@permission_required(can_manage_inquiry_settings)
def templates():
    items = db.session.scalars(select(ReplyTemplate).order_by(
        ReplyTemplate.active.desc(), ReplyTemplate.name_ja, ReplyTemplate.id)).all()
    return render_template("inquiries/settings/templates.html", items=items)


def _editor(form: TemplateForm, template: ReplyTemplate | None, shown_preview: bool):
    previews = None
    if shown_preview:
        previews = {"ja": preview(form.body_ja.data, "ja"), "en": preview(form.body_en.data,
                                                                          "en")}
    return render_template("inquiries/settings/template_form.html", form=form,
                           template=template, placeholders=replies.PLACEHOLDERS,
                           previews=previews)


def _save(form: TemplateForm, template: ReplyTemplate) -> None:
    template.name_ja = (form.name_ja.data or "").strip()
    template.name_en = (form.name_en.data or "").strip()
    template.body_ja = (form.body_ja.data or "").strip()
    template.body_en = (form.body_en.data or "").strip()
    template.department_id = form.department_id.data or None
    template.active = bool(form.active.data)


@admin_bp.route("/templates/new", methods=["GET", "POST"])
@permission_required(can_manage_inquiry_settings)
def template_new():
    form = _template_form(formdata=request.form if request.method == "POST" else None)
    if request.method == "POST":
        wants_preview = request.form.get("action") == "preview"
        if form.validate() and not wants_preview:
            template = ReplyTemplate(created_by_id=current_user.id)
            _save(form, template)
            db.session.add(template)
            db.session.flush()
            record("inquiry.template_created", actor=current_user, target=template,
                   summary="Created a reply template")
            db.session.commit()
            flash(_("Reply template saved."), "success")
            return redirect(url_for("inquiries_admin.templates"))
        return _editor(form, None, wants_preview)
    return _editor(form, None, False)


@admin_bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
@permission_required(can_manage_inquiry_settings)
def template_edit(template_id: int):
    template = db.get_or_404(ReplyTemplate, template_id)
    form = _template_form(template, request.form if request.method == "POST" else None)
    if request.method == "POST":
        wants_preview = request.form.get("action") == "preview"
        if form.validate() and not wants_preview:
            _save(form, template)
            template.updated_at = utcnow()
            db.session.flush()
            record("inquiry.template_changed", actor=current_user, target=template,
                   summary="Changed a reply template", data={"active": template.active})
            db.session.commit()
            flash(_("Reply template saved."), "success")
            return redirect(url_for("inquiries_admin.templates"))
        return _editor(form, template, wants_preview)
    return _editor(form, template, True)


@admin_bp.post("/templates/<int:template_id>/delete")
@permission_required(can_manage_inquiry_settings)
def template_delete(template_id: int):
    template = db.get_or_404(ReplyTemplate, template_id)
    record("inquiry.template_deleted", actor=current_user, target=template,
           summary="Deleted a reply template", data={"name": template.name_ja or template.name_en})
    db.session.delete(template)  # replies made with it keep their text (template_id NULL)
    db.session.commit()
    flash(_("Reply template deleted."), "success")
    return redirect(url_for("inquiries_admin.templates"))


# -- KPIs --------------------------------------------------------------------------------------

PERIODS = (30, 90, 365)


def kpi_scope(user, department_code: str | None) -> tuple[kpis.Scope, Department | None]:
    """The scope the user asked for and may see (staff: their department)."""
    department = None
    if department_code:
        department = db.first_or_404(select(Department).where(Department.code == department_code))
    elif user.role == "staff" and user.department_id is not None:
        department = db.session.get(Department, user.department_id)
    if user.role == "staff" and (department is None or department.id != user.department_id):
        abort(403)
    if department is not None and not can_view_inquiry_kpis(user, department.id):
        abort(403)
    return kpis.Scope(department_id=department.id if department else None), department


def month_label(day: date) -> str:
    """"Dec 2026", "2026年12月"."""
    return format_skeleton("yMMM", day, locale=page_locale())


def resolution_trend(months: list[kpis.Month]) -> LineChart:
    target = kpis.target()
    return LineChart(
        title=_("Resolved within target over the last 12 months"), y_label=_("Share (%)"),
        y_min=0, y_max=100, empty_text=_("No data"),
        x_labels=[month_label(m.first_day) for m in months],
        series=[Series(_("Resolved within target"), [m.resolution_rate for m in months],
                       "line-1"),
                Series(_("Target (%(target)s %%)", target=_number(target)),
                       [target] * len(months), "line-3")])


def received_trend(months: list[kpis.Month]) -> LineChart:
    return LineChart(
        title=_("Inquiries received over the last 12 months"), y_label=_("Inquiries"),
        empty_text=_("No data"), x_labels=[month_label(m.first_day) for m in months],
        series=[Series(_("Received"), [float(m.received) for m in months], "line-1")])


def _chart(spec, name: str) -> dict:
    return {"svg": render_svg(spec, width=CHART_WIDTH, height=260, id_prefix=f"chart-{name}"),
            "rows": table_rows(spec), "spec": spec}


@admin_bp.get("/kpis", endpoint="kpis")
@permission_required(can_view_inquiry_kpis)
def kpis_page():
    scope, department = kpi_scope(current_user, request.args.get("department") or None)
    try:
        days = int(request.args.get("days", kpis.DEFAULT_DAYS))
    except ValueError:
        days = kpis.DEFAULT_DAYS
    if days not in PERIODS:
        days = kpis.DEFAULT_DAYS
    now = utcnow()
    start, end = kpis.default_period(now, days)
    figures = kpis.report(scope, start, end, now=now)
    months = kpis.trend(scope, now=now)
    services = kpis.services_named(figures.by_service)
    departments = []
    if current_user.role != "staff":
        departments = db.session.scalars(select(Department).order_by(Department.code)).all()
    charts = {"resolution": _chart(resolution_trend(months), "resolution"),
              "received": _chart(received_trend(months), "received")}
    return render_template("inquiries/kpis.html", report=figures, months=months,
                           services=services, department=department, departments=departments,
                           days=days, periods=PERIODS, charts=charts, target=kpis.target(),
                           CHANNEL_LABELS=CHANNEL_LABELS, start=start, end=end)



def home_panel(user) -> dict | None:
    """The console home's inquiry figures (the last 30 days; staff: their department)."""
    if not can_view_inquiry_kpis(user):
        return None
    scope = kpis.Scope(department_id=user.department_id if user.role == "staff" else None)
    if user.role == "staff" and user.department_id is None:
        return None
    now = utcnow()
    start, end = kpis.default_period(now)
    return {"figures": kpis.report_total(scope, start, end, now=now), "target": kpis.target(),
            "days": kpis.DEFAULT_DAYS}


@admin_bp.app_template_global()
def queue_url(**args) -> str:
    """The staff queue with filters (``inquiries_admin.queue``, helper "queue"): the
    agreed path when that view is not registered in this build."""
    wanted = {k: v for k, v in args.items() if v is not None}
    try:
        return url_for("inquiries_admin.queue", **wanted)
    except BuildError:
        return "/admin/inquiries/" + ("?" + urlencode(wanted) if wanted else "")
