"""The one place that reads the wall clock, so services can take `now` as an argument."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

ONE_DAY = timedelta(days=1)


def utcnow() -> datetime:
    """Return the current time as a tz-aware UTC datetime."""
    return datetime.now(UTC)


def display_zone() -> ZoneInfo:
    """Return the configured display time zone (Asia/Shanghai by default)."""
    name = current_app.config["DISPLAY_TIMEZONE"] if has_app_context() else "Asia/Shanghai"
    return ZoneInfo(name)


def to_local(value: datetime) -> datetime:
    """Convert an aware datetime to the display time zone."""
    return value.astimezone(display_zone())


def local_to_utc(value: datetime) -> datetime:
    """Read a naive wall-clock time as display-zone time and return it in UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=display_zone())
    return value.astimezone(UTC)


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return the UTC instants at which a display-zone day starts and the next begins.

    A day next to date.min or date.max is moved one day inward, so the arithmetic cannot overflow.
    """
    day = min(max(day, date.min + ONE_DAY), date.max - ONE_DAY)
    start = datetime.combine(day, time.min, tzinfo=display_zone())
    return start.astimezone(UTC), (start + ONE_DAY).astimezone(UTC)


def local_today() -> date:
    """Return today's date in the display time zone."""
    return utcnow().astimezone(display_zone()).date()
