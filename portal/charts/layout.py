"""Layout: a chart spec and a size in, drawing primitives out.

This is the only place that knows what a chart looks like; the SVG and PDF
renderers translate the primitives one to one. Coordinates are abstract units
with y pointing down; text positions are baselines. Layout is deterministic.
"""

from __future__ import annotations

import math
import unicodedata
from functools import cache

from reportlab.pdfbase.pdfmetrics import stringWidth

from portal.charts.primitives import Circle, Line, Polyline, Primitive, Rect, Text
from portal.charts.specs import (
    GRID,
    INK,
    MUTED,
    PAPER,
    STYLES,
    BarChart,
    Chart,
    LineChart,
    Sparkline,
    StackedBar,
)

HATCH_SPACING = 5.0
HATCH_WIDTH = 1.5
LINE_WIDTH = 2.0


# -- text ---------------------------------------------------------------------------------

@cache
def _char_width(ch: str, bold: bool) -> float:
    """Width of one character at size 1: Helvetica metrics where Helvetica is used,
    a full em for East Asian wide characters (drawn in a CJK font)."""
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return 1.0 if unicodedata.east_asian_width(ch) in "WFA" else 0.6
    return stringWidth(ch, "Helvetica-Bold" if bold else "Helvetica", 1)


def text_width(text: str, size: float, bold: bool = False) -> float:
    # 8 % head room: browsers may draw Latin text in a slightly wider font.
    return sum(_char_width(ch, bold) for ch in text) * size * 1.08


def shorten(text: str, max_width: float, size: float, bold: bool = False) -> str:
    """``text``, cut and ended with "…" to fit ``max_width``; "" when nothing fits."""
    if text_width(text, size, bold) <= max_width:
        return text
    for end in range(len(text) - 1, 0, -1):
        cut = text[:end].rstrip() + "…"
        if text_width(cut, size, bold) <= max_width:
            return cut
    return ""


def fmt(value: float) -> str:
    """A number for a label: thousands separators, at most two decimals."""
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def pct(part: float, total: float) -> str:
    share = 100 * part / total if total else 0
    if 0 < share < 1:
        return "<1%"
    if 99 < share < 100:
        return ">99%"
    return f"{round(share)}%"


# -- scales -------------------------------------------------------------------------------

