"""`/r/<code>`: a short link redirects to its target, says when it has expired, and is 404 otherwise."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template

from app.auth.access import public
from app.core.clock import utcnow
from app.shortlinks import services, throttle

bp = Blueprint("shortlinks", __name__)


@bp.route("/r/<code>")
@public
def follow(code: str):
    """Open a short link."""
    if not throttle.may_try():
        return render_template("shortlinks/throttled.html"), 429
    followed = services.follow(code, utcnow())
    if followed is None:
        throttle.count_miss()
        abort(404)
    if followed.expired:
        return render_template("shortlinks/expired.html"), 410
    response = redirect(followed.target, code=302)
    # The redirect must not outlive the link in a browser's or proxy's cache.
    response.headers["Cache-Control"] = "no-store"
    return response
