"""Console: a service's engagement, the at-risk list and its export, the equity
view, the scoring model, and the recompute button."""

from __future__ import annotations

import csv
import io

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.audit.recording import record, record_many
from portal.charts import render_svg, table_rows
from portal.engagement import admin_bp, charts, dashboards, kpis, weights
from portal.engagement.explain import MEASURE_LABELS
from portal.engagement.forms import EquityForm, RecomputeForm, ScoreListForm, ScoringModelForm
from portal.engagement.jobs import recompute_today
from portal.engagement.models import MEASURES, ScoreAggregate, ScoringModel
from portal.extensions import db
from portal.forms import filter_values
from portal.jobs import enqueue
from portal.permissions import (
    can_access_console,
    can_manage_scoring,
    can_view_engagement,
    can_view_residents,
    permission_required,
)
from portal.rendering import render_and_commit
from portal.security import safe_cell, safe_next
from portal.services.models import Service
from portal.services.scope import visible_service_ids
from portal.timeutil import local_today

PAGE_SIZE = 25


def _service_for(slug: str) -> Service:
    service = db.first_or_404(select(Service).where(Service.slug == slug))
    if not can_view_engagement(current_user, service):
        abort(403)
    return service


def _filters(form: ScoreListForm) -> dashboards.ListFilters:
    wanted = filter_values(form)
    band = wanted.get("band") if "band" in request.args else "at_risk"
    return dashboards.ListFilters(
        band=band or None, trend=wanted.get("trend") or None,
        district=wanted.get("district") or None, age_band=wanted.get("age_band") or None,
        language=wanted.get("language") or None, sort=wanted.get("sort") or "score")


def weakest_measure(aggregate: ScoreAggregate | None, model: ScoringModel) -> list[dict]:
    """Per measure: mean value, share of the score and the points it costs, worst first."""
    if aggregate is None:
        return []
    means = {m: getattr(aggregate, f"{m}_mean") for m in MEASURES}
    present = sum(model.weights()[m] for m in MEASURES if means[m] is not None)
    rows = []
    for m in MEASURES:
        share = model.weights()[m] / present if means[m] is not None and present else 0
        loss = share * (100 - means[m]) if means[m] is not None else None
        rows.append({"measure": m, "label": MEASURE_LABELS[m], "mean": means[m],
                     "share": share, "loss": loss})
    return sorted(rows, key=lambda r: -1 if r["loss"] is None else r["loss"], reverse=True)


@admin_bp.get("/services/<slug>/engagement")
@permission_required(can_view_engagement)
def service_engagement(slug: str):
    service = _service_for(slug)
    model = weights.models_in_force([service])[service.id]
    history = dashboards.service_history(service.id)
    latest = history[-1] if history else None
    context = {"service": service, "model": model, "latest": latest,
               "measures": weakest_measure(latest, model), "charts": {}}
    context["kpi_figures"] = kpis.figures(history)
    if latest is not None:
        specs = {"bands": charts.band_shares(latest),
                 "histogram": charts.histogram(latest, model.red_below, model.green_from),
                 "trend": charts.trend(history), "at_risk": charts.at_risk_trend(history)}
        specs |= {"kpi_retention": charts.retention_trend(history),
                  "kpi_lapse": charts.lapse_and_uptake_trend(history, bool(service.eligibility))}
        heights = {"bands": 120}
        context["charts"] = {name: {"svg": render_svg(spec, width=640,
                                                      height=heights.get(name, 260),
                                                      id_prefix=f"chart-{name}"),
                                    "rows": table_rows(spec), "spec": spec}
                             for name, spec in specs.items()}
    if can_view_residents(current_user):
        form = ScoreListForm(request.args)
        filters = _filters(form)
        page = db.paginate(dashboards.score_list(service.id, filters, local_today().year),
                           per_page=PAGE_SIZE, error_out=False, count=True)
        context.update(form=form, page=page, filters=filters,
                       filter_args={field.name: field.data for field in form
                                    if field.data and not field.errors})
        record_many("engagement.list_view", actor=current_user, target_type="residents",
                    target_ids=[score.resident_id for score in page.items],
                    summary=f"Saw the score for {service.slug} in a list",
                    data={"service": service.slug, "page": page.page})
    return render_and_commit("engagement/service.html", **context)


