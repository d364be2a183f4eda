"""Authentication of /api/ requests: `Authorization: Bearer <key>`, scopes, and the per-key rate limit.

`authenticate` runs before every other before-request function (the pages' default-deny check
included): it finds the key, makes its principal the request's `current_user` (Flask-Login reads
it from `g._login_user`), counts the request against API_RATE_LIMIT in the app's Flask-Limiter
storage, and answers 401/429 itself. Session cookies are never read under /api/: the API is
exempt from CSRF, so it must not act on a browser's session.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_login import current_user
from limits import parse

from app.api.errors import ApiError, problem
from app.api.framework import keyed
from app.api.keys import USE_RECORD_INTERVAL, find_key, note_use
from app.api.models import ApiKey
from app.api.principal import ApiPrincipal
from app.core.clock import utcnow
from app.core.permissions import PUBLIC_ATTR, ROLES_ATTR
from app.core.roles import Role
from app.core.unit_of_work import unit_of_work

SCOPE_ATTR = "_linghang_api_scope"
# Flask-Login keeps the request's user here; setting it is what login_user does for a session.
LOGIN_USER = "_login_user"
LIMITER = "login_limiter"  # the app's Flask-Limiter (app/auth/throttle.py), its storage shared
WWW_AUTHENTICATE = 'Bearer realm="linghang"'


def requires(scope: str, *roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An operation needs a key with `scope`, and (when given) acting with one of `roles`."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if scope not in current_user.scopes:
                raise ApiError("scope_missing")
            if roles and not current_user.has_role(*roles):
                raise ApiError("forbidden")
            return view(*args, **kwargs)

        setattr(checked, SCOPE_ATTR, scope)
        # The pages' default-deny check lets it through once `authenticate` found the key.
        setattr(checked, ROLES_ATTR, roles or tuple(Role))
        return keyed(str(scope))(checked)

    return decorator


def open_to_all(view: Callable[..., Any]) -> Callable[..., Any]:
    """An API endpoint without a key (the description, the docs, the error codes)."""
    setattr(view, PUBLIC_ATTR, True)
    return view


def _unauthenticated(code: str = "unauthenticated") -> Response:
    return problem(code, headers={"WWW-Authenticate": WWW_AUTHENTICATE})


def _presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


def _rate_limited(key: ApiKey) -> Response | None:
    """Count the request; a 429 with Retry-After when the key is over API_RATE_LIMIT."""
    item = parse(current_app.config["API_RATE_LIMIT"])
    # By the key's hash, not its id: ids are reused when a test database is emptied.
    identity = (current_app.config["RATELIMIT_KEY_PREFIX"], "api-key", key.secret_hash)
    limiter = current_app.extensions[LIMITER]
    try:
        strategy = limiter.limiter
        allowed = strategy.hit(item, *identity)
    except Exception as error:  # noqa: BLE001 - Redis down: count in this process, do not open the door
        current_app.logger.warning("API rate limit storage failed, counting in memory: %s", error)
        strategy = current_app.extensions[LIMITER + "_fallback"]
        allowed = strategy.hit(item, *identity)
    if allowed:
        return None
    reset_at = strategy.get_window_stats(item, *identity).reset_time
    wait = max(1, math.ceil(reset_at - time.time()))
    return problem("rate_limited", headers={"Retry-After": str(wait)})


def authenticate() -> Response | None:
    """Find the request's key (for API views that need one); answer 401 or 429 when it must stop."""
    if not request.path.startswith("/api/") or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, SCOPE_ATTR, None) is None:
        return None
    presented = _presented_key()
    key = find_key(presented) if presented else None
    if key is None:
        return _unauthenticated()
    if key.revoked_at is not None or not key.organisation.active:
        return _unauthenticated("key_revoked")
    g.api_key_id = key.id
    g.api_key_stale_use = key.last_used_at is None or key.last_used_at < utcnow() - USE_RECORD_INTERVAL
    setattr(g, LOGIN_USER, ApiPrincipal.of(key))
    return _rate_limited(key) or _unsupported_body()


BODY_METHODS = ("POST", "PUT", "PATCH")


def _unsupported_body() -> Response | None:
    """A body that is not JSON gets 415 (and not 400 for every field it seems to lack)."""
    if request.method in BODY_METHODS and (request.content_length or request.data) and not request.is_json:
        return problem("unsupported_media_type")
    return None


def record_use(response: Response) -> Response:
    """Note the key's last use after the request's own transaction ended (even a refused one)."""
    key_id = g.pop("api_key_id", None)
    if key_id is not None and response.status_code != 429 and g.pop("api_key_stale_use", True):
        try:
            with unit_of_work():
                note_use(key_id, utcnow())
        except Exception:  # noqa: BLE001 - bookkeeping must not turn an answer into an error
            current_app.logger.warning("could not note the use of API key %s", key_id, exc_info=True)
    return response


def init_auth(app: Flask) -> None:
    """Authenticate API requests before anything else looks at the user; note each key's use."""
    app.before_request_funcs.setdefault(None, []).insert(0, authenticate)
    app.after_request(record_use)
