"""Console: a survey's results, break-downs, free text, detractors and exports."""

from __future__ import annotations

import io
import json

from flask import Response as HttpResponse
from flask import abort, current_app, request
from flask_babel import gettext as _
from flask_login import current_user

from portal import csvsafe
from portal.audit.recording import record, record_many
from portal.charts import BarChart, LineChart, Series, render_svg, table_rows
from portal.extensions import db
from portal.i18n import _number, language_names
from portal.permissions import (
    can_export_survey_responses,
    can_read_survey_free_text,
    can_view_survey_results,
    permission_required,
)
from portal.rendering import render_and_commit
from portal.residents import districts
from portal.surveys import admin_bp, results
from portal.surveys.models import CHOICE, NUMERIC, TEXT, Question, Survey
from portal.timeutil import local_today

CHART_WIDTH = 500
FREE_TEXT_PAGE = 25


KINDS = {"nps": "score", "ces": "mean", "rating": "mean"}  # others: a percentage


class Formats:
    """Figures as text for the page, each message looked up once per page (the
    loops of the break-downs and the trend call these many times)."""

    def __init__(self) -> None:
        self.percent = _("%(value)s %%")
        self.range = _("%(low)s to %(high)s")
        self.n = _("n = %(n)s")

    def fmt(self, value: float, kind: str) -> str:
        if kind == "percent":
            return self.percent % {"value": _number(value, "0.0")}
        if kind == "score":
            return ("+" if value > 0 else "") + _number(value, "0.0")
        return _number(value, "0.00")

    def fmt_range(self, figure, kind: str) -> str:
        return self.range % {"low": self.fmt(figure.low, kind),
                             "high": self.fmt(figure.high, kind)}

    def n_is(self, n: int) -> str:
        return self.n % {"n": _number(n)}


def _survey(survey_id: int, check) -> Survey:
    survey = db.get_or_404(Survey, survey_id)
    if not check(current_user, survey):
        abort(403)
    return survey


def _chart(spec, name: str, height: int = 240) -> dict:
    return {"svg": render_svg(spec, width=CHART_WIDTH, height=height, id_prefix=f"chart-{name}"),
            "rows": table_rows(spec), "spec": spec}


def _distribution_chart(question: Question, rows: list, n: int) -> dict:
    spec = BarChart(title=question.text(), categories=[label for _, label, _, _ in rows],
                    values=[count for _, _, count, _ in rows], y_label=_("Answers"),
                    value_labels=[_number(count) for _, _, count, _ in rows],
                    empty_text=_("No data"))
    return _chart(spec, f"q{question.id}")


def _trend_chart(survey: Survey, counts: results.Counts, at_least: int) -> dict | None:
    if not counts.months:
        return None
    labels = [f"{m.year}-{m.month:02d}" for m in counts.months]
    spec = LineChart(title=_("Responses per month"), x_labels=labels, y_label=_("Responses"),
                     series=[Series(_("Responses"), [float(v) for v in counts.month_responses])],
                     empty_text=_("No data"))
    rows = []
    for question in survey.questions:
        if question.type in results.BROKEN_DOWN:
            rows.append((question, results.trend(question, counts, at_least)))
    return {"chart": _chart(spec, "trend"), "labels": labels, "questions": rows,
            "responses": counts.month_responses}


