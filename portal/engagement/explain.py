"""The engagement model in plain Python: the reference the SQL recompute is tested
against, and the source of every score's explanation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from markupsafe import Markup

from portal.engagement.models import MEASURES, EngagementScore
from portal.surveys.signals import normalised

MEASURE_LABELS = {
    "recency": _l("Recency"),
    "frequency": _l("Frequency"),
    "satisfaction": _l("Satisfaction"),
    "friction": _l("Friction"),
}
# The band is only the score's colour; "needs attention" is the wider list staff work
# from (red, or falling fast). Pages use these two names and never "at risk" alone.
BAND_LABELS = {"red": _l("Red"), "yellow": _l("Yellow"), "green": _l("Green")}
NEEDS_ATTENTION = _l("Needs attention")
NEEDS_ATTENTION_LONG = _l("Needs attention (red, or down 15 points or more in 30 days)")
NEEDS_ATTENTION_DEFINITION = _l(
    "“Needs attention” counts residents in the red band or whose score fell by 15 points or "
    "more in 30 days; “red” alone is the band of scores below the red edge.")
# the question types behind the satisfaction measure, as the explanation names them
SATISFACTION_TYPE_LABELS = {
    "csat": _l("CSAT (satisfaction, 1–5)"),
    "nps": _l("NPS (likely to recommend, 0–10)"),
    "ces": _l("CES (ease, 1–7)"),
}
LATEST_ANSWERS = 5  # the explanation lists this many of the answers behind satisfaction
TREND_LABELS = {"up": _l("rising"), "down": _l("falling"), "same": _l("steady"),
                "new": _l("new")}
BAND_BADGES = {"red": "bad", "yellow": "warn", "green": "ok"}
TREND_ARROWS = {"up": "↑", "down": "↓", "same": "→", "new": "•"}


def band_badge(band: str) -> Markup:
    """The band as a badge with its word (colour is never the only signal). A
    function rather than a template macro: long resident lists show one per row."""
    return Markup('<span class="badge badge--{}">{}</span>').format(
        BAND_BADGES[band], BAND_LABELS[band])


def trend_word(trend: str) -> Markup:
    """The trend as an arrow and a word."""
    return Markup('<span class="trend trend--{}">{} {}</span>').format(
        trend, TREND_ARROWS[trend], TREND_LABELS[trend])


def recency(days_since: float, interval: float) -> float:
    """100 at or under one interval since the last use, 0 at three, linear between."""
    if days_since <= interval:
        return 100.0
    if days_since >= 3 * interval:
        return 0.0
    return 100.0 * (3 * interval - days_since) / (2 * interval)


def window_days(interval: int) -> int:
    return max(90, interval)


def frequency(uses: int, interval: float, window: float) -> float:
    """Uses in the window against the expected count (window / interval), ≤ 100."""
    return min(100.0, 100.0 * uses * interval / window)


SATISFACTION_DAYS = 365  # the window of the answers behind satisfaction (scoring.py's)


def satisfaction(answers: Iterable[tuple[str, int]]) -> float | None:
    """The satisfaction measure from a resident's answers about a service in the
    window, each ``(question type, number)`` of a CSAT, NPS or CES question: the
    mean of the answers normalised to 0–100 (CSAT 1–5 → 0/25/50/75/100, NPS 0–10
    → × 10, CES 1–7 → (v − 1) / 6 × 100). None when there are none."""
    values = [normalised(kind, number) for kind, number in answers]
    return sum(values) / len(values) if values else None


FRICTION_STEP = 25  # points per pending inquiry, and per overdue one (scoring.py's)


def friction(pending: int, overdue: int) -> float:
    """The friction measure from the resident's inquiries about a service pending at
    the cut (received in the scoring window; ``portal.inquiries.friction``) and how
    many of them were overdue: 100 − 25 per pending one − 25 more per overdue one,
    at least 0; 100 without any."""
    return max(0.0, 100.0 - FRICTION_STEP * (pending + overdue))


def friction_text(pending: int, overdue: int, window_days: int) -> str:
    """The friction line of a score's explanation, naming the numbers: "2 open
    inquiries, 1 of them overdue: −75"."""
    if not pending:
        return _("Friction: no open inquiries about this service received in the last "
                 "%(window)s days: 100.", window=window_days)
    opened = ngettext("%(num)d open inquiry", "%(num)d open inquiries", pending)
    what = (_("%(open)s, %(late)d of them overdue", open=opened, late=overdue) if overdue
            else _("%(open)s, none overdue", open=opened))
    points = FRICTION_STEP * (pending + overdue)
    if points > 100:
        return _("Friction: %(what)s (received in the last %(window)s days): −%(points)d, "
                 "so 0, the lowest.", what=what, window=window_days, points=points)
    return _("Friction: %(what)s (received in the last %(window)s days): −%(points)d.",
             what=what, window=window_days, points=points)


def weighted_mean(measures: dict[str, float | None], weights: dict[str, int]) -> float | None:
    """Mean of the present measures; a missing one's weight is shared out in
    proportion (no silent zeros). None when no present measure has weight."""
    present = {m: v for m, v in measures.items() if v is not None}
    total = sum(weights[m] for m in present)
    if total == 0:
        return None
    return sum(weights[m] * v for m, v in present.items()) / total


def band(score: float, red_below: float, green_from: float) -> str:
    if score < red_below:
        return "red"
    if score < green_from:
        return "yellow"
    return "green"


@dataclass(frozen=True)
class MeasureLine:
    name: str
    label: str
    value: float | None
    weight: int
    share: float  # the weight's share of the score after missing measures are shared out
    points: float  # what it contributes to the score


@dataclass(frozen=True)
class AnswerLine:
    """One of the survey answers behind a score's satisfaction measure."""

    survey_title: str
    survey_lang: str  # the language the title is written in (for ``lang=``)
    question_type: str
    number: int  # the answer on its scale
    value: float  # normalised to 0–100
    submitted_at: object  # datetime

    @property
    def type_label(self) -> str:
        return str(SATISFACTION_TYPE_LABELS[self.question_type])


@dataclass(frozen=True)
class Explanation:
    lines: list[MeasureLine]
    weakest: str | None  # the present measure that costs the most points


def explain(score: EngagementScore) -> Explanation:
    model = score.model
    weights = model.weights()
    values = {m: getattr(score, m) for m in MEASURES}
    present_weight = sum(weights[m] for m in MEASURES if values[m] is not None)
    lines, losses = [], {}
    for m in MEASURES:
        value = values[m]
        share = weights[m] / present_weight if value is not None and present_weight else 0.0
        lines.append(MeasureLine(m, str(MEASURE_LABELS[m]), value, weights[m], share,
                                 share * value if value is not None else 0.0))
        if value is not None and weights[m]:
            losses[m] = share * (100.0 - value)
    weakest = max(losses, key=losses.get) if losses and max(losses.values()) > 0 else None
    return Explanation(lines, weakest)
