"""Error pages: HTML in the visitor's language, JSON under /api/."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Please log in."),
        403: _("You do not have permission to see this page."),
        404: _("This page does not exist, or the link has expired."),
        405: _("This action is not allowed here."),
        413: _("The file is too large."),
        500: _("Something went wrong on our side. The error was logged; please try again later."),
    }


def render_error(code: int, message: str | None = None):
    """Answer with the error in the form the client expects."""
    message = message or _messages().get(code, _messages()[500])
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(error=code, message=message), code
    return render_template("errors/error.html", code=code, message=message), code


def init_error_handlers(app: Flask) -> None:
    """Register the handlers for HTTP errors, CSRF failures and unexpected exceptions."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(400, _("The form expired. Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        description = None
        if error.code == 400 and getattr(error, "linghang_message", None):
            description = error.linghang_message
        return render_error(error.code, description)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error on %s", request.path)
        return render_error(InternalServerError.code)
