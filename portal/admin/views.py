from __future__ import annotations

import io

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, or_, select

from portal import csvsafe
from portal.admin import bp
from portal.admin.forms import (
    ROLE_LABELS,
    AccountFilterForm,
    AuditFilterForm,
    EditAccountForm,
    NewAccountForm,
)
from portal.audit import browse
from portal.audit.labels import LIST_VIEW_ACTIONS, action_label, target_label
from portal.audit.models import AuditEntry
from portal.audit.recording import record
from portal.auth import accounts, sessions
from portal.auth.models import Role, User
from portal.community import moderation as community_moderation
from portal.engagement import dashboards
from portal.engagement import kpis as engagement_kpis
from portal.extensions import db
from portal.forms import EmptyForm, filter_values, options
from portal.mail.outbox import dispatch
from portal.permissions import (
    can_access_console,
    can_manage_accounts,
    can_view_audit_log,
    can_view_survey_results,
    permission_required,
)
from portal.residents.models import Resident
from portal.security import absolute_url
from portal.services.models import Service
from portal.surveys import results as survey_results
from portal.timeutil import local_today


@bp.app_context_processor
def role_labels():
    return {"ROLE_LABELS": ROLE_LABELS, "action_label": action_label,
            "target_label": target_label}


@bp.get("/")
@permission_required(can_access_console)
def home():
    counts = {
        "residents": db.session.scalar(
            select(func.count()).select_from(Resident).where(Resident.anonymised_at.is_(None))),
        "services": db.session.scalar(
            select(func.count()).select_from(Service).where(Service.active.is_(True))),
    }
    day, kpis = dashboards.kpis(*dashboards.scope_for(current_user))
    services = [s for s in dashboards.visible_services(current_user) if s.active]
    figures = dashboards.service_figures(day, [s.id for s in services])
    kpi_line = engagement_kpis.summary(*dashboards.scope_for(current_user), day)
    recent = []
    if can_view_audit_log(current_user):
        recent = db.session.scalars(
            select(AuditEntry).order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
            .limit(8)).all()
    survey_tiles = None
    if can_view_survey_results(current_user):
        survey_tiles = survey_results.home_tiles(current_user)
    from portal.community.insights import home_panel as community_panel
    from portal.inquiries.settings_views import home_panel
    from portal.work.queries import home_panel as work_panel

    return render_template("admin/home.html", counts=counts, recent=recent, kpis=kpis,
                           kpi_day=day, services=services, figures=figures,
                           kpi_line=kpi_line, survey_tiles=survey_tiles,
                           survey_days=survey_results.TILE_DAYS,
                           inquiry_panel=home_panel(current_user),
                           work_panel=work_panel(current_user),
                           insights_panel=community_panel(current_user))


@bp.get("/accounts")
@permission_required(can_manage_accounts)
def accounts_list():
    form = AccountFilterForm(request.args)
    wanted = filter_values(form)
    stmt = select(User).where(User.role.in_([r.value for r in Role.console_roles()]))
    if wanted.get("q"):
        like = f"%{wanted['q'].strip().lower()}%"
        stmt = stmt.where(or_(func.lower(User.email).like(like),
                              func.lower(User.display_name).like(like)))
    if wanted.get("role"):
        stmt = stmt.where(User.role == wanted["role"])
    if wanted.get("department") and wanted["department"] > 0:
        stmt = stmt.where(User.department_id == wanted["department"])
    if wanted.get("status"):
        stmt = stmt.where(User.active.is_(wanted["status"] == "active"))
    page = db.paginate(stmt.order_by(User.email), per_page=current_app.config["PAGE_SIZE"],
                       error_out=False)
    return render_template("admin/accounts.html", form=form, page=page)


def _invitation_link(token: str) -> str:
    return absolute_url("auth.accept_invitation", token=token)


@bp.route("/accounts/new", methods=["GET", "POST"])
@permission_required(can_manage_accounts)
def account_new():
    form = NewAccountForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_console_account(
                actor=current_user, email=form.email.data, display_name=form.display_name.data,
                role=form.role.data, department=form.department(), locale=form.locale.data,
                url_for_token=_invitation_link)
        except accounts.AccountError as error:
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            dispatch()
            flash(_("Account created. An invitation to choose a password was sent to %(email)s.",
                    email=user.email), "success")
            return redirect(url_for("admin.accounts_list"))
    return render_template("admin/account_new.html", form=form)


