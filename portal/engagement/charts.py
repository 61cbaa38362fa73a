"""The engagement charts, built from scores and aggregates. The same specs are
drawn as SVG in the console and (later) in the PDF reports."""

from __future__ import annotations

from flask_babel import gettext as _

from portal.charts import BAND_STYLES, BarChart, LineChart, Segment, Series, Sparkline, StackedBar
from portal.engagement import kpis
from portal.engagement.explain import BAND_LABELS, NEEDS_ATTENTION
from portal.engagement.models import ScoreAggregate
from portal.engagement.scoring import HISTOGRAM_BINS
from portal.i18n import _date, _number


def band_shares(aggregate: ScoreAggregate) -> StackedBar:
    return StackedBar(title=_("Residents by band"), empty_text=_("No data"), segments=[
        Segment(str(BAND_LABELS[band]), getattr(aggregate, band), BAND_STYLES[band])
        for band in ("red", "yellow", "green")])


def bin_style(low: int, high: int, red_below: int, green_from: int) -> str:
    """The band of the scores in [low, high); a bin that holds two bands is neutral."""
    if high <= red_below:
        return BAND_STYLES["red"]
    if low >= green_from:
        return BAND_STYLES["green"]
    if low >= red_below and high <= green_from:
        return BAND_STYLES["yellow"]
    return "neutral"


def histogram(aggregate: ScoreAggregate, red_below: int, green_from: int) -> BarChart:
    labels = [f"{n * 10}–{n * 10 + 9}" if n < HISTOGRAM_BINS - 1 else "90–100"
              for n in range(HISTOGRAM_BINS)]
    styles = [bin_style(n * 10, n * 10 + 10 if n < HISTOGRAM_BINS - 1 else 101, red_below,
                        green_from) for n in range(HISTOGRAM_BINS)]
    return BarChart(title=_("Score distribution"), categories=labels,
                    values=list(aggregate.histogram or [0] * HISTOGRAM_BINS), styles=styles,
                    y_label=_("Residents"), empty_text=_("No data"))


def trend(history: list[ScoreAggregate]) -> LineChart:
    return LineChart(
        title=_("Score over the last 12 months"), y_label=_("Score"), y_min=0, y_max=100,
        x_labels=[_date(a.as_of, "short") for a in history], empty_text=_("No data"),
        series=[Series(_("Mean"), [a.mean for a in history], "line-1"),
                Series(_("Median"), [a.median for a in history], "line-2")])


def at_risk_trend(history: list[ScoreAggregate]) -> LineChart:
    return LineChart(
        title=_("Residents needing attention over the last 12 months"), y_label=_("Residents"),
        x_labels=[_date(a.as_of, "short") for a in history], empty_text=_("No data"),
        series=[Series(str(NEEDS_ATTENTION), [float(a.at_risk_residents) for a in history],
                       "line-3")])


def _percentages(history: list[ScoreAggregate], key: str) -> list[float | None]:
    return [None if share is None else 100 * share
            for share in (kpis.share_of(a, key) for a in history)]


def retention_trend(history: list[ScoreAggregate]) -> LineChart:
    """Retention over 30 and 90 days, in %, from the stored aggregates."""
    return LineChart(
        title=_("Retention over the last 12 months"), y_label=_("Share (%)"),
        y_min=0, y_max=100, x_labels=[_date(a.as_of, "short") for a in history],
        empty_text=_("No data"),
        series=[Series(_("30 days"), _percentages(history, "retention_30"), "line-1"),
                Series(_("90 days"), _percentages(history, "retention_90"), "line-2")])


def lapse_and_uptake_trend(history: list[ScoreAggregate], uptake: bool) -> LineChart:
    """The lapse rate and (for a service with an eligibility rule) the uptake among the
    eligible, in %."""
    series = [Series(_("Lapse"), _percentages(history, "lapse"), "line-3")]
    if uptake:
        series.append(Series(_("Uptake among the eligible"), _percentages(history, "uptake"),
                             "line-1"))
    return LineChart(
        title=_("Lapse and uptake over the last 12 months") if uptake
        else _("Lapse over the last 12 months"), y_label=_("Share (%)"), y_min=0, y_max=100,
        x_labels=[_date(a.as_of, "short") for a in history], empty_text=_("No data"),
        series=series)


def sparkline(service_name: str, snapshots) -> Sparkline:
    return Sparkline(title=_("%(service)s: score history", service=service_name),
                     values=[s.score for s in snapshots], y_min=0, y_max=100,
                     empty_text=_("No data"))


def equity(rows, total, group_name, title: str) -> BarChart:
    """Mean score of each group shown (suppressed groups are left out), with the whole
    municipality as the last bar to compare with."""
    shown = [r for r in rows if not r.suppressed]
    bars = shown + ([total] if not total.suppressed else [])
    labels = [group_name(r.group) for r in shown] + (
        [_("Whole municipality")] if not total.suppressed else [])
    return BarChart(title=title, categories=labels, values=[r.mean or 0 for r in bars],
                    styles=["neutral"] * len(shown) + ["line-3"] * (len(bars) - len(shown)),
                    value_labels=[_number(r.mean, "0") for r in bars], y_max=100,
                    y_label=_("Mean score"), empty_text=_("No data"))

