"""Every error under /api/ as RFC 9457 problem details (application/problem+json).

A problem carries `type` (a URI naming the error: /api/v1/errors#<code>), `title`, `status`,
`detail` (a translated message, in the language of Accept-Language), a stable machine `code`
integrators can branch on, and `errors` (one entry per refused field) for refused input.
app/main/errors.py hands every error of an /api/ request to `problem_for` (registered by
create_app's register_api step), so routing errors (404, 405) answer the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, json, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from app.api.messages import translated
from app.core.errors import ConcurrentChange, ValidationFailed
from app.extensions import db

PROBLEM_JSON = "application/problem+json"
ERRORS_PATH = "/api/v1/errors"


@dataclass(frozen=True)
class ErrorKind:
    """One stable error code: its status, title and default message."""

    code: str
    status: int
    title: Any
    detail: Any


KINDS = {
    kind.code: kind
    for kind in (
        ErrorKind("invalid_request", 400, _l("Invalid request"), _l("Some values of the request are not valid.")),
        ErrorKind("unauthenticated", 401, _l("Not authenticated"),
                  _l("Send a valid API key as “Authorization: Bearer <key>”.")),
        ErrorKind("key_revoked", 401, _l("API key revoked"), _l("This API key was revoked.")),
        ErrorKind("scope_missing", 403, _l("Scope missing"), _l("This API key does not have the scope needed.")),
        ErrorKind("forbidden", 403, _l("Not allowed"),
                  _l("The organisation of this API key may not do this.")),
        ErrorKind("not_found", 404, _l("Not found"), _l("There is no such resource, or this key may not see it.")),
        ErrorKind("method_not_allowed", 405, _l("Method not allowed"),
                  _l("This method is not allowed on this resource.")),
        ErrorKind("not_acceptable", 406, _l("Not acceptable"), _l("The API answers only in JSON.")),
        ErrorKind("conflict", 409, _l("Conflict"),
                  _l("Someone else changed this in the meantime. Read it again and retry.")),
        ErrorKind("precondition_failed", 412, _l("Precondition failed"),
                  _l("The resource changed since the ETag sent in If-Match. Read it again and retry.")),
        ErrorKind("payload_too_large", 413, _l("Request too large"), _l("The request body is too large.")),
        ErrorKind("unsupported_media_type", 415, _l("Unsupported media type"),
                  _l("Send the request body as application/json.")),
        ErrorKind("rule_refused", 422, _l("Refused by a rule"), _l("The request breaks a rule.")),
        ErrorKind("precondition_required", 428, _l("Precondition required"),
                  _l("Send the resource's ETag in If-Match to change it.")),
        ErrorKind("rate_limited", 429, _l("Too many requests"),
                  _l("This API key sent too many requests. Wait for the time given in Retry-After.")),
        ErrorKind("server_error", 500, _l("Server error"),
                  _l("Something went wrong on our side. The error was logged; please try again later.")),
        ErrorKind("unavailable", 503, _l("Service unavailable"),
                  _l("The database is unavailable. Please try again later.")),
    )
}
CODE_FOR_STATUS = {
    400: "invalid_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 412: "precondition_failed",
    413: "payload_too_large", 415: "unsupported_media_type", 422: "rule_refused",
    428: "precondition_required", 429: "rate_limited", 500: "server_error", 503: "unavailable",
}


class ApiError(Exception):
    """An error the API answers with a given code (and optionally its own message and headers)."""

    def __init__(
        self, code: str, detail: str | None = None, headers: dict[str, str] | None = None, field: str | None = None
    ) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.field = field


def problem(code: str, detail: str | None = None, *, errors: list[dict] | None = None,
            status: int | None = None, headers: dict[str, str] | None = None) -> Response:
    """A problem+json response for an error code."""
    kind = KINDS[code]
    body: dict[str, Any] = {
        "type": f"{ERRORS_PATH}#{code}",
        "title": str(kind.title),
        "status": status or kind.status,
        "detail": detail or str(kind.detail),
        "code": code,
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body, ensure_ascii=False), status=body["status"], mimetype=PROBLEM_JSON)
    response.headers["Cache-Control"] = "no-store"
    locale = get_locale()
    if locale is not None:
        response.headers["Content-Language"] = "-".join(filter(None, (locale.language, locale.territory)))
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _field_errors(messages: Any) -> list[dict]:
    """webargs' {location: {field: [messages]}} as [{"location", "field", "message"}]."""
    found: list[dict] = []

    def walk(location: str, path: list[str], value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(location, [*path, str(key)], inner)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            for message in value:
                found.append({"location": location, "field": ".".join(path) or None, "message": translated(message)})
        else:
            found.append({"location": location, "field": ".".join(path) or None, "message": translated(str(value))})

    for location, fields in (messages or {}).items():
        walk(str(location), [], fields)
    return found


def _http_problem(error: HTTPException) -> Response:
    status = error.code or 500
    code = CODE_FOR_STATUS.get(status, "invalid_request" if status < 500 else "server_error")
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    messages = data.get("messages") or data.get("errors")
    if messages:
        return problem("invalid_request", errors=_field_errors(messages), headers=headers)
    detail = getattr(error, "linghang_message", None) if status == 400 else None
    return problem(code, detail, status=status if code in KINDS and KINDS[code].status == status else None,
                   headers=headers)


def problem_for(error: BaseException) -> Response:
    """The problem answering an error raised while serving an /api/ request."""
    if isinstance(error, ApiError):
        errors = [{"location": "json", "field": error.field, "message": error.detail}] if error.field else None
        return problem(error.code, error.detail, headers=error.headers, errors=errors)
    if isinstance(error, CSRFError):  # the API is exempt; kept for completeness
        return problem("invalid_request", error.description)
    if isinstance(error, HTTPException):
        if error.code is not None and error.code < 400:  # 304 Not Modified and the like
            return error.get_response()
        return _http_problem(error)
    if isinstance(error, StaleDataError):
        db.session.rollback()
        return problem("conflict")
    if isinstance(error, ConcurrentChange):
        return problem("conflict", error.message)
    if isinstance(error, ValidationFailed):
        errors = [{"location": "json", "field": error.field, "message": error.message}] if error.field else None
        return problem("rule_refused", error.message, errors=errors)
    if isinstance(error, OperationalError | DisconnectionError | PoolTimeout):
        db.session.rollback()
        return problem("unavailable", headers={"Retry-After": "30"})
    db.session.rollback()
    current_app.logger.error("unhandled error on %s", request.path, exc_info=error)
    return problem("server_error")


def error_catalogue() -> list[dict[str, Any]]:
    """Every error code with its status, title and meaning (served at /api/v1/errors)."""
    return [
        {"code": kind.code, "status": kind.status, "title": str(kind.title), "detail": str(kind.detail)}
        for kind in KINDS.values()
    ]
