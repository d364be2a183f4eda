"""The invitations blueprint with every page: answer pages (views), the organiser's invitation page
(manage_views) and check-in (checkin_views). create_app registers `bp` from here, so that the
modules whose routes join it are imported before it is registered."""

from __future__ import annotations

from app.invitations import checkin_views, manage_views
from app.invitations.views import bp

ROUTE_MODULES = (manage_views, checkin_views)  # imported for the routes they add to bp

__all__ = ["ROUTE_MODULES", "bp"]
