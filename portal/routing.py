"""URL converters registered app-wide."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

#: The largest id of an ``INTEGER`` key on PostgreSQL (SQLite's go to 2**63 - 1): a
#: larger id names no row, and binding it fails in the database (a 500). A route
#: over a ``BIGINT`` key says so: ``<int(max=9223372036854775807):entry_id>``.
ID_MAX = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` bounded to what the database can hold: a larger number is a 404
    like any id that names nothing (instead of an OverflowError, a 500)."""

    def __init__(self, url_map: Any, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = None, signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits, min, ID_MAX if max is None else max, signed)


def init_app(app: Flask) -> None:
    """Replace ``int`` before any blueprint adds its rules (rules bind their converters
    when they are added)."""
    app.url_map.converters["int"] = IdConverter
