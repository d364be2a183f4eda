"""The events pages: monthly themes and the year plan, activities and their forms, calendar views.

Each module adds its routes to the one blueprint; importing them here is what mounts them.
"""

from __future__ import annotations

from app.events.views import activities, calendars, themes  # noqa: F401 - their routes join bp
from app.events.views.blueprint import bp

__all__ = ["bp"]
