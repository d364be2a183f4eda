"""Wiring of calendar replies: `register(app)`, called by create_app's register_features."""

from __future__ import annotations

from flask import Flask

from app.replies.services import proposals


def register(app: Flask) -> None:
    """Give templates the new times invitees proposed from their calendars (activity and invitation pages)."""
    app.add_template_global(proposals, "calendar_proposals")
