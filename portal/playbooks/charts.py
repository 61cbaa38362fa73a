"""The effectiveness charts (specs for ``portal.charts``; the same code draws the
PDF reports): cases opened per month, and each group's mean score change with its
95 % interval."""

from __future__ import annotations

import math

from flask_babel import gettext as _

from portal.charts import BarChart, LineChart, Series
from portal.playbooks.effectiveness import Report, Uplift, month_label


def cases_per_month(report: Report) -> BarChart:
    return BarChart(title=_("Cases opened per month"),
                    categories=[month_label(m, short=True) for m, _n, _h in report.per_month],
                    values=[float(n) for _m, n, _h in report.per_month],
                    y_label=_("Cases"), empty_text=_("No data"))


def uplift_chart(uplift: Uplift | None) -> LineChart:
    """The two groups' mean change with the 95 % interval of each mean, as points
    (no line joins the groups); empty below the minimum n."""
    groups = [] if uplift is None or uplift.too_few else [uplift.contacted, uplift.held_out]
    means = [g.mean for g in groups]
    intervals = [g.interval() for g in groups]
    lows = [i[0] if i else None for i in intervals]
    highs = [i[1] if i else None for i in intervals]
    present = [v for v in (*means, *lows, *highs) if v is not None]
    edge = max([5.0, *(abs(v) for v in present)])
    edge = math.ceil(edge / 5) * 5
    if not groups:
        means = lows = highs = [None, None]

    def apart(values):
        # an empty place between the two groups breaks the line: two separate
        # groups are compared, not a trend from one to the other
        return [values[0], None, values[1]]

    means, lows, highs = apart(means), apart(lows), apart(highs)
    return LineChart(
        title=_("Mean change of the score 30 days after opening"),
        x_labels=[_("Contacted"), "", _("Held out")], y_label=_("Points"), y_min=-edge,
        y_max=edge, empty_text=_("Too few cases to tell"),
        series=[Series(_("Mean change"), means, "line-1"),
                Series(_("%(level)s interval, lower end", level="95 %"), lows, "line-3"),
                Series(_("%(level)s interval, upper end", level="95 %"), highs, "line-2")])
