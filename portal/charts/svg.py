"""SVG renderer: primitives to inline SVG markup, with a title and a full text
description for assistive technology. Presentation attributes only (the CSP
forbids inline styles), every text escaped."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from portal.charts.layout import describe, layout
from portal.charts.primitives import Circle, Line, Polyline, Primitive, Rect, Text
from portal.charts.specs import Chart

FONT = "'Noto Sans JP', 'Hiragino Sans', 'Yu Gothic', Meiryo, system-ui, sans-serif"
_ID = re.compile(r"[A-Za-z][\w-]*")


def _n(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _paint(fill: str | None, stroke: str | None, width: float = 1,
           dash: tuple[float, ...] = ()) -> str:
    attrs = f'fill="{fill or "none"}"'
    if stroke and width:
        attrs += f' stroke="{stroke}" stroke-width="{_n(width)}"'
    if dash:
        attrs += f' stroke-dasharray="{" ".join(_n(d) for d in dash)}"'
    return attrs


def _element(p: Primitive) -> str:
    match p:
        case Rect():
            return (f'<rect x="{_n(p.x)}" y="{_n(p.y)}" width="{_n(p.w)}" height="{_n(p.h)}" '
                    f'{_paint(p.fill, p.stroke, p.stroke_width)}/>')
        case Line():
            return (f'<line x1="{_n(p.x1)}" y1="{_n(p.y1)}" x2="{_n(p.x2)}" y2="{_n(p.y2)}" '
                    f'{_paint(None, p.stroke, p.stroke_width, p.dash)}/>')
        case Polyline():
            tag = "polygon" if p.closed else "polyline"
            points = " ".join(f"{_n(x)},{_n(y)}" for x, y in p.points)
            return (f'<{tag} points="{points}" stroke-linejoin="round" '
                    f'{_paint(p.fill, p.stroke, p.stroke_width, p.dash)}/>')
        case Circle():
            return (f'<circle cx="{_n(p.cx)}" cy="{_n(p.cy)}" r="{_n(p.r)}" '
                    f'{_paint(p.fill, p.stroke, p.stroke_width)}/>')
        case Text():
            weight = ' font-weight="bold"' if p.bold else ""
            return (f'<text x="{_n(p.x)}" y="{_n(p.y)}" font-size="{_n(p.size)}" '
                    f'text-anchor="{p.anchor}" fill="{p.fill}"{weight}>{escape(p.text)}</text>')
    raise TypeError(f"not a chart primitive: {p!r}")


def render_svg(chart: Chart, width: float = 640, height: float = 260,
               id_prefix: str = "chart") -> Markup:
    """``chart`` as an inline ``<svg role="img">`` that scales to its container's width.
    ``id_prefix`` must be unique on the page (it names the title and desc ids)."""
    if not _ID.fullmatch(id_prefix):
        raise ValueError(f"id_prefix must be a plain identifier, not {id_prefix!r}")
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(width)} {_n(height)}" '
            f'width="100%" role="img" aria-labelledby="{id_prefix}-title {id_prefix}-desc" '
            f'class="chart" font-family="{FONT}">'
            f'<title id="{id_prefix}-title">{escape(chart.title)}</title>'
            f'<desc id="{id_prefix}-desc">{escape(describe(chart))}</desc>')
    body = "".join(_element(p) for p in layout(chart, width, height))
    return Markup(head + body + "</svg>")  # noqa: S704 - every text above is escaped
