"""What templates need to show activities: the colours of their kinds and statuses, and a
calendar label without the date most titles start with."""

from __future__ import annotations

import re

from flask import Flask

from app.events.models import ActivityKind, ActivityStatus

# Bootstrap colour names for badges and calendar chips.
KIND_COLOURS = {
    ActivityKind.themed_day: "danger",
    ActivityKind.salon: "primary",
    ActivityKind.roundtable: "success",
    ActivityKind.afternoon_tea: "warning",
    ActivityKind.visit: "info",
}

STATUS_COLOURS = {
    ActivityStatus.draft: "secondary",
    ActivityStatus.published: "success",
    ActivityStatus.cancelled: "dark",
    ActivityStatus.completed: "primary",
}


# "2026年11月", "2026年11月5日", "11月5日", "2026-11-05", "2026/11/5", then a weekday and separators.
LEADING_DATE = re.compile(
    r"^\s*(?:(?:\d{4}\s*年\s*)?\d{1,2}\s*月(?!份)(?:\s*\d{1,2}\s*[日号])?|\d{4}[-/.]\d{1,2}(?:[-/.]\d{1,2})?)"
    r"(?:\s*[（(]?\s*(?:周|星期)[一二三四五六日天]\s*[)）]?)?[\s·:：,，、\-—]*"
)


def calendar_label(title: str) -> str:
    """The title without the date it starts with (the calendar cell already says the day)."""
    rest = LEADING_DATE.sub("", title, count=1).strip()
    return rest or title


def init_templating(app: Flask) -> None:
    """Register the activity colours as template globals (called by create_app's template step)."""
    app.jinja_env.globals.update(KIND_COLOURS=KIND_COLOURS, STATUS_COLOURS=STATUS_COLOURS)
    app.jinja_env.filters["calendar_label"] = calendar_label
