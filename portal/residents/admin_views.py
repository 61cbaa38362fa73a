"""Console: resident records, the 360° view, counter entry, linking, unlinking and
merging."""

from __future__ import annotations

from datetime import datetime

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal.audit.recording import record, record_many
from portal.auth.accounts import find_by_email
from portal.charts import render_svg
from portal.engagement import charts, dashboards
from portal.engagement.explain import explain, friction_text
from portal.extensions import db
from portal.forms import filter_values
from portal.pagination import RowPage
from portal.permissions import (
    can_link_accounts,
    can_manage_districts,
    can_merge_residents,
    can_record_usage,
    can_unlink_accounts,
    can_view_residents,
    permission_required,
)
from portal.playbooks.labels import LIFE_EVENT_LABELS
from portal.rendering import render_and_commit
from portal.residents import admin_bp, operations, records
from portal.residents import districts as district_list
from portal.residents.forms import (
    DistrictForm,
    LinkAccountForm,
    MergeForm,
    ResidentSearchForm,
    TimelineFilterForm,
    UnlinkAccountForm,
    UsageEntryForm,
)
from portal.residents.models import District, Resident
from portal.services.models import Service
from portal.services.scope import scope_services, visible_service_ids
from portal.services.usage import UsageError, record_usage
from portal.timeutil import local_zone, utcnow


@admin_bp.get("/")
@permission_required(can_view_residents)
def residents():
    form = ResidentSearchForm(request.args)
    wanted = filter_values(form)
    stmt = records.search_residents(wanted.get("q"), wanted.get("district"))
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    record_many("resident.list_view", actor=current_user, target_type="residents",
                target_ids=[resident.id for resident in page.items],
                summary="Saw the resident in a search result", data={"page": page.page})
    return render_and_commit("residents/admin/list.html", form=form, page=page,
                             searched=bool(wanted.get("q") or wanted.get("district")))


def _visible_services():
    return db.session.scalars(scope_services(
        select(Service).where(Service.active.is_(True)).order_by(Service.slug),
        current_user)).all()


def _load(resident_id: int) -> Resident:
    resident = db.get_or_404(Resident, resident_id)
    if resident.anonymised_at is not None:
        abort(404)
    return resident


@admin_bp.get("/<int:resident_id>")
@permission_required(can_view_residents)
def resident(resident_id: int):
    resident = _load(resident_id)
    services = _visible_services()
    filters = TimelineFilterForm(request.args, services=services)
    wanted = filter_values(filters)
    events = _timeline_page(resident, service_id=wanted.get("service") or None,
                            channel=wanted.get("channel") or None)
    record("resident.view", actor=current_user, target=resident,
           summary="Viewed resident record", data={"page": events.page})
    uses = records.services_used(resident, viewer=current_user)
    return render_and_commit(
        "residents/admin/resident.html", resident=resident, filters=filters, events=events,
        uses=uses, household=records.household_members(resident),
        life_events=records.life_events(resident), LIFE_EVENT_LABELS=LIFE_EVENT_LABELS,
        scores=_scores(resident, uses),
        entry_form=_entry_form(services), link_form=LinkAccountForm(),
        unlink_form=UnlinkAccountForm(), merge_form=MergeForm())


TIMELINE_PAGE = 30


