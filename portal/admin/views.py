from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from portal.admin import bp
from portal.admin.forms import (
    ROLE_LABELS,
    AccountFilterForm,
    AuditFilterForm,
    EditAccountForm,
    NewAccountForm,
)
from portal.audit.models import AuditEntry
from portal.auth import accounts
from portal.auth.models import Role, User
from portal.engagement import dashboards
from portal.engagement import kpis as engagement_kpis
from portal.extensions import db
from portal.forms import filter_values, options
from portal.mail.outbox import dispatch
from portal.permissions import (
    can_access_console,
    can_manage_accounts,
    can_view_audit_log,
    permission_required,
)
from portal.residents.models import Resident
from portal.security import absolute_url
from portal.services.models import Service
from portal.timeutil import local_day_start


@bp.app_context_processor
def role_labels():
    return {"ROLE_LABELS": ROLE_LABELS}


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
    kpi_line = engagement_kpis.summary(*dashboards.scope_for(current_user), day)
    recent = []
    if can_view_audit_log(current_user):
        recent = db.session.scalars(
            select(AuditEntry).order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
            .limit(8)).all()
    return render_template("admin/home.html", counts=counts, recent=recent, kpis=kpis,
                           kpi_day=day, kpi_line=kpi_line)


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
        except accounts.AccountError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("The account of %(email)s has been updated.", email=user.email), "success")
            return redirect(url_for("admin.accounts_list"))
    return render_template("admin/account_edit.html", form=form, user=user)


@bp.get("/audit")
@permission_required(can_view_audit_log)
def audit_log():
    form = AuditFilterForm(request.args)
    actions = db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action))
    form.action.choices = options([("", _("All")), *((a, a) for a in actions)])
    wanted = filter_values(form)
    stmt = select(AuditEntry)
    if wanted.get("actor"):
        stmt = stmt.where(func.lower(AuditEntry.actor_label)
                          .like(f"%{wanted['actor'].strip().lower()}%"))
    if wanted.get("action"):
        stmt = stmt.where(AuditEntry.action == wanted["action"])
    if wanted.get("date_from"):
        stmt = stmt.where(AuditEntry.occurred_at >= local_day_start(wanted["date_from"]))
    if wanted.get("date_to"):
        end = local_day_start(wanted["date_to"] + timedelta(days=1))
        stmt = stmt.where(AuditEntry.occurred_at < end)
    stmt = stmt.order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render_template("admin/audit.html", form=form, page=page)
