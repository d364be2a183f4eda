"""What templates need to show activities: the colours of their kinds and statuses."""

from __future__ import annotations

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


def init_templating(app: Flask) -> None:
    """Register the activity colours as template globals (called by create_app's template step)."""
    app.jinja_env.globals.update(KIND_COLOURS=KIND_COLOURS, STATUS_COLOURS=STATUS_COLOURS)
