"""Console: a service's engagement, the at-risk list and its export, the equity
view, the scoring model, and the recompute button."""

from __future__ import annotations

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

from portal import csvsafe
from portal.audit.recording import record, record_many
from portal.charts import render_svg, table_rows
from portal.engagement import admin_bp, calibration, charts, dashboards, kpis, weights
from portal.engagement.explain import MEASURE_LABELS
from portal.engagement.forms import (
    PAGE_SIZES,
    EquityForm,
    RecomputeForm,
    ScoreListForm,
    ScoringModelForm,
)
from portal.engagement.jobs import recompute_today
from portal.engagement.models import MEASURES, ScoreAggregate, ScoringModel
from portal.extensions import db
from portal.forms import filter_values
from portal.i18n import language_names
from portal.jobs import enqueue
from portal.permissions import (
    can_access_console,
    can_manage_scoring,
    can_view_calibration,
    can_view_engagement,
    can_view_residents,
    permission_required,
)
from portal.rendering import render_and_commit
from portal.residents.districts import district_name
from portal.security import safe_next
from portal.services.models import Service
from portal.services.scope import visible_service_ids
from portal.timeutil import local_today

# Drawn at the width they are shown at in the console (the CSS keeps charts at least
# this wide), so chart text of 11 units is 11 px on screen.
CHART_WIDTH = 500


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
        language=wanted.get("language") or None, sort=wanted.get("sort") or "score",
        q=(wanted.get("q") or "").strip() or None)


def _page_size(form: ScoreListForm) -> int:
    size = filter_values(form).get("per_page")
    return size if size in PAGE_SIZES else PAGE_SIZES[0]


