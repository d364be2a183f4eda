"""The dashboard's figures (scope stats:read), with the dashboard's filters, from app/stats' services.

The same functions as the dashboard page compute them: an enterprise's key gets its own
enterprise's figures, as its contact does on the page; other keys the county's.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma
from flask_login import current_user

from app.api.auth import requires
from app.api.framework import LinghangBlueprint, Strict, documented
from app.api.models import Scope
from app.api.schemas import Day, QueryId
from app.core.clock import local_today, utcnow
from app.problems.models import ProblemCategory
from app.stats import services
from app.stats.filters import dashboard_filters, dashboard_scope

bp = LinghangBlueprint(
    "api_stats", __name__, url_prefix="/api/v1", description="The dashboard's figures for a period and filters.",
)



class DashboardArgs(Strict):
    """The dashboard page's filters, by the same names."""

    year = ma.fields.Integer(strict=False, load_default=None, validate=ma.validate.Range(min=2000, max=2100),
                             metadata={"description": "The calendar year (default: this one) when no start or end is given"})
    all = ma.fields.Boolean(load_default=False, metadata={"description": "Every year, when no start or end is given"})
    start = Day(load_default=None, metadata={"description": "Problems raised on or after this day (local)"})
    end = Day(load_default=None, metadata={"description": "Problems raised on or before this day (local)"})
    alliance = QueryId(load_default=None)
    department = QueryId(load_default=None)
    theme = QueryId(load_default=None)
    enterprise = QueryId(load_default=None, metadata={"description": "An enterprise key: only its own"})


class FiguresSchema(Strict):
    collected = ma.fields.Integer(required=True)
    resolved = ma.fields.Integer(required=True)
    resolution_rate = ma.fields.Float(required=True, allow_none=True, metadata={"description": "0–1; null when nothing to divide"})
    on_site = ma.fields.Integer(required=True)
    on_site_rate = ma.fields.Float(required=True, allow_none=True)
    on_time = ma.fields.Integer(required=True)
    on_time_rate = ma.fields.Float(required=True, allow_none=True)
    rated = ma.fields.Integer(required=True)
    satisfied = ma.fields.Integer(required=True)
    satisfaction_rate = ma.fields.Float(required=True, allow_none=True)
    overdue = ma.fields.Integer(required=True)
    enterprises = ma.fields.Integer(required=True)
    loans_wan = ma.fields.String(required=True, metadata={"description": "10,000 yuan, as a decimal string"})
    loan_enterprises = ma.fields.Integer(required=True)
    disputes_mediated = ma.fields.Integer(required=True)
    activities_held = ma.fields.Integer(required=True)
    expected = ma.fields.Integer(required=True)
    present = ma.fields.Integer(required=True)
    attendance_rate = ma.fields.Float(required=True, allow_none=True)


class MonthSchema(Strict):
    month = ma.fields.String(required=True, metadata={"description": "YYYY-MM (local)"})
    collected = ma.fields.Integer(required=True)
    resolved = ma.fields.Integer(required=True)


class DepartmentFiguresSchema(Strict):
    department = ma.fields.String(required=True)
    assigned = ma.fields.Integer(required=True)
    resolved = ma.fields.Integer(required=True)
    overdue = ma.fields.Integer(required=True)


class CategoryFiguresSchema(Strict):
    category = ma.fields.Enum(ProblemCategory, by_value=True, required=True)
    collected = ma.fields.Integer(required=True)
    resolved = ma.fields.Integer(required=True)


class DashboardSchema(Strict):
    start = ma.fields.Date(required=True, allow_none=True)
    end = ma.fields.Date(required=True, allow_none=True)
    figures = ma.fields.Nested(FiguresSchema, required=True)
    monthly_trend = ma.fields.List(ma.fields.Nested(MonthSchema), required=True)
    by_department = ma.fields.List(ma.fields.Nested(DepartmentFiguresSchema), required=True)
    by_category = ma.fields.List(ma.fields.Nested(CategoryFiguresSchema), required=True)


def _figures(figures: services.Figures) -> dict[str, Any]:
    names = FiguresSchema().fields
    return {name: getattr(figures, name) for name in names}


@bp.get("/stats/dashboard")
@requires(Scope.stats_read)
@bp.etag
@bp.arguments(DashboardArgs, location="query")
@bp.response(200, DashboardSchema)
@documented(404)
def dashboard(_args: dict[str, Any]):
    """The dashboard's figures, monthly trend, departments and categories for the filters."""
    filters = dashboard_filters(current_user)
    scope = dashboard_scope(current_user)
    today: date = local_today()
    return {
        "start": filters.start,
        "end": filters.end,
        "figures": _figures(services.figures(filters, utcnow(), today, scope)),
        "monthly_trend": [
            {"month": m, "collected": c, "resolved": r} for m, c, r in services.monthly_trend(filters, scope)
        ],
        "by_department": [
            {"department": n, "assigned": a, "resolved": r, "overdue": o}
            for n, a, r, o in services.by_department(filters, today, scope)
        ],
        "by_category": [
            {"category": c, "collected": n, "resolved": r} for c, n, r in services.by_category(filters, scope)
        ],
    }