def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above ``value`` (1 for nothing positive)."""
    if value <= 0:
        return 1.0
    base = 10.0 ** math.floor(math.log10(value))
    return next(m * base for m in (1, 2, 5, 10) if value <= m * base * (1 + 1e-9))


def ticks(lo: float, hi: float, max_count: int) -> list[float]:
    step = nice_ceiling((hi - lo) / max(max_count, 1))
    first = math.ceil(lo / step - 1e-9)
    return [round(k * step, 10) for k in range(first, math.floor(hi / step + 1e-9) + 1)]


def _size(width: float, height: float, rows: float) -> float:
    """Base font size: at least 11 (px on screen, pt on paper), about ``rows`` lines in
    the height."""
    return max(11.0, min(12.0, width / 52, height / rows))


def has_data(chart: Chart) -> bool:
    """False for charts drawn as "No data": nothing to show, or only zeros to share out."""
    if isinstance(chart, BarChart):
        return any(chart.values)
    if isinstance(chart, StackedBar):
        return any(x.value for x in chart.segments)
    values = chart.values if isinstance(chart, Sparkline) else [
        v for s in chart.series for v in s.values if chart.x_labels]
    return any(v is not None for v in values)


# -- shared pieces ------------------------------------------------------------------------

def swatch(x: float, y: float, w: float, h: float, style: str) -> list[Primitive]:
    """A filled rectangle in ``style`` with its hatch, drawn as clipped lines."""
    if w <= 0 or h <= 0:
        return []
    st = STYLES[style]
    out: list[Primitive] = [Rect(x, y, w, h, st.colour, st.outline, 1 if st.outline else 0)]
    inset = 1 if st.outline else 0
    x0, y0, x1, y1 = x + inset, y + inset, x + w - inset, y + h - inset
    if st.hatch == "horizontal":
        k = math.floor(y0 / HATCH_SPACING) + 1
        while k * HATCH_SPACING < y1:
            out.append(Line(x0, k * HATCH_SPACING, x1, k * HATCH_SPACING, PAPER, HATCH_WIDTH))
            k += 1
    elif st.hatch == "diagonal":  # lines x + y = c, on a grid shared by all shapes
        step = HATCH_SPACING * math.sqrt(2)
        k = math.floor((x0 + y0) / step) + 1
        while k * step < x1 + y1:
            c = k * step
            xa, xb = max(x0, c - y1), min(x1, c - y0)
            if xb - xa > 0.01:
                out.append(Line(xa, c - xa, xb, c - xb, PAPER, HATCH_WIDTH))
            k += 1
    return out


def marker(shape: str, x: float, y: float, r: float, colour: str) -> Primitive:
    if shape == "square":
        return Rect(x - r * 0.9, y - r * 0.9, r * 1.8, r * 1.8, colour, PAPER, 1)
    if shape == "triangle":
        pts = ((x, y - r * 1.25), (x + r * 1.15, y + r * 0.8), (x - r * 1.15, y + r * 0.8))
        return Polyline(pts, PAPER, 1, fill=colour, closed=True)
    return Circle(x, y, r, colour, PAPER, 1)


def _heading(title: str, width: float, s: float) -> tuple[list[Primitive], float]:
    pad, ts = s * 0.75, s * 1.15
    text = shorten(title, width - 2 * pad, ts, bold=True)
    return [Text(pad, pad + ts, text, ts, bold=True)], pad + ts + s * 0.6


def _legend(entries: list[tuple[str, str]], kind: str, width: float, top: float,
            s: float) -> tuple[list[Primitive], float]:
    """Legend rows (sample + name) flowing left to right from ``top``; returns the
    primitives and the y below them. ``kind`` is "line" or "box"."""
    pad, sample = s * 0.75, (s * 2.2 if kind == "line" else s)
    out: list[Primitive] = []
    x, row = pad, top
    for style, name in entries:
        label = shorten(name, width - 2 * pad - sample - s * 0.4, s)
        need = sample + s * 0.4 + text_width(label, s)
        if x > pad and x + need > width - pad:
            x, row = pad, row + s * 1.5
        mid = row + s * 0.5
        st = STYLES[style]
        if kind == "line":
            out.append(Line(x, mid, x + sample, mid, st.colour, LINE_WIDTH, st.dash))
            out.append(marker(st.marker, x + sample / 2, mid, s * 0.33, st.colour))
        else:
            out += swatch(x, row, sample, sample, style)
        out.append(Text(x + sample + s * 0.4, mid + s * 0.36, label, s))
        x += need + s * 1.2
    return out, row + s * 1.5


def _empty(text: str, x0: float, y0: float, x1: float, y1: float, s: float) -> list[Primitive]:
    return [Rect(x0, y0, x1 - x0, y1 - y0, None, GRID, 1),
            Text((x0 + x1) / 2, (y0 + y1) / 2 + s * 0.35, text, s, "middle", MUTED)]


def _y_axis(lo: float, hi: float, top: float, bottom: float, width: float,
            s: float) -> tuple[list[Primitive], float, float]:
    """Grid lines and tick labels; returns them with the plot's left and right x."""
    values = ticks(lo, hi, max(2, min(5, int((bottom - top) / (s * 2.2)))))
    labels = [fmt(v) for v in values]
    pad = s * 0.75
    left = pad + max(text_width(t, s) for t in labels) + s * 0.5
    right = width - pad
    out: list[Primitive] = []
    for v, label in zip(values, labels, strict=True):
        y = bottom - (v - lo) / (hi - lo) * (bottom - top)
        out.append(Line(left, y, right, y, GRID, 1))
        out.append(Text(left - s * 0.4, y + s * 0.35, label, s, "end"))
    out.append(Line(left, top, left, bottom, INK, 1))
    return out, left, right


def _x_labels(labels: list[str], left: float, band: float, y: float, s: float,
              thin: bool) -> list[Primitive]:
    """Labels centred under each band, shortened with "…" where they would
    overlap; with ``thin`` (a time axis) only every k-th label, so they fit."""
    widest = max(text_width(t, s) for t in labels)
    every = max(1, math.ceil((widest + s * 0.5) / band)) if thin else 1
    out: list[Primitive] = []
    for i in range(0, len(labels), every):
        text = shorten(labels[i], every * band - s * 0.5, s)
        out.append(Text(left + band * (i + 0.5), y, text, s, "middle"))
    return out


