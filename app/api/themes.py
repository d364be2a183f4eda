"""Monthly themes 一月一主题 (scope activities:read): every account sees them in the pages, so every key."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from sqlalchemy import select

from app.api.auth import requires
from app.api.errors import ApiError
from app.api.framework import LinghangBlueprint, Strict, documented
from app.api.models import Scope
from app.api.pagination import Keyset, PageArgs, page, page_of
from app.events.models import MonthlyTheme
from app.extensions import db

bp = LinghangBlueprint(
    "api_themes", __name__, url_prefix="/api/v1", description="Monthly themes (scope activities:read).",
)
BY_ID = Keyset("themes", MonthlyTheme.id, MonthlyTheme.id)


class ThemeSchema(Strict):
    id = ma.fields.Integer(required=True)
    year = ma.fields.Integer(required=True)
    month = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String(required=True, allow_none=True)
    lead_department_ids = ma.fields.List(ma.fields.Integer(), required=True)


class ThemeArgs(PageArgs):
    year = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=2000, max=2100))


def _shown(theme: MonthlyTheme) -> dict[str, Any]:
    return {
        "id": theme.id, "year": theme.year, "month": theme.month, "title": theme.title,
        "description": theme.description, "lead_department_ids": [o.id for o in theme.lead_departments],
    }


@bp.get("/themes")
@requires(Scope.activities_read)
@bp.etag
@bp.arguments(ThemeArgs, location="query")
@bp.response(200, page_of(ThemeSchema))
def themes(args: dict[str, Any]):
    """Monthly themes; `year` filters."""
    statement = select(MonthlyTheme)
    if args["year"]:
        statement = statement.where(MonthlyTheme.year == args["year"])
    body, headers = page(statement, BY_ID, args)
    body["items"] = [_shown(t) for t in body["items"]]
    return body, 200, headers


@bp.get("/themes/<id:theme_id>")
@requires(Scope.activities_read)
@bp.etag
@bp.response(200, ThemeSchema)
@documented(404)
def theme(theme_id: int):
    """One monthly theme."""
    found = db.session.get(MonthlyTheme, theme_id)
    if found is None:
        raise ApiError("not_found")
    return _shown(found)
