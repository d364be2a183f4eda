"""Reminder offsets as people type them ("1d, 2h, 30m") and as they are stored (minutes).

Activities, hosts and the reminder planner all read them; they live here so that none of those
features has to import another to parse a duration.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _

from app.core.errors import ValidationFailed

OFFSET_UNITS = {"d": 24 * 60, "天": 24 * 60, "h": 60, "小时": 60, "时": 60, "m": 1, "min": 1, "分钟": 1, "分": 1, "": 1}
OFFSET_PART = re.compile(r"^(\d{1,6})\s*(d|h|min|m|天|小时|时|分钟|分)?$", re.IGNORECASE)


def parse_offsets(text: str | None) -> list[int]:
    """Read "1d, 2h, 30m" (or minutes: "1440, 120") as minutes before the start, largest first.

    Units: d (days), h (hours), m (minutes), also 天/小时/分钟; a number alone is minutes.
    Raise ValueError when a part cannot be read or is not between 1 minute and 60 days.
    """
    if text is None or not text.strip():
        return []
    minutes = set()
    for part in text.replace("，", ",").replace("、", ",").split(","):
        part = part.strip()
        if not part:
            continue
        match = OFFSET_PART.match(part)
        if match is None:
            raise ValueError(text)
        minutes.add(int(match.group(1)) * OFFSET_UNITS[(match.group(2) or "").lower()])
    if any(m <= 0 or m > 60 * 24 * 60 for m in minutes):
        raise ValueError(text)
    return sorted(minutes, reverse=True)


def format_offsets(text: str | None) -> str:
    """Stored minutes ("1440,120") as typed durations ("1d, 2h"); unreadable text is shown as is."""
    try:
        minutes = parse_offsets(text)
    except ValueError:
        return text or ""
    parts = []
    for m in minutes:
        if m % (24 * 60) == 0:
            parts.append(f"{m // (24 * 60)}d")
        elif m % 60 == 0:
            parts.append(f"{m // 60}h")
        else:
            parts.append(f"{m}m")
    return ", ".join(parts)


def check_offsets(text: str | None, field: str = "reminder_offsets") -> str | None:
    """Validate offsets typed by a user and return them normalised as minutes (None when empty)."""
    try:
        minutes = parse_offsets(text)
    except ValueError:
        raise ValidationFailed(
            _("Enter times before the start separated by commas, e.g. 1d, 2h, 30m "
              "(d = days, h = hours, m = minutes; a number alone is minutes; at most 60 days)."),
            field,
        ) from None
    return ",".join(str(m) for m in minutes) or None
