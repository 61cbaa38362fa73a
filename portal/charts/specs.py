"""Chart specifications (plain data) and the named styles they refer to.

A spec says *what* to draw; :func:`portal.charts.layout.layout` decides *where*.
Styles never rely on colour alone: band styles carry a hatch, line styles a dash
pattern and a marker shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

INK = "#1b1f24"  # text and axes: 16.6:1 on white
MUTED = "#57606a"  # empty-chart frame: 6.4:1
GRID = "#d0d7de"  # decorative grid lines only
PAPER = "#ffffff"


@dataclass(frozen=True)
class Style:
    colour: str  # every colour has at least 3:1 contrast against white
    outline: str | None = None
    hatch: str = ""  # "", "diagonal" or "horizontal"
    dash: tuple[float, ...] = ()
    marker: str = "circle"  # "circle", "square" or "triangle"


STYLES: dict[str, Style] = {
    "band-red": Style("#a4161a", hatch="diagonal", marker="triangle"),
    "band-yellow": Style("#b7791f", outline="#7a4e10", hatch="horizontal", marker="square"),
    "band-green": Style("#1d6b36"),
    "neutral": Style("#0b5394"),
    "line-1": Style("#0b5394"),
    "line-2": Style("#6b3fa0", dash=(7, 3), marker="square"),
    "line-3": Style("#4a5360", dash=(2, 2.5), marker="triangle"),
}
BAND_STYLES = {"red": "band-red", "yellow": "band-yellow", "green": "band-green"}


def _numbers(values: list) -> list:
    """Plain floats (scores may arrive as Decimal or int); None stays a gap."""
    return [None if v is None else float(v) for v in values]


def _check_styles(styles: list[str]) -> None:
    unknown = sorted(set(styles) - STYLES.keys())
    if unknown:
        raise ValueError(f"unknown chart style(s): {', '.join(unknown)}")


def _check_length(name: str, items: list | None, expected: int) -> None:
    if items is not None and len(items) != expected:
        raise ValueError(f"{name} has {len(items)} items, expected {expected}")


@dataclass
class BarChart:
    title: str
    categories: list[str]
    values: list[float]
    styles: list[str] | None = None  # one per bar; default "neutral"
    y_label: str = ""
    value_labels: list[str] | None = None  # shown on the bars instead of the numbers
    y_max: float | None = None
    empty_text: str = "No data"

    def __post_init__(self) -> None:
        self.values = _numbers(self.values)
        _check_length("values", self.values, len(self.categories))
        _check_length("styles", self.styles, len(self.categories))
        _check_length("value_labels", self.value_labels, len(self.categories))
        _check_styles(self.styles or [])
        if any(v < 0 for v in self.values):
            raise ValueError("bar values must not be negative")
        if self.y_max is not None and self.y_max <= 0:
            raise ValueError("y_max must be positive")


@dataclass
class Series:
    name: str
    values: list[float | None]  # None = no value: the line breaks there
    style: str = "line-1"

    def __post_init__(self) -> None:
        self.values = _numbers(self.values)
        _check_styles([self.style])


@dataclass
class LineChart:
    title: str
    x_labels: list[str]
    series: list[Series] = field(default_factory=list)
    y_label: str = ""
    y_min: float = 0
    y_max: float | None = None
    empty_text: str = "No data"

    def __post_init__(self) -> None:
        for s in self.series:
            _check_length(f"series {s.name!r}", s.values, len(self.x_labels))
        if self.y_max is not None and self.y_max <= self.y_min:
            raise ValueError("y_max must be greater than y_min")


@dataclass
class Segment:
    label: str
    value: float  # a count; shown as a share of the total and as the count
    style: str

    def __post_init__(self) -> None:
        self.value = float(self.value)
        _check_styles([self.style])
        if self.value < 0:
            raise ValueError("segment values must not be negative")


@dataclass
class StackedBar:
    """One horizontal bar split into segments that add up to 100 %."""

    title: str
    segments: list[Segment]
    empty_text: str = "No data"


@dataclass
class Sparkline:
    title: str
    values: list[float | None]
    y_min: float = 0
    y_max: float = 100
    empty_text: str = "No data"

    def __post_init__(self) -> None:
        self.values = _numbers(self.values)
        if self.y_max <= self.y_min:
            raise ValueError("y_max must be greater than y_min")


Chart = BarChart | LineChart | StackedBar | Sparkline
