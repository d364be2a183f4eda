"""The dashboard (/dashboard) and its XLSX export."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.access import any_role
from app.core.clock import local_today, utcnow
from app.events.models import MonthlyTheme
from app.extensions import db
from app.problems.exports import xlsx_stream
from app.problems.filters import filter_choices
from app.problems.models import CATEGORY_LABELS
from app.stats import charts, services
from app.stats.filters import dashboard_filters, dashboard_scope

bp = Blueprint("stats", __name__)


def _scope():
    return dashboard_scope(current_user)


def _filters():
    return dashboard_filters(current_user)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@bp.get("/dashboard")
@any_role
def dashboard():
    """The county's figures for a period, alliance, department or theme, with charts."""
    filters = _filters()
    today = local_today()
    scope = _scope()
    figures = services.figures(filters, utcnow(), today, scope)
    trend = services.monthly_trend(filters, scope)
    departments = services.by_department(filters, today, scope)
    categories = services.by_category(filters, scope)
    trend_chart = charts.grouped_bars(
        [(m[5:] if len(m) == 7 else m, [c, r]) for m, c, r in trend], [_("Collected"), _("Resolved")], _("Monthly trend")
    )
    department_chart = charts.horizontal_bars(
        [(n, [a, r, o]) for n, a, r, o in departments], [_("Assigned"), _("Resolved"), _("Overdue")], _("By department")
    )
    category_chart = charts.horizontal_bars(
        [(str(CATEGORY_LABELS[c]), [n, r]) for c, n, r in categories], [_("Collected"), _("Resolved")], _("By category")
    )
    themes = db.session.scalars(db.select(MonthlyTheme).order_by(MonthlyTheme.year.desc(), MonthlyTheme.month)).all()
    return render_template(
        "stats/dashboard.html", f=figures, filters=filters, percent=percent, trend_chart=trend_chart,
        department_chart=department_chart, category_chart=category_chart, themes=themes,
        args=request.args.to_dict(), **filter_choices(current_user),
    )


def figure_rows(figures: services.Figures) -> list[list]:
    """The figures as (name, value) rows for the export."""
    return [
        [_("Problems collected"), figures.collected],
        [_("Problems resolved"), figures.resolved],
        [_("Resolution rate"), percent(figures.resolution_rate)],
        [_("Resolved on site"), figures.on_site],
        [_("On-site rate"), percent(figures.on_site_rate)],
        [_("On-time rate"), percent(figures.on_time_rate)],
        [_("Satisfaction rate"), percent(figures.satisfaction_rate)],
        [_("Overdue"), figures.overdue],
        [_("Enterprises served"), figures.enterprises],
        [_("Loans facilitated (10,000 yuan)"), float(figures.loans_wan)],
        [_("Loans facilitated (100 million yuan)"), float(figures.loans_yi)],
        [_("Enterprises reached by loans"), figures.loan_enterprises],
        [_("Disputes mediated"), figures.disputes_mediated],
        [_("Activities held"), figures.activities_held],
        [_("Attendance rate"), percent(figures.attendance_rate)],
    ]


@bp.get("/dashboard/export.xlsx")
@any_role
def dashboard_export():
    """The dashboard's figures, monthly trend, departments and categories as XLSX."""
    filters = _filters()
    today = local_today()
    scope = _scope()
    figures = services.figures(filters, utcnow(), today, scope)
    sheets = [
        (_("Figures"), [_("Figure"), _("Value")], iter(figure_rows(figures))),
        (_("Monthly trend"), [_("Month"), _("Collected"), _("Resolved")], iter([list(r) for r in services.monthly_trend(filters, scope)])),
        (_("By department"), [_("Department"), _("Assigned"), _("Resolved"), _("Overdue")], iter([list(r) for r in services.by_department(filters, today, scope)])),
        (_("By category"), [_("Category"), _("Collected"), _("Resolved")], iter([[str(CATEGORY_LABELS[c]), n, r] for c, n, r in services.by_category(filters, scope)])),
    ]
    response = Response(
        xlsx_stream(sheets),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response.headers["Content-Disposition"] = f"attachment; filename=dashboard-{today:%Y%m%d}.xlsx"
    return response