@bp.route("/accounts/<int:user_id>", methods=["GET", "POST"])
@permission_required(can_manage_accounts)
def account_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    if user.role == Role.RESIDENT:
        return redirect(url_for("admin.accounts_list"))
    form = EditAccountForm(obj=user)
    if request.method == "GET":
        form.department_id.data = user.department_id or 0
    if form.validate_on_submit():
        try:
            accounts.update_console_account(actor=current_user, user=user, role=form.role.data,
                                            department=form.department(),
                                            active=form.active.data)
            community_moderation.set_moderator(user, actor=current_user,
                                               value=form.community_moderator.data)
        except accounts.AccountError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("The account of %(email)s has been updated.", email=user.email), "success")
            return redirect(url_for("admin.accounts_list"))
    return render_template("admin/account_edit.html", form=form, user=user,
                           sign_ins=sessions.active(user))


@bp.post("/accounts/<int:user_id>/sign-out-everywhere")
@permission_required(can_manage_accounts)
def account_sign_out_everywhere(user_id: int):
    user = db.get_or_404(User, user_id)
    if user.role == Role.RESIDENT:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if user.id == current_user.id:
        flash(_("To sign out your own other devices, use your account settings."), "error")
        return redirect(url_for("admin.account_edit", user_id=user.id))
    ended = sessions.sign_out_everywhere(user, actor=current_user)
    db.session.commit()
    flash(ngettext("%(email)s has been signed out everywhere (%(num)d active sign-in ended).",
                   "%(email)s has been signed out everywhere (%(num)d active sign-ins ended).",
                   ended, email=user.email), "success")
    return redirect(url_for("admin.account_edit", user_id=user.id))


def _audit_filters(form: AuditFilterForm) -> browse.AuditFilters:
    actions = db.session.scalars(select(AuditEntry.action).distinct())
    form.action.choices = options([("", _("All")), *sorted(
        ((a, action_label(a)) for a in actions), key=lambda pair: pair[1])])
    wanted = filter_values(form)
    lists = wanted.get("list_views") or ("show" if wanted.get("resident") else "group")
    if wanted.get("action") in LIST_VIEW_ACTIONS:
        lists = "show"  # asked for exactly those entries
    return browse.AuditFilters(
        actor=wanted.get("actor"), resident=wanted.get("resident"),
        action=wanted.get("action") or None, date_from=wanted.get("date_from"),
        date_to=wanted.get("date_to"), list_views=lists)


@bp.get("/audit")
@permission_required(can_view_audit_log)
def audit_log():
    form = AuditFilterForm(request.args)
    filters = _audit_filters(form)
    if filters.list_views == "group":
        number = request.args.get("page", 1, type=int)
        page = browse.grouped_page(filters, min(max(number, 1), 10**6), per_page=50)
    else:
        page = db.paginate(browse.entries(filters), per_page=50, error_out=False)
    return render_template("admin/audit.html", form=form, page=page,
                           hidden_count=browse.hidden_count(filters),
                           show_args={**request.args.to_dict(), "list_views": "show"})


AUDIT_EXPORT_LIMIT = 100_000


@bp.get("/audit.csv")
@permission_required(can_view_audit_log)
def audit_csv():
    """The filtered log as CSV: codes as stored (the evidence), the action also in the
    viewer's language; cells neutralised against spreadsheet formulas."""
    filters = _audit_filters(AuditFilterForm(request.args))
    stmt = browse.entries(filters)  # grouped or not, the export lists single entries
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)
    writer.writerow(["occurred_at", "actor", "action", "action_label", "target_type",
                     "target_id", "summary", "ip"])
    count = 0
    for entry in db.session.scalars(stmt.limit(AUDIT_EXPORT_LIMIT)):
        writer.writerow([
            entry.occurred_at.isoformat(), entry.actor_label or "", entry.action,
            action_label(entry.action), entry.target_type or "", entry.target_id or "",
            entry.summary, entry.ip or ""])
        count += 1
    record("audit.export", actor=current_user, target=None,
           summary=f"Exported {count} audit entries",
           data={"rows": count, "filters": {k: v for k, v in request.args.items()
                                            if k in AuditFilterForm.FILTERS}})
    db.session.commit()
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=audit-{local_today().isoformat()}.csv",
        "Cache-Control": "no-store"})
