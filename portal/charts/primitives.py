"""Drawing primitives in abstract units, y pointing down (as in SVG).

The renderers translate these one to one; they know nothing about charts.
"""

from __future__ import annotations

from dataclasses import dataclass

Point = tuple[float, float]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str | None
    stroke: str | None = None
    stroke_width: float = 1


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str
    stroke_width: float = 1
    dash: tuple[float, ...] = ()


@dataclass(frozen=True)
class Polyline:
    points: tuple[Point, ...]
    stroke: str | None
    stroke_width: float = 1
    dash: tuple[float, ...] = ()
    fill: str | None = None
    closed: bool = False  # a closed polyline is a polygon


@dataclass(frozen=True)
class Circle:
    cx: float
    cy: float
    r: float
    fill: str | None
    stroke: str | None = None
    stroke_width: float = 1


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # the baseline
    text: str
    size: float
    anchor: str = "start"  # "start", "middle" or "end"
    fill: str = "#1b1f24"
    bold: bool = False


Primitive = Rect | Line | Polyline | Circle | Text