def _timeline_page(resident: Resident, **filters) -> RowPage:
    """One page of the uses and inquiries, with each row's service (one query)."""
    stmt = records.staff_timeline(resident, current_user, **filters)
    total = db.session.scalar(select(func.count()).select_from(
        stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // TIMELINE_PAGE))
    try:
        page = min(max(int(request.args.get("page", 1)), 1), pages)
    except ValueError:
        page = 1
    rows = db.session.execute(stmt.limit(TIMELINE_PAGE)
                              .offset((page - 1) * TIMELINE_PAGE)).all()
    ids = {r.service_id for r in rows if r.service_id}
    services = {s.id: s for s in db.session.scalars(
        select(Service).where(Service.id.in_(ids)))} if ids else {}
    items = [{"row": r.row, "id": r.id, "at": r.at, "service": services.get(r.service_id),
              "kind": r.kind, "channel": r.channel, "source": r.source, "note": r.note,
              "status": r.status} for r in rows]
    return RowPage(items=items, page=page, per_page=TIMELINE_PAGE, total=total)


def _scores(resident: Resident, uses: list[records.ServiceUse]) -> list[dict]:
    """The resident's engagement scores with their sparkline and explanation, and
    whether a use was recorded after the score was computed (the score then changes
    at the next recompute: recompute is one set-based run for the municipality, so a
    single counter entry does not rescore on its own)."""
    scores, history = dashboards.resident_scores(resident.id, visible_service_ids(current_user))
    behind = dashboards.satisfaction_behind(scores)
    services = {s.id: s for s in _all_services()}
    last_use = {use.service.id: use.last_used for use in uses}
    return [{"score": score, "service": services[score.service_id],
             "stale": score.service_id in last_use
             and last_use[score.service_id] > score.computed_at,
             "sparkline": render_svg(charts.sparkline(services[score.service_id].name,
                                                      history.get(score.service_id, [])),
                                     width=160, height=36,
                                     id_prefix=f"spark-{score.service_id}"),
             "explanation": explain(score),
             "friction": friction_text(score.inquiries_pending, score.inquiries_overdue,
                                       score.window_days),
             "answers": behind.get(score.service_id, [])} for score in scores]


def _all_services():
    return db.session.scalars(select(Service)).all()


def _entry_form(services, formdata=None) -> UsageEntryForm:
    form = UsageEntryForm(formdata=formdata, services=services)
    if formdata is None and services:
        form.service_id.data = services[0].id
    return form


@admin_bp.post("/<int:resident_id>/usage")
@permission_required(can_record_usage)
def record_use(resident_id: int):
    resident = _load(resident_id)
    services = _visible_services()
    form = _entry_form(services, formdata=request.form)
    if form.validate_on_submit():
        service = db.session.get(Service, form.service_id.data)
        if service is None or not can_record_usage(current_user, service):
            abort(403)
        moment = form.occurred_at.data
        occurred_at = moment.replace(tzinfo=local_zone()) if moment else utcnow()
        try:
            record_usage(actor=current_user, resident=resident, service=service,
                         kind=form.kind.data, channel=form.channel.data,
                         occurred_at=occurred_at, note=form.note.data)
        except UsageError as error:
            form[error.field].errors.append(_("This time is in the future.")
                                            if error.field == "occurred_at" else error.message)
        else:
            db.session.commit()
            flash(_("Recorded: %(service)s for %(name)s. The engagement score takes it into "
                    "account at the next recompute.", service=service.name,
                    name=resident.full_name), "success")
            return redirect(url_for("residents_admin.resident", resident_id=resident.id))
    flash(_("The use was not recorded. Please correct the form below."), "error")
    return _render_with(resident, services, entry_form=form)


def _render_with(resident: Resident, services, **forms):
    """The 360° page again, with a refused form and its errors (nothing it tried is kept)."""
    db.session.rollback()
    filters = TimelineFilterForm(formdata=None, services=services)
    events = _timeline_page(resident)
    context = {"entry_form": _entry_form(services), "link_form": LinkAccountForm(),
               "unlink_form": UnlinkAccountForm(), "merge_form": MergeForm(), **forms}
    record("resident.view", actor=current_user, target=resident,
           summary="Viewed resident record (form shown again)", data={"page": events.page})
    db.session.commit()  # the audit entry stays even though the form was refused
    uses = records.services_used(resident, viewer=current_user)
    return render_template(
        "residents/admin/resident.html", resident=resident, filters=filters, events=events,
        uses=uses, household=records.household_members(resident),
        life_events=records.life_events(resident), LIFE_EVENT_LABELS=LIFE_EVENT_LABELS,
        scores=_scores(resident, uses), **context), 400


@admin_bp.post("/<int:resident_id>/link")
@permission_required(can_link_accounts)
def link(resident_id: int):
    resident = _load(resident_id)
    form = LinkAccountForm()
    if form.validate_on_submit():
        user = find_by_email(form.email.data)
        if user is None:
            form.email.errors.append(_("No account uses this e-mail address."))
        else:
            try:
                operations.link_account(actor=current_user, resident=resident, user=user,
                                        identity_method=form.identity_method.data,
                                        identity_note=form.identity_note.data or "")
            except operations.ResidentError as error:
                form.email.errors.append(str(error))
            else:
                db.session.commit()
                flash(_("The account %(email)s is now linked to this record.",
                        email=user.email), "success")
                return redirect(url_for("residents_admin.resident", resident_id=resident.id))
    return _render_with(resident, _visible_services(), link_form=form)


@admin_bp.post("/<int:resident_id>/unlink")
@permission_required(can_unlink_accounts)
def unlink(resident_id: int):
    resident = _load(resident_id)
    form = UnlinkAccountForm()
    if form.validate_on_submit():
        try:
            operations.unlink_account(actor=current_user, resident=resident,
                                      reason=form.reason.data)
        except operations.ResidentError as error:
            form.reason.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The account is no longer linked to this record."), "success")
            return redirect(url_for("residents_admin.resident", resident_id=resident.id))
    return _render_with(resident, _visible_services(), unlink_form=form)


@admin_bp.post("/<int:resident_id>/merge")
@permission_required(can_merge_residents)
def merge(resident_id: int):
    resident = _load(resident_id)
    form = MergeForm()
    if form.validate_on_submit():
        key = form.other.data.strip()
        number = int(key) if key.isdigit() and len(key) <= 12 else -1
        other = db.session.scalar(select(Resident).where(
            (Resident.external_id == key) | (Resident.id == number))
            .where(Resident.anonymised_at.is_(None)))
        if other is None:
            form.other.errors.append(_("No resident record matches %(key)s.", key=key))
        else:
            try:
                operations.merge(actor=current_user, keep=resident, drop=other)
            except operations.ResidentError as error:
                form.other.errors.append(str(error))
            else:
                db.session.commit()
                flash(_("The duplicate record has been merged into this one."), "success")
                return redirect(url_for("residents_admin.resident", resident_id=resident.id))
    return _render_with(resident, _visible_services(), merge_form=form)


def _age(birth_year: int | None) -> int | None:
    return None if birth_year is None else datetime.now(local_zone()).year - birth_year


@admin_bp.app_template_filter("age")
def age_filter(birth_year: int | None) -> str:
    age = _age(birth_year)
    return "" if age is None else str(age)


@admin_bp.get("/districts")
@permission_required(can_manage_districts)
def districts_list():
    counts = dict(db.session.execute(
        select(Resident.district, func.count()).where(Resident.district.is_not(None))
        .group_by(Resident.district)).all())
    return render_template("residents/admin/districts.html",
                           districts=district_list.all_districts(), counts=counts)


@admin_bp.route("/districts/new", methods=["GET", "POST"])
@permission_required(can_manage_districts)
def district_new():
    form = DistrictForm()
    if form.validate_on_submit():
        district = district_list.save_district(actor=current_user, district=None,
                                               values=form.values())
        db.session.commit()
        flash(_("The district %(name)s has been created.", name=district.name), "success")
        return redirect(url_for("residents_admin.districts_list"))
    return render_template("residents/admin/district_form.html", form=form, district=None)


@admin_bp.route("/districts/<int:district_id>/edit", methods=["GET", "POST"])
@permission_required(can_manage_districts)
def district_edit(district_id: int):
    district = db.get_or_404(District, district_id)
    form = DistrictForm(obj=district, district=district)
    if form.validate_on_submit():
        district_list.save_district(actor=current_user, district=district,
                                    values=form.values())
        db.session.commit()
        flash(_("The district %(name)s has been saved.", name=district.name), "success")
        return redirect(url_for("residents_admin.districts_list"))
    return render_template("residents/admin/district_form.html", form=form, district=district)