# -- charts -------------------------------------------------------------------------------

def _bar(chart: BarChart, width: float, height: float) -> list[Primitive]:
    s = _size(width, height, 16)
    out, top = _heading(chart.title, width, s)
    if chart.y_label:
        out.append(Text(s * 0.75, top + s, shorten(chart.y_label, width, s), s))
        top += s * 1.4
    top += s * 1.4  # room for the value label above the tallest bar
    bottom = height - s * 0.75 - s * 1.6
    n = len(chart.values)
    if not has_data(chart):
        return out + _empty(chart.empty_text, s * 0.75, top, width - s * 0.75, bottom, s)
    hi = chart.y_max or nice_ceiling(max(chart.values))
    axis, left, right = _y_axis(0, hi, top, bottom, width, s)
    out += axis
    band = (right - left) / n
    styles = chart.styles or ["neutral"] * n
    labels = chart.value_labels or [fmt(v) for v in chart.values]
    for i, value in enumerate(chart.values):
        bw = band * 0.7
        x = left + band * i + (band - bw) / 2
        y = bottom - min(value, hi) / hi * (bottom - top)
        out += swatch(x, y, bw, bottom - y, styles[i])
        if text_width(labels[i], s) <= band - 2:
            out.append(Text(x + bw / 2, y - s * 0.35, labels[i], s, "middle"))
    out.append(Line(left, bottom, right, bottom, INK, 1))
    return out + _x_labels(chart.categories, left, band, bottom + s * 1.3, s, thin=False)