@admin_bp.get("/<int:survey_id>/results", endpoint="results")
@permission_required(can_view_survey_results)
def results_page(survey_id: int):
    survey = _survey(survey_id, can_view_survey_results)
    at_least = results.min_n()
    formats = Formats()
    counts = results.survey_counts(survey)
    invitations = results.invitation_counts(survey.id)
    header = results.header_figures(survey, counts, invitations, at_least)
    languages = language_names(current_app.config)
    names = {d.code: d.name for d in districts.all_districts()}
    codes = districts.codes()
    dimension = request.args.get("by", "district")
    if dimension not in results.DIMENSIONS:
        dimension = "district"
    questions = []
    for question in survey.questions:
        item = {"question": question, "n": results.answered(question, counts),
                "type_label": results.QUESTION_TYPE_LABELS.get(question.type, "")}
        if question.type in NUMERIC | CHOICE:
            rows = results.distribution(question, counts, at_least)
            item["rows"] = rows
            item["chart"] = _distribution_chart(question, rows, item["n"])
        if question.type in NUMERIC:
            item["headline"] = results.question_headline(
                question, counts.numbers.get(question.id, {}), at_least)
            item["headline_label"] = results.HEADLINE_LABELS[question.type]
        if question.type in results.BROKEN_DOWN:
            item["breakdown"] = results.breakdown(question, dimension, counts, at_least, names,
                                                  codes, languages)
        item["text"] = question.type in TEXT
        questions.append(item)
    detractors = None
    if results.may_see_detractors(current_user, survey):
        detractors = {"count": results.detractor_count(survey, counts), "rows": []}
        if not survey.anonymous:
            detractors["rows"] = results.detractors(survey, current_user)
            record_many("survey.detractor_list_view", actor=current_user,
                        target_type="residents",
                        target_ids=sorted({r.resident_id for r in detractors["rows"]}),
                        summary="Saw the resident in a survey's detractor list",
                        data={"survey": survey.id})
    return render_and_commit(
        "surveys/results/results.html", survey=survey, header=header, at_least=at_least,
        questions=questions, dimension=dimension, dimensions=results.DIMENSION_LABELS,
        trend=_trend_chart(survey, counts, at_least), detractors=detractors,
        question_by_id={q.id: q for q in survey.questions},
        days=results.DETRACTOR_DAYS, headline_labels=results.HEADLINE_LABELS,
        kinds={q.id: KINDS.get(q.type, "percent") for q in survey.questions},
        fmt=formats.fmt, fmt_range=formats.fmt_range, n_is=formats.n_is)


@admin_bp.get("/<int:survey_id>/results/questions/<int:question_id>/text")
@permission_required(can_read_survey_free_text)
def free_text(survey_id: int, question_id: int):
    survey = _survey(survey_id, can_read_survey_free_text)
    question = db.get_or_404(Question, question_id)
    if question.survey_id != survey.id or question.type not in TEXT:
        abort(404)
    q = (request.args.get("q") or "").strip()[:200]
    number = min(max(request.args.get("page", 1, type=int) or 1, 1), 10**6)
    page = results.RowPage(results.free_text(survey, question, current_user, q or None),
                           number, FREE_TEXT_PAGE)
    items = page.items
    if survey.anonymous:
        record("survey.free_text_view", actor=current_user, target=survey,
               summary="Read a survey's free-text answers",
               data={"question": question.key, "page": page.page, "search": bool(q),
                     "answers": len(items)})
    else:
        record_many("survey.free_text_view", actor=current_user, target_type="residents",
                    target_ids=sorted({row.resident_id for row in items}),
                    summary="Read the resident's free-text survey answer",
                    data={"survey": survey.id, "question": question.key, "page": page.page})
    return render_and_commit("surveys/results/free_text.html", survey=survey,
                             question=question, page=page, items=items, q=q)


@admin_bp.get("/<int:survey_id>/responses/export")
@permission_required(can_export_survey_responses)
def export_responses(survey_id: int):
    survey = _survey(survey_id, can_export_survey_responses)
    kind = request.args.get("format", "csv")
    if kind not in ("csv", "json"):
        abort(400)
    identified = not survey.anonymous  # the permission already kept it to managers/admins
    columns = results.export_columns(survey, identified)
    rows = results.export(survey, identified)
    record("survey.responses_export", actor=current_user, target=survey,
           summary=f"Exported {len(rows)} survey responses as {kind}",
           data={"rows": len(rows), "format": kind, "identified": identified})
    db.session.commit()
    name = f"survey-{survey.id}-responses-{local_today().isoformat()}"
    headers = {"Cache-Control": "no-store"}
    if kind == "json":
        body = json.dumps({"survey": survey.id, "columns": columns, "responses": rows},
                          ensure_ascii=False, indent=1)
        headers["Content-Disposition"] = f"attachment; filename={name}.json"
        return HttpResponse(body, mimetype="application/json", headers=headers)
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    headers["Content-Disposition"] = f"attachment; filename={name}.csv"
    return HttpResponse("\ufeff" + buffer.getvalue(), mimetype="text/csv", headers=headers)
