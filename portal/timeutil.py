"""Time helpers: everything is stored as timezone-aware UTC and shown in the
municipality's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app

#: Dates people may type or import: outside these years they are a mistake (and
#: years 1 and 9999 overflow when converted between time zones).
YEAR_MIN = 1900
YEAR_MAX = 2100


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIME_ZONE"])


def local_today() -> date:
    return utcnow().astimezone(local_zone()).date()


def local_day_start(day: date) -> datetime:
    """The UTC instant at which ``day`` begins in the municipality's time zone."""
    return datetime.combine(day, time.min, tzinfo=local_zone()).astimezone(UTC)
