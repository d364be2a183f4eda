"""Role checks on views: default-deny log-in is enforced by auth; these mark what each view allows.

They live in core, below every feature, so that the features auth itself depends on (orgs,
audit) can protect their pages without importing auth.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user

from app.core.roles import Role
from app.extensions import login_manager

PUBLIC_ATTR = "_linghang_public"
ROLES_ATTR = "_linghang_roles"


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as open to anonymous visitors (log-in page, answer links, feeds, health)."""
    setattr(view, PUBLIC_ATTR, True)
    return view


def roles_required(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allow a view to logged-in accounts with one of the roles; admins always pass."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role != Role.admin and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        setattr(wrapped, ROLES_ATTR, roles)
        return wrapped

    return decorator


def any_role(view: Callable[..., Any]) -> Callable[..., Any]:
    """Allow a view to every logged-in account (it scopes its own data)."""
    return roles_required(*Role)(view)
