"""Error pages: HTML in the visitor's language, JSON under /api/."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, flash, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.core.errors import ConcurrentChange, ValidationFailed
from app.extensions import db


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Please log in."),
        403: _("You do not have permission to see this page."),
        404: _("This page does not exist, or the link has expired."),
        405: _("This action is not allowed here."),
        409: _("Someone else changed this in the meantime. Please reload the page and try again."),
        413: _("The file is too large."),
        500: _("Something went wrong on our side. The error was logged; please try again later."),
    }


# The API's error renderer (app/api/errors.py), registered by create_app's register_api step.
API_ERRORS = "api_errors"


def api_answer(error: BaseException):
    """Under /api/ the API answers every error itself (problem+json); None elsewhere."""
    renderer = current_app.extensions.get(API_ERRORS)
    if renderer is not None and request.path.startswith("/api/"):
        return renderer(error)
    return None


def render_error(code: int, message: str | None = None):
    """Answer with the error in the form the client expects."""
    message = message or _messages().get(code, _messages()[500])
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(error=code, message=message), code
    return render_template("errors/error.html", code=code, message=message), code


def _same_site_referrer() -> str | None:
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def refusal(failure: ValidationFailed, code: int):
    """A rule refused an action outside a form: back to the page it came from, with the reason."""
    if request.path.startswith("/api/") or request.method == "GET":
        return render_error(code, failure.message)
    back = _same_site_referrer()
    if back is None:
        return render_error(code, failure.message)
    flash(failure.message, "danger")
    return redirect(back)


UNAVAILABLE_PAGE = Path(__file__).resolve().parent.parent / "static" / "errors" / "unavailable.html"


def database_unavailable(app: Flask, error: Exception) -> Response:
    """The database is down or hung: a static bilingual page (no template, session or query)."""
    app.logger.error("database unavailable on %s: %s", request.path, error)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone; the pool replaces it later
        app.logger.warning("rollback failed after a database outage", exc_info=True)
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        body, mimetype = '{"error": 503, "message": "database unavailable"}', "application/json"
    else:
        body, mimetype = UNAVAILABLE_PAGE.read_text(encoding="utf-8"), "text/html"
    return Response(body, 503, mimetype=mimetype, headers={"Retry-After": "30", "Cache-Control": "no-store"})


def init_error_handlers(app: Flask) -> None:
    """Register the handlers for HTTP errors, CSRF failures and unexpected exceptions."""

    def answered(handler):
        # Each handler lets the API answer its own requests first.
        def handle(error):
            response = api_answer(error)
            return response if response is not None else handler(error)

        return handle

    def csrf_error(error: CSRFError):
        return render_error(400, _("The form expired. Please reload the page and try again."))

    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        description = None
        if error.code == 400 and getattr(error, "linghang_message", None):
            description = error.linghang_message
        return render_error(error.code, description)

    def concurrent_change(failure: ConcurrentChange):
        return refusal(failure, 409)

    def validation_failed(failure: ValidationFailed):
        return refusal(failure, 400)

    def stale_data(error: StaleDataError):
        db.session.rollback()
        return refusal(ConcurrentChange(_messages()[409]), 409)

    def unexpected_error(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error on %s", request.path)
        return render_error(InternalServerError.code)

    for kind, handler in (
        (CSRFError, csrf_error), (HTTPException, http_error), (ConcurrentChange, concurrent_change),
        (ValidationFailed, validation_failed), (StaleDataError, stale_data), (Exception, unexpected_error),
    ):
        app.register_error_handler(kind, answered(handler))
    for outage in (OperationalError, DisconnectionError, PoolTimeout):
        app.register_error_handler(outage, answered(lambda error: database_unavailable(app, error)))