def weakest_measure(aggregate: ScoreAggregate | None, model: ScoringModel) -> list[dict]:
    """Per measure: mean value, share of the score and the points it costs, worst
    first. Satisfaction is present only in the scores of residents who answered a
    survey (``satisfaction_scores`` of the used residents' scores): its share and
    cost are averaged over every used score, and so are the others' (whose share is
    larger where satisfaction is missing and its weight shared out)."""
    if aggregate is None:
        return []
    weights = model.weights()
    means = {m: getattr(aggregate, f"{m}_mean") for m in MEASURES}
    used = aggregate.scores - aggregate.never_used
    covered = (min(1.0, aggregate.satisfaction_scores / used)
               if means["satisfaction"] is not None and used > 0 else 0.0)
    with_s = sum(weights[m] for m in MEASURES if means[m] is not None)
    without_s = with_s - (weights["satisfaction"] if means["satisfaction"] is not None else 0)
    rows = []
    for m in MEASURES:
        if means[m] is None:
            share = 0.0
        elif m == "satisfaction":
            share = covered * weights[m] / with_s if with_s else 0.0
        else:
            share = ((covered * weights[m] / with_s if with_s else 0.0)
                     + ((1 - covered) * weights[m] / without_s if without_s else 0.0))
        loss = share * (100 - means[m]) if means[m] is not None else None
        rows.append({"measure": m, "label": MEASURE_LABELS[m], "mean": means[m],
                     "n": aggregate.satisfaction_scores if m == "satisfaction" else None,
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
        context["charts"] = {name: {"svg": render_svg(spec, width=CHART_WIDTH,
                                                      height=heights.get(name, 260),
                                                      id_prefix=f"chart-{name}"),
                                    "rows": table_rows(spec), "spec": spec}
                             for name, spec in specs.items()}
    if can_view_residents(current_user):
        form = ScoreListForm(request.args)
        filters = _filters(form)
        page = db.paginate(dashboards.score_list(service.id, filters, local_today().year),
                           per_page=_page_size(form), error_out=False, count=True)
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
    writer = csvsafe.writer(buffer)
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
        writer.writerow(cells)
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
    page = db.paginate(kpis.lapsed_list(service.id), per_page=PAGE_SIZES[1], error_out=False,
                       count=True)
    record_many("engagement.lapse_list_view", actor=current_user, target_type="residents",
                target_ids=[score.resident_id for score in page.items],
                summary=f"Saw the lapse of {service.slug} in a list",
                data={"service": service.slug, "page": page.page})
    reference_from, reference_to = kpis.lapse_window(service.expected_interval_days)
    return render_and_commit("engagement/lapsed.html", service=service, page=page,
                             figure=figure, day=day, reference_from=reference_from,
                             reference_to=reference_to)


def _equity_query(services: list[Service]):
    form = EquityForm(request.args, services=services)
    wanted = filter_values(form)
    dimension = wanted.get("dimension") or "district"
    service = next((s for s in services if s.slug == wanted.get("service")), None)
    ids = (select(Service.id).where(Service.id == service.id) if service is not None
           else visible_service_ids(current_user))
    return form, dimension, service, ids, wanted.get("sort") or "group"


def _equity_figures():
    """The equity view's filters and figures, for the page and its CSV alike."""
    form, dimension, service, ids, sort = _equity_query(dashboards.visible_services(current_user))
    rows = dashboards.equity(dimension, local_today().year, ids, sort)
    return form, dimension, service, rows, dashboards.equity_total(ids)


def _group_name(dimension: str):
    if dimension == "language":
        names = language_names(current_app.config)
        return lambda group: str(names.get(group, group))
    if dimension == "district":
        return lambda group: str(district_name(group))
    return str


@admin_bp.get("/engagement/equity")
@permission_required(can_access_console)
def equity():
    form, dimension, service, rows, total = _equity_figures()
    spec = charts.equity(rows, total, _group_name(dimension),
                         _("Mean score by group, with the whole municipality"))
    chart = {"svg": render_svg(spec, width=CHART_WIDTH, height=280, id_prefix="chart-equity"),
             "rows": table_rows(spec), "spec": spec}
    return render_template("engagement/equity.html", form=form, rows=rows, total=total,
                           dimension=dimension, service=service, chart=chart,
                           minimum=dashboards.MIN_GROUP,
                           csv_args={k: v for k, v in request.args.items()
                                     if k in ("dimension", "service", "sort")})


@admin_bp.get("/engagement/equity.csv")
@permission_required(can_access_console)
def equity_csv():
    _form, dimension, service, rows, total = _equity_figures()
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)
    writer.writerow(["dimension", "group", "residents", "scores", "mean_score",
                     "needs_attention_share", "suppressed"])
    for row in [*rows, total]:
        # a suppressed group shows neither its figures nor its size
        cells = [dimension if row is not total else "all", row.group,
                 "" if row.suppressed else row.residents,
                 "" if row.suppressed else row.scores,
                 "" if row.mean is None else f"{row.mean:.1f}",
                 "" if row.at_risk_share is None else f"{row.at_risk_share:.4f}",
                 "yes" if row.suppressed else "no"]
        writer.writerow(cells)
    record("engagement.equity_export", actor=current_user, target=service,
           summary=f"Exported the equity view by {dimension}",
           data={"dimension": dimension, "service": service.slug if service else None,
                 "groups": len(rows)})
    db.session.commit()
    name = f"equity-{dimension}-{service.slug if service else 'all'}-{local_today().isoformat()}"
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename={name}.csv"})


@admin_bp.route("/engagement/model", methods=["GET", "POST"], defaults={"slug": None})
@admin_bp.route("/services/<slug>/scoring", methods=["GET", "POST"])
@permission_required(can_manage_scoring)
def scoring_model(slug: str | None):
    service = db.first_or_404(select(Service).where(Service.slug == slug)) if slug else None
    current = (weights.models_in_force([service])[service.id] if service
               else weights.ensure_default())
    # the weights and edges in force, but never the last version's reason for change
    form = ScoringModelForm(data={name: getattr(current, name) for name in (
        *(f"weight_{m}" for m in MEASURES), "red_below", "green_from")})
    preview = None
    if form.validate_on_submit():
        values = weights.ModelValues(
            {m: form[f"weight_{m}"].data for m in MEASURES}, form.red_below.data,
            form.green_from.data)
        if form.preview.data:  # nothing is saved: the entered values stay in the form
            try:
                preview = calibration.preview(service, values)
            except weights.ModelError as error:
                flash(str(error), "error")
        else:
            try:
                model = weights.save_version(actor=current_user, service=service,
                                             values=values, note=form.note.data or "")
            except weights.ModelError as error:
                flash(str(error), "error")
            else:
                db.session.commit()
                flash(_("Version %(n)s saved. Scores use it from the next recompute.",
                        n=model.version), "success")
                return redirect(request.path)
    return render_and_commit("engagement/model.html", form=form, service=service,
                             current=current, versions=_versions(service), preview=preview,
                             minimum=calibration.MIN_PER_CLASS,
                             window=calibration.horizon_window())


def _versions(service: Service | None) -> list[ScoringModel]:
    scope = (ScoringModel.service_id == service.id) if service else \
        ScoringModel.service_id.is_(None)
    return list(db.session.scalars(select(ScoringModel).where(scope)
                                   .order_by(ScoringModel.version.desc())))


@admin_bp.get("/services/<slug>/calibration")
@permission_required(can_view_calibration)
def service_calibration(slug: str):
    service = db.first_or_404(select(Service).where(Service.slug == slug))
    return render_and_commit("engagement/calibration.html", service=service,
                             result=calibration.for_service(service),
                             lapse_days=kpis.lapse_days(service.expected_interval_days),
                             minimum=calibration.MIN_PER_CLASS,
                             window=calibration.horizon_window())


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