@admin_bp.get("/services/<slug>/engagement.csv")
@permission_required(can_view_residents)
def service_engagement_csv(slug: str):
    service = _service_for(slug)
    filters = _filters(ScoreListForm(request.args))
    rows = db.session.scalars(dashboards.score_list(service.id, filters,
                                                    local_today().year)).all()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["resident_id", "external_id", "family_name", "given_name",
                     "family_name_kana", "given_name_kana", "district", "birth_year",
                     "language", "score", "band", "trend", "score_30d_ago", "last_use_at",
                     "uses_in_window", "reason"])
    for score in rows:
        resident = score.resident
        cells = [resident.id, resident.external_id or "", resident.family_name,
                 resident.given_name, resident.family_name_kana, resident.given_name_kana,
                 resident.district or "", resident.birth_year or "", resident.preferred_locale,
                 f"{score.score:.1f}", score.band, score.trend,
                 "" if score.score_30d_ago is None else f"{score.score_30d_ago:.1f}",
                 score.last_use_at.isoformat() if score.last_use_at else "",
                 score.uses_in_window, score.reason or ""]
        writer.writerow([safe_cell(cell) for cell in cells])
    record("engagement.export", actor=current_user, target=service,
           summary=f"Exported {len(rows)} scores of {service.slug}",
           data={"rows": len(rows), "filters": filters.__dict__})
    record_many("engagement.exported", actor=current_user, target_type="residents",
                target_ids=[score.resident_id for score in rows],
                summary=f"Score for {service.slug} exported to CSV",
                data={"service": service.slug})
    db.session.commit()
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename={service.slug}-scores-"
                               f"{local_today().isoformat()}.csv"})


@admin_bp.get("/services/<slug>/lapsed")
@permission_required(can_view_residents)
def lapsed_residents(slug: str):
    """The residents behind a service's lapse figure (staff: their department's
    services; officials see the figure only)."""
    service = _service_for(slug)
    day = dashboards.latest_day()
    figure = next((f for f in kpis.summary("service", service.id, day) if f.key == "lapse"),
                  None)
    page = db.paginate(kpis.lapsed_list(service.id), per_page=PAGE_SIZE, error_out=False,
                       count=True)
    record_many("engagement.lapse_list_view", actor=current_user, target_type="residents",
                target_ids=[score.resident_id for score in page.items],
                summary=f"Saw the lapse of {service.slug} in a list",
                data={"service": service.slug, "page": page.page})
    reference_from, reference_to = kpis.lapse_window(service.expected_interval_days)
    return render_and_commit("engagement/lapsed.html", service=service, page=page,
                             figure=figure, day=day, reference_from=reference_from,
                             reference_to=reference_to)


@admin_bp.get("/engagement/equity")
@permission_required(can_access_console)
def equity():
    services = dashboards.visible_services(current_user)
    form = EquityForm(request.args, services=services)
    wanted = filter_values(form)
    dimension = wanted.get("dimension") or "district"
    service = next((s for s in services if s.slug == wanted.get("service")), None)
    if service is not None:
        ids = select(Service.id).where(Service.id == service.id)
    else:
        ids = visible_service_ids(current_user)
    rows = dashboards.equity(dimension, local_today().year, ids)
    return render_template("engagement/equity.html", form=form, rows=rows,
                           dimension=dimension, service=service,
                           minimum=dashboards.MIN_GROUP)


@admin_bp.route("/engagement/model", methods=["GET", "POST"], defaults={"slug": None})
@admin_bp.route("/services/<slug>/scoring", methods=["GET", "POST"])
@permission_required(can_manage_scoring)
def scoring_model(slug: str | None):
    service = db.first_or_404(select(Service).where(Service.slug == slug)) if slug else None
    current = (weights.models_in_force([service])[service.id] if service
               else weights.ensure_default())
    form = ScoringModelForm(obj=current)
    if form.validate_on_submit():
        values = weights.ModelValues(
            {m: form[f"weight_{m}"].data for m in MEASURES}, form.red_below.data,
            form.green_from.data)
        try:
            model = weights.save_version(actor=current_user, service=service, values=values,
                                         note=form.note.data or "")
        except weights.ModelError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("Version %(n)s saved. Scores use it from the next recompute.",
                    n=model.version), "success")
            return redirect(request.path)
    scope = (ScoringModel.service_id == service.id) if service else \
        ScoringModel.service_id.is_(None)
    versions = db.session.scalars(select(ScoringModel).where(scope)
                                  .order_by(ScoringModel.version.desc())).all()
    return render_and_commit("engagement/model.html", form=form, service=service,
                             current=current, versions=versions)


@admin_bp.post("/engagement/recompute")
@permission_required(can_manage_scoring)
def recompute():
    form = RecomputeForm()
    if not form.validate_on_submit():
        abort(400)
    record("engagement.recompute_requested", actor=current_user, target=None,
           summary="Score recompute requested")
    db.session.commit()
    enqueue(recompute_today, current_user.id)
    flash(_("The scores have been recomputed.") if current_app.config["JOBS_INLINE"] else
          _("The scores are being recomputed. Figures update when it is done."), "success")
    return redirect(safe_next(form.next.data, url_for("admin.home")))

@admin_bp.app_context_processor
def engagement_labels():
    return {"recompute_form": lambda: RecomputeForm(formdata=None, next=request.full_path
                                                    .rstrip("?"))}
