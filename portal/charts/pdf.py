"""ReportLab renderer: the same primitives as a ``Drawing`` for PDF reports.

Layout uses y pointing down; ReportLab points up, so every y is flipped. Characters
Helvetica cannot encode (Japanese) are drawn in the built-in CID font HeiseiKakuGo-W5
(no font file needed); the Latin runs of mixed text stay in Helvetica.
"""

from __future__ import annotations

from functools import cache
from itertools import groupby

from reportlab.graphics import shapes
from reportlab.lib.colors import HexColor
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont

from portal.charts.layout import layout
from portal.charts.primitives import Circle, Line, Polyline, Primitive, Rect, Text
from portal.charts.specs import Chart

CJK_FONT = "HeiseiKakuGo-W5"


@cache
def _cjk_font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    return CJK_FONT


def _latin(ch: str) -> bool:
    try:
        ch.encode("cp1252")  # what the standard Helvetica can draw
    except UnicodeEncodeError:
        return False
    return True


def _text(p: Text, height: float) -> shapes.Group:
    """One String per run of Latin or CJK text, placed by the anchor."""
    runs = []
    for latin, chars in groupby(p.text, _latin):
        font = ("Helvetica-Bold" if p.bold else "Helvetica") if latin else _cjk_font()
        chunk = "".join(chars)
        runs.append((chunk, font, pdfmetrics.stringWidth(chunk, font, p.size)))
    total = sum(w for _, _, w in runs)
    x = p.x - {"start": 0, "middle": total / 2, "end": total}[p.anchor]
    group = shapes.Group()
    for chunk, font, w in runs:
        group.add(shapes.String(x, height - p.y, chunk, fontName=font, fontSize=p.size,
                                fillColor=HexColor(p.fill)))
        x += w
    return group


def _colour(value: str | None) -> HexColor | None:
    return HexColor(value) if value else None


def _shape(p: Primitive, height: float) -> shapes.Shape | shapes.Group:
    match p:
        case Rect():
            return shapes.Rect(p.x, height - p.y - p.h, p.w, p.h, fillColor=_colour(p.fill),
                               strokeColor=_colour(p.stroke) if p.stroke_width else None,
                               strokeWidth=p.stroke_width)
        case Line():
            return shapes.Line(p.x1, height - p.y1, p.x2, height - p.y2,
                               strokeColor=_colour(p.stroke), strokeWidth=p.stroke_width,
                               strokeDashArray=list(p.dash) or None)
        case Polyline():
            points = [c for x, y in p.points for c in (x, height - y)]
            kind = shapes.Polygon if p.closed else shapes.PolyLine
            shape = kind(points, strokeColor=_colour(p.stroke), strokeWidth=p.stroke_width,
                         strokeDashArray=list(p.dash) or None, strokeLineJoin=1)
            if p.closed:
                shape.fillColor = _colour(p.fill)
            return shape
        case Circle():
            return shapes.Circle(p.cx, height - p.cy, p.r, fillColor=_colour(p.fill),
                                 strokeColor=_colour(p.stroke), strokeWidth=p.stroke_width)
        case Text():
            return _text(p, height)
    raise TypeError(f"not a chart primitive: {p!r}")


def to_drawing(chart: Chart, width: float = 480, height: float = 200) -> shapes.Drawing:
    """``chart`` as a ReportLab ``Drawing`` (a flowable for platypus reports)."""
    drawing = shapes.Drawing(width, height)
    for p in layout(chart, width, height):
        drawing.add(_shape(p, height))
    return drawing
