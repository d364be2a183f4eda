"""What an integrator reads first: the readable docs (Swagger UI, served locally) and the error codes."""

from __future__ import annotations

import marshmallow as ma
from flask import Blueprint, render_template, url_for

from app.api.auth import open_to_all
from app.api.errors import error_catalogue
from app.api.framework import LinghangBlueprint, Strict

docs_bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")
meta_bp = LinghangBlueprint(
    "api_meta", __name__, url_prefix="/api/v1", description="The error codes every problem response carries."
)


@docs_bp.get("/docs")
@open_to_all
def docs():
    """The API's description, readable (Swagger UI from app/static/vendor, no CDN)."""
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))


class ErrorCodeSchema(Strict):
    code = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    detail = ma.fields.String(required=True)


@meta_bp.get("/errors")
@meta_bp.response(200, ErrorCodeSchema(many=True))
@open_to_all
def errors():
    """Every error code a problem response can carry (its `code`), with status and meaning."""
    return error_catalogue()
