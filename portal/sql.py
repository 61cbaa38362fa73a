"""Small SQL constructs that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


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
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"


class round_float(FunctionElement):  # lower case: reads like the SQL function it is
    """``round(value, digits)`` as a float on both databases."""

    type = Float()
    inherit_cache = True
    name = "round_float"


@compiles(round_float, "sqlite")
def _round_float_sqlite(element: round_float, compiler: Any, **kw: Any) -> str:
    value, digits = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"round({value}, {digits})"


@compiles(round_float, "postgresql")
def _round_float_postgresql(element: round_float, compiler: Any, **kw: Any) -> str:
    value, digits = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(round(CAST({value} AS numeric), {digits}) AS double precision)"
