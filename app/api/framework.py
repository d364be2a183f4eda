"""flask-smorest set up for Linghang: OpenAPI 3.1 from the marshmallow schemas that validate requests.

Errors are documented (and answered, app/api/errors.py) as application/problem+json; refused
input is a 400 with one entry per field; the bounded path converters of app/core/inputs.py are
documented with their ranges; every operation behind a key documents 401, 403 and 429.
"""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from webargs.flaskparser import FlaskParser

from app.api.errors import PROBLEM_JSON
from app.core.inputs import INT_MAX, BoundedIntConverter, IdConverter, YearConverter


class Strict(ma.Schema):
    """Base schema: unknown fields are refused, so a typo is an error and not silently ignored."""

    class Meta:
        unknown = ma.RAISE


class FieldErrorSchema(Strict):
    location = ma.fields.String(required=True, metadata={"description": "json, query, headers or path"})
    field = ma.fields.String(allow_none=True, metadata={"description": "The field, dotted for nested ones"})
    message = ma.fields.String(required=True, metadata={"description": "Translated message"})


class ProblemSchema(Strict):
    """RFC 9457 problem details with Linghang's stable code."""

    type = ma.fields.String(required=True, metadata={"description": "URI of the error kind: /api/v1/errors#<code>"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True, metadata={"description": "Translated (Accept-Language)"})
    code = ma.fields.String(required=True, metadata={"description": "Stable machine code, see /api/v1/errors"})
    errors = ma.fields.List(ma.fields.Nested(FieldErrorSchema), metadata={"description": "Refused fields"})


class ApiParser(FlaskParser):
    """webargs parser answering refused input with 400 (one entry per field), not 422.

    422 is kept for requests that are well formed but refused by a rule of the services.
    """

    DEFAULT_VALIDATION_STATUS = 400


class LinghangBlueprint(Blueprint):
    """A flask-smorest blueprint using the API's parser."""

    ARGUMENTS_PARSER = ApiParser()


class LinghangApi(Api):
    """flask-smorest's Api answering and documenting errors as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        # app/main/errors.py answers every error; under /api/ it asks app/api/errors.py. Keeping
        # flask-smorest's HTTPException handler would turn the pages' 404s into JSON too.
        return None

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            if status == 429:
                response["headers"] = {"Retry-After": {
                    "description": "Seconds to wait", "schema": {"type": "integer", "minimum": 0}}}
            if status == 405:
                response["headers"] = {"Allow": {"description": "Allowed methods", "schema": {"type": "string"}}}
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)


def _id_param(converter) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": INT_MAX}


def make_api(app) -> LinghangApi:
    """The Api bound to the app, with the bounded converters documented."""
    api = LinghangApi(spec_kwargs={"title": "Linghang 领航 API", "version": "v1", "openapi_version": "3.1.0"})
    api.register_converter(IdConverter, _id_param)
    api.register_converter(BoundedIntConverter, lambda _c: {"type": "integer", "minimum": 0, "maximum": INT_MAX})
    api.register_converter(YearConverter, lambda _c: {"type": "integer", "minimum": 1900, "maximum": 2100})
    api.init_app(app)
    api.spec.components.security_scheme(
        "apiKey",
        {"type": "http", "scheme": "bearer", "description": "An API key made by an administrator: lh_…"},
    )
    api.ARGUMENTS_PARSER = ApiParser()
    return api


KEY_ERRORS = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 429: "TOO_MANY_REQUESTS"}


def documented(*statuses: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document more error statuses of an operation (each answered as problem+json)."""
    return Blueprint.doc(responses={status: http.HTTPStatus(status).name for status in statuses})


def keyed(scope: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document that an operation needs a key with a scope (OpenAPI 3.1 lets a bearer requirement
    name it) and may answer 401/403/429."""
    return Blueprint.doc(
        security=[{"apiKey": [scope]}], responses=dict(KEY_ERRORS),
        **{"x-scope": scope},
    )
