"""The JSON API at /api/v1/: the pages' twin for other systems (hotline, province platform, mini-programs).

flask-smorest generates the OpenAPI 3.1 description from the marshmallow schemas that validate
the requests (app/api/framework.py). A request carries an organisation's API key
(app/api/auth.py) and acts as that organisation's people would in the pages
(app/api/principal.py), through the same services, permission checks, audit entries and unit of
work. Errors are problem+json (app/api/errors.py); lists page by cursor (app/api/pagination.py).
Resources: one module per group (orgs, activities, invitations …); admin pages for keys: views.py.
"""

from __future__ import annotations

from flask import Flask

from app.api.activities import bp as activities_bp
from app.api.auth import init_auth, open_to_all
from app.api.errors import problem_for
from app.api.feeds import bp as feeds_bp
from app.api.framework import LinghangApi, make_api
from app.api.invitations import bp as invitations_bp
from app.api.meta import docs_bp, meta_bp
from app.api.orgs import bp as orgs_bp
from app.api.problems import bp as problems_bp
from app.api.stats import bp as stats_bp
from app.api.themes import bp as themes_bp
from app.api.views import bp as keys_bp
from app.extensions import csrf
from app.main.errors import API_ERRORS

API_EXTENSION = "linghang_api"


def register(app: Flask) -> LinghangApi:
    """Mount /api/v1/ (resources, description, docs), its authentication and its errors."""
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = make_api(app)
    app.extensions[API_EXTENSION] = api
    app.extensions[API_ERRORS] = problem_for  # app/main/errors.py hands /api/ errors to it
    description = app.view_functions["api-docs.openapi_json"]  # flask-smorest's (a bound method)

    def openapi_json():
        """The OpenAPI 3.1 description of the API."""
        return description()

    app.view_functions["api-docs.openapi_json"] = open_to_all(openapi_json)
    for blueprint in (
        meta_bp, orgs_bp, themes_bp, activities_bp, invitations_bp, problems_bp, stats_bp, feeds_bp,
    ):
        csrf.exempt(blueprint)  # keys, not cookies: nothing to forge
        api.register_blueprint(blueprint)
    app.register_blueprint(docs_bp)
    app.register_blueprint(keys_bp)
    init_auth(app)
    return api


__all__ = ["register"]
