"""Charts drawn on the server: one layout, two renderers.

A spec (``BarChart``, ``LineChart``, ``StackedBar``, ``Sparkline``) goes through
:func:`layout` into drawing primitives; :func:`render_svg` turns them into inline
SVG for the console, :func:`to_drawing` into a ReportLab drawing for the PDF
reports, so both show the same chart. :func:`describe` and :func:`table_rows` give
the text alternatives.
"""

from portal.charts.layout import describe, has_data, layout, table_rows
from portal.charts.pdf import to_drawing
from portal.charts.primitives import Circle, Line, Polyline, Primitive, Rect, Text
from portal.charts.specs import (
                                 BAND_STYLES,
                                 STYLES,
                                 BarChart,
                                 LineChart,
                                 Segment,
                                 Series,
                                 Sparkline,
                                 StackedBar,
)
from portal.charts.svg import render_svg

__all__ = ["BAND_STYLES", "STYLES", "BarChart", "Circle", "Line", "LineChart", "Polyline",
           "Primitive", "Rect", "Segment", "Series", "Sparkline", "StackedBar", "Text",
           "describe", "has_data", "layout", "render_svg", "table_rows", "to_drawing"]
