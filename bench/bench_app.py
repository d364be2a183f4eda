"""The app plus two endpoints that exist only for benchmarks (never registered in production).

- /bench/rebuild/<token>.ics: what most event systems do, the calendar rebuilt on every request
  (same token check, same builder, same ETag/304 rules, no version key, no cache).
- /bench/constant: a trivial endpoint returning a constant string, the ceiling of the stack.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort

from app import create_app
from app.auth.access import public
from app.core.clock import utcnow
from app.feeds import services
from app.feeds.rendering import render_feed
from app.feeds.views import calendar_response


def create_bench_app() -> Flask:
    """create_app() with the two benchmark endpoints."""
    app = create_app()
    bp = Blueprint("bench", __name__)

    @bp.get("/bench/rebuild/<token>.ics")
    @public
    def rebuild(token: str):
        """Baseline: rebuild the whole calendar on every poll."""
        row = services.find_token(token)
        if row is None:
            abort(404)
        now = utcnow()
        return calendar_response(render_feed(services.scope_of_token(row), now), now=now)

    @bp.get("/bench/constant")
    @public
    def constant():
        """Baseline: the cheapest possible answer."""
        return Response("ok", mimetype="text/plain")

    app.register_blueprint(bp)
    return app
