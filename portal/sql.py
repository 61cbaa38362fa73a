"""Small SQL constructs that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.functions import FunctionElement

from portal.db_types import UTCDateTime


class days_between(FunctionElement):  # lower case: reads like the SQL function it is
    """``later - earlier`` in days (fractional), for two timestamps."""

    type = Float()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(julianday({later}) - julianday({earlier}))"


@compiles(days_between, "postgresql")
def _days_between_postgresql(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    # EXTRACT gives numeric, whose arithmetic is several times slower than float's
    return f"(CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS double precision) / 86400.0)"


class round_float(FunctionElement):  # lower case: reads like the SQL function it is
    """``value`` rounded half up to ``digits`` decimals (a Python int), in float
    arithmetic that gives the same double on SQLite and PostgreSQL. For values ≥ 0
    (negative ones would round towards zero). Rounding through ``numeric``, as
    PostgreSQL's two-argument ``round`` needs, costs microseconds a row."""

    type = Float()
    inherit_cache = True
    name = "round_float"

    def __init__(self, value: Any, digits: int) -> None:
        # the scale is written into the SQL (and so into its cache key)
        super().__init__(value, literal_column(f"{10 ** int(digits)}.0"))


@compiles(round_float, "sqlite")
def _round_float_sqlite(element: round_float, compiler: Any, **kw: Any) -> str:
    value, scale = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(CAST(({value}) * {scale} + 0.5 AS INTEGER) / {scale})"


@compiles(round_float, "postgresql")
def _round_float_postgresql(element: round_float, compiler: Any, **kw: Any) -> str:
    value, scale = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(trunc(({value}) * {scale} + 0.5) / {scale})"


class CreateTableAs(Executable, ClauseElement):
    """``CREATE TABLE name AS query``: on PostgreSQL it may run in parallel, which
    INSERT … SELECT may not."""

    inherit_cache = False

    def __init__(self, name: str, query: Any) -> None:
        self.name, self.query = name, query


@compiles(CreateTableAs)
def _create_table_as(element: CreateTableAs, compiler: Any, **kw: Any) -> str:
    name = compiler.preparer.quote(element.name)
    return f"CREATE TABLE {name} AS {compiler.process(element.query, **kw)}"


class whole_days(FunctionElement):  # lower case: reads like the SQL function it is
    """A non-negative number of days truncated to whole days (as a float)."""

    type = Float()
    inherit_cache = True
    name = "whole_days"


@compiles(whole_days, "sqlite")
def _whole_days_sqlite(element: whole_days, compiler: Any, **kw: Any) -> str:
    return f"CAST(CAST({compiler.process(element.clauses, **kw)} AS INTEGER) AS REAL)"


@compiles(whole_days, "postgresql")
def _whole_days_postgresql(element: whole_days, compiler: Any, **kw: Any) -> str:
    return f"trunc({compiler.process(element.clauses, **kw)})"


class days_since_day(FunctionElement):  # lower case: reads like the SQL function it is
    """Whole days from a date column to a later date (``today``, a Python date)."""

    type = Float()
    inherit_cache = True
    name = "days_since_day"


@compiles(days_since_day, "sqlite")
def _days_since_day_sqlite(element: days_since_day, compiler: Any, **kw: Any) -> str:
    today, day = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(julianday({today}) - julianday({day}))"


@compiles(days_since_day, "postgresql")
def _days_since_day_postgresql(element: days_since_day, compiler: Any, **kw: Any) -> str:
    today, day = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(CAST({today} AS date) - {day} AS double precision)"


class plus_days(FunctionElement):  # lower case: reads like the SQL function it is
    """A timestamp column plus a whole number of days (24 hours each), as stored."""

    type = UTCDateTime()
    inherit_cache = True
    name = "plus_days"


@compiles(plus_days, "sqlite")
def _plus_days_sqlite(element: plus_days, compiler: Any, **kw: Any) -> str:
    value, days = (compiler.process(arg, **kw) for arg in element.clauses)
    # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff": shift the seconds, keep the fraction
    return (f"(datetime({value}, '+' || ({days}) || ' days') || substr({value}, 20))")


@compiles(plus_days, "postgresql")
def _plus_days_postgresql(element: plus_days, compiler: Any, **kw: Any) -> str:
    value, days = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"({value} + ({days}) * interval '24 hours')"
