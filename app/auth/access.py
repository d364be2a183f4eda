"""Who may see what: default-deny log-in, role checks, and JSON answers under /api/."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth.models import Role
from app.auth.services import guard_person_change
from app.auth.sessions import install_session_revocation, session_user
from app.core.permissions import PUBLIC_ATTR, ROLES_ATTR, any_role, public, roles_required
from app.extensions import login_manager
from app.orgs.services import add_person_guard

__all__ = ["ROLES_ATTR", "any_role", "configure_login", "public", "roles_required"]


def require_login_by_default() -> Any:
    """Refuse anonymous access to every endpoint not marked public."""
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    if view is None or getattr(view, PUBLIC_ATTR, False):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def unauthorized() -> Any:
    """Anonymous visitors: JSON 401 under /api/, otherwise the log-in page."""
    if request.path.startswith("/api/"):
        return jsonify(error="unauthorized", message=str(_l("Please log in."))), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def configure_login(app: Flask) -> None:
    """Wire Flask-Login and the default-deny check into the app; templates get `Role`."""
    login_manager.init_app(app)
    login_manager.user_loader(session_user)
    login_manager.unauthorized_handler(unauthorized)
    login_manager.session_protection = "strong"
    app.before_request(require_login_by_default)
    install_session_revocation()
    add_person_guard(app, guard_person_change)
    # Navigation and pages test the visitor's role (Role.admin …); auth owns the enum.
    app.jinja_env.globals["Role"] = Role
