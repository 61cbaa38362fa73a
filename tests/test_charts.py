"""Charts: one layout drawn as inline SVG for the console and as a ReportLab
drawing for the PDF reports, with text alternatives for every chart."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from reportlab.graphics import renderPDF
from reportlab.graphics.shapes import Drawing

from portal.charts import (
    BAND_STYLES,
    STYLES,
    BarChart,
    Line,
    LineChart,
    Polyline,
    Rect,
    Segment,
    Series,
    Sparkline,
    StackedBar,
    Text,
    describe,
    layout,
    render_svg,
    table_rows,
    to_drawing,
)
from portal.charts.layout import nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"
BANDS = ["0–24", "25–49", "50–74", "75–100"]


def score_bars(**kwargs) -> BarChart:
    values = kwargs.pop("values", [12, 30, 41, 7])
    return BarChart("Score distribution", BANDS, values,
                    styles=[BAND_STYLES[b] for b in ("red", "red", "yellow", "green")],
                    y_label="Residents", **kwargs)


def trend() -> LineChart:
    return LineChart("Average score", ["Jan", "Feb", "Mar", "Apr", "May"], [
        Series("Library", [70, 72, None, 68, 66], "line-1"),
        Series("Sports", [55, 54, 52, 50, 49], "line-2"),
    ], y_label="Score", y_max=100)


def bands() -> StackedBar:
    return StackedBar("Residents by band", [
        Segment("At risk", 120, "band-red"), Segment("Watch", 240, "band-yellow"),
        Segment("Healthy", 400, "band-green")])


def japanese() -> list:
    return [
        BarChart("サービス別の利用者数", ["図書館", "スポーツ施設"], [1234, 567],
                 value_labels=["1,234人", "567人"], y_label="利用者数"),
        LineChart("月別の利用件数", ["1月", "2月", "3月"],
                  [Series("図書館", [1, 2, 3]), Series("体育館", [3, None, 1], "line-3")]),
        StackedBar("バンド別の住民", [Segment("赤（要注意）", 3, "band-red"),
                                      Segment("緑", 9, "band-green")]),
        Sparkline("図書館のスコア", [40, 55, None, 61]),
    ]


def every_chart() -> list:
    return [score_bars(), trend(), bands(), Sparkline("Trend", [40, 55, None, 61, 70]),
            *japanese()]


def parse(chart, **kwargs) -> tuple[str, ET.Element]:
    markup = str(render_svg(chart, **kwargs))
    return markup, ET.fromstring(markup)  # noqa: S314 - our own markup


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


@pytest.mark.parametrize("chart", every_chart(), ids=lambda c: type(c).__name__)
def test_layout_is_deterministic_and_stays_inside_the_box(chart):
    first = layout(chart, 640, 260)
    assert first == layout(chart, 640, 260)
    for p in first:
        if isinstance(p, Rect):
            assert p.x >= 0 and p.y >= 0 and p.x + p.w <= 640 and p.y + p.h <= 260
        if isinstance(p, Text):
            assert 0 <= p.x <= 640 and 0 < p.y <= 260


@pytest.mark.parametrize("chart", every_chart(), ids=lambda c: type(c).__name__)
def test_svg_is_an_accessible_image_without_inline_style_or_script(chart):
    markup, root = parse(chart, id_prefix="c7")
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("viewBox") == "0 0 640 260"
    assert root.get("aria-labelledby") == "c7-title c7-desc"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert (title.get("id"), title.text) == ("c7-title", chart.title)
    assert (desc.get("id"), desc.text) == ("c7-desc", describe(chart))
    assert "style=" not in markup
    assert "<script" not in markup


def test_bar_chart_shows_value_labels_ticks_and_categories():
    _, root = parse(score_bars(value_labels=["12 (13%)", "30", "41", "7"]))
    shown = texts(root)
    assert {"12 (13%)", "30", "41", "7", *BANDS, "Residents", "Score distribution"} <= set(shown)
    assert "50" in shown  # y_max None: the axis ends at a nice number above 41


def test_band_red_bars_are_hatched_and_green_bars_are_solid():
    prims = layout(score_bars(), 640, 260)
    bars = {p.fill: p for p in prims if isinstance(p, Rect) and p.fill}
    red, green = bars[STYLES["band-red"].colour], bars[STYLES["band-green"].colour]

    def inside(line: Line, bar: Rect) -> bool:
        return all(bar.x - 1e-6 <= x <= bar.x + bar.w + 1e-6 for x in (line.x1, line.x2)) and \
            all(bar.y - 1e-6 <= y <= bar.y + bar.h + 1e-6 for y in (line.y1, line.y2))

    hatch = [p for p in prims if isinstance(p, Line) and p.stroke == "#ffffff"]
    on_red = [h for h in hatch if inside(h, red)]
    assert len(on_red) >= 3
    assert all(math.isclose(h.x2 - h.x1, h.y1 - h.y2) for h in on_red)  # 45° diagonals
    assert not [h for h in hatch if inside(h, green)]
    yellow = bars[STYLES["band-yellow"].colour]
    assert all(h.y1 == h.y2 for h in hatch if inside(h, yellow))  # horizontal lines
    markup = str(render_svg(score_bars()))
    assert "<pattern" not in markup and markup.count('stroke="#ffffff"') >= len(hatch)


def test_line_chart_has_a_legend_and_differs_by_dash_and_marker():
    chart = trend()
    _, root = parse(chart)
    assert {"Library", "Sports", "Jan", "May", "100", "Score"} <= set(texts(root))
    prims = layout(chart, 640, 260)
    lines = [p for p in prims if isinstance(p, Polyline) and not p.closed]
    assert {p.dash for p in lines} == {(), STYLES["line-2"].dash}
    assert root.findall(f"{SVG}circle") and root.findall(f"{SVG}rect")  # circle and square
    single = LineChart("One", ["a", "b"], [Series("Only", [1, 2])])
    assert "Only" not in texts(parse(single)[1])  # no legend for a single series


def test_none_gaps_break_the_line_into_separate_polylines():
    chart = LineChart("Gaps", list("abcdefg"), [Series("s", [1, 2, None, 4, 5, None, 7])])
    lines = [p for p in layout(chart, 640, 260) if isinstance(p, Polyline)]
    assert [len(p.points) for p in lines] == [2, 2]  # the lone 7 gets a marker only
    root = parse(chart)[1]
    assert len(root.findall(f"{SVG}polyline")) == 2
    assert "c No data" in describe(chart)
    spark = Sparkline("Spark", [1, 2, None, 4, 5])
    assert len([p for p in layout(spark, 120, 30) if isinstance(p, Polyline)]) == 2


def test_stacked_bar_shows_shares_counts_and_a_legend():
    _, root = parse(bands(), height=120)
    shown = texts(root)
    assert {"16% (120)", "32% (240)", "53% (400)", "At risk", "Watch", "Healthy"} <= set(shown)
    assert describe(bands()) == "At risk: 16% (120); Watch: 32% (240); Healthy: 53% (400)"


def test_labels_that_do_not_fit_are_hidden_but_described():
    chart = StackedBar("Bands", [Segment("Tiny", 1, "band-red"),
                                 Segment("Huge", 999, "band-green")])
    shown = texts(parse(chart, height=120)[1])
    assert "Tiny" in shown and not [t for t in shown if t.startswith("<1%")]
    assert "Tiny: <1% (1)" in describe(chart)


def test_long_category_labels_are_shortened_but_kept_in_full_in_the_description():
    names = [f"A very long service name number {i}" for i in range(12)]
    chart = BarChart("Uses", names, list(range(1, 13)))
    shown = texts(parse(chart)[1])
    cut = [t for t in shown if t.endswith("…")]
    assert len(cut) == 12 and all(names[0].startswith(t[:-1]) for t in cut)
    assert all(name in describe(chart) for name in names)


def test_japanese_text_is_escaped_and_present():
    chart = BarChart("図書館 <貸出> & 返却", ["図書館 <本>", "体育館"], [3, 5],
                     value_labels=["3件", "5件"])
    markup, root = parse(chart)
    assert "図書館 &lt;貸出&gt; &amp; 返却" in markup and "&lt;本&gt;" in markup
    assert root.find(f"{SVG}title").text == "図書館 <貸出> & 返却"
    assert {"図書館 <本>", "体育館", "3件", "5件"} <= set(texts(root))


@pytest.mark.parametrize("chart", [
    BarChart("Empty", [], []),
    BarChart("Zero", ["a", "b"], [0, 0]),
    LineChart("Empty", [], []),
    LineChart("Gaps only", ["a", "b"], [Series("s", [None, None])]),
    StackedBar("Empty", []),
    StackedBar("Zero", [Segment("Red", 0, "band-red")]),
    Sparkline("Empty", []),
    Sparkline("Gaps only", [None]),
], ids=lambda c: f"{type(c).__name__}-{c.title}")
def test_empty_data_draws_an_empty_chart_saying_no_data(chart):
    assert "No data" in texts(parse(chart)[1])
    assert describe(chart) == "No data"
    assert renderPDF.drawToString(to_drawing(chart)).startswith(b"%PDF")


def test_empty_text_is_the_callers_translation():
    chart = BarChart("利用者数", [], [], empty_text="データがありません")
    assert "データがありません" in texts(parse(chart)[1])


@pytest.mark.parametrize("chart", every_chart(), ids=lambda c: type(c).__name__)
def test_to_drawing_renders_a_pdf(chart):
    drawing = to_drawing(chart)
    assert isinstance(drawing, Drawing) and (drawing.width, drawing.height) == (480, 200)
    pdf = renderPDF.drawToString(drawing)
    assert pdf.startswith(b"%PDF")
    if any(ord(ch) > 0x3000 for ch in chart.title) and not isinstance(chart, Sparkline):
        assert b"HeiseiKakuGo-W5" in pdf


def test_svg_and_pdf_draw_the_same_primitives():
    chart = score_bars()
    drawing = to_drawing(chart, 640, 260)
    assert len(drawing.contents) == len(layout(chart, 640, 260))


def test_describe_and_table_rows_list_every_value():
    assert describe(score_bars()) == "Residents — 0–24: 12; 25–49: 30; 50–74: 41; 75–100: 7"
    assert describe(trend()) == ("Score — Library: Jan 70, Feb 72, Mar No data, Apr 68, May 66; "
                                 "Sports: Jan 55, Feb 54, Mar 52, Apr 50, May 49")
    assert describe(Sparkline("s", [1.5, None, 1234])) == "1.5, No data, 1,234"
    assert table_rows(trend())[2] == ("Mar", "No data", "52")
    assert table_rows(bands())[0] == ("At risk", "120", "16%")
    assert table_rows(score_bars(value_labels=["a", "b", "c", "d"]))[3] == ("75–100", "d")


def test_decimal_and_int_values_are_drawn_like_floats():
    chart = BarChart("Mean", ["a", "b"], [Decimal("72.50"), 3])
    assert describe(chart) == "a: 72.5; b: 3"
    assert renderPDF.drawToString(to_drawing(chart)).startswith(b"%PDF")
    bands = StackedBar("Bands", [Segment("Red", Decimal(2), "band-red"),
                                 Segment("Green", 6, "band-green")])
    assert "25% (2)" in texts(parse(bands, height=120)[1])
    assert layout(LineChart("x", ["a"], [Series("s", [Decimal("1.5")])]), 640, 260)


def test_nice_rounded_maximum():
    assert [nice_ceiling(v) for v in (0, 0.3, 1, 7, 12, 41, 100, 101, 4500)] == \
        [1, 0.5, 1, 10, 20, 50, 100, 200, 5000]


@pytest.mark.parametrize("make", [
    lambda: BarChart("x", ["a", "b"], [1]),
    lambda: BarChart("x", ["a"], [1], styles=["pink"]),
    lambda: BarChart("x", ["a"], [-1]),
    lambda: BarChart("x", ["a"], [1], value_labels=[]),
    lambda: LineChart("x", ["a", "b"], [Series("s", [1])]),
    lambda: LineChart("x", ["a"], [], y_min=10, y_max=5),
    lambda: Series("s", [1], style="dotted"),
    lambda: Segment("s", -3, "band-red"),
    lambda: Sparkline("x", [1], y_min=5, y_max=5),
    lambda: render_svg(score_bars(), id_prefix='x" onload="alert(1)'),
    lambda: layout(score_bars(), 0, 100),
])
def test_bad_input_is_refused(make):
    with pytest.raises(ValueError):
        make()


def test_ids_follow_the_prefix_so_two_charts_can_share_a_page():
    one, two = str(render_svg(trend(), id_prefix="a")), str(render_svg(trend(), id_prefix="b"))
    assert 'id="a-title"' in one and 'id="b-desc"' in two


@pytest.mark.parametrize("chart", [c for c in every_chart() if not isinstance(c, Sparkline)],
                         ids=lambda c: type(c).__name__)
@pytest.mark.parametrize("size", [(500, 120), (500, 260), (640, 260)])
def test_chart_text_is_at_least_11(chart, size):
    """At the console's drawing width (and wider) no text is smaller than 11 units,
    which the stylesheet keeps at 11 px or more on screen."""
    sizes = [p.size for p in layout(chart, *size) if isinstance(p, Text)]
    assert sizes and min(sizes) >= 11