def _runs(values: list[float | None]) -> list[list[int]]:
    """Indexes of the unbroken stretches between None values."""
    runs: list[list[int]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
        else:
            runs[-1].append(i)
    return [r for r in runs if r]


def _line(chart: LineChart, width: float, height: float) -> list[Primitive]:
    s = _size(width, height, 16)
    out, top = _heading(chart.title, width, s)
    if len(chart.series) >= 2:
        legend, top = _legend([(x.style, x.name) for x in chart.series], "line", width, top, s)
        out += legend
    if chart.y_label:
        out.append(Text(s * 0.75, top + s, shorten(chart.y_label, width, s), s))
        top += s * 1.4
    top += s * 0.6
    bottom = height - s * 0.75 - s * 1.6
    if not has_data(chart):
        return out + _empty(chart.empty_text, s * 0.75, top, width - s * 0.75, bottom, s)
    present = [v for x in chart.series for v in x.values if v is not None]
    lo = chart.y_min
    hi = chart.y_max if chart.y_max is not None else nice_ceiling(max(present))
    hi = hi if hi > lo else lo + nice_ceiling(abs(lo))
    axis, left, right = _y_axis(lo, hi, top, bottom, width, s)
    out += axis
    band = (right - left) / len(chart.x_labels)
    r = s * 0.33
    for series in chart.series:
        st = STYLES[series.style]

        def point(i: int, vals: list[float | None] = series.values) -> tuple[float, float]:
            v = min(max(float(vals[i] or 0), lo), hi)
            return left + band * (i + 0.5), bottom - (v - lo) / (hi - lo) * (bottom - top)

        runs = _runs(series.values)
        for run in runs:
            if len(run) > 1:
                out.append(Polyline(tuple(point(i) for i in run), st.colour, LINE_WIDTH, st.dash))
        dense = band < r * 4
        for run in runs:
            for i in dict.fromkeys((run[0], run[-1]) if dense else run):
                out.append(marker(st.marker, *point(i), r, st.colour))
    out.append(Line(left, bottom, right, bottom, INK, 1))
    return out + _x_labels(chart.x_labels, left, band, bottom + s * 1.3, s, thin=True)


def _stacked(chart: StackedBar, width: float, height: float) -> list[Primitive]:
    s = _size(width, height, 8)
    out, top = _heading(chart.title, width, s)
    pad = s * 0.75
    total = sum(x.value for x in chart.segments)
    bar_h = max(s * 1.5, min(s * 3, height - top - s * 4.5))
    if not has_data(chart):
        return out + _empty(chart.empty_text, pad, top, width - pad, top + bar_h, s)
    x, scale = pad, (width - 2 * pad) / total
    labels: list[Primitive] = []
    for seg in chart.segments:
        w = seg.value * scale
        out += swatch(x, top, w, bar_h, seg.style)
        for text in (f"{pct(seg.value, total)} ({fmt(seg.value)})", pct(seg.value, total)):
            if text_width(text, s) <= w - s * 0.3:
                labels.append(Text(x + w / 2, top + bar_h + s * 1.3, text, s, "middle"))
                break
        x += w
    edges = [pad + scale * sum(x.value for x in chart.segments[:i])
             for i in range(1, len(chart.segments))]
    out += [Line(e, top, e, top + bar_h, PAPER, 2) for e in edges]
    legend, _ = _legend([(x.style, x.label) for x in chart.segments], "box", width,
                        top + bar_h + s * 2.2, s)
    return out + labels + legend


def _sparkline(chart: Sparkline, width: float, height: float) -> list[Primitive]:
    s = max(7.0, min(12.0, height * 0.45))
    pad, r = 2.0, max(1.5, min(3.0, height / 10))
    present = [(i, v) for i, v in enumerate(chart.values) if v is not None]
    if not has_data(chart):
        text = shorten(chart.empty_text, width - 2 * pad, s)
        return [Text(pad, height / 2 + s * 0.35, text, s, fill=MUTED)]
    label = fmt(present[-1][1])
    right = width - pad - text_width(label, s) - s * 0.4
    lo, hi = chart.y_min, chart.y_max
    step = (right - pad - r) / max(len(chart.values) - 1, 1)
    top, bottom = pad + r, height - pad - r

    def point(i: int) -> tuple[float, float]:
        v = min(max(float(chart.values[i] or 0), lo), hi)
        return pad + i * step, bottom - (v - lo) / (hi - lo) * (bottom - top)

    out: list[Primitive] = [Polyline(tuple(point(i) for i in run), INK, 1.5)
                            for run in _runs(chart.values) if len(run) > 1]
    out += [Circle(*point(run[0]), r * 0.7, INK) for run in _runs(chart.values) if len(run) == 1]
    out.append(Circle(*point(present[-1][0]), r, STYLES["neutral"].colour))
    out.append(Text(width - pad, height / 2 + s * 0.35, label, s, "end"))
    return out


_LAYOUTS = {BarChart: _bar, LineChart: _line, StackedBar: _stacked, Sparkline: _sparkline}


def layout(chart: Chart, width: float, height: float) -> list[Primitive]:
    """The primitives that draw ``chart`` in a ``width`` × ``height`` box, in paint order."""
    if width <= 0 or height <= 0:
        raise ValueError("a chart needs a positive width and height")
    return _LAYOUTS[type(chart)](chart, float(width), float(height))


# -- text alternatives --------------------------------------------------------------------

def table_rows(chart: Chart) -> list[tuple[str, ...]]:
    """The chart's data as text rows for a table under it, formatted as on the chart:
    bar (category, value); line (x label, one value per series); stacked (label,
    count, share); sparkline (position, value). Gaps read ``empty_text``."""
    def show(v: float | None) -> str:
        return chart.empty_text if v is None else fmt(v)

    if isinstance(chart, BarChart):
        labels = chart.value_labels or [fmt(v) for v in chart.values]
        return list(zip(chart.categories, labels, strict=True))
    if isinstance(chart, LineChart):
        return [(x, *(show(s.values[i]) for s in chart.series))
                for i, x in enumerate(chart.x_labels)]
    if isinstance(chart, StackedBar):
        total = sum(x.value for x in chart.segments)
        return [(x.label, fmt(x.value), pct(x.value, total)) for x in chart.segments]
    return [(str(i + 1), show(v)) for i, v in enumerate(chart.values)]


def describe(chart: Chart) -> str:
    """A plain-text summary of all the data (the SVG's <desc>)."""
    if not has_data(chart):
        return chart.empty_text
    rows = table_rows(chart)
    if isinstance(chart, StackedBar):
        return "; ".join(f"{label}: {share} ({count})" for label, count, share in rows)
    if isinstance(chart, Sparkline):
        return ", ".join(v for _, v in rows)
    if isinstance(chart, BarChart):
        text = "; ".join(f"{c}: {v}" for c, v in rows)
    else:
        text = "; ".join(f"{s.name}: " + ", ".join(f"{row[0]} {row[j + 1]}" for row in rows)
                         for j, s in enumerate(chart.series))
    return f"{chart.y_label} — {text}" if chart.y_label else text
